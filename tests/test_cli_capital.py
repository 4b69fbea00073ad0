"""``tfos ledger capital``: an admin records capital paid in and a second person posts it,
each signed in on the command line, as real processes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app import config
from app.bootstrap import build
from app.kernel import office_time
from app.services.collections import LEDGER
from app.services.context import SystemClock
from tests.test_cli_member import PASSWORD, tfos

UTR = "SBIN126054012345"


@pytest.fixture
def office(data_dir: Path) -> Path:
    """A fresh install: the first admin ``asha`` and an employee ``ravi``; no cash yet."""
    runtime = build(config.load(environ={}, data_dir=data_dir))
    try:
        asha = runtime.services.staff.create_first_admin("Asha Rao", "asha", PASSWORD).actor
        runtime.services.staff.create_staff(asha, "Ravi Kumar", "ravi", PASSWORD)
    finally:
        runtime.close()
    return data_dir


def test_a_fresh_office_pays_capital_in_through_two_people(office: Path) -> None:
    paid_in = ("--amount", "5,00,000", "--into", "lending", "--bank-ref", UTR.lower())
    done = tfos(office, "ledger", "capital", "propose", *paid_in, "--staff", "asha")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Recorded (another staff member approves it before it is "
                                  f"posted): {UTR}  ₹5,00,000.00 into lending cash")  # fmt: skip
    own = tfos(office, "ledger", "capital", "approve", UTR, "--staff", "asha")
    assert own.returncode == 2 and "Asha Rao recorded this capital" in own.stderr
    again = tfos(office, "ledger", "capital", "propose", *paid_in, "--staff", "asha")
    assert again.returncode == 2 and f"Bank reference: {UTR} was already used" in again.stderr
    approved = tfos(office, "ledger", "capital", "approve", UTR, "--staff", "ravi")
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.startswith(f"Posted: {UTR}")
    assert "Added by Ravi Kumar" in approved.stdout
    listed = tfos(office, "ledger", "capital", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines()[:4] == [
        "Lending cash: ₹5,00,000.00",
        "Company cash: ₹0.00",
        "Waiting for a second person (0):",
        "  nothing",
    ]
    checked = tfos(office, "ledger", "check")
    assert checked.returncode == 0, checked.stdout


def test_a_decline_needs_a_reason_and_posts_nothing(office: Path) -> None:
    paid_in = ("--amount", "1,00,000", "--into", "company", "--bank-ref", UTR)
    assert tfos(office, "ledger", "capital", "propose", *paid_in, "--staff", "asha").returncode == 0
    decline = ("ledger", "capital", "decline", UTR, "--staff", "ravi", "--reason")
    refused = tfos(office, *decline, " ")
    assert refused.returncode == 2 and "Reason: say why" in refused.stderr
    done = tfos(office, *decline, "No credit")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Declined (nothing is posted)") and "No credit" in done.stdout
    listed = tfos(office, "ledger", "capital", "list").stdout
    assert "Company cash: ₹0.00" in listed and "Declined by Ravi Kumar" in listed


def test_the_day_the_bank_credited_it_dates_the_posting(office: Path) -> None:
    today = SystemClock().today()
    credited, ahead = today - timedelta(days=5), today + timedelta(days=2)
    paid_in = ("--amount", "2,00,000", "--into", "lending", "--bank-ref", UTR, "--staff", "asha")
    propose = ("ledger", "capital", "propose", *paid_in, "--credited-on")
    future = tfos(office, *propose, ahead.isoformat())
    assert future.returncode == 2
    assert f"Credited on: {office_time.day(ahead)} is after today" in future.stderr
    slip = tfos(office, *propose, "28/11/2026")
    assert slip.returncode == 2 and "Credited on: '28/11/2026' is not a date" in slip.stderr
    done = tfos(office, *propose, credited.isoformat())
    assert done.returncode == 0, done.stderr
    assert f"into lending cash, credited on {office_time.day(credited)}, recorded by" in (
        done.stdout
    )
    approved = tfos(office, "ledger", "capital", "approve", UTR, "--staff", "ravi")
    assert approved.returncode == 0, approved.stderr
    listed = tfos(office, "ledger", "capital", "list").stdout
    assert f"{UTR}  ₹2,00,000.00 into lending cash, credited on {office_time.day(credited)}" in (
        listed
    )
    runtime = build(config.load(environ={}, data_dir=office), existing=True)
    try:
        [txn] = runtime.services.ledger.transactions(kind="capital.added")
        doc = runtime.ctx.store.get(LEDGER, txn.id)
    finally:
        runtime.close()
    assert txn.date == credited.isoformat() and doc is not None
    assert doc.data["date"] == credited.isoformat()


def test_without_the_flag_the_bank_credited_it_today(office: Path) -> None:
    paid_in = ("--amount", "1,00,000", "--into", "company", "--bank-ref", UTR, "--staff", "asha")
    done = tfos(office, "ledger", "capital", "propose", *paid_in)
    assert done.returncode == 0, done.stderr
    assert f"credited on {office_time.day(SystemClock().today())}" in done.stdout
