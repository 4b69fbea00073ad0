"""Staff accounts (employees, admins and auditors) and their desktop sign-in sessions.

Collections:

* ``staff/{id}``: name, username, role, active, password (a PHC-style scrypt string),
  created_at, created_by, last_sign_in_at.
* ``staff_usernames/{username}``: ``staff_id``; created with ``expect_version=0`` so a
  username is taken once, even by two admins at the same moment.
* ``staff_sessions/{sha256(token)}``: staff_id, created_at, expires_at, ended_at. The
  token itself is only ever in the caller's hands (and the OS keyring). Disabling an
  account, changing its role or setting its password ends all its sessions in the same
  change, so every desktop and socket signed in as that person stops at once (and
  whoever signs in again acts in the new role).

An auditor (role ``auditor``) signs in like other staff and reads; the pipeline refuses
every change in an auditor's name but their exports and their own sign-ins, sign-outs
and password (:func:`app.services.actors.refuse_read_only`).
* ``staff_signin/{username}``: the failure counter that slows down password guessing.

Members live in ``members/`` and never sign in here. Every change goes through the
pipeline, so it is in the WAL; no password or token is ever written in clear.

Guessing is slowed in the service itself: a failed attempt is counted (and logged as a
failed sign-in) in one WAL transaction that first checks the lock, so parallel guesses
are counted one after another; from the third consecutive failure on, the next attempt
is refused until ``2 ** (failures - 2)`` seconds (at most 15 minutes) have passed, right
password or not. A successful sign-in opens the session and clears the counter in one
transaction that checks the lock too. So the log says which sign-ins failed: a success
is one ``staff.sign_in`` record, a failure one ``staff.sign_in_failed``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.kernel.errors import KnownError, NotFound, PermissionDenied, ValidationError
from app.services import topics
from app.services.actors import ACCOUNT_ROLES, ROLES, SYSTEM, Actor, Role
from app.services.collections import (
    MEMBERS,
    STAFF_ACCOUNTS,
    STAFF_META,
    STAFF_SESSIONS,
    STAFF_SIGNIN,
    STAFF_USERNAMES,
)
from app.services.context import ServiceContext
from app.services.events import (
    Event,
    FirstAdminSetUp,
    PasswordSet,
    StaffCreated,
    StaffDisabled,
    StaffEnabled,
    StaffRoleChanged,
    StaffSignedIn,
    StaffSignedOut,
    StaffSignInFailed,
)
from app.services.feeds import Feed
from app.services.pipeline import ChangeSet, Reader
from app.services.store import Document, Query, Write
from app.services.text import NOTE, PERSON_NAME, clean
from app.services.topics import reads

SCRYPT_LOG_N = 14
SCRYPT_R = 8
SCRYPT_P = 1
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
FREE_FAILURES = 3
MAX_WAIT_SECONDS = 900
WRONG = "Wrong username or password."
_READABLE = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,31}")
_PHC = re.compile(r"\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)")


class SignInThrottled(KnownError):
    """Too many wrong passwords for one username: the next try must wait."""

    code = "throttled"

    def __init__(self, username: str, wait_seconds: int) -> None:
        super().__init__(
            f"Too many failed sign-ins for {username!r}. "
            f"Wait {_plural(wait_seconds, 'second')}, then try again.",
            hint="If you forgot your password, ask an admin to set a new one.",
        )
        self.wait_seconds = wait_seconds


class WrongPassword(ValidationError):
    """The username or password was wrong; ``wait_seconds`` > 0 once guessing is slowed."""

    def __init__(self, wait_seconds: int = 0) -> None:
        hint = "Check both and try again."
        if wait_seconds:
            wait = _plural(wait_seconds, "second")
            hint = f"Too many failures: wait {wait} before the next try."
        super().__init__(WRONG, hint=hint)
        self.wait_seconds = wait_seconds


# -- passwords ------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, log_n: int, r: int, p: int) -> bytes:
    # surrogatepass: no typed password holds a lone surrogate, but a sent one must
    # only fail to match, not fail to encode.
    secret = password.encode("utf-8", "surrogatepass")
    return hashlib.scrypt(secret, salt=salt, n=2**log_n, r=r, p=p, maxmem=128 << 20, dklen=32)


def hash_password(password: str) -> str:
    """A PHC-style string: ``$scrypt$ln=14,r=8,p=1$<salt>$<hash>`` (unpadded base64)."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_LOG_N, SCRYPT_R, SCRYPT_P)
    return f"$scrypt$ln={SCRYPT_LOG_N},r={SCRYPT_R},p={SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a string from :func:`hash_password` (constant time)."""
    found = _PHC.fullmatch(stored or "")
    if found is None or len(password) > MAX_PASSWORD:
        return False
    log_n, r, p = int(found[1]), int(found[2]), int(found[3])
    digest = _scrypt(password, _unb64(found[4]), log_n, r, p)
    return hmac.compare_digest(digest, _unb64(found[5]))


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def password_problems(password: str, username: str = "") -> list[str]:
    """What is wrong with a new password, as sentences; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_PASSWORD:
        problems.append(f"Use at least {MIN_PASSWORD} characters (now {len(password)}).")
    if len(password) > MAX_PASSWORD:
        problems.append(f"Use at most {MAX_PASSWORD} characters.")
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in password):
        problems.append("Use only characters you can type (no control characters).")
    classes = {_char_class(c) for c in password}
    if password and len(classes) < 2:
        problems.append(
            "Mix at least two kinds of character: lower case, upper case, digits, symbols."
        )
    name = username.strip().lower()
    if name and name in password.lower():
        problems.append("Do not use your username in the password.")
    return problems


def _char_class(char: str) -> str:
    if char.islower():
        return "lower"
    if char.isupper():
        return "upper"
    return "digit" if char.isdigit() else "other"


def generate_password() -> str:
    """A new password that meets :func:`password_problems`: ``Kq7m-x3Tz-P9wd`` (12
    characters from 56, without look-alikes such as 0/O and 1/l/I)."""
    while True:
        groups = ("".join(secrets.choice(_READABLE) for _ in range(4)) for _ in range(3))
        password = "-".join(groups)
        if not password_problems(password) and len({_char_class(c) for c in password}) >= 4:
            return password


def check_password(password: str, username: str) -> None:
    """Raise ``ValidationError`` listing every problem with a new password."""
    problems = password_problems(password, username)
    if problems:
        raise ValidationError("The password is too weak. " + " ".join(problems))


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: 3-32 of a-z, 0-9, '.', '_', '-'."""
    name = username.strip().lower()
    if not _USERNAME.fullmatch(name):
        raise ValidationError(
            f"{username!r} is not a valid username.",
            hint="Use 3 to 32 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit.",
        )
    return name


