"""The members' register over 100,000 members: opening it and searching it.

    PYTHONPATH=. python bench/members.py [--quick]

The data folder (bench/out/members-2-N/, kept between runs) holds N members written in
bulk straight into the SQLite store in the shape enrolment gives them (numbered, masked
mobile, listed in the members' directory), each with a ticket in a group of 50 and three
instalments, some of them overdue. A first page is read once when it is made, so the
store's field indexes exist, as they do in a data folder in use.

(a) first_open_s: the first page of the register read model in a new process's services,
    with the search index built on the way (once per process); index_build_s: the index
    alone, built from the members' directory. Baseline in the same run: scan_build_s,
    the index built from every member document (as it is for members enrolled before
    the directory began); build_speedup = scan_build_s / index_build_s.
(b) first_page_ms, next_page_ms: a page of 200 rows once the index is built (the rows'
    tickets and dues read for the page), and the page after it from its cursor.
(c) search_ms_p50 / search_ms_max: the first page of each search (a common surname, one
    rare full name, the last 4 digits of a mobile, a member number, nothing found).
    Baseline in the same run: store_scan_search_ms, the same searches as the store scan
    MemberService.search used before (stream every member, match in Python);
    search_speedup = baseline / ours (p50s).
(d) gui_open_s: from creating the register view (index not built yet) to its first page
    painted, offscreen; gui_open_block_max_ms: the longest the GUI thread went without
    serving a 5 ms heartbeat timer from then until the view's topic listeners have
    started (they watch the store's change rows; they read no documents);
    gui_search_s: from a search typed to its rows painted, and gui_block_max_ms the
    longest gap of the heartbeat during the searches (they run on a worker lane);
    open_rss_growth_mb: how much the process grew from creating the view until its topic
    listeners had started.
(e) index_mb: memory the index holds (tracemalloc, while it is built).

--quick uses 20,000 members and fewer repetitions. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

import psutil  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app import config  # noqa: E402
from app.services.collections import (  # noqa: E402
    COUNTERS,
    DUES,
    MEMBER_DIRECTORY,
    MEMBERS,
    TICKETS,
)
from app.services.context import ServiceContext, close_context, make_context  # noqa: E402
from app.services.kyc.rules import mask_phone  # noqa: E402
from app.services.member_index import MemberIndex, entry_of, parse  # noqa: E402
from app.services.members import Member, directory_write  # noqa: E402
from app.services.registry import Services  # noqa: E402
from app.services.store import Query, Write  # noqa: E402
from app.views.members import MembersView  # noqa: E402
from tests.builders import EMPLOYEE  # noqa: E402

OUT = ROOT / "bench" / "out"
FIRST = [
    "Asha",
    "Lakshmi",
    "Ravi",
    "Arun",
    "Devika",
    "Meena",
    "Suresh",
    "Kiran",
    "Priya",
    "Anil",
    "Deepa",
    "Mohan",
    "Fatima",
    "Imran",
    "Joseph",
    "Mary",
    "Gaurav",
    "Neha",
    "Pooja",
    "Rahul",
    "Sneha",
    "Vijay",
    "Kavya",
    "Harish",
    "Tanvi",
    "Nikhil",
    "Rekha",
    "Sandeep",
    "Anjali",
    "Karan",
    "Divya",
    "Prakash",
    "Geeta",
    "Manoj",
    "Isha",
    "Arjun",
    "Farhan",
    "Latha",
    "Venkat",
    "Shalini",
]
LAST = [
    "Rao",
    "Devi",
    "Kumar",
    "Sharma",
    "Reddy",
    "Iyer",
    "Nair",
    "Menon",
    "Pillai",
    "Khan",
    "Sheikh",
    "Das",
    "Ghosh",
    "Bose",
    "Patel",
    "Shah",
    "Mehta",
    "Jain",
    "Singh",
    "Gupta",
    "Verma",
    "Mishra",
    "Pandey",
    "Naidu",
    "Chopra",
    "Kapoor",
    "Joshi",
    "Kulkarni",
    "Desai",
    "Bhat",
    "Hegde",
    "Shetty",
    "Yadav",
    "Thakur",
    "Saxena",
    "Sinha",
    "Chatterjee",
    "Mukherjee",
    "Banerjee",
    "Srinivasan",
]
RARE = ("Zoya Qureshi", "9000012345")
TODAY = date(2026, 11, 24)
BATCH = 5_000
FORMAT = 2  # the data folder's layout; a new one is made when it changes


def _member(i: int, rng: random.Random) -> tuple[str, dict[str, Any]]:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    phone = f"+91{9100000000 + i * 7:010d}"
    if i == 4242:
        name, phone = RARE[0], "+91" + RARE[1]
    data = {
        "name": name,
        "phone": phone,
        "phone_masked": mask_phone(phone),
        "address": "",
        "nominee": None,
        "kyc_status": rng.choice(("none", "pending", "approved", "approved", "approved")),
        "status": "active",
        "joined_at": "2026-01-05T04:30:00+00:00",
        "enrolled_by": EMPLOYEE.id,
        "number": i + 1,
    }
    return f"mem-{i:010x}", data


def _holdings(i: int, member_id: str, rng: random.Random) -> list[Write]:
    group = f"grp-{i // 50:08x}"
    writes = [
        Write(
            "set",
            TICKETS,
            f"{group}-{i % 50 + 1}",
            {
                "group_id": group,
                "ticket_no": i % 50 + 1,
                "member_id": member_id,
                "prized_period": 1 if i % 50 == 0 else None,
                "security": None,
                "enrolled_at": "2026-01-06T04:30:00+00:00",
            },
        )
    ]
    for period in (1, 2, 3):
        due_date = TODAY - timedelta(days=30 * (3 - period) + 10)
        paid = 1_000_000 if period < 3 or rng.random() < 0.8 else 0
        writes.append(
            Write(
                "set",
                DUES,
                f"due-{i:08x}-{period}",
                {
                    "group_id": group,
                    "period": period,
                    "member_id": member_id,
                    "gross": 1_000_000,
                    "share": 0,
                    "net": 1_000_000,
                    "paid": paid,
                    "status": "paid" if paid else "due",
                    "due_date": due_date.isoformat(),
                    "raised_on": (due_date - timedelta(days=10)).isoformat(),
                    "bank_refs": [],
                },
            )
        )
    return writes


def data_folder(count: int) -> tuple[Path, float]:
    """A data folder holding ``count`` members (made once, then reused)."""
    path = OUT / f"members-{FORMAT}-{count}"
    if (path / "made").exists():
        return path, 0.0
    began = time.perf_counter()
    path.mkdir(parents=True, exist_ok=True)
    ctx = make_context(path)
    rng = random.Random(7)
    batch: list[Write] = []
    directory: dict[str, dict[str, Any]] = {}
    for i in range(count):
        member_id, data = _member(i, rng)
        listed = directory_write(member_id, data["number"], data["name"], data["phone"])
        directory.setdefault(listed.id, {}).update(listed.data["members"])
        batch += [Write("set", MEMBERS, member_id, data), *_holdings(i, member_id, rng)]
        if len(batch) >= BATCH:
            ctx.store.commit(batch)
            batch = []
    batch.append(Write("set", COUNTERS, "members", {"last": count}))
    batch += [Write("set", MEMBER_DIRECTORY, b, {"members": m}) for b, m in directory.items()]
    ctx.store.commit(batch)
    close_context(ctx)
    ctx, services = _services(path)
    services.member_register.page("")  # creates the store's indexes on the fields it reads
    services.close()
    close_context(ctx)
    (path / "made").write_text("ok\n")
    return path, time.perf_counter() - began


def _services(path: Path) -> tuple[ServiceContext, Services]:
    ctx = make_context(path)
    return ctx, Services.build(ctx, config.load(environ={}, data_dir=path))


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


SEARCHES = ("rao", RARE[0].lower(), RARE[1][-4:], "M-04243", "nobody at all")


def _timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def _store_scan(services: Services, text: str) -> list[Member]:
    """The search as MemberService.search ran before the index: every member streamed."""
    search = parse(text)
    matches = search.matches()
    found = [
        Member.from_doc(d)
        for d in services.members.ctx.store.stream(Query(MEMBERS))
        if matches(entry_of(d))
    ]
    found.sort(key=lambda m: (m.name.casefold(), m.id))
    return found[:200]


class ScanIndex(MemberIndex):
    """The index built from every member document (the directory not used)."""

    def from_directory(self) -> None:
        return None


def _index_mb(services: Services) -> float:
    """What another index over the same members holds (tracemalloc slows the build, so
    it is not the timed one)."""
    index = MemberIndex(services.members.ctx.store)
    tracemalloc.start()
    index.find("")
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return held / 1e6


def time_service(path: Path, runs: int) -> dict[str, Any]:
    ctx, services = _services(path)
    try:
        register = services.member_register
        began = time.perf_counter()
        first = register.page("")
        build_s = time.perf_counter() - began
        index_mb = _index_mb(services)
        store = services.members.ctx.store
        directory_s, _ = _timed(lambda: MemberIndex(store).find(""), runs)
        scan_s, _ = _timed(lambda: ScanIndex(store).find(""), max(1, runs // 3))
        page_s, first = _timed(lambda: register.page(""), runs)
        cursor = first.rows[-1].cursor
        next_s, _ = _timed(lambda: register.page("", after_row=cursor), runs)
        ours, theirs = [], []
        for text in SEARCHES:
            took, page = _timed(lambda t=text: register.page(t), runs)
            base, old = _timed(lambda t=text: _store_scan(services, t), max(1, runs // 3))
            assert [r.member_id for r in page.rows] == [m.id for m in old], text
            print(
                f"  search {text!r}: {page.matches:,} matches, {_ms(took)} ms (scan {_ms(base)} ms)"
            )
            ours.append(took)
            theirs.append(base)
        return {
            "first_open_s": round(build_s, 3),
            "index_build_s": round(directory_s, 3),
            "scan_build_s": round(scan_s, 3),
            "build_speedup": round(scan_s / directory_s, 1),
            "index_mb": round(index_mb, 1),
            "first_page_ms": _ms(page_s),
            "next_page_ms": _ms(next_s),
            "search_ms_p50": _ms(statistics.median(ours)),
            "search_ms_max": _ms(max(ours)),
            "store_scan_search_ms": _ms(statistics.median(theirs)),
            "search_speedup": round(statistics.median(theirs) / statistics.median(ours), 1),
        }
    finally:
        services.close()
        close_context(ctx)


class Heartbeat:
    """A 5 ms timer on the GUI thread; the longest gap between its ticks is how long the
    GUI thread was kept from serving events."""

    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.longest = 0
        self._last = 0

    def start(self) -> None:
        self.clock.start()
        self._last = 0
        self.longest = 0
        self.timer.start()

    def _tick(self) -> None:
        now = self.clock.elapsed()
        self.longest = max(self.longest, now - self._last)
        self._last = now

    def stop(self) -> int:
        self.timer.stop()
        return self.longest


def _wait(app: QApplication, done: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError("the register did not answer in time")
        app.processEvents()
        time.sleep(0.0005)


def _topics_listening(services: Services) -> bool:
    """Whether the store listeners behind the view's topics have read their collections
    (each reads its whole collection first, on the store's listener thread)."""
    watches = services.topics._watches.values()
    return all(w.primed for w in watches)


def time_gui(app: QApplication, path: Path, runs: int) -> dict[str, Any]:
    ctx, services = _services(path)
    beat = Heartbeat()
    me = psutil.Process()
    try:
        rss_before = me.memory_info().rss
        beat.start()
        began = time.perf_counter()
        view = MembersView(services, EMPLOYEE)
        view.resize(1280, 720)
        view.show()
        _wait(app, lambda: view.model.rowCount() > 0)
        view.table.viewport().repaint()
        open_s = time.perf_counter() - began
        _wait(app, lambda: not view.busy() and _topics_listening(services))
        opening = beat.stop()
        listeners_mb = (me.memory_info().rss - rss_before) / 1e6
        print(f"  GUI thread held up at most {opening} ms while the register opened")
        searches, blocked = [], []
        for i in range(runs):
            text = SEARCHES[i % len(SEARCHES)]
            beat.start()
            began = time.perf_counter()
            view.search.setText(text)
            view.apply_search()
            _wait(app, lambda t=text: view.model.search == t and not view.busy())
            view.table.viewport().repaint()
            searches.append(time.perf_counter() - began)
            blocked.append(beat.stop())
            print(f"  GUI thread held up at most {blocked[-1]} ms searching {text!r}")
        view.shutdown()
        return {
            "gui_open_s": round(open_s, 3),
            "gui_open_block_max_ms": opening,
            "open_rss_growth_mb": round(listeners_mb),
            "gui_search_s": round(statistics.median(searches), 3),
            "gui_block_max_ms": max(blocked),
        }
    finally:
        services.close()
        close_context(ctx)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 members, fewer runs")
    args = parser.parse_args()
    count = 20_000 if args.quick else 100_000
    runs = 3 if args.quick else 7
    app = QApplication.instance() or QApplication([])
    path, made_s = data_folder(count)
    print(f"data: {path}" + (f" (made in {made_s:.1f} s)" if made_s else ""))
    figures: dict[str, Any] = {"members": count}
    figures |= time_service(path, runs)
    figures |= time_gui(app, path, runs)
    for key, value in figures.items():
        print(f"{key:>22}: {value}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
