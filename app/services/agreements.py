"""The chit agreement a member signs: its text, built from the group's terms, and signing.

The text is a pure function of the group (name, start date, foreman, agreement terms,
and the registration number when it has one: groups stored before it was asked keep the
text their members signed), so the same group always shows the same words and the same
SHA-256. Signing records the member, the exact time and the hash of the exact text in
one WAL record (the ``agreement.signed`` event and the signature document); a member
signs a group's agreement once. If the terms ever changed after signing, :attr:`Signature.current`
says the signature was for another text.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from app.kernel import office_time
from app.kernel.errors import Conflict, PermissionDenied
from app.services.actors import Actor
from app.services.auctions import rules
from app.services.collections import AGREEMENT_SIGNATURES
from app.services.context import ServiceContext
from app.services.events import AgreementSigned
from app.services.groups import Group, read_group, read_tickets
from app.services.money import format_bps, format_inr
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Write

SIGNATURES = AGREEMENT_SIGNATURES


@dataclass(frozen=True)
class AgreementText:
    group_id: str
    title: str
    clauses: list[str]
    text: str
    sha256: str


@dataclass(frozen=True)
class Signature:
    group_id: str
    member_id: str
    signed_at: str
    text_sha256: str
    current: bool = True

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def signature_id(group_id: str, member_id: str) -> str:
    return f"{group_id}-{member_id}"


def agreement_clauses(group: Group) -> list[str]:
    """The numbered clauses of ``group``'s agreement, in plain words."""
    a = group.agreement
    step = format_inr(a.bid_step_paise)
    clauses = [
        f"The chit amount is {format_inr(a.gross_paise)}, shared by {a.members} subscribers "
        f"over {a.members} instalment periods of {a.period_months} month(s) each, "
        f"starting on {office_time.day(group.start_date)}.",
        f"Each subscriber pays an instalment of {format_inr(rules.instalment(a))} per period, "
        "less their share of that period's discount.",
        f"The foreman's commission is {format_bps(a.commission_bps)} of the chit amount "
        f"({format_inr(rules.commission(a))}) per period.",
        "Each period's prize goes by reverse auction: subscribers bid the discount they "
        f"forgo, from {format_inr(rules.discount_floor(a))} (the commission) up to a cap of "
        f"{format_bps(a.discount_cap_bps)} ({format_inr(rules.discount_cap(a))}), in steps "
        f"of {step}. The highest discount wins.",
        "A bid in the last 30 seconds extends the auction to 30 seconds after that bid.",
        "A tie at the cap, or a period with no bid, is decided by a lot whose seed is "
        "committed (SHA-256) when the auction opens and revealed when it closes.",
        "The discount less the commission is shared equally by all subscribers as a reduction "
        "of that period's instalment.",
        "Only subscribers who have not won a prize and have no overdue instalment may bid. "
        "A prized subscriber gives security for the instalments still to pay.",
        "Instalments and the prize fall due 7 days after the draw, or the day before the next "
        "draw if that is earlier.",
    ]
    if a.foreman_takes_first:
        clauses.append("The foreman takes the first period's chit amount without discount.")
    if group.registration_no:
        clauses.insert(
            0,
            f"The chit is sanctioned by the Registrar under section 4 of the Chit Funds Act, "
            f"1982, by registration number {group.registration_no}.",
        )
    return [f"{n}. {text}" for n, text in enumerate(clauses, 1)]


def agreement_text(group: Group) -> AgreementText:
    title = f"Chit agreement: {group.name} ({group.id})"
    clauses = agreement_clauses(group)
    text = "\n".join([title, "", *clauses, ""])
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return AgreementText(group.id, title, clauses, text, digest)


class AgreementService:
    """Shows a group's agreement and records members' signatures."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def text(self, group_id: str) -> AgreementText:
        return agreement_text(read_group(Reader(self.ctx.store), group_id))

    def sign(self, actor: Actor, group_id: str, member_id: str, text_sha256: str) -> Signature:
        """Sign ``group_id``'s agreement as ``member_id``; ``text_sha256`` is the hash of
        the text the member was shown, and must be the current text's."""
        actor.require("member", doing="sign a chit agreement")
        if actor.id != member_id:
            raise PermissionDenied("Members may sign only their own agreement.")
        committed = self.ctx.pipeline.transact(
            actor, lambda r: self._sign_change(r, group_id, member_id, text_sha256)
        )
        return self._signature(committed.value, current=True)

    def _sign_change(
        self, reader: Reader, group_id: str, member_id: str, text_sha256: str
    ) -> tuple[ChangeSet, dict[str, object]]:
        group = read_group(reader, group_id)
        if member_id not in {t.member_id for t in read_tickets(reader, group_id)}:
            raise PermissionDenied(
                "You hold no ticket in this group, so there is no agreement for you to sign."
            )
        current = agreement_text(group)
        if text_sha256 != current.sha256:
            raise Conflict(
                "The agreement text changed since you opened it.",
                hint="Reload the page, read the terms again and sign.",
            )
        sid = signature_id(group_id, member_id)
        if reader.get(SIGNATURES, sid) is not None:
            raise Conflict("You have already signed this agreement.")
        data: dict[str, object] = {
            "group_id": group_id,
            "member_id": member_id,
            "signed_at": self.ctx.clock.now().isoformat(),
            "text_sha256": current.sha256,
        }
        event = AgreementSigned(group_id, member_id, str(data["signed_at"]), current.sha256)
        write = Write("set", SIGNATURES, sid, data, expect_version=0)
        return ChangeSet.of(event, sid, [write]), data

    def signature(self, group_id: str, member_id: str) -> Signature | None:
        """The member's signature of the group's agreement, or None."""
        doc = self.ctx.store.get(SIGNATURES, signature_id(group_id, member_id))
        if doc is None:
            return None
        current = doc.data["text_sha256"] == self.text(group_id).sha256
        return self._signature(doc.data, current=current)

    @staticmethod
    def _signature(data: dict[str, object], *, current: bool) -> Signature:
        return Signature(
            group_id=str(data["group_id"]),
            member_id=str(data["member_id"]),
            signed_at=str(data["signed_at"]),
            text_sha256=str(data["text_sha256"]),
            current=current,
        )