# -- records ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffAccount:
    id: str
    name: str
    username: str
    role: str
    active: bool
    created_at: str
    last_sign_in_at: str | None = None

    @classmethod
    def from_doc(cls, doc: Document) -> StaffAccount:
        d = doc.data
        return cls(
            doc.id,
            d["name"],
            d["username"],
            d["role"],
            bool(d["active"]),
            d["created_at"],
            d.get("last_sign_in_at"),
        )

    @property
    def actor(self) -> Actor:
        role: Role = self.role if self.role in ROLES else "member"  # type: ignore[assignment]
        return Actor(self.id, self.name, role)


@dataclass(frozen=True)
class Session:
    """A signed-in staff member. ``token`` goes to the keyring; the store has its hash."""

    token: str
    account: StaffAccount
    expires_at: datetime

    @property
    def actor(self) -> Actor:
        return self.account.actor

    @property
    def id(self) -> str:
        return token_id(self.token)

    @property
    def watch(self) -> Feed:
        """The account's open sessions: this one leaves the feed when it ends."""
        return Feed(open_sessions(self.account.id))


def open_sessions(staff_id: str) -> Query:
    return Query(STAFF_SESSIONS).where("staff_id", "==", staff_id).where("ended_at", "==", None)


def token_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# -- the service --------------------------------------------------------------------------


