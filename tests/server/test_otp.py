"""Phone OTP sign-in against a real store, WAL and outbox file."""

from __future__ import annotations

import json
import logging
import socket
import threading
from pathlib import Path

import pytest

from app.bootstrap import Runtime
from app.kernel.errors import KnownError, NotFound, PermissionDenied, ValidationError
from app.services.actors import Actor
from app.services.collections import MEMBERS
from app.services.context import FixedClock
from app.services.kyc.rules import mask_phone
from app.services.members import Member, MemberService
from app.services.otp import TRIES_PER_NETWORK, Limit, OtpLimits, OtpService, TooManyRequests
from app.services.otp_limits import network_of
from app.services.pipeline import ChangeSet
from app.services.sms import (
    OUTBOX_NAME,
    BackgroundSender,
    HttpGatewaySender,
    OutboxSender,
    read_outbox,
)
from app.services.store import Query, Write
from tests.server.conftest import OTHER_PHONE, PHONE, STAFF, last_code

ADDR = "203.0.113.7"
ADMIN = Actor("adm-1", "Lakshmi Iyer", "admin")


def remove(runtime: Runtime, member: Member) -> None:
    """Mark ``member`` removed (no service does it yet)."""
    write = Write("update", MEMBERS, member.id, {"status": "removed"})
    runtime.pipeline.commit(STAFF, ChangeSet("member.remove", "member", member.id, [write]))


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_code_from_outbox_signs_in(runtime: Runtime, otp: OtpService, member: Member) -> None:
    sent = otp.request_code("98765 43210", ADDR)
    assert sent.phone_masked == member.phone_masked
    code = last_code(runtime)
    [message] = read_outbox(runtime.settings.data_dir / OUTBOX_NAME)
    assert message["to"] == PHONE and set(message) == {"to", "text", "created_at"}
    session = otp.verify(PHONE, code, ADDR)
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


def test_five_tries_then_the_code_is_dead_on_that_network(
    otp: OtpService, member: Member, runtime: Runtime
) -> None:
    otp.request_code(PHONE, ADDR)
    code = last_code(runtime)
    for left in range(TRIES_PER_NETWORK - 1, 0, -1):
        with pytest.raises(ValidationError, match="not right") as info:
            otp.verify(PHONE, wrong(code), ADDR)
        assert f"{left} tr" in info.value.hint
    with pytest.raises(ValidationError, match="not right"):
        otp.verify(PHONE, wrong(code), ADDR)
    with pytest.raises(KnownError, match="entered wrongly 5 times on this network"):
        otp.verify(PHONE, code, ADDR)
    assert otp.verify(PHONE, code, "198.51.100.1").member.id == member.id


def test_twenty_wrong_tries_in_all_end_a_code(
    otp: OtpService, member: Member, runtime: Runtime
) -> None:
    otp.request_code(PHONE, ADDR)
    code = last_code(runtime)
    for i in range(20):
        with pytest.raises(ValidationError, match="not right"):
            otp.verify(PHONE, wrong(code), f"10.9.{i // TRIES_PER_NETWORK}.1")
    with pytest.raises(KnownError, match="entered wrongly"):
        otp.verify(PHONE, code, "198.51.100.1")


def test_a_new_code_leaves_the_earlier_one_working_until_a_sign_in(
    otp: OtpService, member: Member, runtime: Runtime
) -> None:
    otp.request_code(PHONE, ADDR)
    first = last_code(runtime)
    otp.request_code(PHONE, "198.51.100.1")
    second = last_code(runtime, count=2)
    assert otp.verify(PHONE, first, ADDR).member.id == member.id
    with pytest.raises(NotFound, match="No sign-in code is waiting"):
        otp.verify(PHONE, second, ADDR)


def test_per_phone_limit(otp: OtpService, member: Member, clock: FixedClock) -> None:
    for i in range(otp.limits.per_phone.count):
        otp.request_code(PHONE, f"10.0.0.{i}")
    with pytest.raises(TooManyRequests, match="for this number: at most 5 in 5 minutes") as info:
        otp.request_code(PHONE, "10.0.1.1")
    assert 0 < info.value.retry_after <= 5 * 60
    clock.advance(seconds=info.value.retry_after)
    otp.request_code(PHONE, "10.0.1.1")


def test_per_network_limit(runtime: Runtime, member: Member, clock: FixedClock) -> None:
    limits = OtpLimits(per_network=Limit(2, OtpLimits().per_network.window))
    otp = OtpService(
        runtime.ctx,
        OutboxSender(runtime.settings.data_dir / OUTBOX_NAME),
        members=runtime.services.members,
        limits=limits,
    )
    MemberService(runtime.ctx).enroll(STAFF, "Ravi Kumar", OTHER_PHONE)
    otp.request_code(PHONE, ADDR)
    otp.request_code(OTHER_PHONE, ADDR)
    with pytest.raises(TooManyRequests, match="from this network"):
        otp.request_code(PHONE, ADDR)
    otp.request_code(PHONE, "198.51.100.1")
    otp.close()


