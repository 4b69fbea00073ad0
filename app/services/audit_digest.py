"""What an auditor asks of the log, in one pass over its records: how many records of a
period, by action and by actor; every PII reveal; every maker-checker pair; failed
staff sign-ins; every change to a staff account; every report exported.

:func:`digest` reads the lines of records 1 to ``upto`` (oldest first) and keeps the
records written in ``[since, until)`` (UTC timestamps as the log writes them; None:
open). Makers are looked for in the whole log before their checker, so a decision in
the period is paired with a recommendation made before it.

* Maker-checker: a loan's recommendation and its approval (``loan.recommend`` then
  ``loan.approve``), a KYC submission and its decision (``kyc.submit`` then
  ``kyc.approve``/``kyc.reject``, per member), a write-off's request and its approval
  (``recovery.write_off_request`` then ``recovery.write_off``).
* A failed sign-in is its own record (``staff.sign_in_failed``, with the failures in a
  row). Logs written before that counted each attempt first (``staff.sign_in_attempt``)
  and a successful sign-in cleared the count in its record (``staff.sign_in``, deleting
  ``staff_signin/<username>``): there an attempt no sign-in cleared failed. Attempts
  refused while a username was locked out are not written to the log, so they are not
  counted.
* Staff account changes are described without their secrets (no password hash).

A line that cannot be read is counted in ``unreadable`` and otherwise skipped (the
log's verification says what is wrong with it).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any

from app.kernel.wal_index import LineSummary

ACCOUNT_ACTIONS = (
    "staff.setup",
    "staff.create",
    "staff.disable",
    "staff.enable",
    "staff.change_role",
    "staff.set_password",
)
SIGNIN_ATTEMPT, SIGNED_IN = "staff.sign_in_attempt", "staff.sign_in"  # older logs
SIGNIN_FAILED = "staff.sign_in_failed"
PAIRS = {
    "loan.approve": ("loan.recommend", "Loan approved"),
    "kyc.approve": ("kyc.submit", "KYC approved"),
    "kyc.reject": ("kyc.submit", "KYC rejected"),
    "recovery.write_off": ("recovery.write_off_request", "Written off"),
}
"""checker's action: (maker's action, what the pair decided)."""
MAKERS = frozenset(maker for maker, _ in PAIRS.values())

Progress = Callable[[int], None]
"""Told how many records were read so far."""


Seen = LineSummary
"""One record as the digest keeps it (as the audit trail shows it)."""


def who(seen: Seen) -> str:
    """``Asha Iyer (admin)``."""
    return f"{seen.actor.get('name', '?')} ({seen.actor.get('role', '?')})"


@dataclass(frozen=True)
class Reveal:
    record: Seen
    member_id: str
    field: str


@dataclass(frozen=True)
class Pair:
    """A checker's decision and the maker's action it checked (None: not in the log)."""

    what: str
    item: str
    maker: Seen | None
    checker: Seen

    @property
    def same_person(self) -> bool:
        return self.maker is not None and self.maker.actor.get("id") == self.checker.actor.get("id")


@dataclass(frozen=True)
class FailedSignIn:
    record: Seen
    username: str
    failures: int
    """How many failures in a row this one made."""


@dataclass(frozen=True)
class AccountChange:
    record: Seen
    account: str
    """The account's name and username (or its id when the log never named it)."""
    what: str


@dataclass(frozen=True)
class ExportSeen:
    record: Seen
    event: dict[str, Any]


@dataclass
class AuditDigest:
    """What :func:`digest` found (see module docstring)."""

    upto: int
    records: int = 0
    first: Seen | None = None
    last: Seen | None = None
    by_action: Counter[str] = field(default_factory=Counter)
    by_actor: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    """(actor id, name, role): records."""
    reveals: list[Reveal] = field(default_factory=list)
    pairs: list[Pair] = field(default_factory=list)
    failed_signins: list[FailedSignIn] = field(default_factory=list)
    account_changes: list[AccountChange] = field(default_factory=list)
    exports: list[ExportSeen] = field(default_factory=list)
    unreadable: int = 0


