"""Members: enrolment, look-up by phone, search for the desk.

A member is one person known to the firm (``members/{member_id}``); they hold tickets
in chit groups, take loans and sign in to the web view with their mobile number.

The mobile number is the sign-in identity, so it is unique. The store has no unique
constraint, so uniqueness is kept by an index document ``member_phones/{phone}``
created with ``expect_version=0`` in the same ChangeSet as the member: two concurrent
enrolments with one number cannot both commit (the pipeline retries the loser, which
then sees the first one's number and is refused with a ``Conflict``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.kernel.errors import Conflict, NotFound, ValidationError
from app.services.actors import Actor
from app.services.collections import MEMBER_PHONES, MEMBERS
from app.services.context import ServiceContext
from app.services.events import MemberEnrolled
from app.services.kyc.rules import KycFieldError, mask_phone, validate_name, validate_phone
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Query, Write
from app.services.text import NOTE, clean

PHONES = MEMBER_PHONES
KYC_STATUSES = ("none", "pending", "approved", "rejected")
MEMBER_STATUSES = ("active", "removed")


@dataclass(frozen=True)
class Member:
    """A member as stored. ``phone`` is the sign-in number; screens show ``phone_masked``."""

    id: str
    name: str
    phone: str
    phone_masked: str
    kyc_status: str
    status: str
    joined_at: str

    @classmethod
    def from_doc(cls, doc: Document) -> Member:
        d = doc.data
        phone = d.get("phone") or ""
        return cls(
            id=doc.id,
            name=d.get("name", ""),
            phone=phone,
            phone_masked=d.get("phone_masked") or (mask_phone(phone) if phone else ""),
            kyc_status=d.get("kyc_status", "none"),
            status=d.get("status", "active"),
            joined_at=d.get("joined_at", ""),
        )

    def __repr__(self) -> str:
        return (
            f"Member(id={self.id!r}, name={self.name!r}, phone={self.phone_masked!r}, "
            f"kyc_status={self.kyc_status!r}, status={self.status!r})"
        )

    def to_json(self) -> dict[str, Any]:
        """For screens and payloads: the masked phone only."""
        return {
            "id": self.id,
            "name": self.name,
            "phone_masked": self.phone_masked,
            "kyc_status": self.kyc_status,
            "status": self.status,
            "joined_at": self.joined_at,
        }


def checked_name_and_phone(name: str, phone: str) -> tuple[str, str]:
    """Normalised (name, phone), or one ValidationError listing both problems."""
    values: dict[str, str] = {}
    problems: list[str] = []
    for field, value, check in (("name", name, validate_name), ("phone", phone, validate_phone)):
        try:
            values[field] = check(value if isinstance(value, str) else "")
        except KycFieldError as exc:
            problems.append(exc.message)
    if problems:
        raise ValidationError(
            "Cannot enrol the member: " + " ".join(problems), hint="Correct it and try again."
        )
    return values["name"], values["phone"]


def phone_taken(reader: Reader, phone: str, member_id: str | None = None) -> None:
    """Raise Conflict if another member already has ``phone``."""
    held = reader.get(PHONES, phone)
    if held is not None and held.data.get("member_id") != member_id:
        raise Conflict(
            f"Mobile number {mask_phone(phone)} already belongs to member "
            f"{held.data.get('member_id')}.",
            hint="Each member signs in with their own number: search for that member instead.",
        )


class MemberService:
    """Enrols members and finds them."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def enroll(self, actor: Actor, name: str, phone: str, *, reason: str = "") -> Member:
        """Enrol a new member (staff only). The mobile number must be new to the firm."""
        actor.require("employee", "admin", doing="enrol a member")
        clean_name, clean_phone = checked_name_and_phone(name, phone)
        why = clean(reason, "Reason", NOTE)
        member_id = self.ctx.ids.new("mem")
        data = {
            "name": clean_name,
            "phone": clean_phone,
            "phone_masked": mask_phone(clean_phone),
            "kyc_status": "none",
            "status": "active",
            "joined_at": self.ctx.clock.now().isoformat(),
            "enrolled_by": actor.id,
        }

        def work(reader: Reader) -> ChangeSet:
            phone_taken(reader, clean_phone)
            writes = [
                Write("set", MEMBERS, member_id, data, expect_version=0),
                Write("set", PHONES, clean_phone, {"member_id": member_id}, expect_version=0),
            ]
            return ChangeSet.of(MemberEnrolled(member_id), member_id, writes, why)

        self.ctx.pipeline.transact(actor, work)
        return self.get(member_id)

    # -- reads ----------------------------------------------------------------------

    def get(self, member_id: str) -> Member:
        doc = self.ctx.store.get(MEMBERS, member_id)
        if doc is None:
            raise NotFound(f"No member with id {member_id!r}.")
        return Member.from_doc(doc)

    def get_many(self, member_ids: list[str]) -> dict[str, Member]:
        docs = self.ctx.store.get_many(MEMBERS, member_ids)
        return {mid: Member.from_doc(doc) for mid, doc in docs.items()}

    def find_by_phone(self, phone: str) -> Member | None:
        """The member who signs in with ``phone`` (any usual Indian format), or None.

        Raises:
            ValidationError: when ``phone`` is not a mobile number at all.
        """
        number = validate_phone(phone)
        index = self.ctx.store.get(PHONES, number)
        if index is None:
            return None
        doc = self.ctx.store.get(MEMBERS, index.data["member_id"])
        return Member.from_doc(doc) if doc is not None else None

    def list_members(
        self, *, status: str | None = None, kyc_status: str | None = None, limit: int | None = None
    ) -> list[Member]:
        """Members ordered by name, optionally filtered by status and KYC status."""
        query = Query(MEMBERS)
        if status is not None:
            _check_choice("status", status, MEMBER_STATUSES)
            query = query.where("status", "==", status)
        if kyc_status is not None:
            _check_choice("KYC status", kyc_status, KYC_STATUSES)
            query = query.where("kyc_status", "==", kyc_status)
        members = sorted(
            (Member.from_doc(d) for d in self.ctx.store.stream(query)),
            key=lambda m: (m.name.casefold(), m.id),
        )
        return members[:limit] if limit is not None else members

    def search(self, text: str, *, limit: int = 50) -> list[Member]:
        """Members whose name contains ``text`` (any case), or whose mobile number ends
        with ``text`` when it is digits (e.g. the last 4 shown on a masked number)."""
        needle = " ".join(text.split()).casefold()
        if not needle:
            return self.list_members(limit=limit)
        digits = needle.replace(" ", "").removeprefix("+")
        by_phone = digits.isdigit()
        found = [
            m
            for m in map(Member.from_doc, self.ctx.store.stream(Query(MEMBERS)))
            if needle in m.name.casefold() or (by_phone and m.phone.endswith(digits))
        ]
        found.sort(key=lambda m: (m.name.casefold(), m.id))
        return found[:limit]

    def count(self, *, status: str | None = None) -> int:
        query = Query(MEMBERS)
        if status is not None:
            query = query.where("status", "==", status)
        return self.ctx.store.count(query)


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValidationError(f"Unknown {what} {value!r}; use one of {', '.join(choices)}.")
