"""What demo data made: counts read back from the store, and how to sign in."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.kernel import office_time
from app.services.collections import AUCTIONS, BIDS, LEDGER, PAYOUTS, TICKETS
from app.services.demo.chits import LIVE_GROUP
from app.services.demo.model import DEMO_STAFF, KYC_STATES, StaffLogin, Story
from app.services.ledger import check_ledger
from app.services.loans import STATUSES as LOAN_STATUSES
from app.services.recovery import STAGES
from app.services.recovery.service import CASES
from app.services.sms import OUTBOX_NAME
from app.services.store import Query

if TYPE_CHECKING:
    from app.services.context import ServiceContext
    from app.services.demo.chits import Chits
    from app.services.demo.loans import Loans

GROUP_STATUSES = ("forming", "running", "completed")
PAYOUT_STATUSES = ("pending", "released")
TXN_KINDS = ("instalment.received", "emi.received", "prize.paid", "loan.disbursed")


@dataclass(frozen=True)
class MemberLogin:
    """A demo member who can sign in to the web view with their mobile number."""

    name: str
    phone: str
    note: str


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`app.services.demo.generate` made, and how to sign in."""

    data_dir: Path
    groups: int
    members_per_group: int
    months: int
    seed: int
    first_day: date
    end: date
    staff: tuple[StaffLogin, ...]
    member_logins: tuple[MemberLogin, ...]
    counts: dict[str, dict[str, int]]
    wal_entries: int
    wal_head: str
    ledger_balanced: bool
    seconds: float
    notes: dict[str, int] = field(default_factory=dict)

    def total(self, section: str) -> int:
        return sum(self.counts.get(section, {}).values())

    def lines(self) -> list[str]:
        """The text ``tfos demo-data`` prints."""
        c = self.counts
        balanced = "balances" if self.ledger_balanced else "DOES NOT BALANCE"
        out = [
            f"Demo data made in {self.data_dir} in {self.seconds:.1f} s (seed {self.seed}): "
            f"{self.groups} groups x {self.members_per_group} members, {self.months} months "
            f"from {office_time.day(self.first_day)} to {office_time.day(self.end)}.",
            f"  WAL: {self.wal_entries:,} records, head {self.wal_head[:16]}; "
            f"the ledger {balanced}.",
            f"  Members {self.total('kyc'):,} (KYC {_parts(c['kyc'])}).",
            f"  Groups {self.total('groups'):,} ({_parts(c['groups'])}); "
            f"auctions {c['activity']['auctions']:,} with {c['activity']['bids']:,} bids; "
            f"receipts {c['activity']['receipts']:,}; "
            f"prize payouts {_parts(c['payouts'])}.",
            f"  Loans {self.total('loans'):,} ({_parts(c['loans'])}); "
            f"EMIs paid {c['activity']['emis']:,}.",
            f"  Recovery cases {self.total('recovery'):,} ({_parts(c['recovery'])}).",
            "",
            "Staff sign-in (desktop):",
        ]
        width = max(len(s.username) for s in self.staff)
        out += [
            f"  {s.username:<{width}}  password {s.password:<18} {s.role:<8} {s.name}"
            for s in self.staff
        ]
        out += [
            "",
            "Members who can sign in to the web view with their mobile number "
            f"(the one-time code is written to {self.data_dir / OUTBOX_NAME}):",
        ]
        out += [f"  {m.phone}  {m.name} ({m.note})" for m in self.member_logins]
        return out

    def text(self) -> str:
        return "\n".join(self.lines())

    def to_json(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.data_dir),
            "groups": self.groups,
            "members_per_group": self.members_per_group,
            "months": self.months,
            "seed": self.seed,
            "first_day": self.first_day.isoformat(),
            "end": self.end.isoformat(),
            "staff": [vars(s) for s in self.staff],
            "member_logins": [vars(m) for m in self.member_logins],
            "counts": self.counts,
            "wal_entries": self.wal_entries,
            "wal_head": self.wal_head,
            "ledger_balanced": self.ledger_balanced,
            "seconds": round(self.seconds, 3),
        }


