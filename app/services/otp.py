"""Member sign-in with a one-time code sent to their mobile number, and member sessions.

Only enrolled, active members (``members/``, found by :meth:`MemberService.find_by_phone`)
can sign in. A code is 6 digits, valid for 5 minutes, allows 5 tries, and is never
stored or logged in clear: the store and the WAL hold a keyed HMAC-SHA256 of it, with a
32-byte server key kept in ``DATA_DIR/keys/otp.key`` (mode 0600, created on first use).

Collections (every change goes through the pipeline, so it is in the WAL):

* ``otp_codes/{phone key}``: member_id, code_hash, created_at, expires_at, tries. The
  phone key is an HMAC of the number, so it does not show in document ids either.
* ``otp_limits/{kind}-{key}``: recent event times for one rate limit (requests per
  phone, requests per client address, wrong codes per client address).
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

from app.kernel.errors import (
    KnownError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from app.kernel.files import load_or_create_key
from app.services.actors import SYSTEM, Actor
from app.services.context import ServiceContext
from app.services.kyc_rules import mask_phone, validate_phone
from app.services.members import MEMBERS, Member, MemberService
from app.services.pipeline import ChangeSet, Reader
from app.services.sms import SmsSender
from app.services.store import Write

CODES = "otp_codes"
LIMITS = "otp_limits"
SESSIONS = "member_sessions"
CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=5)
MAX_TRIES = 5
KEY_BYTES = 32


class TooManyRequests(KnownError):
    """A rate limit was reached; ``retry_after`` says how many seconds to wait."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: int, *, hint: str = "") -> None:
        super().__init__(message, hint=hint or f"Try again in {_wait_text(retry_after)}.")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Limit:
    """At most ``count`` events per ``window``."""

    count: int
    window: timedelta


@dataclass(frozen=True)
class OtpLimits:
    per_phone: Limit = Limit(3, timedelta(minutes=15))
    per_address: Limit = Limit(10, timedelta(hours=1))
    wrong_codes_per_address: Limit = Limit(20, timedelta(hours=1))


@dataclass(frozen=True)
class CodeSent:
    """What the sign-in page is told after a code was sent (no code in it)."""

    phone_masked: str
    expires_at: datetime


@dataclass(frozen=True)
class MemberSession:
    """A signed-in member. ``token`` goes to the browser; the store has only its hash."""

    token: str
    member: Member
    expires_at: datetime

    @property
    def actor(self) -> Actor:
        return Actor(self.member.id, self.member.name, "member")


