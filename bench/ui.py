"""Desktop benchmarks: the audit viewer on a 1,000,000-record WAL, the footer, start-up.

    PYTHONPATH=. python bench/ui.py [--quick]

(a) audit_open_s: from creating the audit model on a 1,000,000-record log to its
    first page painted in a QTableView (offscreen).
    audit_next_page_ms: one more page of 200 rows when the view reaches the bottom.
(b) audit_filter_s: from applying an actor filter (an employee behind 1 record in
    20) to the first page of matches painted; audit_filter_full_scan_s is the same
    for an actor with 10 records in the whole log, so the scan reads every byte.
(c) footer_tick_ms: one footer refresh, KernelFooter.show_stats (GUI thread) plus
    runtime.stats.sample (a worker thread in the app), on a built runtime.
(d) startup_s: from launching ``python -m app --screenshots DIR`` (offscreen, on a data
    folder holding the default demo data, seeded beforehand with ``tfos demo-data``) to
    the first screenshot file; it includes the 0.3 s the screenshot mode waits before
    its first picture.

The log is written in bulk in the documented format and cached in bench/out/.
--quick only times fewer repetitions. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

from PySide6.QtCore import (  # noqa: E402
    QMessageLogContext,
    QModelIndex,
    QtMsgType,
    qInstallMessageHandler,
)
from PySide6.QtWidgets import QApplication, QTableView  # noqa: E402

from app.kernel.wal import verify_file  # noqa: E402
from app.kernel.wal_format import GENESIS, Record  # noqa: E402
from app.services.audit_log import AuditLog, WalFilter  # noqa: E402
from app.services.context import SystemClock  # noqa: E402
from app.views.audit import AuditModel  # noqa: E402

ONE_MILLION = 1_000_000
OUT = ROOT / "bench" / "out"
FORMAT = 2
EMPLOYEES = [f"staff-{i:03d}" for i in range(20)]
RARE = "staff-rare"
ACTIONS = ("loan.approve", "kyc.approve", "receipt.record", "auction.bid", "recovery.move")


def _actor(i: int) -> bytes:
    if i % 100_000 == 7:
        ident, name = RARE, "Rare Auditor"
    else:
        ident = EMPLOYEES[i % len(EMPLOYEES)]
        name = f"Employee {ident[-3:]}"
    role = "admin" if ident.endswith(("000", "001")) else "employee"
    return b'{"id":"%s","name":"%s","role":"%s"}' % (ident.encode(), name.encode(), role.encode())


def _tail(i: int) -> bytes:
    action = ACTIONS[i % len(ACTIONS)]
    kind = action.split(".")[0].encode()
    ident = b"%s-%010x" % (kind, i * 2654435761 % (1 << 40))
    change = (
        b'{"writes":[{"collection":"%ss","data":{"amount_paise":%d,"period":%d,"status":"done",'
        b'"updated_at":"2026-11-23T10:00:00+00:00"},"id":"%s","op":"merge"}]}'
        % (kind, 500_000 + i % 977 * 100, i % 40, ident)
    )
    return (
        b',"actor":%s,"action":"%s","entity":{"id":"%s","type":"%s"},"change":%s,"reason":"%s"}'
        % (
            _actor(i),
            action.encode(),
            ident,
            kind,
            change,
            b"routine" if i % 3 else b"checked documents against originals",
        )
    )


def build_log(path: Path, count: int) -> None:
    """Write ``count`` records in the WAL format (about 520 bytes each)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    prev = GENESIS.encode()
    base = 1_767_225_600
    with open(path.with_suffix(".tmp"), "wb") as file:
        lines = []
        for lsn in range(1, count + 1):
            moment = time.gmtime(base + lsn * 30)
            ts = b"%s.%06dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", moment).encode(), lsn % 1000)
            body = b'{"lsn":%d,"prev":"%s","ts":"%s"%s' % (lsn, prev, ts, _tail(lsn))
            prev = sha256(prev + body).hexdigest().encode()
            lines.append(b"%s %s\n" % (prev, body))
            if len(lines) == 50_000:
                file.write(b"".join(lines))
                lines = []
        file.write(b"".join(lines))
    path.with_suffix(".tmp").rename(path)


def cached_log(count: int) -> tuple[Path, float]:
    path = OUT / f"audit-wal-{count}-v{FORMAT}.log"
    if path.exists():
        return path, 0.0
    began = time.perf_counter()
    build_log(path, count)
    with open(path, "rb") as file:
        Record.parse(file.readline())
    return path, time.perf_counter() - began


