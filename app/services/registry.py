"""The services' front face: every domain service over one context, built once per
process by the composition root.

Views and the web server are given a :class:`Services` and nothing else of the
runtime: they call its read models (each names the change topics it depends on) and
subscribe to those topics through :attr:`Services.topics`.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings
from app.services.auctions import AuctionService
from app.services.audit_log import AuditLog
from app.services.context import Clock, ServiceContext
from app.services.desk import DeskService
from app.services.gate import BankersGate
from app.services.groups import GroupService
from app.services.kpis import KpiService
from app.services.kyc import KycService
from app.services.ledger import LedgerService
from app.services.loans import LoanService
from app.services.members import MemberService
from app.services.recovery import RecoveryService
from app.services.staff import StaffService
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
    audit: AuditLog
    topics: Topics
    clock: Clock

    @classmethod
    def build(cls, ctx: ServiceContext, settings: Settings) -> Services:
        ledger = LedgerService(ctx)
        gate = BankersGate(ctx)
        kyc = KycService(ctx)
        loans = LoanService(ctx, gate=gate)
        recovery = RecoveryService(ctx)
        kpis = KpiService(ctx, ledger=ledger, recovery=recovery)
        desk = DeskService(kyc=kyc, loans=loans, recovery=recovery, ledger=ledger, clock=ctx.clock)
        return cls(
            members=MemberService(ctx),
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
            audit=AuditLog(ctx.pipeline.wal.path, ctx.clock),
            topics=Topics(ctx.store),
            clock=ctx.clock,
        )

    def close(self) -> None:
        """End every topic subscription (before the store closes)."""
        self.topics.close()