class StaffService:
    """Creates and manages staff accounts; signs staff in and out of the desktop."""

    def __init__(self, ctx: ServiceContext, *, session_hours: float = 12.0) -> None:
        self.ctx = ctx
        self.session_hours = session_hours

    # -- reads ----------------------------------------------------------------------

    def has_admin(self) -> bool:
        query = Query(STAFF_ACCOUNTS).where("role", "==", "admin").where("active", "==", True)
        return bool(self.ctx.store.query(query.limit(1)))

    def needs_setup(self) -> bool:
        """True on a data directory with no staff account at all."""
        return not self.ctx.store.query(Query(STAFF_ACCOUNTS).limit(1))

    @reads(topics.STAFF)
    def list_staff(self) -> list[StaffAccount]:
        docs = self.ctx.store.query(Query(STAFF_ACCOUNTS).order_by("username"))
        return [StaffAccount.from_doc(d) for d in docs]

    def first_admin(self) -> StaffAccount | None:
        """The account created by :meth:`create_first_admin`, if there is one."""
        setup = self.ctx.store.get(STAFF_META, "setup")
        return self.get(setup.data["first_admin"]) if setup is not None else None

    def get(self, staff_id: str) -> StaffAccount:
        doc = self.ctx.store.get(STAFF_ACCOUNTS, staff_id)
        if doc is None:
            raise NotFound(f"No staff account with id {staff_id!r}.")
        return StaffAccount.from_doc(doc)

    # -- accounts -------------------------------------------------------------------

    def create_first_admin(self, name: str, username: str, password: str) -> StaffAccount:
        """The first account of a data directory; refused once any staff account exists."""
        username, name = normalize_username(username), _clean_name(name)
        check_password(password, username)
        staff_id = self.ctx.ids.new("staff")
        me = Actor(staff_id, name, "admin")
        phc = hash_password(password)

        def work(reader: Reader) -> ChangeSet:
            if reader.get(STAFF_META, "setup") is not None or reader.query(
                Query(STAFF_ACCOUNTS).limit(1)
            ):
                raise PermissionDenied(
                    "This data directory already has staff accounts.",
                    hint="Sign in, and ask an admin to create your account.",
                )
            writes = self._account_writes(staff_id, name, username, "admin", phc, me)
            setup = {"first_admin": staff_id, "at": self._now()}
            writes.append(Write("set", STAFF_META, "setup", setup, expect_version=0))
            return ChangeSet.of(FirstAdminSetUp(), staff_id, writes, "first admin")

        self.ctx.pipeline.transact(me, work)
        return self.get(staff_id)

    def create_staff(
        self, actor: Actor, name: str, username: str, password: str, role: str = "employee"
    ) -> StaffAccount:
        actor.require("admin", doing="create staff accounts")
        username, name = normalize_username(username), _clean_name(name)
        _check_role(role)
        check_password(password, username)
        staff_id = self.ctx.ids.new("staff")
        phc = hash_password(password)

        def work(reader: Reader) -> ChangeSet:
            _require_active_admin(reader, actor)
            if reader.get(STAFF_USERNAMES, username) is not None:
                raise ValidationError(
                    f"The username {username!r} is taken.", hint="Choose another username."
                )
            writes = self._account_writes(staff_id, name, username, role, phc, actor)
            return ChangeSet.of(StaffCreated(role), staff_id, writes)

        self.ctx.pipeline.transact(actor, work)
        return self.get(staff_id)

    def disable(self, actor: Actor, staff_id: str, reason: str = "") -> StaffAccount:
        """Disable an account and end its sessions."""
        return self._modify(actor, staff_id, StaffDisabled(), {"active": False}, reason)

    def enable(self, actor: Actor, staff_id: str, reason: str = "") -> StaffAccount:
        return self._modify(actor, staff_id, StaffEnabled(), {"active": True}, reason)

    def change_role(self, actor: Actor, staff_id: str, role: str, reason: str = "") -> StaffAccount:
        _check_role(role)
        return self._modify(actor, staff_id, StaffRoleChanged(role), {"role": role}, reason)

    def set_password(
        self, actor: Actor, staff_id: str, password: str, reason: str = ""
    ) -> StaffAccount:
        """Set a new password (an admin for anyone, or a person for themselves) and end
        every session of the account: whoever holds one signs in again with it."""
        check_password(password, self.get(staff_id).username)
        fields = {"password": hash_password(password)}
        own = actor.id == staff_id
        return self._modify(actor, staff_id, PasswordSet(), fields, reason, own=own)

    def change_password(self, actor: Actor, current: str, password: str) -> StaffAccount:
        """A person sets their own new password, proving they know the current one; every
        session of theirs ends (this desktop's too: the next start asks for the new one).

        Raises:
            ValidationError: the current password is wrong, or the new one is weak or
                the same.
        """
        doc = self.ctx.store.get(STAFF_ACCOUNTS, actor.id)
        stored = str(doc.data.get("password", "")) if doc is not None else ""
        if not verify_password(current, stored or _DUMMY_HASH) or not stored:
            raise ValidationError(
                "Your current password is not right.",
                hint="Type it again; if you forgot it, ask an admin to set a new one.",
            )
        if password == current:
            raise ValidationError(
                "The new password is the same as the current one.", hint="Choose another."
            )
        return self.set_password(actor, actor.id, password, "changed their own password")

    def _modify(
        self,
        actor: Actor,
        staff_id: str,
        event: Event,
        fields: dict[str, Any],
        reason: str,
        *,
        own: bool = False,
    ) -> StaffAccount:
        """Change an account (as an admin; ``own``: as its active holder)."""
        if not own:
            actor.require("admin", doing="manage staff accounts")
        why = clean(reason, "Reason", NOTE)

        def work(reader: Reader) -> ChangeSet:
            if not own:
                _require_active_admin(reader, actor)
            target = StaffAccount.from_doc(
                reader.require(STAFF_ACCOUNTS, staff_id, "staff account")
            )
            if own and not target.active:
                raise PermissionDenied("This staff account is disabled.")
            after = {"active": target.active, "role": target.role}
            after.update({k: v for k, v in fields.items() if k in after})
            if (
                target.active
                and target.role == "admin"
                and after != {"active": True, "role": "admin"}
            ):
                _refuse_last_admin(reader, target)
            data = {**fields, "updated_at": self._now(), "updated_by": actor.id}
            writes = [Write("update", STAFF_ACCOUNTS, staff_id, data)]
            if fields.get("active") is False or "password" in fields or "role" in fields:
                writes += self._end_sessions(reader, staff_id)
            return ChangeSet.of(event, staff_id, writes, why)

        self.ctx.pipeline.transact(actor, work)
        return self.get(staff_id)

    def _account_writes(
        self, staff_id: str, name: str, username: str, role: str, phc: str, by: Actor
    ) -> list[Write]:
        data = {
            "name": name,
            "username": username,
            "role": role,
            "active": True,
            "password": phc,
            "created_at": self._now(),
            "created_by": by.id,
        }
        return [
            Write("set", STAFF_ACCOUNTS, staff_id, data, expect_version=0),
            Write("set", STAFF_USERNAMES, username, {"staff_id": staff_id}, expect_version=0),
        ]

    # -- sessions -------------------------------------------------------------------

    def sign_in(self, username: str, password: str) -> Session:
        """Check a username and password and open a session.

        Raises:
            SignInThrottled: too many recent failures for this username.
            WrongPassword: wrong username or password (one message for both).
            PermissionDenied: a member account, or a disabled one.
        """
        name = username.strip().lower()
        if not name or not password:
            raise ValidationError("Enter your username and password.")
        if not _USERNAME.fullmatch(name):
            verify_password(password, _DUMMY_HASH)
            raise WrongPassword()
        _refuse_while_locked(name, self.ctx.store.get(STAFF_SIGNIN, name), self.ctx.clock.now())
        doc = self._account_doc(name)
        stored = str(doc.data.get("password", "")) if doc is not None else ""
        if not verify_password(password, stored or _DUMMY_HASH) or doc is None or not stored:
            raise WrongPassword(self._count_failure(name, "wrong username or password"))
        refusal = _refusal(doc)
        if refusal is not None:
            self._count_failure(name, refusal.message)
            raise refusal
        return self._open_session(StaffAccount.from_doc(doc))

    def resume(self, token: str) -> Session | None:
        """The session for ``token`` if it is still valid, else None."""
        if not token:
            return None
        doc = self.ctx.store.get(STAFF_SESSIONS, token_id(token))
        if doc is None or doc.data.get("ended_at"):
            return None
        expires = datetime.fromisoformat(doc.data["expires_at"])
        if expires <= self.ctx.clock.now():
            return None
        staff = self.ctx.store.get(STAFF_ACCOUNTS, doc.data["staff_id"])
        if staff is None:
            return None
        account = StaffAccount.from_doc(staff)
        if not account.active or account.role not in ACCOUNT_ROLES:
            return None
        return Session(token, account, expires)

    def sign_out(self, token: str) -> None:
        """End the session for ``token``; an unknown or ended one is left as it is."""
        sid = token_id(token)
        doc = self.ctx.store.get(STAFF_SESSIONS, sid)
        if doc is None or doc.data.get("ended_at"):
            return
        staff = self.ctx.store.get(STAFF_ACCOUNTS, doc.data["staff_id"])
        actor = StaffAccount.from_doc(staff).actor if staff is not None else SYSTEM
        write = Write("update", STAFF_SESSIONS, sid, {"ended_at": self._now()})
        change = ChangeSet.of(StaffSignedOut(), doc.data["staff_id"], [write])
        self.ctx.pipeline.transact(actor, lambda reader: change)

    def _end_sessions(self, reader: Reader, staff_id: str) -> list[Write]:
        """Writes that end every open session of ``staff_id``."""
        ended = {"ended_at": self._now()}
        docs = reader.query(open_sessions(staff_id))
        return [Write("update", STAFF_SESSIONS, d.id, ended) for d in docs]

    def _count_failure(self, username: str, why: str) -> int:
        """Count a failed sign-in (refused instead while locked); the failures in a row.

        The counter is read and written in one WAL transaction, so parallel guesses are
        counted one after another and those after the lock are refused."""

        def work(reader: Reader) -> tuple[ChangeSet, int]:
            now = self.ctx.clock.now()
            doc = reader.get(STAFF_SIGNIN, username)
            _refuse_while_locked(username, doc, now)
            failures = int(doc.data.get("failures", 0) if doc is not None else 0) + 1
            fields: dict[str, Any] = {"failures": failures, "last_attempt_at": now.isoformat()}
            if failures >= FREE_FAILURES:
                fields["locked_until"] = (now + timedelta(seconds=_delay(failures))).isoformat()
            write = Write("merge", STAFF_SIGNIN, username, fields)
            event = StaffSignInFailed(failures, why)
            return ChangeSet.of(event, username, [write]), failures

        return _delay(int(self.ctx.pipeline.transact(SYSTEM, work).value))

    def _account_doc(self, username: str) -> Document | None:
        index = self.ctx.store.get(STAFF_USERNAMES, username)
        if index is not None:
            return self.ctx.store.get(STAFF_ACCOUNTS, index.data["staff_id"])
        members = self.ctx.store.query(Query(MEMBERS).where("username", "==", username).limit(1))
        return members[0] if members else None

    def _open_session(self, account: StaffAccount) -> Session:
        token = secrets.token_urlsafe(32)
        now = self.ctx.clock.now()
        expires = now + timedelta(hours=self.session_hours)
        data = {
            "staff_id": account.id,
            "created_at": now.isoformat(),
            "expires_at": expires.isoformat(),
            "ended_at": None,
        }

        def work(reader: Reader) -> ChangeSet:
            counter = reader.get(STAFF_SIGNIN, account.username)
            _refuse_while_locked(account.username, counter, now)
            writes = [
                Write("set", STAFF_SESSIONS, token_id(token), data, expect_version=0),
                Write("update", STAFF_ACCOUNTS, account.id, {"last_sign_in_at": now.isoformat()}),
            ]
            if counter is not None:
                writes.append(Write("delete", STAFF_SIGNIN, account.username))
            return ChangeSet.of(StaffSignedIn(), account.id, writes)

        self.ctx.pipeline.transact(account.actor, work)
        return Session(token, account, expires)

    def _now(self) -> str:
        return self.ctx.clock.now().isoformat()


