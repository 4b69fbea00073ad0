"""All domain services over one context, built once per process by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from app.services.auctions import AuctionService
from app.services.context import ServiceContext
from app.services.gate import BankersGate
from app.services.groups import GroupService
from app.services.kpis import KpiService
from app.services.kyc import KycService
from app.services.ledger import LedgerService
from app.services.loans import LoanService
from app.services.members import MemberService
from app.services.recovery import RecoveryService


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

    @classmethod
    def build(cls, ctx: ServiceContext) -> Services:
        gate = BankersGate(ctx)
        return cls(
            members=MemberService(ctx),
            kyc=KycService(ctx),
            groups=GroupService(ctx),
            auctions=AuctionService(ctx),
            ledger=LedgerService(ctx),
            gate=gate,
            loans=LoanService(ctx, gate=gate),
            recovery=RecoveryService(ctx),
            kpis=KpiService(ctx),
        )
