"""PDF report benchmarks: a 10,000-row collections register and a member statement.

The history is made through the real services (demo data on a real SQLite store and
fsynced WAL); each report is then rendered end to end (read through the services,
laid out, drawn, saved). Beside the register, in the same run and on the same rows:
reportlab's own LongTable (the slow way) and a bare loop of ``drawString`` calls (the
floor any canvas renderer meets).

    python bench/reports.py [--quick]

``--quick`` makes a history of about 1,000 receipts instead of 10,000 and scales the
times to 10,000 rows. The machine's load average is printed too: on a shared machine
the ratios against the bare loop and LongTable, measured in the same run, are the
figures to compare.
"""

from __future__ import annotations

import argparse
import io
import json
import os
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
from app.services.context import FixedClock, close_context, make_context
from app.services.demo import generate
from app.services.log_signing import LogSigning
from app.services.registry import Services
from app.services.reports import Letterhead, Rendered, Request, render_report
from app.services.reports.blocks import SANS, register_fonts

END = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
FULL = (10, 100, 11)  # groups, members per group, months: about 10,500 receipts
QUICK = (2, 50, 11)
FIRM = Letterhead("Benchmark Chits Pvt Ltd", "Chennai")


def timed(action: Callable[[], object], runs: int) -> tuple[float, object]:
    """Median seconds of ``runs`` calls, and the last result."""
    timings, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), result


def longtable_s(rows: list[tuple[str, ...]]) -> float:
    """reportlab's platypus LongTable over the same cells (the slow, easy way)."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.platypus import LongTable, SimpleDocTemplate

    started = time.perf_counter()
    doc = SimpleDocTemplate(io.BytesIO(), pagesize=landscape(A4))
    table = LongTable(rows, repeatRows=1)
    table.setStyle([("FONT", (0, 0), (-1, -1), SANS, 7.5)])
    doc.build([table])
    return time.perf_counter() - started


def raw_canvas_s(rows: list[tuple[str, ...]]) -> float:
    """A bare loop of drawString calls, one per cell: the floor of any canvas renderer."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.pdfgen.canvas import Canvas

    started = time.perf_counter()
    c = Canvas(io.BytesIO(), pagesize=landscape(A4), invariant=1, initialFontName=SANS)
    y = 0.0
    for row in rows:
        if y < 40:
            c.showPage()
            c.setFont(SANS, 7.5)
            y = 540.0
        for i, cell in enumerate(row):
            c.drawString(36 + i * 110, y, cell)
        y -= 10.9
    c.save()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="About 1,000 receipts.")
    args = parser.parse_args(argv)
    figures = pdf_figures(args.quick)
    for name, value in figures.items():
        print(f"{name:>28}: {value}")
    print(json.dumps(figures, ensure_ascii=False))


def pdf_figures(quick: bool, *, signed: bool = False) -> dict[str, Any]:
    """Make the history (``quick``: about 1,000 receipts) and measure its reports;
    ``signed``: with the log's key and checkpoint, as the desktop exports them."""
    groups, members, months = QUICK if quick else FULL
    register_fonts()
    with tempfile.TemporaryDirectory() as tmp:
        ctx = make_context(Path(tmp), clock=FixedClock(NOW))
        try:
            started = time.perf_counter()
            generate(ctx, groups=groups, members=members, months=months, seed=7, end=END)
            made_s = time.perf_counter() - started
            ctx.clock.set(NOW)  # type: ignore[attr-defined]
            services = Services.build(ctx, config.load(environ={}, data_dir=ctx.data_dir))
            signing = LogSigning(ctx.transparency) if signed and ctx.transparency else None
            figures = measure(ctx, services, runs=3, signing=signing)
        finally:
            close_context(ctx)
    figures["demo_data_s"] = round(made_s, 1)
    figures["load_average_1m"] = round(os.getloadavg()[0], 1)
    return figures


def measure(
    ctx: Any, services: Services, runs: int, signing: LogSigning | None = None
) -> dict[str, Any]:
    entries = services.ledger.receipt_register()

    def render(request: Request) -> Rendered:
        return render_report(services, ctx, request, FIRM, signing)

    register_s, rendered = timed(lambda: render(Request("collections-register")), runs)
    busiest = max(
        services.members.list_members(), key=lambda m: len(services.ledger.member_timeline(m.id))
    )
    statement_s, statement = timed(
        lambda: render(Request("member-statement", member=busiest.id)), max(runs, 3)
    )
    cells = [
        (
            e.received_on,
            e.number or "",
            e.member_id,
            e.group_id or e.loan_id or "",
            e.bank_ref,
            str(e.amount),
        )
        for e in entries
    ]
    floor_s = raw_canvas_s(cells)
    platypus_s = longtable_s(cells)
    per_10k = 10_000 / len(entries)
    return {
        "register_rows": len(entries),
        "register_pages": rendered.pdf.count(b"/Type /Page\n"),  # type: ignore[attr-defined]
        "register_s": round(register_s, 3),
        "pdf_10k_s": round(register_s * per_10k, 3),
        "pdf_10k_goal_s": 5.0,
        "raw_canvas_10k_s": round(floor_s * per_10k, 3),
        "longtable_10k_s": round(platypus_s * per_10k, 3),
        "register_vs_raw_canvas": round(register_s / floor_s, 2),
        "register_vs_longtable": round(register_s / platypus_s, 3),
        "statement_ms": round(statement_s * 1000, 1),
        "statement_lines": len(services.ledger.member_timeline(busiest.id)),
        "statement_bytes": len(statement.pdf),  # type: ignore[attr-defined]
    }


if __name__ == "__main__":
    main()
