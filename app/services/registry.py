"""The services' front face: every domain service over one context, built once per
process by the composition root.

Views and the web server are given a :class:`Services` and nothing else of the
runtime: they call its read models (each names the change topics it depends on) and
subscribe to those topics through :attr:`Services.topics`.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings
from app.services.agreements import AgreementService
from app.services.auctions import AuctionService
from app.services.audit_log import AuditLog
from app.services.context import Clock, ServiceContext
from app.services.counter import CounterService
from app.services.desk import DeskService
from app.services.feeds import Feeds
from app.services.gate import BankersGate
from app.services.groups import GroupService
from app.services.kpis import KpiService
from app.services.kyc import KycService
from app.services.ledger import LedgerService
from app.services.loans import LoanService
from app.services.members import MemberService
from app.services.otp import OtpService
from app.services.printing import Printer
from app.services.recovery import RecoveryService
from app.services.sms import SmsSender, make_sender
from app.services.staff import StaffService
from app.services.statements import StatementService
from app.services.topics import Topics


@dataclass
class Services:
    members: MemberService
    kyc: KycService
    groups: GroupService
    auctions: AuctionService
    ledger: LedgerService
    gate: BankersGate
    loans: LoanService
    recovery: RecoveryService
    kpis: KpiService
    desk: DeskService
    staff: StaffService
    otp: OtpService
    agreements: AgreementService
    audit: AuditLog
    feeds: Feeds
    topics: Topics
    clock: Clock
    counter: CounterService
    statements: StatementService
    printer: Printer

    @classmethod
    def build(
        cls, ctx: ServiceContext, settings: Settings, *, sender: SmsSender | None = None
    ) -> Services:
        """Every service over ``ctx``, as ``settings`` say; ``sender`` replaces the SMS
        sender the settings name (tests, benchmarks)."""
        ledger = LedgerService(ctx)
        gate = BankersGate(ctx, ledger=ledger)
        kyc = KycService(ctx)
        loans = LoanService(ctx, gate=gate)
        recovery = RecoveryService(ctx, ledger=ledger)
        kpis = KpiService(ctx, ledger=ledger, recovery=recovery)
        members = MemberService(ctx)
        desk = DeskService(kyc=kyc, loans=loans, recovery=recovery, ledger=ledger, clock=ctx.clock)
        printer = Printer(ctx, settings.firm_name, settings.firm_address)
        counter = CounterService(ctx)
        services = cls(
            members=members,
            kyc=kyc,
            groups=GroupService(ctx, health=kpis.group_health),
            auctions=AuctionService(ctx),
            ledger=ledger,
            gate=gate,
            loans=loans,
            recovery=recovery,
            kpis=kpis,
            desk=desk,
            staff=StaffService(ctx, session_hours=settings.session_hours),
            otp=OtpService(
                ctx,
                sender or settings_sender(settings),
                members=members,
                session_hours=settings.member_session_hours,
            ),
            agreements=AgreementService(ctx),
            audit=AuditLog(ctx.pipeline.wal.path, ctx.clock),
            feeds=Feeds(ctx.store),
            topics=Topics(ctx.store),
            clock=ctx.clock,
            counter=counter,
            statements=StatementService(ctx, counter=counter),
            printer=printer,
        )
        printer.attach(services)
        return services

    def close(self) -> None:
        """Send the texts still queued and end every topic subscription (before the
        store closes)."""
        self.otp.close()
        self.topics.close()


def settings_sender(settings: Settings) -> SmsSender:
    """The SMS sender the settings name (the outbox file unless told otherwise)."""
    return make_sender(
        settings.sms_sender,
        settings.data_dir,
        url=settings.sms_gateway_url,
        token=settings.sms_gateway_token,
    )
