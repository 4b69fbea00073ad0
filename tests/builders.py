"""Data the tests share: the staff who act, valid KYC details and documents, and a way to
make a concurrent commit land inside a transaction."""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from app import config
from app.services.actors import Actor
from app.services.context import ServiceContext
from app.services.demo.people import one_page_pdf, photo_png
from app.services.kyc.rules import verhoeff_check_digit
from app.services.pipeline import Committed, Pipeline, Reader
from app.services.registry import Services
from app.services.store.sqlite import SqliteStore

ADMIN = Actor("u-admin", "Asha Admin", "admin")
ADMIN2 = Actor("u-admin2", "Kiran Admin", "admin")
EMPLOYEE = Actor("u-emp", "Ravi Employee", "employee")
EMPLOYEE2 = Actor("u-emp2", "Meena Employee", "employee")
CHECKER = Actor("u-check", "Farah Checker", "employee")
"""The second staff member who approves what another formed (maker-checker)."""

_SANCTIONS = itertools.count(1)


def sanction() -> str:
    """A registration (sanction) number no other group of this test run has."""
    return f"TN/CHIT/TEST/{next(_SANCTIONS):05d}"


AADHAAR = "521185133376"
PAN = "ABCPD1234E"
ACCOUNT = "000123456789"


def jpeg_bytes(colour: tuple[int, int, int] = (200, 120, 40), size: int = 16) -> bytes:
    """A real JPEG: a ``size`` x ``size`` square of one colour."""
    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, "JPEG")
    return out.getvalue()


PNG = photo_png(7)
JPEG = jpeg_bytes()
PDF = one_page_pdf("A scanned PAN card (test data)")
"""Real documents, as the KYC rules accept them (they must open, not only start right)."""


def aadhaar(seed: int) -> str:
    """A valid Aadhaar number, different for each ``seed``."""
    body = f"{2 + seed % 8}{seed:010d}"
    return body + verhoeff_check_digit(body)


def pan(seed: int) -> str:
    """A valid individual PAN, different for each ``seed`` below 26 * 10,000."""
    letter, number = divmod(seed, 10_000)
    return f"ABCP{chr(ord('A') + letter)}{number:04d}K"


def services_of(ctx: ServiceContext) -> Services:
    """Every service over ``ctx``, as the default settings of its data directory say
    (close them before the context)."""
    return Services.build(ctx, config.load(environ={}, data_dir=ctx.data_dir))


def open_pipeline(data: Path) -> Pipeline:
    """A real pipeline (SQLite store, WAL) on the data folder ``data``, opened."""
    pipeline = Pipeline(SqliteStore(data / "store.sqlite3"), data / "wal" / "wal.log")
    pipeline.open()
    return pipeline


def close_pipeline(pipeline: Pipeline) -> None:
    pipeline.close()
    pipeline.store.close()


def interleave(
    monkeypatch: pytest.MonkeyPatch, ctx: ServiceContext, between: Callable[[], object]
) -> list[int]:
    """Run ``between`` once, after the next transaction's work has read the store and
    before it commits; returns a list that grows by one per attempt of that work."""
    transact = ctx.pipeline.transact
    runs: list[int] = []

    def patched(actor: Actor, work: Callable[[Reader], Any], **kw: Any) -> Committed:
        def wrapped(reader: Reader) -> Any:
            runs.append(1)
            result = work(reader)
            if len(runs) == 1:
                monkeypatch.setattr(ctx.pipeline, "transact", transact)
                between()
            return result

        return transact(actor, wrapped, **kw)

    monkeypatch.setattr(ctx.pipeline, "transact", patched)
    return runs
