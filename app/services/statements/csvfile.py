"""Reading a bank statement exported as CSV, by the column mapping shipped in
``resources/statements/columns.toml`` (which documents it).

:func:`read_statement` finds the table (the first row naming a date, a narration and a
credit or amount column), reads each row below it into a :class:`Line` (amounts in
paise, dates as ISO text) and sets aside what is not a transaction (the rows before the
table, footers, blank rows) with the reason. A file that holds no table, or is not text,
is refused with what to do.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from app.kernel.bundle import resource
from app.kernel.errors import ValidationError

MAX_BYTES = 64 * 1024 * 1024
MAX_NARRATION = 200
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_AMOUNT_JUNK = re.compile(r"(?i)₹|rs\.?|inr|,|\s")


@dataclass(frozen=True)
class Line:
    """One transaction row: ``number`` is its row in the file (1 = the first row)."""

    number: int
    date: str
    narration: str
    reference: str
    credit: int
    debit: int
    balance: int | None


@dataclass(frozen=True)
class Statement:
    """A statement file as read: its transaction lines and the rows set aside."""

    name: str
    sha256: str
    lines: list[Line]
    set_aside: list[tuple[int, str]]


@dataclass(frozen=True)
class Mapping:
    """The shipped column mapping: header aliases per field, date formats, modes."""

    headers: dict[str, tuple[str, ...]]
    required: frozenset[str]
    date_formats: tuple[str, ...]
    modes: dict[str, tuple[str, ...]]


@cache
def mapping() -> Mapping:
    """The column mapping (``resources/statements/columns.toml``), read once."""
    raw = tomllib.loads(resource("resources", "statements", "columns.toml").read_text("utf-8"))
    fields: dict[str, Any] = raw["fields"]
    return Mapping(
        headers={name: tuple(_key(h) for h in spec["headers"]) for name, spec in fields.items()},
        required=frozenset(name for name, spec in fields.items() if spec.get("required")),
        date_formats=tuple(raw["dates"]["formats"]),
        modes={mode: tuple(words) for mode, words in raw["narration"]["modes"].items()},
    )


def _key(header: str) -> str:
    return _NOT_ALNUM.sub("", header.casefold())


def read_statement(path: Path) -> Statement:
    """Read the CSV statement at ``path`` (see module docstring)."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ValidationError(
                f"{path.name} is {size // (1024 * 1024)} MB; a statement may be at most "
                f"{MAX_BYTES // (1024 * 1024)} MB.",
                hint="Export a shorter period.",
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ValidationError(
            f"Cannot read {path}: {exc.strerror or exc}.", hint="Choose the file again."
        ) from None
    return parse_statement(data, path.name)


def parse_statement(data: bytes, name: str) -> Statement:
    """Read a CSV statement given as bytes (see module docstring)."""
    text = _decode(data, name)
    rows = list(csv.reader(io.StringIO(text), _dialect(text)))
    found = _header(rows)
    if found is None:
        raise ValidationError(
            f"{name} has no statement table: no row names a date, a narration and a "
            "credit (or amount) column.",
            hint="Export the statement as CSV from net banking; the column names it "
            "understands are in resources/statements/columns.toml.",
        )
    at, columns = found
    set_aside = [(n, "above the table") for n in range(1, at) if any(rows[n - 1])]
    set_aside.append((at, "the table's header"))
    lines: list[Line] = []
    for index in range(at, len(rows)):
        number, row = index + 1, rows[index]
        line, why = _line(number, row, columns)
        if line is not None:
            lines.append(line)
        elif why:
            set_aside.append((number, why))
    if not lines:
        raise ValidationError(f"{name} has a table but no transaction in it.")
    return Statement(name, hashlib.sha256(data).hexdigest(), lines, set_aside)


def _decode(data: bytes, name: str) -> str:
    if b"\x00" in data[:4096]:
        raise ValidationError(
            f"{name} is not a CSV file (it holds binary data).",
            hint="Export the statement as CSV, not Excel (.xls/.xlsx) or PDF.",
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def _header(rows: list[list[str]]) -> tuple[int, dict[str, int]] | None:
    """The row the table starts below, and the column of each field found in it."""
    known = mapping()
    for index, row in enumerate(rows[:200]):
        keys = [_key(cell) for cell in row]
        columns: dict[str, int] = {}
        for field, aliases in known.headers.items():
            for alias in aliases:  # the mapping's order: the first alias found wins
                if alias in keys and keys.index(alias) not in columns.values():
                    columns[field] = keys.index(alias)
                    break
        if known.required <= columns.keys() and ("credit" in columns or "amount" in columns):
            return index + 1, columns
    return None


def _line(number: int, row: list[str], columns: dict[str, int]) -> tuple[Line | None, str]:
    if not any(cell.strip() for cell in row):
        return None, ""
    cell = {field: (row[i].strip() if i < len(row) else "") for field, i in columns.items()}
    day = parse_date(cell["date"])
    if day is None:
        return None, "not a transaction (no date)"
    try:
        credit, debit = _money(cell)
        balance = parse_amount(cell["balance"]) if cell.get("balance") else None
    except ValueError as exc:
        return None, f"dated {day} but {exc}"
    narration = " ".join(cell["narration"].split())[:MAX_NARRATION]
    reference = cell.get("reference", "").strip()
    return Line(number, day, narration, reference, credit, debit, balance), ""


def _money(cell: dict[str, str]) -> tuple[int, int]:
    """(credit, debit) in paise, from credit/debit columns or one amount column."""
    if "credit" in cell:
        credit = parse_amount(cell["credit"]) if cell["credit"] else 0
        debit = parse_amount(cell["debit"]) if cell.get("debit") else 0
        return credit, debit
    amount = parse_amount(cell["amount"])
    way = cell.get("direction", "").strip().casefold()
    if way.startswith("d") or amount < 0:
        return 0, abs(amount)
    return amount, 0


def parse_amount(text: str) -> int:
    """``1,00,000.50`` / ``₹ 7,500`` / ``7500.00 CR`` / ``(250.00)`` -> paise."""
    raw = _AMOUNT_JUNK.sub("", text)
    negative = (raw.startswith("(") and raw.endswith(")")) or raw.endswith(("DR", "Dr", "dr"))
    raw = raw.strip("()").removesuffix("CR").removesuffix("Cr").removesuffix("cr")
    raw = raw.removesuffix("DR").removesuffix("Dr").removesuffix("dr")
    if raw in ("", "-"):
        return 0
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount") from None
    paise = value * 100
    if paise != paise.to_integral_value() or not value.is_finite():
        raise ValueError(f"{text!r} has fractions of a paisa")
    return -int(paise) if negative else int(paise)


@lru_cache(maxsize=4096)
def parse_date(text: str) -> str | None:
    """A statement's date as ISO text, or None when it is not one (remembered: a
    statement repeats a few dates over thousands of lines, and each new one may try
    every format of the mapping)."""
    value = text.strip().split(" ")[0] if ":" in text else text.strip()
    for pattern in mapping().date_formats:
        try:
            return datetime.strptime(value, pattern).date().isoformat()
        except ValueError:
            continue
    return None