def _delay(failures: int) -> int:
    """Seconds the next attempt must wait after ``failures`` consecutive failures."""
    if failures < FREE_FAILURES:
        return 0
    return int(min(2 ** (failures - FREE_FAILURES + 1), MAX_WAIT_SECONDS))


def _refuse_while_locked(username: str, counter: Document | None, now: datetime) -> None:
    locked = counter.data.get("locked_until") if counter is not None else None
    if locked and datetime.fromisoformat(locked) > now:
        wait = (datetime.fromisoformat(locked) - now).total_seconds()
        raise SignInThrottled(username, max(1, int(-(-wait // 1))))


def _refusal(doc: Document) -> PermissionDenied | None:
    """Why the holder of a right password may not use the desktop, if they may not."""
    if doc.collection != STAFF_ACCOUNTS or doc.data.get("role") not in ACCOUNT_ROLES:
        return PermissionDenied(
            "This is not a staff account: only employees, admins and auditors may use the desktop.",
            hint="Members sign in to the web view instead.",
        )
    if not doc.data.get("active"):
        return PermissionDenied(
            "This staff account is disabled.", hint="Ask an admin to enable it."
        )
    return None


def _clean_name(name: str) -> str:
    return clean(name, "Name", PERSON_NAME, required=True)


def _check_role(role: str) -> None:
    if role not in ACCOUNT_ROLES:
        raise ValidationError(
            f"{role!r} is not a staff role.", hint="Choose 'employee', 'admin' or 'auditor'."
        )


def _require_active_admin(reader: Reader, actor: Actor) -> None:
    doc = reader.get(STAFF_ACCOUNTS, actor.id)
    if doc is None or not doc.data.get("active") or doc.data.get("role") != "admin":
        raise PermissionDenied(
            f"{actor.name} is no longer an active admin.", hint="Sign in again as an admin."
        )


def _refuse_last_admin(reader: Reader, target: StaffAccount) -> None:
    query = Query(STAFF_ACCOUNTS).where("role", "==", "admin").where("active", "==", True)
    admins = [d.id for d in reader.query(query)]
    if admins == [target.id]:
        raise PermissionDenied(
            f"{target.name} is the last active admin and must stay one.",
            hint="Make another account an admin first.",
        )