def _quiet(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def wait(app: QApplication, done: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError("the audit model did not answer in time")
        app.processEvents()
        time.sleep(0.0005)


def shown(app: QApplication, view: QTableView, model: AuditModel, rows: int) -> None:
    """Wait for ``rows`` rows (or the end of the scan), then paint them."""
    wait(app, lambda: model.rowCount() >= rows or model.complete)
    view.viewport().repaint()
    app.processEvents()


def time_audit(app: QApplication, path: Path, runs: int) -> dict[str, float]:
    opens, filters, rare, pages = [], [], [], []
    for _ in range(runs):
        view = QTableView()
        view.resize(1200, 700)
        view.show()
        began = time.perf_counter()
        model = AuditModel(AuditLog(path, SystemClock()), poll_ms=0)
        view.setModel(model)
        shown(app, view, model, 1)
        opens.append(time.perf_counter() - began)
        wait(app, lambda m=model: not m.loading)
        for _ in range(10):
            began = time.perf_counter()
            view.scrollToBottom()
            model.fetchMore(QModelIndex())
            wait(app, lambda m=model: not m.loading)
            pages.append(time.perf_counter() - began)
        began = time.perf_counter()
        model.set_filter(WalFilter(actor=EMPLOYEES[7]))
        shown(app, view, model, AuditModel.PAGE)
        filters.append(time.perf_counter() - began)
        assert model.summary(0).actor["id"] == EMPLOYEES[7]
        began = time.perf_counter()
        model.set_filter(WalFilter(actor="rare auditor"))
        shown(app, view, model, ONE_MILLION)
        rare.append(time.perf_counter() - began)
        assert model.rowCount(QModelIndex()) == 10, model.rowCount()
        model.close()
        view.close()
        view.deleteLater()
    return {
        "audit_open_s": round(statistics.median(opens), 4),
        "audit_filter_s": round(statistics.median(filters), 4),
        "audit_filter_full_scan_s": round(statistics.median(rare), 4),
        "audit_next_page_ms": round(statistics.median(pages) * 1000, 2),
    }


def time_footer(ticks: int) -> dict[str, Any]:
    from app import bootstrap, config
    from app.views.footer import KernelFooter

    with tempfile.TemporaryDirectory() as folder:
        runtime = bootstrap.build(config.load(environ={}, data_dir=Path(folder), port=0))
        try:
            footer = KernelFooter(runtime.stats.sample)
            footer.show()
            samples, shows = [], []
            for _ in range(ticks + 3):
                began = time.perf_counter()
                stats = runtime.stats.sample()
                middle = time.perf_counter()
                footer.show_stats(stats)
                QApplication.processEvents()
                samples.append(middle - began)
                shows.append(time.perf_counter() - middle)
            footer.close()
        finally:
            runtime.close()
    sample_ms = statistics.median(samples[3:]) * 1000
    show_ms = statistics.median(shows[3:]) * 1000
    return {
        "footer_tick_ms": round(sample_ms + show_ms, 3),
        "footer_gui_ms": round(show_ms, 3),
        "footer_sample_ms": round(sample_ms, 3),
    }


def time_startup(runs: int) -> dict[str, Any]:
    timings = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as folder:
            shots = Path(folder) / "shots"
            env = {k: v for k, v in os.environ.items() if not k.startswith("TFOS_")}
            env.update(
                PYTHONPATH=str(ROOT),
                QT_QPA_PLATFORM="offscreen",
                TFOS_DATA_DIR=str(Path(folder) / "data"),
                TFOS_PORT="0",
            )
            seed = [
                sys.executable,
                "-m",
                "app.cli",
                "demo-data",
                "--groups",
                "3",
                "--members",
                "20",
                "--months",
                "6",
                "--seed",
                "2026",
            ]
            subprocess.run(seed, env=env, check=True, capture_output=True)
            command = [sys.executable, "-m", "app", "--screenshots", str(shots)]
            began = time.perf_counter()
            proc = subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                while not (shots.exists() and any(shots.glob("*.png"))):
                    if proc.poll() is not None and not shots.exists():
                        return {"startup_s": None, "startup_note": f"exit {proc.returncode}"}
                    time.sleep(0.005)
                timings.append(time.perf_counter() - began)
            finally:
                proc.wait(timeout=60)
    return {
        "startup_s": round(statistics.median(timings), 3),
        "startup_note": "demo data (3 groups x 20 members x 6 months); includes the "
        "screenshot mode's 0.3 s settle time",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    qInstallMessageHandler(_quiet)
    app = QApplication.instance() or QApplication([])
    path, built_s = cached_log(ONE_MILLION)
    size_mb = path.stat().st_size / 1e6
    print(
        f"log: {path} ({size_mb:.0f} MB, built in {built_s:.1f} s)" if built_s else f"log: {path}"
    )
    figures: dict[str, Any] = {"audit_entries": ONE_MILLION, "audit_log_mb": round(size_mb)}
    figures |= time_audit(app, path, 1 if args.quick else 3)
    figures |= time_footer(20 if args.quick else 100)
    figures |= time_startup(1 if args.quick else 3)
    if not args.quick:
        began = time.perf_counter()
        figures["verify_ok"] = verify_file(path).ok
        figures["verify_s"] = round(time.perf_counter() - began, 2)
    for key, value in figures.items():
        print(f"{key:>26}: {value}")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
