"""Phone OTP sign-in against a real store, WAL and outbox file."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from app.bootstrap import Runtime
from app.kernel.errors import KnownError, NotFound, ValidationError
from app.services.context import FixedClock
from app.services.members import Member, MemberService
from app.services.otp import MAX_TRIES, Limit, OtpLimits, OtpService, TooManyRequests
from app.services.sms import OUTBOX_NAME, OutboxSender, read_outbox
from app.services.store import Query
from tests.server.conftest import OTHER_PHONE, PHONE, STAFF, last_code

ADDR = "203.0.113.7"


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_code_from_outbox_signs_in(runtime: Runtime, otp: OtpService, member: Member) -> None:
    sent = otp.request_code("98765 43210", ADDR)
    assert sent.phone_masked == member.phone_masked
    [message] = read_outbox(runtime.settings.data_dir / OUTBOX_NAME)
    assert message["to"] == PHONE and set(message) == {"to", "text", "created_at"}
    session = otp.verify(PHONE, last_code(runtime), ADDR)
    assert session.member.id == member.id and session.actor.role == "member"
    assert otp.resume(session.token) == session
    with pytest.raises(NotFound, match="No sign-in code is waiting"):
        otp.verify(PHONE, last_code(runtime), ADDR)


def test_sign_out_ends_the_session(otp: OtpService, member: Member, runtime: Runtime) -> None:
    otp.request_code(PHONE, ADDR)
    session = otp.verify(PHONE, last_code(runtime), ADDR)
    otp.sign_out(session.token)
    assert otp.resume(session.token) is None
    assert otp.resume("not-a-token") is None


def test_code_expires_after_five_minutes(
    otp: OtpService, member: Member, runtime: Runtime, clock: FixedClock
) -> None:
    otp.request_code(PHONE, ADDR)
    clock.advance(minutes=5)
    with pytest.raises(KnownError, match="expired"):
        otp.verify(PHONE, last_code(runtime), ADDR)


def test_session_expires(
    otp: OtpService, member: Member, runtime: Runtime, clock: FixedClock
) -> None:
    otp.request_code(PHONE, ADDR)
    session = otp.verify(PHONE, last_code(runtime), ADDR)
    clock.advance(hours=otp.session_hours)
    assert otp.resume(session.token) is None


def test_five_tries_then_the_code_is_dead(
    otp: OtpService, member: Member, runtime: Runtime
) -> None:
    otp.request_code(PHONE, ADDR)
    code = last_code(runtime)
    for left in range(MAX_TRIES - 1, 0, -1):
        with pytest.raises(ValidationError, match="not right") as info:
            otp.verify(PHONE, wrong(code), ADDR)
        assert f"{left} tr" in info.value.hint
    with pytest.raises(ValidationError, match="not right"):
        otp.verify(PHONE, wrong(code), ADDR)
    with pytest.raises(KnownError, match="entered wrongly 5 times"):
        otp.verify(PHONE, code, ADDR)


def test_new_code_replaces_old(otp: OtpService, member: Member, runtime: Runtime) -> None:
    otp.request_code(PHONE, ADDR)
    first = last_code(runtime)
    otp.request_code(PHONE, ADDR)
    second = last_code(runtime)
    if first != second:
        with pytest.raises(ValidationError):
            otp.verify(PHONE, first, ADDR)
    assert otp.verify(PHONE, second, ADDR).member.id == member.id


def test_per_phone_limit(otp: OtpService, member: Member, clock: FixedClock) -> None:
    for i in range(otp.limits.per_phone.count):
        otp.request_code(PHONE, f"10.0.0.{i}")
    with pytest.raises(TooManyRequests, match="this number") as info:
        otp.request_code(PHONE, "10.0.1.1")
    assert 0 < info.value.retry_after <= 15 * 60
    clock.advance(minutes=15, seconds=1)
    otp.request_code(PHONE, "10.0.1.1")


def test_per_address_limit(runtime: Runtime, member: Member, clock: FixedClock) -> None:
    limits = OtpLimits(per_address=Limit(2, OtpLimits().per_address.window))
    otp = OtpService(
        runtime.ctx, OutboxSender(runtime.settings.data_dir / OUTBOX_NAME), limits=limits
    )
    MemberService(runtime.ctx).enroll(STAFF, "Ravi Kumar", OTHER_PHONE)
    otp.request_code(PHONE, ADDR)
    otp.request_code(OTHER_PHONE, ADDR)
    with pytest.raises(TooManyRequests, match="this device"):
        otp.request_code(PHONE, ADDR)
    otp.request_code(PHONE, "198.51.100.1")


def test_wrong_codes_per_address_limit(runtime: Runtime, member: Member) -> None:
    limits = OtpLimits(wrong_codes_per_address=Limit(2, OtpLimits().per_address.window))
    otp = OtpService(
        runtime.ctx, OutboxSender(runtime.settings.data_dir / OUTBOX_NAME), limits=limits
    )
    otp.request_code(PHONE, ADDR)
    code = last_code(runtime)
    for _ in range(2):
        with pytest.raises(ValidationError):
            otp.verify(PHONE, wrong(code), ADDR)
    with pytest.raises(TooManyRequests, match="wrong codes"):
        otp.verify(PHONE, code, ADDR)
    assert otp.verify(PHONE, code, "198.51.100.1").member.id == member.id


def test_unknown_phone_and_bad_input_refused(
    otp: OtpService, member: Member, runtime: Runtime
) -> None:
    with pytest.raises(NotFound, match="not registered"):
        otp.request_code(OTHER_PHONE, ADDR)
    with pytest.raises(ValidationError):
        otp.request_code("12345", ADDR)
    with pytest.raises(ValidationError, match="6 digits"):
        otp.verify(PHONE, "12ab", ADDR)
    assert read_outbox(runtime.settings.data_dir / OUTBOX_NAME) == []


def test_code_and_token_never_stored_in_clear(
    otp: OtpService, member: Member, runtime: Runtime
) -> None:
    otp.request_code(PHONE, ADDR)
    code = last_code(runtime)
    with pytest.raises(ValidationError):
        otp.verify(PHONE, wrong(code), ADDR)
    session = otp.verify(PHONE, code, ADDR)
    docs = [
        json.dumps(d.data)
        for c in ("otp_codes", "otp_limits", "member_sessions")
        for d in runtime.store.query(Query(c))
    ]
    assert docs, "expected stored OTP records"
    blob = "\n".join(docs)
    assert code not in blob and session.token not in blob and ADDR not in blob
    data = runtime.settings.data_dir
    for path in [data / "store.sqlite3", *Path(data / "wal").iterdir()]:
        raw = path.read_bytes()
        assert code.encode() not in raw or _only_incidental(raw, code), path
        assert session.token.encode() not in raw, path
        assert ADDR.encode() not in raw, path


def _only_incidental(raw: bytes, code: str) -> bool:
    """A 6-digit string may appear by chance inside hex digests or numbers: allow only
    occurrences surrounded by other hex/digit characters, never a standalone code."""
    start = 0
    while (i := raw.find(code.encode(), start)) >= 0:
        before, after = raw[i - 1 : i], raw[i + 6 : i + 7]
        if not (before.isalnum() or after.isalnum()):
            return False
        start = i + 1
    return True


def test_outbox_concurrent_writers_keep_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / OUTBOX_NAME
    senders = [OutboxSender(path) for _ in range(4)]

    def burst(sender: OutboxSender, n: int) -> None:
        for i in range(50):
            sender.send(f"+91{n}", "x" * 500 + str(i))

    threads = [threading.Thread(target=burst, args=(s, n)) for n, s in enumerate(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    messages = read_outbox(path)
    assert len(messages) == 200
    assert all(len(m["text"]) in (501, 502) for m in messages)
