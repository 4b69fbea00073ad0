"""The activity feed's wording: one WAL record as a sentence.

"Asha Rao (admin) approved loan loan-3f9a…": who did what to which thing, from the
record's actor, action and entity, in the words of the record's event
(:mod:`app.services.events`). The feed (desktop) reads these through
:meth:`app.services.audit_log.AuditLog.activity`.
"""

from __future__ import annotations

from app.kernel.wal_index import LineSummary
from app.services.events import wording


def shorten(text: str, keep: int = 9) -> str:
    """``loan-3f9a1c2b77`` -> ``loan-3f9a…``."""
    return text if len(text) <= keep + 1 else text[:keep] + "…"


def describe(s: LineSummary) -> str:
    """One record in plain words: who did what to which thing."""
    if s.damaged:
        return f"A damaged log line ({s.damaged})"
    who = f"{s.actor.get('name', '?')} ({s.actor.get('role', '?')})"
    kind, ident = s.entity.get("type", ""), s.entity.get("id", "")
    did, said = wording(s.action)
    if said:
        return f"{who} {said.format(id=ident)}"
    if ident == s.actor.get("id"):
        return f"{who} {did}"
    return f"{who} {did} {kind.replace('_', ' ')} {shorten(ident)}".rstrip()