def summarize(
    ctx: ServiceContext, story: Story, chits: Chits, loans: Loans, seconds: float
) -> DemoSummary:
    config = story.config
    entries, head = ctx.pipeline.wal.head()
    return DemoSummary(
        data_dir=ctx.data_dir,
        groups=config.groups,
        members_per_group=config.members,
        months=config.months,
        seed=config.seed,
        first_day=story.first_day,
        end=config.end,
        staff=DEMO_STAFF,
        member_logins=tuple(_member_logins(ctx, story, chits, loans)),
        counts=count_everything(ctx),
        wal_entries=entries,
        wal_head=head,
        ledger_balanced=check_ledger(ctx)[0],
        seconds=seconds,
        notes=dict(story.notes),
    )


def count_everything(ctx: ServiceContext) -> dict[str, dict[str, int]]:
    """Members by KYC status, groups, payouts, loans and cases by status, and activity."""

    def by(collection: str, path: str, values: tuple[str, ...]) -> dict[str, int]:
        return {v: ctx.store.count(Query(collection).where(path, "==", v)) for v in values}

    activity = {
        "auctions": ctx.store.count(Query(AUCTIONS).where("status", "==", "closed")),
        "bids": ctx.store.count(Query(BIDS)),
        "receipts": ctx.store.count(Query(LEDGER).where("kind", "==", TXN_KINDS[0])),
        "emis": ctx.store.count(Query(LEDGER).where("kind", "==", TXN_KINDS[1])),
        "ledger_txns": ctx.store.count(Query(LEDGER)),
    }
    return {
        "kyc": by("members", "kyc_status", KYC_STATES),
        "groups": by("groups", "status", GROUP_STATUSES),
        "payouts": {**by("payouts", "status", PAYOUT_STATUSES), "on_time": _on_time(ctx)},
        "loans": by("loans", "status", LOAN_STATUSES),
        "recovery": by(CASES, "stage", tuple(s.value for s in STAGES)),
        "activity": activity,
    }


def _on_time(ctx: ServiceContext) -> int:
    """Prizes released by their statutory deadline."""
    released = ctx.store.stream(Query(PAYOUTS).where("status", "==", "released"))
    return sum(1 for p in released if p.data.get("days_late", 0) == 0)


def _member_logins(
    ctx: ServiceContext, story: Story, chits: Chits, loans: Loans
) -> list[MemberLogin]:
    """A prize winner, a borrower, a member with arrears and one with KYC pending."""
    found: list[MemberLogin] = []
    seen: set[str] = set()

    def add(member_id: str, note: str) -> None:
        plan = next((m for m in story.members if m.id == member_id), None)
        if plan is not None and member_id not in seen:
            seen.add(member_id)
            found.append(MemberLogin(plan.person.name, plan.person.phone, note))

    released = ctx.store.query(Query(PAYOUTS).where("status", "==", "released"))
    for payout in sorted(released, key=lambda d: d.id)[:1]:
        add(payout.data["member_id"], "won a prize")
    for loan in loans.loans:
        if loan.target == "disbursed" and not loan.bad and loan.member.kyc == "approved":
            add(loan.member.id, "repaying a loan")
            break
    live = next((g for g in chits.groups if g.index == LIVE_GROUP), None)
    if live is not None:
        prized = {
            t.data["member_id"]
            for t in ctx.store.query(Query(TICKETS).where("group_id", "==", live.id))
            if t.data.get("prized_period")
        }
        bidders = [t for t in live.tickets if t.habit == "punctual" and t.member.id not in prized]
        if bidders:
            add(bidders[0].member.id, f"may bid in today's auction of {live.name}")
    for group in chits.groups:
        late = [t for t in group.tickets if t.habit == "defaulter"]
        if late:
            add(late[0].member.id, "has overdue instalments")
            break
    pending = [m for m in story.members if m.kyc == "pending" and m.id not in seen]
    if pending:
        add(pending[0].id, "KYC pending")
    return found


def _parts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name.replace('_', ' ')} {n:,}" for name, n in counts.items())