class _Scan:
    """The state of one pass (makers, accounts, pending sign-in attempts)."""

    def __init__(self, upto: int, since: str | None, until: str | None) -> None:
        self.out = AuditDigest(upto)
        self.since, self.until = since, until
        self.makers: dict[tuple[str, str], Seen] = {}
        self.accounts: dict[str, str] = {}
        self.attempts: dict[str, list[tuple[Seen, int]]] = {}

    def in_period(self, ts: str) -> bool:
        return (self.since is None or ts >= self.since) and (self.until is None or ts < self.until)

    def add(self, body: dict[str, Any], line: bytes) -> None:
        seen = Seen(
            int(body["lsn"]),
            str(body["ts"]),
            {str(k): str(v) for k, v in dict(body["actor"]).items()},
            str(body["action"]),
            {str(k): str(v) for k, v in dict(body["entity"]).items()},
            str(body.get("reason", "")),
            *_hash_checked(body, line),
        )
        change = body.get("change") or {}
        event = change.get("event") or {}
        writes = change.get("writes") or []
        period = self.in_period(seen.ts)
        if period:
            self._count(seen)
        self._remember(seen, event, writes)
        if period:
            self._note(seen, event, writes)

    def _count(self, seen: Seen) -> None:
        out = self.out
        out.records += 1
        out.first = out.first or seen
        out.last = seen
        out.by_action[seen.action] += 1
        actor = seen.actor
        out.by_actor[(actor.get("id", ""), actor.get("name", ""), actor.get("role", ""))] += 1

    def _remember(self, seen: Seen, event: dict[str, Any], writes: list[Any]) -> None:
        """What later records are matched against: makers, account names, attempts."""
        if seen.action in MAKERS:
            item = str(event.get("member_id") or seen.entity.get("id", ""))
            self.makers[(seen.action, item)] = seen
        elif seen.action in ("staff.setup", "staff.create"):
            for w in _writes_to(writes, "staff"):
                data = w.get("data") or {}
                name, user = data.get("name"), data.get("username")
                self.accounts[str(w.get("id"))] = f"{name} (username {user})"
        elif seen.action == SIGNED_IN:
            for w in _writes_to(writes, "staff_signin"):
                if w.get("op") == "delete":
                    pending = self.attempts.get(str(w.get("id")), [])
                    if pending:
                        pending.pop()

    def _note(self, seen: Seen, event: dict[str, Any], writes: list[Any]) -> None:
        """What the period's records add to the lists an auditor reads."""
        out, action = self.out, seen.action
        if action == "kyc.reveal":
            out.reveals.append(Reveal(seen, str(event.get("member_id")), str(event.get("field"))))
        elif action in PAIRS:
            self._pairs(seen, event)
        elif action == SIGNIN_FAILED:
            username = seen.entity.get("id", "")
            out.failed_signins.append(FailedSignIn(seen, username, int(event.get("failures", 1))))
        elif action == SIGNIN_ATTEMPT:
            failures = next(
                (int(w["data"].get("failures", 0)) for w in _writes_to(writes, "staff_signin")), 0
            )
            self.attempts.setdefault(seen.entity.get("id", ""), []).append((seen, failures))
        elif action in ACCOUNT_ACTIONS:
            target = seen.entity.get("id", "")
            what = _account_change(action, writes)
            out.account_changes.append(AccountChange(seen, self.accounts.get(target, target), what))
        elif action == "report.export":
            out.exports.append(ExportSeen(seen, event))

    def _pairs(self, seen: Seen, event: dict[str, Any]) -> None:
        maker_action, what = PAIRS[seen.action]
        items = event.get("member_ids") if seen.action.startswith("kyc.") else None
        for item in items or [seen.entity.get("id", "")]:
            maker = self.makers.get((maker_action, str(item)))
            self.out.pairs.append(Pair(what, str(item), maker, seen))

    def finish(self) -> AuditDigest:
        failed = [
            FailedSignIn(seen, username, failures)
            for username, pending in self.attempts.items()
            for seen, failures in pending
        ]
        failed += self.out.failed_signins
        self.out.failed_signins = sorted(failed, key=lambda f: f.record.lsn)
        return self.out


def _hash_checked(body: dict[str, Any], line: bytes) -> tuple[str, bool]:
    """The line's stored hash, and whether its content still has it."""
    stored = line[:64].decode("ascii", "replace")
    return stored, sha256(str(body["prev"]).encode() + line[65:]).hexdigest() == stored


def _writes_to(writes: list[Any], collection: str) -> list[dict[str, Any]]:
    return [w for w in writes if isinstance(w, dict) and w.get("collection") == collection]


def _account_change(action: str, writes: list[Any]) -> str:
    staff = _writes_to(writes, "staff")
    data = (staff[0].get("data") or {}) if staff else {}
    before = (staff[0].get("before") or {}) if staff else {}
    if action in ("staff.setup", "staff.create"):
        return f"account created, role {data.get('role')}"
    if action == "staff.change_role":
        return f"role {before.get('role', '?')} → {data.get('role')}"
    if action == "staff.set_password":
        return "password set (sessions ended)"
    return "disabled (sessions ended)" if action == "staff.disable" else "enabled"


def digest(
    lines: Iterable[bytes],
    upto: int,
    since: str | None = None,
    until: str | None = None,
    progress: Progress | None = None,
) -> AuditDigest:
    """Read ``lines`` (log lines without their newlines, oldest first) up to record
    ``upto``; see the module docstring."""
    scan = _Scan(upto, since, until)
    for n, line in enumerate(lines, start=1):
        try:
            body = json.loads(line[65:])
            if int(body["lsn"]) > upto:
                break
            scan.add(body, line)
        except (ValueError, KeyError, TypeError, AttributeError):
            scan.out.unreadable += 1
        if progress is not None and n % 20_000 == 0:
            progress(n)
    return scan.finish()
