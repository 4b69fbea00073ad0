"""Members: enrolment with contact details, look-up by phone, member numbers.

A member is one person known to the firm (``members/{member_id}``); they hold tickets
in chit groups, take loans and sign in to the web view with their mobile number.
Enrolment takes the name and mobile number, and may take a postal address (where
written notices go) and a nominee (who receives what the firm owes the member if they
die), each cleaned at the edge; every wrong field is named in one
:class:`~app.kernel.errors.FieldErrors`.

Each member gets a **member number** at enrolment (``M-0001``, ``M-0002`` ...), the one
staff say and write: ``counters/members`` holds the last number given and is advanced in
the enrolment's ChangeSet, so a number is never given twice and a member enrolled later
always has a higher one (the register finds new members by it). Members enrolled before
numbering began show their id instead. The same ChangeSet adds the member's name, mobile
and number to their block of the directory (``member_directory/{block}``, one document
per :data:`DIRECTORY_BLOCK` numbers), from which the register's search index is built
with a few hundred reads rather than one per member.

The mobile number is the sign-in identity, so it is unique. The store has no unique
constraint, so uniqueness is kept by an index document ``member_phones/{phone}``
created with ``expect_version=0`` in the same ChangeSet as the member: two concurrent
enrolments with one number cannot both commit (the pipeline retries the loser, which
then sees the first one's number and is refused, the holder named to staff).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.kernel.errors import Conflict, FieldErrors, NotFound, ValidationError
from app.services.actors import Actor
from app.services.collections import MEMBER_DIRECTORY, MEMBER_PHONES, MEMBERS
from app.services.context import ServiceContext
from app.services.events import MemberEnrolled
from app.services.kyc.rules import KycFieldError, mask_phone, validate_name, validate_phone
from app.services.member_index import MemberIndex
from app.services.numbering import next_number
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Query, Write
from app.services.text import ADDRESS, NOTE, PERSON_NAME, TITLE, clean

PHONES = MEMBER_PHONES
KYC_STATUSES = ("none", "pending", "approved", "rejected")
MEMBER_STATUSES = ("active", "removed")
NUMBER_COUNTER = "members"
DIRECTORY_BLOCK = 250
"""Members per directory document (about 15 KB each)."""
ENROL_ATTEMPTS = 50
"""Every enrolment advances one counter, so concurrent ones collide and retry (each
attempt is three reads)."""


def member_no(number: int | None, member_id: str) -> str:
    """What staff call a member: ``M-0042``, or the id of one enrolled before numbering."""
    return f"M-{number:04d}" if number is not None else member_id


@dataclass(frozen=True)
class Nominee:
    """Who receives what the firm owes the member if they die."""

    name: str
    relationship: str


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
    number: int | None = None
    address: str = ""
    nominee: Nominee | None = None

    @property
    def member_no(self) -> str:
        return member_no(self.number, self.id)

    @classmethod
    def from_doc(cls, doc: Document) -> Member:
        d = doc.data
        phone = d.get("phone") or ""
        nominee = d.get("nominee")
        return cls(
            id=doc.id,
            name=d.get("name", ""),
            phone=phone,
            phone_masked=d.get("phone_masked") or (mask_phone(phone) if phone else ""),
            kyc_status=d.get("kyc_status", "none"),
            status=d.get("status", "active"),
            joined_at=d.get("joined_at", ""),
            number=d.get("number"),
            address=d.get("address") or "",
            nominee=Nominee(nominee["name"], nominee["relationship"]) if nominee else None,
        )

    def __repr__(self) -> str:
        return (
            f"Member(id={self.id!r}, no={self.member_no!r}, name={self.name!r}, "
            f"phone={self.phone_masked!r}, kyc_status={self.kyc_status!r}, "
            f"status={self.status!r})"
        )

    def to_json(self) -> dict[str, Any]:
        """For screens and payloads: the masked phone only."""
        return {
            "id": self.id,
            "member_no": self.member_no,
            "name": self.name,
            "phone_masked": self.phone_masked,
            "kyc_status": self.kyc_status,
            "status": self.status,
            "joined_at": self.joined_at,
        }


@dataclass(frozen=True)
class NewMember:
    """An enrolment's details, cleaned (see :func:`checked_details`)."""

    name: str
    phone: str
    address: str
    nominee: Nominee | None

    def data(self) -> dict[str, Any]:
        nominee = self.nominee
        return {
            "name": self.name,
            "phone": self.phone,
            "phone_masked": mask_phone(self.phone),
            "address": self.address,
            "nominee": {"name": nominee.name, "relationship": nominee.relationship}
            if nominee
            else None,
        }


def _required(check: Callable[[str], str], label: str) -> Callable[[object], str]:
    def checked(value: object) -> str:
        text = value if isinstance(value, str) else ""
        if not text.strip():
            raise ValidationError(f"{label} is required.")
        return check(text)

    return checked


def _nominee_name(value: object) -> str:
    """The nominee's name as a person's name, or "" when none is given."""
    text = clean(value, "Nominee's name", PERSON_NAME)
    if not text:
        return ""
    try:
        return validate_name(text)
    except KycFieldError as exc:  # its messages begin "Name ..."
        raise ValidationError("Nominee's name " + exc.message.removeprefix("Name ")) from None


