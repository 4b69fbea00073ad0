"""The activity feed's wording: one WAL record as a sentence.

"Asha Rao (admin) approved loan loan-3f9a…": who did what to which thing, from the
record's actor, action and entity. The feed (desktop) reads these through
:meth:`app.services.audit_log.AuditLog.activity`.
"""

from __future__ import annotations

from app.kernel.wal_index import LineSummary

PAST = {
    "approve": "approved",
    "reject": "rejected",
    "create": "created",
    "open": "opened",
    "close": "closed",
    "submit": "submitted",
    "reveal": "revealed the PAN/Aadhaar of",
    "enroll": "enrolled",
    "start": "started",
    "record": "recorded",
    "move": "moved",
    "add": "added",
    "resume": "resumed",
    "disable": "disabled",
    "enable": "enabled",
    "change_role": "changed the role of",
    "bid": "placed a bid in",
    "sign_in": "signed in",
    "sign_out": "signed out",
    "disburse": "disbursed",
    "pay": "paid",
    "verify": "verified",
    "write_off": "wrote off",
}
"""The past tense of an action's verb (its last dotted part)."""

WHOLE = {
    "staff.setup": "set up this data folder as its first admin",
    "staff.sign_in_attempt": "counted a sign-in attempt for {id}",
}
"""Actions said in a sentence of their own."""


def shorten(text: str, keep: int = 9) -> str:
    """``loan-3f9a1c2b77`` -> ``loan-3f9a…``."""
    return text if len(text) <= keep + 1 else text[:keep] + "…"


def describe(s: LineSummary) -> str:
    """One record in plain words: who did what to which thing."""
    if s.damaged:
        return f"A damaged log line ({s.damaged})"
    who = f"{s.actor.get('name', '?')} ({s.actor.get('role', '?')})"
    kind, ident = s.entity.get("type", ""), s.entity.get("id", "")
    if s.action in WHOLE:
        return f"{who} {WHOLE[s.action].format(id=ident)}"
    verb = s.action.rsplit(".", 1)[-1]
    did = PAST.get(verb, f"did {s.action.replace('_', ' ')} on")
    if ident == s.actor.get("id"):
        return f"{who} {did}"
    return f"{who} {did} {kind.replace('_', ' ')} {shorten(ident)}".rstrip()
