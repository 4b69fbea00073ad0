"""Collections: a bank statement imported end to end, the GUI while it commits, demo data.

Figures, each beside a baseline measured in the same run:

* ``statement_receipts_per_s``: a 50,000-line statement (one credit per open due, the
  member's number in the narration) read, sorted and committed through the statement
  service: every receipt posted, numbered and in the fsynced WAL (checked after), and
  idempotent (a second run of the same file records nothing: checked, and timed);
  ``raw_fsync_per_s``, a bare append + fdatasync loop on the same disk in the same run
  (rounds before and after, the median); ``statement_ratio`` = the first / the second
  (goal >= 2). The books hold the indexes the desktop's read models create.
* ``gui_block_max_ms``: the longest the GUI thread went without running its 5 ms
  heartbeat timer while the statement import view (offscreen) committed a statement
  and sorted it again (goal <= 50 ms); beside it ``gui_block_idle_max_ms``, the same
  heartbeat with nothing to do.
* ``demo_data_s``: ``tfos demo-data`` for 5 groups x 100 members x 12 months.
* Floors, for the argument about ``statement_ratio``: ``ratio_2_budget_s``, the time the
  import may take for a ratio of 2 (lines / (2 x raw fsync rate)), beside what any
  import of these lines into these books costs with no project code, each part alone:
  ``floor_store_s``, SQLite writing the documents the import left (every receipt,
  ledger transaction and due it wrote, as stored, with their change rows) into a copy
  of the books taken before it, in as many transactions, with the desktop's expression
  indexes (``floor_store_no_indexes_s``: without them); ``floor_json_s``, encoding
  those documents as canonical JSON (the C encoder); ``floor_log_s``, the import's log
  records encoded the same way, chained by SHA-256, appended and fdatasynced;
  ``floor_read_s``, reading and decoding the dues it updated from the books before it;
  ``floor_parse_s``, Python's csv module reading the file with each credit made paise;
  ``floor_objects_s``, CPython making the written documents as dicts and lists.
  ``floor_sum_s`` adds them up; ``floor_left_us_per_line`` is what the budget leaves,
  per line, for everything else (matching a line to its due, the double-entry posting
  and its checks, the store limits, the version checks); ``statement_us_per_line`` is
  what a line takes today.

The garbage collector is tuned as ``tfos`` and the desktop tune it
(:mod:`app.kernel.gc_tuning`); ``statement_full_gc`` counts the full collections during
the import (``--default-gc`` keeps CPython's thresholds, to compare).

    PYTHONPATH=. python bench/collections.py [--quick]

Both runs import the same 50,000 lines and watch the GUI over 10,000 more;
``--quick`` (well under two minutes) times raw fsync in 1 s rounds instead of 3 s.
"""

from __future__ import annotations

import argparse
import csv
import gc
import hashlib
import io
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import config
from app.kernel.gc_tuning import tune_gc
from app.kernel.wal_verify import verify_file
from app.services.actors import Actor
from app.services.auctions import rules
from app.services.collections import GROUPS, MEMBER_PHONES, MEMBERS, TICKETS
from app.services.context import FixedClock, ServiceContext, close_context, make_context
from app.services.groups import agreement_to_json
from app.services.ledger.postings import dues_writes
from app.services.pipeline import ChangeSet
from app.services.registry import Services
from app.services.statements import Preview
from app.services.statements.sample import payment_row, to_csv
from app.services.store import Query, Write

CLERK = Actor("emp-1", "Ravi Kumar", "employee")
SEEDER = Actor("system", "Bench seeder", "system")
NOW = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
GROUPS_N, MEMBERS_N = 50, 100
LINE = b"x" * 480 + b"\n"


def raw_fsync_rate(folder: Path, seconds: float) -> float:
    """Appends of a record-sized line, each followed by fdatasync, per second."""
    path = folder / "raw.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
    try:
        count, began = 0, time.perf_counter()
        while True:
            os.write(fd, LINE)
            os.fdatasync(fd)
            count += 1
            if count % 16 == 0 and time.perf_counter() - began >= seconds:
                return count / (time.perf_counter() - began)
    finally:
        os.close(fd)
        path.unlink()