def session_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class OtpService:
    """Sends sign-in codes, checks them and keeps member sessions."""

    def __init__(
        self,
        ctx: ServiceContext,
        sender: SmsSender,
        *,
        session_hours: float = 12.0,
        limits: OtpLimits | None = None,
        key_path: Path | None = None,
    ) -> None:
        self.ctx = ctx
        self.sender = sender
        self.session_hours = session_hours
        self.limits = limits or OtpLimits()
        self.members = MemberService(ctx)
        self._key_path = key_path or ctx.data_dir / "keys" / "otp.key"
        self._key: bytes | None = None

    # -- codes ------------------------------------------------------------------------

    def request_code(self, phone: str, address: str) -> CodeSent:
        """Send a new code to an enrolled member's number (replacing any earlier one).

        Raises:
            ValidationError: not a mobile number.
            TooManyRequests: too many requests from this address or for this number.
            NotFound: the number is not an enrolled member's.
            PermissionDenied: the member was removed.
        """
        number = validate_phone(phone)
        self._count(("address", address), self.limits.per_address, "sign-in requests")
        member = self._enrolled(number)
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        now = self.ctx.clock.now()
        expires = now + CODE_TTL
        key = self._phone_key(number)
        record = {
            "member_id": member.id,
            "code_hash": self._code_hash(key, code),
            "created_at": now.isoformat(),
            "expires_at": expires.isoformat(),
            "tries": 0,
        }

        def work(reader: Reader) -> ChangeSet:
            limit = self._limit_write(reader, ("phone", key), self.limits.per_phone, "codes")
            writes = [limit, Write("set", CODES, key, record)]
            event = {"type": "otp.requested", "member_id": member.id}
            return ChangeSet("otp.request", "member", member.id, writes, "", event)

        self.ctx.pipeline.transact(SYSTEM, work)
        minutes = int(CODE_TTL.total_seconds() // 60)
        self.sender.send(
            number,
            f"{code} is your TransactFlowOS sign-in code. It is valid for {minutes} minutes. "
            "Do not share it with anyone.",
        )
        return CodeSent(member.phone_masked, expires)

    def verify(self, phone: str, code: str, address: str) -> MemberSession:
        """Check a code and open a session.

        Raises:
            ValidationError: not a mobile number, not a 6-digit code, or a wrong code
                (the message says how many tries are left).
            TooManyRequests: too many wrong codes from this address.
            NotFound: no code is waiting (never asked, already used or replaced).
            KnownError: the code expired or its tries are used up.
        """
        number = validate_phone(phone)
        entered = "".join(str(code).split())
        if len(entered) != CODE_DIGITS or not entered.isdigit():
            raise ValidationError(
                f"The code must be {CODE_DIGITS} digits.", hint="Type the code from the SMS."
            )
        self._refuse_if_limited(("wrong", address), self.limits.wrong_codes_per_address)
        key = self._phone_key(number)
        token = secrets.token_urlsafe(32)
        outcome = self.ctx.pipeline.transact(
            SYSTEM, lambda reader: self._check_code(reader, key, entered, address, token)
        ).value
        if isinstance(outcome, KnownError):
            raise outcome
        member = self.members.get(outcome["member_id"])
        return MemberSession(token, member, datetime.fromisoformat(outcome["expires_at"]))

    def _check_code(
        self, reader: Reader, key: str, entered: str, address: str, token: str
    ) -> tuple[ChangeSet, Any]:
        """The change for one try: a session (right code) or a counted failure."""
        doc = reader.get(CODES, key)
        if doc is None:
            raise NotFound(
                "No sign-in code is waiting for this number (it was used or never sent).",
                hint="Ask for a new code.",
            )
        d = doc.data
        member_id = d["member_id"]
        now = self.ctx.clock.now()
        if datetime.fromisoformat(d["expires_at"]) <= now:
            raise KnownError(
                "This sign-in code has expired (codes last 5 minutes).",
                hint="Ask for a new code.",
            )
        tries = int(d.get("tries", 0))
        if tries >= MAX_TRIES:
            raise KnownError(
                f"This code was entered wrongly {MAX_TRIES} times and no longer works.",
                hint="Ask for a new code.",
            )
        if hmac.compare_digest(d["code_hash"], self._code_hash(key, entered)):
            return self._open_session(member_id, key, token, now)
        left = MAX_TRIES - tries - 1
        writes = [
            Write("update", CODES, key, {"tries": tries + 1}),
            self._limit_write(reader, ("wrong", address), None, "wrong codes"),
        ]
        hint = f"{left} {'try' if left == 1 else 'tries'} left." if left else "Ask for a new code."
        refusal = ValidationError("That code is not right.", hint=hint)
        return ChangeSet("otp.wrong_code", "member", member_id, writes), refusal

    # -- sessions ---------------------------------------------------------------------

    def _open_session(
        self, member_id: str, key: str, token: str, now: datetime
    ) -> tuple[ChangeSet, dict[str, str | None]]:
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
        event = {"type": "member.signed_in", "member_id": member_id}
        change = ChangeSet("member.sign_in", "member", member_id, writes, "", event)
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
        change = ChangeSet("member.sign_out", "member", member_id, [write])
        self.ctx.pipeline.transact(SYSTEM, lambda reader: change)

    # -- members and limits -----------------------------------------------------------

    def _enrolled(self, number: str) -> Member:
        member = self.members.find_by_phone(number)
        if member is None:
            raise NotFound(
                f"The number {mask_phone(number)} is not registered with us.",
                hint="Use the mobile number you gave the office, or ask the office to add it.",
            )
        if member.status != "active":
            raise PermissionDenied(
                "This membership is no longer active, so it cannot sign in.",
                hint="Please contact the office.",
            )
        return member

    def _count(self, kind_key: tuple[str, str], limit: Limit, what: str) -> None:
        """Count one event against ``limit`` (refused, and not counted, when it is full)."""
        doc_id = self._limit_id(kind_key)

        def work(reader: Reader) -> ChangeSet:
            write = self._limit_write(reader, kind_key, limit, what)
            return ChangeSet("otp.limit", "otp_limit", doc_id, [write])

        self.ctx.pipeline.transact(SYSTEM, work)

    def _refuse_if_limited(self, kind_key: tuple[str, str], limit: Limit) -> None:
        doc = self.ctx.store.get(LIMITS, self._limit_id(kind_key))
        times = _recent(doc.data if doc else {}, self.ctx.clock.now(), limit.window)
        if len(times) >= limit.count:
            raise _limited(times, limit, "wrong codes from this device", self.ctx.clock.now())

    def _limit_write(
        self, reader: Reader, kind_key: tuple[str, str], limit: Limit | None, what: str
    ) -> Write:
        """The write that records one more event; raises when ``limit`` is reached.
        ``None`` means the limit of the same kind from :attr:`limits` is only recorded."""
        doc_id = self._limit_id(kind_key)
        now = self.ctx.clock.now()
        window = (limit or self.limits.wrong_codes_per_address).window
        doc = reader.get(LIMITS, doc_id)
        times = _recent(doc.data if doc else {}, now, window)
        if limit is not None and len(times) >= limit.count:
            scope = "this number" if kind_key[0] == "phone" else "this device"
            raise _limited(times, limit, f"{what} for {scope}", now)
        data = {"kind": kind_key[0], "times": [*times, now.isoformat()]}
        return Write("set", LIMITS, doc_id, data)

    def _limit_id(self, kind_key: tuple[str, str]) -> str:
        kind, key = kind_key
        return f"{kind}-{self._mac('limit:' + key)[:32]}" if kind != "phone" else f"phone-{key}"

    # -- hashing ----------------------------------------------------------------------

    def _mac(self, text: str) -> str:
        if self._key is None:
            self._key = load_key(self._key_path)
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def _phone_key(self, number: str) -> str:
        return self._mac("phone:" + number)[:32]

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


def _recent(data: dict[str, Any], now: datetime, window: timedelta) -> list[str]:
    """Event times (ISO text) still inside ``window``."""
    start = now - window
    return [t for t in data.get("times", []) if datetime.fromisoformat(t) > start]


def _limited(times: list[str], limit: Limit, what: str, now: datetime) -> TooManyRequests:
    oldest = min(datetime.fromisoformat(t) for t in times)
    wait = max(1, int(-(-(oldest + limit.window - now).total_seconds() // 1)))
    return TooManyRequests(
        f"Too many {what}: at most {limit.count} in {_wait_text(limit.window.total_seconds())}.",
        wait,
    )


def _wait_text(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600 and seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    if seconds >= 60:
        minutes = -(-seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
