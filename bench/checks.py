"""What the write path's new checks cost: the store limits checked on every change before
the WAL append, and the text cleaning of what people type.

Figures, each against a baseline measured in the same run:

* checking a change against the store limits, beside encoding the same change for the
  WAL (work every change already did in the caller's thread);
* cleaning a purpose, a note and a hostile 10,000-character string, beside the
  ``" ".join(text.split())`` the services did before;
* durable commits per second through ``Pipeline.transact`` (real SQLite, fsynced WAL),
  with the limits checked and with the check switched off, in ABBA order; on a shared
  disk the fsync time varies more than the check costs, so the share of a commit's time
  the check takes (its cost times the commit rate) is printed too.

    PYTHONPATH=. python bench/checks.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.kernel.errors import ValidationError
from app.kernel.wal import Entry
from app.kernel.wal_format import encode_entry
from app.services.actors import Actor
from app.services.events import CaseMoved, LoanApplied
from app.services.pipeline import ChangeSet, Pipeline, Reader
from app.services.store import Write
from app.services.store.sqlite import SqliteStore
from app.services.text import LINE, NOTE, Kind, clean

ACTOR = Actor("emp-1", "Ravi Kumar", "employee")
LOAN = {
    "amount": 5_000_000, "tenure_months": 12, "rate_bps": 2400, "emi": 472_798,
    "total_interest": 673_576, "purpose": "Stock for the shop before Diwali",
    "flat_quote": None, "score": None, "eligibility": None, "eligibility_reasons": [],
    "member_id": "mem-3f9a1c2b07", "status": "submitted",
    "applied_at": "2026-11-24T10:30:00+05:30",
    "applied_by": {"id": "emp-1", "name": "Ravi Kumar", "role": "employee"},
}  # fmt: skip
HISTORY = [
    {"at": f"2026-11-{d:02d}T10:00:00+05:30", "by": "emp-1", "from": "missed",
     "to": "contacted", "note": "Called; promised to pay by Friday. " * 3}
    for d in range(1, 21)
]  # fmt: skip
TEXTS = {
    "purpose (40 chars)": ("Stock for the shop before Diwali, ₹50,000", LINE),
    "note (Devanagari, 300 chars)": ("ग्राहक ने शुक्रवार तक भुगतान का वादा किया। " * 7, NOTE),
    "hostile (2,000 chars, cleaned then refused)": (("a\x00\u202e\u200b👨\u200d👩 " * 250), NOTE),
    "hostile (10,000 chars, refused at once)": (("a\x00\u202e\u200b👨\u200d👩 " * 1_250), NOTE),
}


def per_call_us(action: Callable[[], object], runs: int) -> float:
    """Median microseconds per call over ``runs`` batches of 100 calls."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        for _ in range(100):
            action()
        timings.append((time.perf_counter() - started) * 10_000)
    return round(statistics.median(timings), 2)


def bench_limits(pipeline: Pipeline, runs: int) -> dict[str, Any]:
    changes = {
        "loan application": ChangeSet(
            "loan.apply", "loan", "loan-1", [Write("set", "loans", "loan-1", LOAN)],
            LOAN["purpose"], LoanApplied("loan-1", "mem-3f9a1c2b07", 5_000_000, 12),
        ),
        "case with 20 history entries": ChangeSet.of(
            CaseMoved("case-1", "m-1", "missed", "contacted", 100_00), "case-1",
            [Write("set", "recovery_cases", "case-1", {"stage": "contacted", "history": HISTORY})],
            "Called",
        ),
    }  # fmt: skip
    out: dict[str, Any] = {}
    for name, change in changes.items():
        entry = Entry(
            ACTOR.to_json(), change.action, {"type": change.entity_type, "id": change.entity_id},
            {
                "writes": [w.to_json() for w in change.writes],
                "event": change.event.to_json() if change.event else None,
            },
            change.reason,
        )  # fmt: skip
        check = per_call_us(lambda c=change: pipeline._check_storable(ACTOR, c, None), runs)
        encode = per_call_us(lambda e=entry: encode_entry(e), runs)
        out[name] = {"check_us": check, "wal_encode_us": encode, "ratio": round(check / encode, 2)}
    return out


def _clean(text: str, kind: Kind) -> str:
    try:
        return clean(text, "Note", kind)
    except ValidationError:
        return ""


def bench_clean(runs: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (text, kind) in TEXTS.items():
        cleaned = per_call_us(lambda t=text, k=kind: _clean(t, k), runs)
        before = per_call_us(lambda t=text: " ".join(t.split()), runs)
        out[name] = {"clean_us": cleaned, "split_join_us": before,
                     "ratio": round(cleaned / before, 2)}  # fmt: skip
    return out


def commits_per_second(pipeline: Pipeline, count: int) -> float:
    def work(reader: Reader) -> ChangeSet:
        doc = reader.get("loans", "loan-1")
        data = {**LOAN, "tenure_months": (doc.data["tenure_months"] % 60) + 1 if doc else 12}
        return ChangeSet("loan.edit", "loan", "loan-1", [Write("set", "loans", "loan-1", data)])

    started = time.perf_counter()
    for _ in range(count):
        pipeline.transact(ACTOR, work)
    return round(count / (time.perf_counter() - started), 1)


def bench_commits(pipeline: Pipeline, count: int) -> dict[str, Any]:
    """Rounds with and without the check, alternated (the disk's fsync time drifts)."""
    real = pipeline._check_storable
    checked: list[float] = []
    unchecked: list[float] = []
    for turn in range(4):  # ABBA order, so drift over time cancels out
        if turn in (0, 3):
            checked.append(commits_per_second(pipeline, count // 4))
            continue
        pipeline._check_storable = lambda *args: None  # type: ignore[method-assign]
        try:
            unchecked.append(commits_per_second(pipeline, count // 4))
        finally:
            pipeline._check_storable = real  # type: ignore[method-assign]
    with_check, without = (
        round(statistics.median(checked), 1),
        round(statistics.median(unchecked), 1),
    )
    return {"checked_per_s": with_check, "unchecked_per_s": without,
            "ratio": round(with_check / without, 3)}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs (a few seconds)")
    args = parser.parse_args(argv)
    runs, count = (5, 300) if args.quick else (25, 2_000)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        pipeline = Pipeline(SqliteStore(data / "store.sqlite3"), data / "wal" / "wal.log")
        pipeline.open()
        try:
            figures = {
                "limits": bench_limits(pipeline, runs),
                "clean": bench_clean(runs),
                "commits": bench_commits(pipeline, count),
            }
            loan_check_s = figures["limits"]["loan application"]["check_us"] / 1e6
            figures["commits"]["check_share_of_a_commit"] = round(
                loan_check_s * figures["commits"]["checked_per_s"], 4
            )
        finally:
            pipeline.close()
            pipeline.store.close()
    for section, rows in figures.items():
        print(f"{section}:")
        for name, row in rows.items():
            print(f"  {name}: {row}")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