# -- the books ------------------------------------------------------------------------


def seed_books(ctx: ServiceContext, periods: int) -> None:
    """50 running groups of 100 members (members, phones, groups, tickets as the services
    write them), with the dues of ``periods`` periods raised (each won at 30 %)."""
    agreement = rules.Agreement(gross_paise=100 * 1_000_00 * 100, members=MEMBERS_N)
    for g in range(GROUPS_N):
        group_id = f"grp-{g:04d}"
        members = [f"mem-{g:04d}{i:06d}" for i in range(MEMBERS_N)]
        writes = [_group(group_id, g, agreement)]
        for i, member in enumerate(members):
            phone = f"+919{g:04d}{i:05d}"
            writes += [
                Write("set", MEMBERS, member, _member(f"Member {g} {i} Nair", phone)),
                Write("set", MEMBER_PHONES, phone, {"member_id": member}),
                Write("set", TICKETS, f"{group_id}-{i + 1}", _ticket(group_id, i + 1, member)),
            ]
        ctx.pipeline.commit(SEEDER, ChangeSet("bench.seed", "group", group_id, writes))
        for period in range(1, periods + 1):
            s = rules.settle(agreement, period, agreement.gross_paise * 30 // 100)
            due = dues_writes(
                group_id,
                period,
                s,
                members,
                date(2026, 11, 10),
                ctx.ids,
                raised_on=date(2026, 11, 1),
            )
            ctx.pipeline.commit(SEEDER, ChangeSet("bench.dues", "group", group_id, due))


def _group(group_id: str, g: int, agreement: rules.Agreement) -> Write:
    data = {
        "name": f"Bench {g:02d} 1 Crore", "agreement": agreement_to_json(agreement),
        "start_date": "2026-01-10", "status": "running", "foreman_member_id": None,
        "tickets_issued": MEMBERS_N, "periods_done": 0, "created_at": NOW.isoformat(),
        "created_by": "system",
    }  # fmt: skip
    return Write("set", GROUPS, group_id, data)


def _member(name: str, phone: str) -> dict[str, Any]:
    return {
        "name": name, "phone": phone, "phone_masked": "+91 XXXXXX" + phone[-4:],
        "kyc_status": "approved", "status": "active", "joined_at": NOW.isoformat(),
        "enrolled_by": "emp-1",
    }  # fmt: skip


def _ticket(group_id: str, number: int, member: str) -> dict[str, Any]:
    return {
        "group_id": group_id, "ticket_no": number, "member_id": member,
        "prized_period": None, "security": None, "enrolled_at": NOW.isoformat(),
    }  # fmt: skip


def warm_indexes(services: Services) -> None:
    """Run the read models the desktop runs, so the store holds their indexes (each one
    costs every write that touches its collection)."""
    member = "mem-0000000000"
    services.ledger.open_dues("grp-0000")
    services.ledger.dues_for(member)
    services.ledger.member_timeline(member)
    services.ledger.receipt_register(date(2026, 11, 1), date(2026, 11, 30), group_id="grp-0000")
    services.ledger.transactions(group_id="grp-0000", kind="instalment.received")
    services.ledger.receipts_on(date(2026, 11, 24))
    services.ledger.overdue(date(2026, 11, 24))
    services.counter.queue()
    services.counter.desk(member)
    services.statements.candidates(member)
    services.ledger.balance("loans:x")
    services.ledger.balance("cash:lending")
    services.ledger.pool("grp-0000")
    services.groups.member_tickets(member)


def statement(services: Services, periods: range, path: Path, first: int) -> int:
    """A statement paying every open due of ``periods`` (one line each, references from
    ``first``), written to ``path``; its line count."""
    rows = []
    for g in range(GROUPS_N):
        for i in range(MEMBERS_N):
            member = f"mem-{g:04d}{i:06d}"
            for due in services.statements.candidates(member):
                if due.period in periods:
                    rows.append(payment_row(due, date(2026, 11, 20), first + len(rows)))
    path.write_bytes(to_csv(rows))
    return len(rows)


# -- the figures ----------------------------------------------------------------------


def bench_import(services: Services, ctx: ServiceContext, path: Path, lines: int) -> dict[str, Any]:
    full: list[float] = []
    gc.callbacks.append(_full_collections(full))
    first_lsn = ctx.pipeline.wal.head()[0]
    began = time.perf_counter()
    preview = services.statements.open(path)
    sorted_at = time.perf_counter()
    done = services.statements.commit(CLERK, preview)
    ended = time.perf_counter()
    records = ctx.pipeline.wal.head()[0] - first_lsn
    gc.callbacks.pop()
    assert done.recorded == lines and not done.refused, done.lines()
    again = time.perf_counter()
    rerun = services.statements.commit(CLERK, services.statements.open(path))
    rerun_s = time.perf_counter() - again
    assert rerun.recorded == 0 and preview.count("matched") == lines
    report = verify_file(ctx.pipeline.wal.path)
    assert report.ok, report.to_json()
    receipts = ctx.store.count(Query("receipts").where("kind", "==", "instalment"))
    return {
        "statement_lines": lines,
        "statement_read_sort_s": round(sorted_at - began, 2),
        "statement_commit_s": round(ended - sorted_at, 2),
        "statement_s": round(ended - began, 2),
        "statement_receipts_per_s": round(lines / (ended - began)),
        "statement_commit_receipts_per_s": round(lines / (ended - sorted_at)),
        "statement_rerun_s": round(rerun_s, 2),
        "receipts_in_store": receipts,
        "statement_full_gc": len(full),
        "statement_full_gc_s": round(sum(full), 2),
        "wal_records": report.entries,
        "statement_records": records,
        "statement_first_lsn": first_lsn + 1,
    }


def backup(store_path: Path, to: Path) -> None:
    """A consistent copy of the store file (SQLite's backup API, its own connection)."""
    source, target = sqlite3.connect(store_path), sqlite3.connect(to)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def bench_floors(
    ctx: ServiceContext, before: Path, since: float, imported: dict[str, Any], statement: Path
) -> dict[str, Any]:
    """What any import of these lines into these books costs with no project code, each
    part on its own (see the module doc)."""
    reader = sqlite3.connect(ctx.store.path)
    try:
        rows = reader.execute(
            "SELECT collection, id, data, version FROM docs WHERE updated_at >= ?", (since,)
        ).fetchall()
    finally:
        reader.close()
    data = [json.loads(row[2]) for row in rows]
    began = time.perf_counter()
    for doc in data:
        json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    json_s = time.perf_counter() - began
    first = imported["statement_first_lsn"]
    last = first + imported["statement_records"] - 1
    records = [record.to_dict() for record in ctx.pipeline.read(first, last)]
    updated = [row[1] for row in rows if row[0] == "dues"]
    figures = {
        "floor_documents": len(rows),
        "floor_json_s": round(json_s, 2),
        "floor_log_s": round(_floor_log(records, before.parent), 2),
        "floor_read_s": round(_floor_read(before, updated), 2),
        "floor_parse_s": round(_floor_parse(statement), 2),
        "floor_objects_s": round(_floor_objects(data), 2),
    }
    for name, keep_indexes in (("floor_store_s", True), ("floor_store_no_indexes_s", False)):
        copy = before.with_name(f"{name}.db")
        backup(before, copy)
        transactions = imported["statement_records"]
        figures[name] = round(_write_rows(copy, rows, transactions, keep_indexes), 2)
    parts = ("store", "json", "log", "read", "parse", "objects")
    figures["floor_sum_s"] = round(sum(figures[f"floor_{p}_s"] for p in parts), 2)
    return figures


def _floor_log(records: list[dict[str, Any]], folder: Path) -> float:
    """The import's log records, with no project code: each encoded as canonical JSON by
    the C encoder, chained by SHA-256, appended and fdatasynced, one write per record
    (the import's group commits)."""
    path = folder / "floor-log.bin"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
    bodies = [{k: v for k, v in record.items() if k != "hash"} for record in records]
    try:
        began, prev = time.perf_counter(), b"0" * 64
        for body in bodies:
            text = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
            prev = hashlib.sha256(prev + text).hexdigest().encode()
            os.write(fd, text + b"\n")
            os.fdatasync(fd)
        return time.perf_counter() - began
    finally:
        os.close(fd)
        path.unlink()


def _floor_read(before: Path, dues: list[str]) -> float:
    """Reading, from the books as they were before the import, the dues it updated (it
    must see each one's state to pay it): 400 ids a query, each document decoded."""
    conn = sqlite3.connect(before)
    try:
        began = time.perf_counter()
        for start in range(0, len(dues), 400):
            ids = json.dumps(dues[start : start + 400])
            for _id, data, _version in conn.execute(
                "SELECT id, data, version FROM docs WHERE collection = 'dues' "
                "AND id IN (SELECT value FROM json_each(?))",
                (ids,),
            ):
                json.loads(data)
        return time.perf_counter() - began
    finally:
        conn.close()


def _floor_parse(statement: Path) -> float:
    """Python's csv module reading the statement, and each credit made integer paise."""
    began = time.perf_counter()
    text = statement.read_bytes().decode("utf-8")
    credits = 0
    for row in csv.reader(io.StringIO(text)):
        if len(row) == 7 and row[5][:1].isdigit():
            credits += int(row[5].replace(",", "").replace(".", ""))
    assert credits > 0
    return time.perf_counter() - began


def _floor_objects(data: list[Any]) -> float:
    """CPython making the documents the import writes as dicts and lists (copying them,
    level by level): the least any code that builds them pays."""

    def build(value: Any) -> Any:
        if type(value) is dict:
            return {key: build(item) for key, item in value.items()}
        if type(value) is list:
            return [build(item) for item in value]
        return value

    began = time.perf_counter()
    for doc in data:
        build(doc)
    return time.perf_counter() - began


_UPSERT = (
    "INSERT INTO docs (collection, id, data, version, updated_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (collection, id) DO UPDATE SET data = excluded.data, "
    "version = excluded.version, updated_at = excluded.updated_at"
)


def _write_rows(path: Path, rows: list[Any], transactions: int, keep_indexes: bool) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        if not keep_indexes:
            names = conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_docs_%'"
            ).fetchall()
            for (name,) in names:
                conn.execute(f'DROP INDEX "{name}"')
        size = -(-len(rows) // max(transactions, 1))
        now = time.time()
        began = time.perf_counter()
        for start in range(0, len(rows), size):
            part = rows[start : start + size]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(_UPSERT, [(c, i, d, v, now) for c, i, d, v in part])
            conn.executemany(
                "INSERT INTO changes (collection, id, kind) VALUES (?, ?, 'updated')",
                [(c, i) for c, i, _, _ in part],
            )
            conn.execute("COMMIT")
        return time.perf_counter() - began
    finally:
        conn.close()


def _full_collections(times: list[float]) -> Callable[[str, dict[str, int]], None]:
    """A gc callback appending the duration of each full (oldest generation) collection."""
    started = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            times.append(time.perf_counter() - started[0])

    return callback


def bench_gui(services: Services, path: Path) -> dict[str, Any]:
    """The import view commits ``path`` offscreen; the longest heartbeat gap."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from app.views.collector import GuiThreadCollector
    from app.views.statement_import import StatementImportView

    app = QApplication.instance() or QApplication([])
    collector = GuiThreadCollector(app)  # as the desktop collects: on the GUI thread
    view = StatementImportView(services, CLERK)
    view.resize(1280, 720)
    view.show()
    wait_for(app, lambda: True, 0.2)
    idle = heartbeat(app, lambda: None, lambda: True, seconds=1.0)
    view.open_file(path)
    wait_for(app, lambda: view.preview is not None and not view.busy(), 300)
    preview: Preview | None = view.preview
    assert preview is not None
    to_record = len(preview.to_record())
    started = time.perf_counter()
    busy = heartbeat(app, view.commit, view.busy, seconds=600)
    elapsed = time.perf_counter() - started
    recorded = view.preview.count("recorded") if view.preview else 0
    view.shutdown()
    view.deleteLater()
    QTimer.singleShot(0, lambda: None)
    QEventLoop().processEvents()
    collector.stop()
    return {
        "gui_lines": to_record,
        "gui_lines_recorded": recorded,
        "gui_commit_s": round(elapsed, 2),
        "gui_block_max_ms": busy,
        "gui_block_idle_max_ms": idle,
    }


def heartbeat(
    app: Any, start: Callable[[], None], running: Callable[[], bool], seconds: float
) -> float:
    """Run ``start``, then the Qt event loop while ``running()`` (at most ``seconds``),
    with a 5 ms timer; the longest gap between its ticks beyond 5 ms, in ms."""
    from PySide6.QtCore import QEventLoop, QTimer

    gaps: list[float] = []
    last = [time.perf_counter()]
    deadline = time.perf_counter() + seconds

    def tick() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    loop = QEventLoop()

    def check() -> None:
        if not running() or time.perf_counter() > deadline:
            loop.quit()

    beat, watch = QTimer(), QTimer()
    beat.setInterval(5)
    beat.timeout.connect(tick)
    watch.setInterval(20)
    watch.timeout.connect(check)
    beat.start()
    watch.start()
    start()
    last[0] = time.perf_counter()
    loop.exec()
    beat.stop()
    watch.stop()
    return round(max(0.0, (max(gaps, default=0.0) - 0.005) * 1000), 1)


def wait_for(app: Any, done: Callable[[], bool], seconds: float) -> None:
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and not done():
        app.processEvents()
        time.sleep(0.002)


def bench_demo(folder: Path) -> dict[str, Any]:
    from app.services.demo import generate

    ctx = make_context(folder / "demo", clock=FixedClock(NOW))
    try:
        began = time.perf_counter()
        summary = generate(ctx, groups=5, members=100, months=12, seed=1)
        elapsed = time.perf_counter() - began
    finally:
        close_context(ctx)
    return {"demo_data_s": round(elapsed, 1), "demo_balanced": summary.ledger_balanced}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="under two minutes")
    parser.add_argument("--default-gc", action="store_true", help="keep CPython's gc thresholds")
    args = parser.parse_args(argv)
    if not args.default_gc:
        tune_gc()  # as `tfos` and the desktop start
    figures: dict[str, Any] = {"bench": "collections", "quick": args.quick}
    figures["gc_thresholds"] = gc.get_threshold()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        raw = [raw_fsync_rate(folder, 1.0 if args.quick else 3.0)]
        ctx = make_context(folder / "data", clock=FixedClock(NOW))
        services = Services.build(ctx, config.load(environ={}, data_dir=folder / "data"))
        try:
            began = time.perf_counter()
            seed_books(ctx, periods=12)
            warm_indexes(services)
            big = folder / "november.csv"
            lines = statement(services, range(1, 11), big, 0)
            small = folder / "december.csv"
            statement(services, range(11, 13), small, 500_000)
            figures["setup_s"] = round(time.perf_counter() - began, 1)
            before = folder / "before-import.db"
            backup(ctx.store.path, before)
            since = time.time()
            figures.update(bench_import(services, ctx, big, lines))
            floors = bench_floors(ctx, before, since, figures, big)
            raw.append(raw_fsync_rate(folder, 1.0 if args.quick else 3.0))
            figures.update(bench_gui(services, small))
        finally:
            services.close()
            close_context(ctx)
        figures["raw_fsync_per_s"] = round(statistics.median(raw))
        figures["raw_fsync_rounds"] = [round(r) for r in raw]
        figures["statement_ratio"] = round(
            figures["statement_receipts_per_s"] / figures["raw_fsync_per_s"], 2
        )
        budget = lines / (2 * figures["raw_fsync_per_s"])
        figures["ratio_2_budget_s"] = round(budget, 2)
        left = budget - floors["floor_sum_s"]
        figures.update(floors)
        figures["floor_left_us_per_line"] = round(left / lines * 1e6, 1)
        figures["statement_us_per_line"] = round(figures["statement_s"] / lines * 1e6, 1)
        figures.update(bench_demo(folder))
    for key, value in figures.items():
        print(f"{key}: {value}")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
