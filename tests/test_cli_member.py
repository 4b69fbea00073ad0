"""``tfos member sign-in-code``: staff issue a member a code, as a real process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app import config
from app.bootstrap import build
from app.services.actors import Actor
from app.services.otp import OtpService
from app.services.sms import OUTBOX_NAME, OutboxSender, read_outbox
from app.services.staff import StaffService

ROOT = Path(__file__).resolve().parents[1]
PHONE = "+919876543210"
PASSWORD = "Correct-horse-9"
CLERK = Actor("emp-1", "Esha (employee)", "employee")


def tfos(data_dir: Path, *args: str, password: str = PASSWORD) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TFOS_")}
    env.update(PYTHONPATH=str(ROOT), TFOS_DATA_DIR=str(data_dir))
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture
def office(data_dir: Path) -> Path:
    """An admin ``asha`` and a member on PHONE whom strangers have locked out."""
    runtime = build(config.load(environ={}, data_dir=data_dir))
    try:
        StaffService(runtime.ctx).create_first_admin("Asha Rao", "asha", PASSWORD)
        runtime.services.members.enroll(CLERK, "Meena Pillai", PHONE)
        otp = OtpService(
            runtime.ctx,
            OutboxSender(data_dir / "stranger-outbox.jsonl"),
            members=runtime.services.members,
        )
        for i in range(otp.limits.per_phone.count):
            otp.request_code(PHONE, f"203.0.113.{i}")
        otp.close()
    finally:
        runtime.close()
    return data_dir


def sign_in(data_dir: Path, code: str) -> str:
    runtime = build(config.load(environ={}, data_dir=data_dir))
    try:
        otp = OtpService(
            runtime.ctx, OutboxSender(data_dir / OUTBOX_NAME), members=runtime.services.members
        )
        member = otp.verify(PHONE, code, "198.51.100.7").member.name
        otp.close()
        records = [r for r in runtime.pipeline.wal.read(1) if r.action == "otp.issue"]
    finally:
        runtime.close()
    [record] = records
    assert record.actor["name"] == "Asha Rao" and record.actor["role"] == "admin"
    assert record.reason == "at the counter, Aadhaar card seen"
    return member


def test_staff_hand_over_a_code_in_person(office: Path) -> None:
    args = ("--staff", "asha", "--reason", "at the counter, Aadhaar card seen")
    done = tfos(office, "member", "sign-in-code", "--phone", "98765 43210", *args, "--in-person")
    assert done.returncode == 0, done.stderr
    code = re.search(r"\(\+91 XXXXXX3210\): (\d{6})\n", done.stdout)
    assert code is not None, done.stdout
    assert "IST" in done.stdout and "in person" in done.stdout
    assert read_outbox(office / OUTBOX_NAME) == []
    assert sign_in(office, code.group(1)) == "Meena Pillai"


def test_staff_text_a_code(office: Path) -> None:
    args = ("--staff", "asha", "--reason", "at the counter, Aadhaar card seen")
    done = tfos(office, "member", "sign-in-code", "--phone", PHONE, *args)
    assert done.returncode == 0, done.stderr
    assert "Texted a sign-in code to Meena Pillai (+91 XXXXXX3210)" in done.stdout
    [message] = read_outbox(office / OUTBOX_NAME)
    code = message["text"].split()[0]
    assert code not in done.stdout
    assert sign_in(office, code) == "Meena Pillai"


def test_a_wrong_password_issues_nothing(office: Path) -> None:
    args = ("--phone", PHONE, "--staff", "asha", "--reason", "locked out", "--in-person")
    done = tfos(office, "member", "sign-in-code", *args, password="not-the-password")
    assert done.returncode == 2
    assert done.stderr.startswith("error: Wrong username or password") and not done.stdout
    runtime = build(config.load(environ={}, data_dir=office))
    try:
        assert not [r for r in runtime.pipeline.wal.read(1) if r.action == "otp.issue"]
    finally:
        runtime.close()
