"""Tests of the desktop views (pytest-qt, offscreen), and a fast synthetic WAL writer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.kernel.wal_format import GENESIS, encode_body, encode_tail, format_ts, record_hash

ACTORS = (
    {"id": "staff-asha", "name": "Asha Rao", "role": "admin"},
    {"id": "staff-ravi", "name": "Ravi Kumar", "role": "employee"},
    {"id": "staff-zoe", "name": "Zoë Fernandes", "role": "employee"},
    {"id": "system", "name": "TransactFlowOS", "role": "system"},
)
ACTIONS = ("loan.approve", "kyc.submit", "auction.bid", "receipt.record", "group.create")
START = datetime(2026, 1, 1, tzinfo=UTC)


def actor_of(lsn: int) -> dict[str, str]:
    return ACTORS[lsn % len(ACTORS)]


def action_of(lsn: int) -> str:
    return ACTIONS[lsn % len(ACTIONS)]


def ts_of(lsn: int) -> datetime:
    """Records 1, 2, 3... are one minute apart from START."""
    return START + timedelta(minutes=lsn - 1)


def write_log(path: Path, count: int, *, first: int = 1, prev: str = GENESIS) -> str:
    """Append records ``first`` to ``first + count - 1`` in the WAL's documented format;
    returns the hash of the last one."""
    head = prev.encode()
    lines = []
    for lsn in range(first, first + count):
        action = action_of(lsn)
        kind = action.split(".")[0]
        entity = {"type": kind, "id": f"{kind}-{lsn:08x}"}
        change = {
            "writes": [
                {
                    "op": "merge",
                    "collection": kind,
                    "id": entity["id"],
                    "data": {"status": "done", "amount": lsn * 100},
                }
            ]
        }
        tail = encode_tail(actor_of(lsn), action, entity, change, f"reason {lsn}")
        body = encode_body(lsn, head, format_ts(ts_of(lsn)).encode(), tail)
        head = record_hash(head, body).encode()
        lines.append(b"%s %s\n" % (head, body))
    with open(path, "ab") as file:
        file.write(b"".join(lines))
    return head.decode()
