"""``tfos ledger capital``: an admin records capital paid in and a second person posts it,
each signed in on the command line, as real processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import config
from app.bootstrap import build
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