def test_wrong_codes_per_network_limit(runtime: Runtime, member: Member) -> None:
    limits = OtpLimits(wrong_codes_per_network=Limit(2, OtpLimits().per_network.window))
    otp = OtpService(
        runtime.ctx,
        OutboxSender(runtime.settings.data_dir / OUTBOX_NAME),
        members=runtime.services.members,
        limits=limits,
    )
    otp.request_code(PHONE, ADDR)
    code = last_code(runtime)
    for _ in range(2):
        with pytest.raises(ValidationError):
            otp.verify(PHONE, wrong(code), ADDR)
    with pytest.raises(TooManyRequests, match="wrong codes from this network"):
        otp.verify(PHONE, code, ADDR)
    assert otp.verify(PHONE, code, "198.51.100.1").member.id == member.id
    otp.close()


def test_unknown_and_removed_numbers_are_answered_alike_and_get_no_text(
    otp: OtpService, member: Member, runtime: Runtime
) -> None:
    removed = MemberService(runtime.ctx).enroll(STAFF, "Ravi Kumar", "+919800000077")
    remove(runtime, removed)
    for number in (OTHER_PHONE, "+919800000077"):
        sent = otp.request_code(number, ADDR)
        assert sent.phone_masked == mask_phone(number)
        with pytest.raises(ValidationError, match="not right") as info:
            otp.verify(number, "123456", ADDR)
        assert info.value.hint == "4 tries left."
    with pytest.raises(ValidationError):
        otp.request_code("12345", ADDR)
    with pytest.raises(ValidationError, match="6 digits"):
        otp.verify(PHONE, "12ab", ADDR)
    otp.close()
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


# -- codes staff issue --------------------------------------------------------------------


def test_staff_issue_a_code_no_stranger_can_block(
    otp: OtpService, member: Member, runtime: Runtime
) -> None:
    for i in range(otp.limits.per_phone.count):
        otp.request_code(PHONE, f"10.0.0.{i}")
    with pytest.raises(TooManyRequests):
        otp.request_code(PHONE, ADDR)
    issued = otp.issue_code(ADMIN, PHONE, "at the counter, identity checked", send=False)
    assert issued.member.id == member.id and not issued.sent
    for i in range(30):
        with pytest.raises(ValidationError, match="not right"):
            otp.verify(PHONE, wrong(issued.code), f"10.8.{i // TRIES_PER_NETWORK}.1")
    assert otp.verify(PHONE, issued.code, ADDR).member.id == member.id
    [record] = [r for r in runtime.pipeline.wal.read(1) if r.action == "otp.issue"]
    assert record.actor == ADMIN.to_json() and record.reason == "at the counter, identity checked"
    assert record.change["event"]["how"] == "in person"
    assert issued.code not in json.dumps(record.to_dict())


def test_staff_issued_code_by_sms_is_sent_at_once(
    otp: OtpService, member: Member, runtime: Runtime
) -> None:
    issued = otp.issue_code(ADMIN, "98765 43210", "member phoned, locked out", send=True)
    [message] = read_outbox(runtime.settings.data_dir / OUTBOX_NAME)
    assert issued.sent and message["text"].startswith(issued.code)


def test_only_staff_issue_codes_for_active_members_with_a_reason(
    otp: OtpService, member: Member, runtime: Runtime
) -> None:
    as_member = Actor(member.id, member.name, "member")
    with pytest.raises(PermissionDenied):
        otp.issue_code(as_member, PHONE, "let me in", send=False)
    with pytest.raises(ValidationError, match="reason"):
        otp.issue_code(ADMIN, PHONE, " \x00 ", send=False)
    with pytest.raises(NotFound, match="No active member"):
        otp.issue_code(ADMIN, OTHER_PHONE, "at the counter", send=False)
    remove(runtime, member)
    with pytest.raises(NotFound, match="No active member"):
        otp.issue_code(ADMIN, PHONE, "at the counter", send=False)


# -- networks and background texts ---------------------------------------------------------


def test_a_network_is_an_ipv4_address_or_an_ipv6_64() -> None:
    assert network_of("203.0.113.7") == "203.0.113.7"
    assert network_of("::ffff:203.0.113.7") == "203.0.113.7"
    assert network_of("2001:db8:1:2:aaaa::1") == network_of("2001:db8:1:2:bbbb::9")
    assert network_of("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert network_of("2001:db8:1:3::1") != network_of("2001:db8:1:2::1")
    assert network_of(" unknown ") == "unknown" and network_of("x" * 500) == "x" * 100


def test_a_text_that_fails_in_the_background_is_logged_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sender = BackgroundSender(HttpGatewaySender(f"http://127.0.0.1:{port}/send", timeout=2))
    with caplog.at_level(logging.WARNING, logger="app.services.sms"):
        sender.send(PHONE, "123456 is your code")
        sender.close()
    [line] = caplog.messages
    assert "+91 XXXXXX3210" in line and "could not be reached" in line
    assert PHONE not in line and "123456" not in line