def checked_details(
    name: object,
    phone: object,
    address: object = "",
    nominee: object = "",
    relationship: object = "",
) -> NewMember:
    """The enrolment's details cleaned, or one FieldErrors naming every wrong field
    (``name``, ``phone``, ``address``, ``nominee``, ``relationship``)."""
    values: dict[str, str] = {}
    problems: dict[str, str] = {}
    checks: tuple[tuple[str, object, Callable[[object], str]], ...] = (
        ("name", name, _required(validate_name, "Name")),
        ("phone", phone, _required(validate_phone, "Mobile number")),
        ("address", address, lambda v: clean(v, "Address", ADDRESS)),
        ("nominee", nominee, _nominee_name),
        ("relationship", relationship, lambda v: clean(v, "Relationship", TITLE)),
    )
    for field, value, check in checks:
        try:
            values[field] = check(value)
        except ValidationError as exc:
            problems[field] = exc.message
    nominee_name, related = values.get("nominee"), values.get("relationship")
    if nominee_name is not None and related is not None and bool(nominee_name) != bool(related):
        if nominee_name:
            problems["relationship"] = "Say how the nominee is related to the member."
        else:
            problems["nominee"] = "Name the nominee, or leave the relationship empty."
    if problems:
        raise FieldErrors("The new member", problems)
    nominee_of = Nominee(values["nominee"], values["relationship"]) if values["nominee"] else None
    return NewMember(values["name"], values["phone"], values["address"], nominee_of)


class MobileTaken(Conflict):
    """The mobile number already belongs to a member (named to staff)."""

    def __init__(self, phone: str, holder: Member | None, holder_id: str) -> None:
        who = f"{holder.name} ({holder.member_no})" if holder else f"member {holder_id}"
        super().__init__(
            f"{mask_phone(phone)} already belongs to {who}.",
            hint="Each member signs in with their own number: open that member instead.",
        )
        self.holder_id = holder_id
        self.holder = who
        self.field_errors = {"phone": self.message}


def phone_taken(reader: Reader, phone: str, member_id: str | None = None) -> None:
    """Raise MobileTaken if another member already has ``phone``."""
    held = reader.get(PHONES, phone)
    if held is None or held.data.get("member_id") == member_id:
        return
    holder_id = str(held.data.get("member_id"))
    doc = reader.get(MEMBERS, holder_id)
    raise MobileTaken(phone, Member.from_doc(doc) if doc else None, holder_id)


def directory_block(number: int) -> str:
    """The directory document that lists member number ``number``."""
    return f"{(number - 1) // DIRECTORY_BLOCK:06d}"


def directory_write(member_id: str, number: int, name: str, phone: str) -> Write:
    """Add a member to their block of the directory: ``[name, mobile, number]``."""
    entry = {member_id: [name, phone, number]}
    return Write("merge", MEMBER_DIRECTORY, directory_block(number), {"members": entry})


class MemberService:
    """Enrols members and finds them; ``index`` is the search index of the register."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.index = MemberIndex(ctx.store)

    def enroll(
        self,
        actor: Actor,
        name: str,
        phone: str,
        *,
        address: str = "",
        nominee: str = "",
        relationship: str = "",
        reason: str = "",
    ) -> Member:
        """Enrol a new member (staff only). The mobile number must be new to the firm.

        Raises:
            FieldErrors: naming every wrong field.
            MobileTaken: the number is another member's (named).
        """
        actor.require("employee", "admin", doing="enrol a member")
        details = checked_details(name, phone, address, nominee, relationship)
        why = clean(reason, "Reason", NOTE)
        member_id = self.ctx.ids.new("mem")
        data = {
            **details.data(),
            "kyc_status": "none",
            "status": "active",
            "joined_at": self.ctx.clock.now().isoformat(),
            "enrolled_by": actor.id,
        }

        def work(reader: Reader) -> ChangeSet:
            phone_taken(reader, details.phone)
            number, counted = next_number(reader, NUMBER_COUNTER)
            writes = [
                Write("set", MEMBERS, member_id, {**data, "number": number}, expect_version=0),
                Write("set", PHONES, details.phone, {"member_id": member_id}, expect_version=0),
                counted,
                directory_write(member_id, number, details.name, details.phone),
            ]
            return ChangeSet.of(MemberEnrolled(member_id), member_id, writes, why)

        self.ctx.pipeline.transact(actor, work, attempts=ENROL_ATTEMPTS)
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
        """The first ``limit`` members matching ``text`` as the register matches it (words
        of the name, digits of the mobile, the member number; see
        :mod:`app.services.member_index`), in name order."""
        found = self.index.find(text)[: max(limit, 0)]
        docs = self.ctx.store.get_many(MEMBERS, [e.id for e in found])
        return [Member.from_doc(docs[e.id]) for e in found if e.id in docs]

    def count(self, *, status: str | None = None) -> int:
        query = Query(MEMBERS)
        if status is not None:
            query = query.where("status", "==", status)
        return self.ctx.store.count(query)


def _check_choice(what: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValidationError(f"Unknown {what} {value!r}; use one of {', '.join(choices)}.")
