"""The services' front face: every domain service over one context, built once per
process by the composition root.

Views and the web server are given a :class:`Services` and nothing else of the
runtime: they call its read models (each names the change topics it depends on) and
subscribe to those topics through :attr:`Services.topics`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.config import Settings
from app.services.activity import Names
from app.services.agreements import AgreementService
from app.services.auctions import AuctionService
from app.services.audit_log import AuditLog
from app.services.context import Clock, ServiceContext
from app.services.counter import CounterService
from app.services.desk import DeskService
from app.services.feeds import Feeds
from app.services.gate import BankersGate
from app.services.group_book import GroupSources
from app.services.groups import GroupService
from app.services.kpis import KpiService
from app.services.kyc import KycService
from app.services.ledger import CapitalDesk, LedgerService
from app.services.loans import LoanService
from app.services.log_signing import LogSigning
from app.services.member_profile import MemberProfiles, ProfileSources
from app.services.member_register import MemberRegister
from app.services.members import MemberService
from app.services.otp import OtpService
from app.services.payouts import PayoutService
from app.services.proofs import ProofService
from app.services.recovery import RecoveryService
from app.services.report_exports import ReportService
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
    capital: CapitalDesk
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
    proofs: ProofService
    payouts: PayoutService
    counter: CounterService
    statements: StatementService
    reports: ReportService = field(init=False)
    member_register: MemberRegister = field(init=False)
    member_profiles: MemberProfiles = field(init=False)

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
        auctions = AuctionService(ctx)
        books = GroupSources(members=members, ledger=ledger, auctions=auctions, gate=gate)
        counter = CounterService(ctx)
        services = cls(
            members=members,
            kyc=kyc,
            groups=GroupService(ctx, health=kpis.group_health, sources=books),
            auctions=auctions,
            ledger=ledger,
            capital=CapitalDesk(ctx, ledger=ledger),
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
            audit=AuditLog(ctx.pipeline.wal.path, ctx.clock, names=Names(ctx.store)),
            feeds=Feeds(ctx.store),
            topics=Topics(ctx.store),
            clock=ctx.clock,
            proofs=ProofService(ctx),
            payouts=PayoutService(ctx, gate=gate, ledger=ledger),
            counter=counter,
            statements=StatementService(ctx, counter=counter),
        )
        services.reports = report_service(ctx, settings, services)
        services.member_register = MemberRegister(ctx, members)
        services.member_profiles = MemberProfiles(ctx, ProfileSources.of(services))
        return services

    def close(self) -> None:
        """Send the texts still queued and end every topic subscription (before the
        store closes)."""
        self.otp.close()
        self.topics.close()


def report_service(ctx: ServiceContext, settings: Settings, services: Services) -> ReportService:
    """Reports headed by the firm the settings name, signed by the log's key."""
    signing = LogSigning(ctx.transparency) if ctx.transparency is not None else None
    firm = (settings.firm_name, settings.firm_address)
    return ReportService(ctx, services, firm, signing)


def settings_sender(settings: Settings) -> SmsSender:
    """The SMS sender the settings name (the outbox file unless told otherwise)."""
    return make_sender(
        settings.sms_sender,
        settings.data_dir,
        url=settings.sms_gateway_url,
        token=settings.sms_gateway_token,
    )
