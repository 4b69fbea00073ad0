"""Member sign-in with a one-time code sent to their mobile number, and member sessions.

Only enrolled, active members (``members/``, found by :meth:`MemberService.find_by_phone`)
receive a code. A code is 6 digits, valid for 5 minutes, and never stored or logged in
clear: the store and the WAL hold a keyed HMAC-SHA256 of it, with a 32-byte server key
kept in ``DATA_DIR/keys/otp.key`` (mode 0600, created on first use).

**Asking tells a stranger nothing.** Every well-formed number gets the same answer
through the same store writes: a member's number gets a code, any other number a decoy
that no code matches (so trying codes answers alike too). The text goes out in the
background, so the answer is as quick for a member's number as for any other.

**A stranger cannot keep a member out.** Each request adds a code rather than replacing
the last (a sign-in ends them all), so a stranger's request does not void the member's
code. Wrong tries are counted per network: after 5 from one network the code no longer
works *there*; after 20 in all it dies (a staff-issued code only the former). The rate
limits are in :mod:`app.services.otp_limits`. Staff can issue a code outside all of these
(:meth:`OtpService.issue_code`).

Collections (every change goes through the pipeline, so it is in the WAL):

* ``otp_codes/{phone key}``: member_id (None for a number that is no active member's)
  and the live codes: hash, by ("member" or "staff"), created_at, expires_at, tries
  (wrong tries per network key) and wrong (in all). The phone key and network keys are
  HMACs, so neither numbers nor addresses show in document ids or data.
* ``otp_limits/{kind}-{key}``: see :mod:`app.services.otp_limits`.
* ``member_sessions/{sha256(token)}``: member_id, created_at, expires_at, ended_at.

Every refusal is a :class:`~app.kernel.errors.KnownError` whose message says what was
wrong and what to do next.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from app.kernel.errors import KnownError, NotFound, ValidationError
from app.kernel.files import load_or_create_key
from app.services.actors import SYSTEM, Actor
from app.services.collections import MEMBER_SESSIONS, MEMBERS, OTP_CODES
from app.services.context import ServiceContext
from app.services.events import (
    CodeIssued,
    CodeRequested,
    MemberSignedIn,
    MemberSignedOut,
    WrongCodeEntered,
)
from app.services.feeds import Feed
from app.services.kyc.rules import mask_phone, validate_phone
from app.services.members import Member, MemberService
from app.services.otp_limits import Limit, Limiter, OtpLimits, TooManyRequests, network_of
from app.services.pipeline import ChangeSet, Reader
from app.services.sms import BackgroundSender, SmsSender
from app.services.store import Query, Write
from app.services.text import LINE, clean

__all__ = ["Limit", "OtpLimits", "OtpService", "TooManyRequests"]

CODES = OTP_CODES
SESSIONS = MEMBER_SESSIONS
CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=5)
TRIES_PER_NETWORK = 5
TRIES_PER_CODE = 20
MAX_LIVE_CODES = 8
KEY_BYTES = 32
ATTEMPTS = 50
"""Optimistic attempts for sign-in transactions: all requests from one network write
the same limit record, so a burst collides often (each attempt is a few store reads)."""


@dataclass(frozen=True)
class CodeSent:
    """What the sign-in page is told after a request (no code in it, and the same
    whether or not the number is a member's)."""

    phone_masked: str
    expires_at: datetime


@dataclass(frozen=True)
class IssuedCode:
    """A code staff issued to a member; ``sent`` says whether it went by SMS."""

    code: str
    member: Member
    expires_at: datetime
    sent: bool


@dataclass(frozen=True)
class MemberSession:
    """A signed-in member. ``token`` goes to the browser; the store has only its hash."""

    token: str
    member: Member
    expires_at: datetime

    @property
    def actor(self) -> Actor:
        return Actor(self.member.id, self.member.name, "member")

    @property
    def id(self) -> str:
        return session_id(self.token)

    @property
    def watch(self) -> Feed:
        """The member's open sessions: this one leaves the feed when it ends."""
        open_ones = Query(SESSIONS).where("member_id", "==", self.member.id)
        return Feed(open_ones.where("ended_at", "==", None))


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class OtpService:
    """Sends sign-in codes, checks them and keeps member sessions.

    Codes members ask for go through a :class:`BackgroundSender` over ``sender``; call
    :meth:`close` to send what is queued before the process ends.
    """

    def __init__(
        self,
        ctx: ServiceContext,
        sender: SmsSender,
        *,
        members: MemberService,
        session_hours: float = 12.0,
        limits: OtpLimits | None = None,
        key_path: Path | None = None,
    ) -> None:
        self.ctx = ctx
        self.sender = sender
        self.session_hours = session_hours
        self.limits = limits or OtpLimits()
        self.members = members
        self._outbox = BackgroundSender(sender)
        self._key_path = key_path or ctx.data_dir / "keys" / "otp.key"
        self._key: bytes | None = None

    def close(self) -> None:
        self._outbox.close()

    @property
    def limiter(self) -> Limiter:
        return Limiter(self.limits, self._mac)

    # -- codes ------------------------------------------------------------------------

    def request_code(self, phone: str, address: str) -> CodeSent:
        """Send a new code to ``phone`` if it is an active member's; answer alike if not.

        Raises:
            ValidationError: not a mobile number.
            TooManyRequests: a request limit of this number or network was reached.
        """
        number = validate_phone(phone)
        member = self._active(number)
        network = network_of(address)
        key, now, code = self._phone_key(number), self.ctx.clock.now(), _new_code()
        entry = self._entry(key, code if member else None, "member", now)

        def work(reader: Reader) -> ChangeSet:
            writes = self.limiter.request(reader, key, network, now)
            writes.append(self._add_code(reader, key, member.id if member else None, entry))
            if member is None:
                return ChangeSet.of(CodeRequested(""), key, writes, entity_type="phone")
            return ChangeSet.of(CodeRequested(member.id), member.id, writes)

        self.ctx.pipeline.transact(SYSTEM, work, attempts=ATTEMPTS)
        if member is not None:
            self._outbox.send(number, _message(code))
        return CodeSent(mask_phone(number), now + CODE_TTL)

    def issue_code(self, by: Actor, phone: str, reason: str, *, send: bool) -> IssuedCode:
        """A code for an active member, issued by staff (e.g. for a member locked out by
        strangers). No request limit applies, and strangers' wrong tries cannot end it;
        wrong tries from one network still stop that network. It goes by SMS when
        ``send`` (here and now, so a gateway failure reaches staff), else staff hand it
        over in person. Audited as ``otp.issue`` with who, how and why.

        Raises:
            PermissionDenied: ``by`` is not staff.
            ValidationError: not a mobile number, or no reason given.
            NotFound: no active member has this number.
        """
        by.require("employee", "admin", doing="issue a member a sign-in code")
        why = _reason(reason)
        number = validate_phone(phone)
        member = self._active(number)
        if member is None:
            raise NotFound(
                f"No active member has the number {mask_phone(number)}.",
                hint="Check the number on the member's profile.",
            )
        key, now, code = self._phone_key(number), self.ctx.clock.now(), _new_code()
        entry = self._entry(key, code, "staff", now)
        how = "sms" if send else "in person"
        event = CodeIssued(member.id, by.id, how)

        def work(reader: Reader) -> ChangeSet:
            write = self._add_code(reader, key, member.id, entry)
            return ChangeSet.of(event, member.id, [write], why)

        self.ctx.pipeline.transact(by, work, attempts=ATTEMPTS)
        if send:
            self.sender.send(number, _message(code))
        return IssuedCode(code, member, now + CODE_TTL, send)

    def verify(self, phone: str, code: str, address: str) -> MemberSession:
        """Check a code and open a session.

        Raises:
            ValidationError: not a mobile number, not a 6-digit code, or a wrong code
                (the message says how many tries are left).
            TooManyRequests: too many wrong codes from this network.
            NotFound: no code is waiting (never asked, or already used).
            KnownError: the codes expired, or this network used up its tries.
        """
        number = validate_phone(phone)
        entered = "".join(str(code).split())
        if len(entered) != CODE_DIGITS or not entered.isdigit():
            raise ValidationError(
                f"The code must be {CODE_DIGITS} digits.", hint="Type the code from the SMS."
            )
        network = network_of(address)
        key = self._phone_key(number)
        token = secrets.token_urlsafe(32)
        outcome = self.ctx.pipeline.transact(
            SYSTEM,
            lambda reader: self._try_code(reader, key, entered, network, token),
            attempts=ATTEMPTS,
        ).value
        if isinstance(outcome, KnownError):
            raise outcome
        member = self.members.get(outcome["member_id"])
        return MemberSession(token, member, datetime.fromisoformat(outcome["expires_at"]))

    def _try_code(
        self, reader: Reader, key: str, entered: str, network: str, token: str
    ) -> tuple[ChangeSet, Any]:
        """The change for one try: a session (right code) or a counted failure."""
        now = self.ctx.clock.now()
        self.limiter.wrong_codes(network).check(reader, now)
        doc = reader.get(CODES, key)
        if doc is None:
            raise NotFound(
                "No sign-in code is waiting for this number (it was used or never sent).",
                hint="Ask for a new code.",
            )
        live = _live(doc.data, now)
        if not live:
            raise KnownError(
                "This sign-in code has expired (codes last 5 minutes).",
                hint="Ask for a new code.",
            )
        net = self._network_key(network)
        usable = [c for c in live if _usable(c, net)]
        if not usable:
            raise KnownError(
                f"This code was entered wrongly {TRIES_PER_NETWORK} times on this network "
                "and no longer works here.",
                hint="Ask for a new code.",
            )
        digest = self._code_hash(key, entered)
        matches = [hmac.compare_digest(c["hash"], digest) for c in usable]
        member_id = doc.data.get("member_id")
        if any(matches) and member_id:
            return self._open_session(reader, member_id, key, network, token, now)
        return self._count_wrong(reader, doc.data, live, net, network, key, now)

    def _count_wrong(
        self,
        reader: Reader,
        data: dict[str, Any],
        live: list[dict[str, Any]],
        net: str,
        network: str,
        key: str,
        now: datetime,
    ) -> tuple[ChangeSet, KnownError]:
        counted = [_count_try(c, net) if _usable(c, net) else c for c in live]
        left = max((_tries_left(c, net) for c in counted), default=0)
        writes = [
            Write("update", CODES, key, {"codes": counted}),
            self.limiter.wrong_codes(network).record(reader, now),
        ]
        member_id = data.get("member_id")
        kind, entity = ("member", member_id) if member_id else ("phone", key)
        hint = f"{left} {'try' if left == 1 else 'tries'} left." if left else "Ask for a new code."
        change = ChangeSet.of(WrongCodeEntered(), entity, writes, entity_type=kind)
        return change, ValidationError("That code is not right.", hint=hint)

    # -- sessions ---------------------------------------------------------------------

    def _open_session(
        self, reader: Reader, member_id: str, key: str, network: str, token: str, now: datetime
    ) -> tuple[ChangeSet, dict[str, str | None]]:
        """Open a session, end every code of the number, and take the request back from
        the network's budget (members who sign in do not use it up)."""
        expires = now + timedelta(hours=self.session_hours)
        data = {
            "member_id": member_id,
            "created_at": now.isoformat(),
            "expires_at": expires.isoformat(),
            "ended_at": None,
        }
        writes = [
            Write("delete", CODES, key),
            Write("set", SESSIONS, session_id(token), data, expect_version=0),
        ]
        refund = self.limiter.network(network).refund(reader, now)
        writes += [refund] if refund is not None else []
        change = ChangeSet.of(MemberSignedIn(member_id), member_id, writes)
        return change, data

    def resume(self, token: str) -> MemberSession | None:
        """The session for ``token`` if it is open, unexpired and its member active."""
        if not token:
            return None
        doc = self.ctx.store.get(SESSIONS, session_id(token))
        if doc is None or doc.data.get("ended_at"):
            return None
        expires = datetime.fromisoformat(doc.data["expires_at"])
        if expires <= self.ctx.clock.now():
            return None
        member_doc = self.ctx.store.get(MEMBERS, doc.data["member_id"])
        if member_doc is None:
            return None
        member = Member.from_doc(member_doc)
        if member.status != "active":
            return None
        return MemberSession(token, member, expires)

    def sign_out(self, token: str) -> None:
        """End the session for ``token``; an unknown or ended one is left as it is."""
        sid = session_id(token)
        doc = self.ctx.store.get(SESSIONS, sid)
        if doc is None or doc.data.get("ended_at"):
            return
        member_id = doc.data["member_id"]
        write = Write("update", SESSIONS, sid, {"ended_at": self.ctx.clock.now().isoformat()})
        change = ChangeSet.of(MemberSignedOut(), member_id, [write])
        self.ctx.pipeline.transact(SYSTEM, lambda reader: change)

    # -- members and codes ------------------------------------------------------------

    def _active(self, number: str) -> Member | None:
        member = self.members.find_by_phone(number)
        return member if member is not None and member.status == "active" else None

    def _entry(self, key: str, code: str | None, by: str, now: datetime) -> dict[str, Any]:
        """A code's record; with no code, a decoy whose hash no code can match."""
        secret = f"code:{key}:{code}" if code else f"decoy:{secrets.token_hex(16)}"
        return {
            "hash": self._mac(secret),
            "by": by,
            "created_at": now.isoformat(),
            "expires_at": (now + CODE_TTL).isoformat(),
            "tries": {},
            "wrong": 0,
        }

    def _add_code(
        self, reader: Reader, key: str, member_id: str | None, entry: dict[str, Any]
    ) -> Write:
        doc = reader.get(CODES, key)
        now = datetime.fromisoformat(entry["created_at"])
        live = _live(doc.data, now) if doc is not None else []
        codes = [*live[-(MAX_LIVE_CODES - 1) :], entry]
        return Write("set", CODES, key, {"member_id": member_id, "codes": codes})

    # -- hashing ----------------------------------------------------------------------

    def _mac(self, text: str) -> str:
        if self._key is None:
            self._key = load_key(self._key_path)
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def _phone_key(self, number: str) -> str:
        return self._mac("phone:" + number)[:32]

    def _network_key(self, network: str) -> str:
        return self._mac("network:" + network)[:16]

    def _code_hash(self, phone_key: str, code: str) -> str:
        return self._mac(f"code:{phone_key}:{code}")


def load_key(path: Path) -> bytes:
    """The 32-byte server key in ``path``, created (mode 0600) on first use."""
    return load_or_create_key(
        path,
        "sign-in code key",
        KEY_BYTES,
        damaged_hint="Delete it and restart: codes already sent and member sessions stop working.",
    )


def _new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def _message(code: str) -> str:
    minutes = int(CODE_TTL.total_seconds() // 60)
    return (
        f"{code} is your TransactFlowOS sign-in code. It is valid for {minutes} minutes. "
        "Do not share it with anyone."
    )


def _live(data: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    return [c for c in data.get("codes", []) if datetime.fromisoformat(c["expires_at"]) > now]


def _usable(code: dict[str, Any], net: str) -> bool:
    return _tries_left(code, net) > 0


def _tries_left(code: dict[str, Any], net: str) -> int:
    """Wrong tries ``net`` has left on ``code``: 5 per network, and for a code a member
    asked for, 20 in all."""
    left = TRIES_PER_NETWORK - int(code["tries"].get(net, 0))
    if code["by"] != "staff":
        left = min(left, TRIES_PER_CODE - int(code["wrong"]))
    return max(0, left)


def _count_try(code: dict[str, Any], net: str) -> dict[str, Any]:
    tries = {**code["tries"], net: int(code["tries"].get(net, 0)) + 1}
    return {**code, "tries": tries, "wrong": int(code["wrong"]) + 1}


def _reason(text: str) -> str:
    """Why staff issue a code: one line, at least 3 characters once cleaned."""
    why = clean(text, "Reason", LINE)
    if len(why) < 3:
        raise ValidationError(
            "Give the reason for issuing the code (at least 3 characters).",
            hint="For example: 'member at the counter, identity checked'.",
        )
    return why
