"""The kernel-monitor footer: one small widget per metric, refreshed every second.

Sampling (psutil, lock probing) runs in a worker thread; the GUI thread only sets
label texts and feeds the sparkline.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QWidget

from app.kernel.stats import KernelStats

FOOTER_BACKGROUND = "#f1f3f7"  # QFrame#kernelFooter in resources/theme.qss
GIB = 1024**3
MIB = 1024**2


class Metric(QLabel):
    """One footer figure: a caption and a value."""

    def __init__(self, caption: str, tooltip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = caption
        self.setObjectName("footerMetric")
        self.setToolTip(tooltip)
        self.show_value("–")

    def show_value(self, value: str) -> None:
        self.setText(f"<span style='color:#7a8599'>{self.caption}</span> {value}")


class Sparkline(pg.PlotWidget):
    """A tiny CPU % history."""

    def __init__(self, points: int = 60, parent: QWidget | None = None) -> None:
        super().__init__(parent, background=FOOTER_BACKGROUND)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.values: deque[float] = deque([0.0] * points, maxlen=points)
        self.setFixedSize(120, 24)
        self.hideAxis("left")
        self.hideAxis("bottom")
        self.setMouseEnabled(False, False)
        self.setMenuEnabled(False)
        self.setYRange(0, 100, padding=0)
        self.curve = self.plot(list(self.values), pen=pg.mkPen("#2f7de1", width=1.5))

    def push(self, value: float) -> None:
        self.values.append(value)
        self.curve.setData(list(self.values))


def _fmt_locks(locks: list[str] | None) -> str:
    if locks is None:
        return "?"
    return ", ".join(locks) if locks else "none"


def _opt(value: object) -> str:
    return "?" if value is None else str(value)


class KernelFooter(QFrame):
    """Live kernel stats; ``sample`` is called off the GUI thread once a second."""

    def __init__(self, sample: Callable[[], KernelStats], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("kernelFooter")
        self._sample = sample
        self._busy = False
        self._task: asyncio.Future[None] | None = None
        self.metrics = {
            "ram": Metric("RAM", "Memory used / total on this machine"),
            "rss": Metric("RSS", "Memory of this process"),
            "cpu": Metric("CPU", "CPU use of this machine"),
            "wal": Metric("WAL", "Entries in the write-ahead log"),
            "locks": Metric("Locks", "Auction locks held (by any process)"),
            "threads": Metric("Threads", "Threads in this process"),
            "queue": Metric("Queue", "Loan applications waiting for the scheduler"),
            "clients": Metric("Web", "Connected web clients"),
        }
        self.spark = Sparkline()
        self.spark.setToolTip("CPU use of this machine over the last minute")
        spark_caption = QLabel("<span style='color:#7a8599'>CPU, last minute</span>")
        spark_caption.setObjectName("footerMetric")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 2)
        for metric in self.metrics.values():
            layout.addWidget(metric)
        layout.addStretch(1)
        layout.addWidget(spark_caption)
        layout.addWidget(self.spark)
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)

    def start(self) -> None:
        self.timer.start()
        self.tick()

    def tick(self) -> None:
        if self._busy:
            return
        self._busy = True
        self._task = asyncio.ensure_future(self._refresh())

    async def _refresh(self) -> None:
        try:
            stats = await asyncio.get_running_loop().run_in_executor(None, self._sample)
            self.show_stats(stats)
        finally:
            self._busy = False

    def show_stats(self, s: KernelStats) -> None:
        m = self.metrics
        m["ram"].show_value(f"{s.ram_used / GIB:.1f}/{s.ram_total / GIB:.1f} GiB")
        m["rss"].show_value(f"{s.process_rss / MIB:.0f} MiB")
        m["cpu"].show_value(f"{s.cpu_percent:.0f}%")
        m["wal"].show_value(_opt(s.wal_entries))
        m["locks"].show_value(_fmt_locks(s.locks_held))
        m["threads"].show_value(str(s.thread_count))
        m["queue"].show_value(_opt(s.queue_depth))
        m["clients"].show_value(_opt(s.connected_clients))
        self.spark.push(float(s.cpu_percent))
