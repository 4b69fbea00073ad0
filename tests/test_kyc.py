"""KYC: validation messages, sealed numbers, documents, bulk decisions, audited reveal."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from app.kernel.errors import Conflict, NotFound, PermissionDenied, ValidationError
from app.services.actors import Actor
from app.services.context import FixedClock, ServiceContext, close_context, make_context
from app.services.kyc import KycService
from app.services.kyc.documents import MAX_DOCUMENT_BYTES, MAX_DOCUMENTS
from app.services.kyc.rules import KycErrors
from app.services.members import MemberService
from app.services.store import Query
from tests.builders import (
    AADHAAR,
    ACCOUNT,
    ADMIN,
    ADMIN2,
    EMPLOYEE,
    EMPLOYEE2,
    JPEG,
    PAN,
    PDF,
    PNG,
    aadhaar,
    pan,
)


@pytest.fixture
def kyc(ctx: ServiceContext) -> KycService:
    return KycService(ctx)


def enrol(ctx: ServiceContext, name: str = "Lakshmi Devi", phone: str = "9876543210") -> str:
    return MemberService(ctx).enroll(ADMIN, name, phone).id


def form(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": "Lakshmi Devi",
        "phone": "9876543210",
        "pan": PAN,
        "aadhaar": AADHAAR,
        "account_number": ACCOUNT,
        "ifsc": "SBIN0001234",
        "documents": [("pan.png", PNG, "image/png"), ("aadhaar.pdf", PDF, "application/pdf")],
    }
    fields.update(changes)
    return fields


def submit(kyc: KycService, member_id: str, actor: Actor = EMPLOYEE, **changes: Any) -> Any:
    return kyc.submit(actor, member_id, **form(**changes))


def wal_records(ctx: ServiceContext) -> list[Any]:
    return list(ctx.pipeline.wal.read())


# -- submission -------------------------------------------------------------------------


def test_submit_stores_masked_sealed_and_documents(ctx: ServiceContext, kyc: KycService) -> None:
    mid = enrol(ctx)
    record = submit(kyc, mid, pan="abcpd 1234e", aadhaar="5211 8513 3376")
    assert (record.status, record.submitted_by) == ("pending", EMPLOYEE.id)
    assert record.pan_masked == "XXXXXX234E"
    assert record.aadhaar_masked == "XXXX-XXXX-3376"
    assert record.account_masked == "XXXXXXXX6789"
    assert record.phone_masked == "+91 XXXXXX3210"
    assert record.ifsc == "SBIN0001234"
    assert MemberService(ctx).get(mid).kyc_status == "pending"
    png_sha = hashlib.sha256(PNG).hexdigest()
    assert [(d.name, d.sha256, d.size, d.content_type) for d in record.documents] == [
        ("pan.png", png_sha, len(PNG), "image/png"),
        ("aadhaar.pdf", hashlib.sha256(PDF).hexdigest(), len(PDF), "application/pdf"),
    ]
    stored = ctx.documents_dir / mid / f"{png_sha}.png"
    assert stored.read_bytes() == PNG
    assert not [p for p in (ctx.documents_dir / mid).iterdir() if p.name.endswith(".tmp")]
    last = wal_records(ctx)[-1]
    assert last.action == "kyc.submit"
    assert last.change["event"]["documents"][0] == {
        "name": "pan.png",
        "sha256": png_sha,
        "size": len(PNG),
    }


def test_a_member_submits_only_their_own(ctx: ServiceContext, kyc: KycService) -> None:
    mid = enrol(ctx)
    other = enrol(ctx, "Arun Kumar", "9123456789")
    assert submit(kyc, mid, actor=Actor(mid, "Lakshmi Devi", "member")).submitted_by == mid
    with pytest.raises(PermissionDenied, match="only their own KYC"):
        submit(kyc, other, actor=Actor(mid, "Lakshmi Devi", "member"), phone="9123456789")
    with pytest.raises(NotFound):
        submit(kyc, "mem-nobody")


BAD_FIELDS = [
    ("name", "A", "Name must have at least 2 characters."),
    ("name", "L4kshmi", "Name may contain only letters, spaces, dots, apostrophes and hyphens."),
    ("name", "", "Name is required."),
    ("phone", "12345", "Mobile number must have 10 digits; got 5."),
    ("phone", "5876543210", "Mobile number must start with 6, 7, 8 or 9."),
    ("phone", "+44 7911 123456", "Mobile number must be Indian (+91)."),
    ("phone", "9000000001", "is not the member's registered number +91 XXXXXX3210"),
    ("pan", "ABCPD123", "PAN must be 10 characters; got 8."),
    ("pan", "ABCPD12345", "PAN character 10 must be a letter."),
    ("pan", "ABCCD1234E", "members must hold an individual PAN (P)"),
    ("pan", "ABCXD1234E", "PAN 4th letter X is not a PAN holder type."),
    ("pan", "  ", "PAN is required."),
    ("aadhaar", "52118513337", "Aadhaar must be 12 digits; got 11 characters."),
    ("aadhaar", "5211851333AB", "including non-digits"),
    ("aadhaar", "121185133376", "Aadhaar cannot start with 0 or 1."),
    ("aadhaar", "521185133377", "Aadhaar XXXX-XXXX-3377 fails its check digit."),
    ("ifsc", "SBIN1001234", "IFSC 'SBIN1001234' is not valid"),
    ("account_number", "12345", "Account number must be 9 to 18 digits; got 5."),
    ("account_number", "12345678X", "Account number may contain only digits."),
    ("account_number", None, "Account number is required."),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_FIELDS)
def test_each_field_failure_has_its_message(
    ctx: ServiceContext, kyc: KycService, field: str, value: Any, message: str
) -> None:
    mid = enrol(ctx)
    with pytest.raises(KycErrors) as err:
        submit(kyc, mid, **{field: value})
    assert list(err.value.field_errors) == [field]
    assert message in err.value.field_errors[field]
    assert message in str(err.value)
    assert kyc.find(mid) is None
    assert not (ctx.documents_dir / mid).exists()


BIG = b"%PDF-" + bytes(MAX_DOCUMENT_BYTES)
BAD_DOCUMENTS = [
    ([], "attach at least one document"),
    ([("scan.pdf", PDF, "application/pdf")] * (MAX_DOCUMENTS + 1), "at most 10 documents; got 11"),
    ([("empty.png", b"", "image/png")], "empty.png is empty"),
    ([("huge.pdf", BIG, "application/pdf")], "huge.pdf is 10.0 MB, above the 10 MB limit"),
    ([("anim.gif", b"GIF89a" + bytes(20), "image/gif")], "anim.gif is not a PNG, JPEG or PDF"),
    ([("run.exe", b"MZ\x90\x00" + bytes(20), "image/png")], "run.exe is not a PNG, JPEG or PDF"),
    (
        [("photo.png", JPEG, "image/png")],
        "photo.png is declared as image/png but its content is a JPEG",
    ),
    ([("", PNG, "image/png")], "a document has no file name"),
    ([("pan.png", PNG)], "each document must be (file name, content, content type)"),
]


@pytest.mark.parametrize(("documents", "message"), BAD_DOCUMENTS)
def test_each_document_failure_has_its_message(
    ctx: ServiceContext, kyc: KycService, documents: list[Any], message: str
) -> None:
    mid = enrol(ctx)
    with pytest.raises(KycErrors) as err:
        submit(kyc, mid, documents=documents)
    assert list(err.value.field_errors) == ["documents"]
    assert message in err.value.field_errors["documents"]
    assert not (ctx.documents_dir / mid).exists()


def test_documents_are_recognised_by_content(ctx: ServiceContext, kyc: KycService) -> None:
    mid = enrol(ctx)
    docs = [
        ("C:\\scans\\photo.jpeg", JPEG, "image/jpg"),
        ("statement", PDF, "application/octet-stream"),
        ("../../etc/passwd.png", PNG, ""),
    ]
    record = submit(kyc, mid, documents=docs)
    assert [(d.name, d.content_type) for d in record.documents] == [
        ("photo.jpeg", "image/jpeg"),
        ("statement", "application/pdf"),
        ("passwd.png", "image/png"),
    ]
    assert all(d.path.startswith(f"{mid}/") for d in record.documents)


def test_all_errors_are_reported_at_once(ctx: ServiceContext, kyc: KycService) -> None:
    mid = enrol(ctx)
    with pytest.raises(KycErrors) as err:
        submit(kyc, mid, pan="ABCCD1234E", aadhaar="521185133377", ifsc="x", documents=[])
    assert set(err.value.field_errors) == {"pan", "aadhaar", "ifsc", "documents"}
    assert "KYC has 4 problems" in err.value.message
    assert AADHAAR[:8] not in str(err.value)


@pytest.mark.parametrize(
    ("number", "own"),
    [("Aadhaar", {"pan": pan(1)}), ("PAN", {"aadhaar": aadhaar(1)})],
    ids=["aadhaar", "pan"],
)
def test_a_number_already_on_another_member_is_a_conflict(
    ctx: ServiceContext, kyc: KycService, number: str, own: dict[str, str]
) -> None:
    first = enrol(ctx)
    second = enrol(ctx, "Arun Kumar", "9123456789")
    submit(kyc, first)
    with pytest.raises(Conflict) as err:
        submit(
            kyc,
            second,
            name="Arun Kumar",
            phone="9123456789",
            documents=[("a.jpg", JPEG, "")],
            **own,
        )
    assert f"This {number} is already registered to {first}; one {number}, one member" in str(
        err.value
    )
    assert not (ctx.documents_dir / second).exists() or not any(
        (ctx.documents_dir / second).iterdir()
    )
    with pytest.raises(Conflict) as err:
        submit(kyc, second, Actor(second, "Arun Kumar", "member"), phone="9123456789", **own)
    assert first not in err.value.message
    assert "another member" in err.value.message
    assert kyc.find(second) is None
    assert PAN not in str(err.value) and AADHAAR not in str(err.value)


def test_resubmission_replaces_a_rejected_record_and_frees_the_old_numbers(
    ctx: ServiceContext, kyc: KycService
) -> None:
    first = enrol(ctx)
    second = enrol(ctx, "Arun Kumar", "9123456789")
    submit(kyc, first)
    kyc.reject(ADMIN, [first], "Aadhaar photo is blurred")
    with pytest.raises(Conflict, match="This PAN is already registered"):
        submit(kyc, second, phone="9123456789", aadhaar=aadhaar(3))
    again = submit(kyc, first, aadhaar=aadhaar(7), pan=pan(7))
    assert (again.status, again.reason, again.aadhaar_masked[-4:], again.pan_masked[-4:]) == (
        "pending",
        None,
        aadhaar(7)[-4:],
        pan(7)[-4:],
    )
    assert submit(kyc, second, phone="9123456789").status == "pending"
    assert {d.data["member_id"] for d in ctx.store.query(Query("pan_tokens"))} == {first, second}
    kyc.approve(ADMIN, [first])
    with pytest.raises(Conflict, match="already approved"):
        submit(kyc, first, aadhaar=aadhaar(7), pan=pan(7))


def test_no_clear_number_anywhere_on_disk(tmp_path: Path) -> None:
    ctx = make_context(tmp_path / "data", clock=FixedClock(datetime(2026, 11, 24, tzinfo=UTC)))
    kyc = KycService(ctx)
    mid = enrol(ctx)
    submit(kyc, mid, aadhaar="5211-8513-3376")
    kyc.approve(ADMIN, [mid])
    assert kyc.reveal(ADMIN, mid, "pan", "Bank asked to confirm") == PAN
    assert kyc.reveal(ADMIN, mid, "account", "Payout bounced") == ACCOUNT
    shown = repr(kyc.get(mid)) + repr(kyc.queue()) + repr(kyc.verify_documents(mid))
    secrets = [AADHAAR, "5211 8513 3376", "5211-8513-3376", "51185133", PAN, ACCOUNT]
    for secret in secrets:
        assert secret not in shown
    data_dir = ctx.data_dir
    wal_file = data_dir / "wal" / "wal.log"
    files = [p for p in data_dir.rglob("*") if p.is_file() and "documents" not in p.parts]
    assert wal_file in files
    assert any(p.name.startswith("store.sqlite3") for p in files)

    def scan() -> None:
        for path in [p for p in data_dir.rglob("*") if p.is_file() and "documents" not in p.parts]:
            content = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in content, f"{secret} found in {path}"
                assert secret.encode("utf-16-le") not in content, f"{secret} found in {path}"

    scan()
    assert b"XXXXXX234E" in wal_file.read_bytes()
    close_context(ctx)
    scan()


# -- decisions --------------------------------------------------------------------------


def three_pending(ctx: ServiceContext, kyc: KycService) -> list[str]:
    people = [
        ("Lakshmi Devi", "9876543210"),
        ("Arun Kumar", "9123456789"),
        ("Devika Rao", "8123456789"),
    ]
    ids = []
    clock = ctx.clock
    assert isinstance(clock, FixedClock)
    for i, (name, phone) in enumerate(people):
        mid = enrol(ctx, name, phone)
        submit(kyc, mid, name=name, phone=phone, aadhaar=aadhaar(i), pan=pan(i))
        ids.append(mid)
        clock.advance(minutes=1)
    return ids


def test_bulk_approve_is_one_wal_record(ctx: ServiceContext, kyc: KycService) -> None:
    ids = three_pending(ctx, kyc)
    before = len(wal_records(ctx))
    records = kyc.approve(ADMIN, ids)
    assert [r.status for r in records] == ["approved"] * 3
    assert all(r.decided_by == ADMIN.id and r.decided_at for r in records)
    assert [m.kyc_status for m in MemberService(ctx).get_many(ids).values()] == ["approved"] * 3
    new = wal_records(ctx)[before:]
    assert [r.action for r in new] == ["kyc.approve"]
    assert new[0].change["event"] == {"type": "kyc.approve", "member_ids": ids, "count": 3}


def test_bulk_decision_refuses_non_pending_and_changes_nothing(
    ctx: ServiceContext, kyc: KycService
) -> None:
    a, b, c = three_pending(ctx, kyc)
    kyc.approve(ADMIN, [b])
    kyc.reject(ADMIN, [c], "PAN does not match the name")
    before = len(wal_records(ctx))
    with pytest.raises(Conflict) as err:
        kyc.approve(ADMIN2, [a, b, c, "mem-ghost"])
    message = err.value.message
    assert f"not pending: {b} (approved), {c} (rejected)" in message
    assert "no KYC submitted for mem-ghost" in message
    assert "nothing was changed" in message
    assert kyc.get(a).status == "pending"
    assert len(wal_records(ctx)) == before
    with pytest.raises(Conflict, match=rf"{b} \(approved\)"):
        kyc.reject(ADMIN, [a, b], "Blurred photo")
    assert kyc.get(a).status == "pending"


def test_reject_requires_a_reason(ctx: ServiceContext, kyc: KycService) -> None:
    ids = three_pending(ctx, kyc)
    for reason in ("", "   "):
        with pytest.raises(ValidationError, match="a reason is required"):
            kyc.reject(ADMIN, ids, reason)
    records = kyc.reject(ADMIN, ids[:2], "  Documents unreadable ")
    assert [(r.status, r.reason) for r in records] == [("rejected", "Documents unreadable")] * 2
    assert MemberService(ctx).get(ids[0]).kyc_status == "rejected"
    assert wal_records(ctx)[-1].reason == "Documents unreadable"
    with pytest.raises(ValidationError, match="at least one"):
        kyc.approve(ADMIN, [])


def test_deciding_needs_staff_other_than_the_maker(ctx: ServiceContext, kyc: KycService) -> None:
    ids = three_pending(ctx, kyc)
    with pytest.raises(PermissionDenied):
        kyc.approve(Actor(ids[0], "Lakshmi Devi", "member"), [ids[0]])
    with pytest.raises(PermissionDenied, match="maker-checker"):
        kyc.approve(EMPLOYEE, ids)
    assert [r.status for r in kyc.approve(EMPLOYEE2, ids)] == ["approved"] * 3


# -- documents ------------------------------------------------------------------------


def test_verification_detects_modified_and_missing_files(
    ctx: ServiceContext, kyc: KycService
) -> None:
    mid = enrol(ctx)
    record = submit(
        kyc, mid, documents=[("pan.png", PNG, ""), ("a.pdf", PDF, ""), ("c.jpg", JPEG, "")]
    )
    assert [c.status for c in kyc.verify_documents(mid)] == ["match"] * 3
    pan, pdf, _ = (ctx.documents_dir / d.path for d in record.documents)
    pan.write_bytes(PNG[:-1] + b"\x01")
    pdf.unlink()
    checks = kyc.verify_documents(mid)
    assert [c.status for c in checks] == ["mismatch", "missing", "match"]
    assert checks[0].actual_sha256 == hashlib.sha256(PNG[:-1] + b"\x01").hexdigest()
    assert checks[0].expected_sha256 == record.documents[0].sha256
    assert checks[1].actual_sha256 is None
    assert kyc.document_path(mid, record.documents[2].sha256).read_bytes() == JPEG
    with pytest.raises(NotFound):
        kyc.document_path(mid, "0" * 64)


# -- reveal -------------------------------------------------------------------------


def test_reveal_is_audited_and_for_admins_only(ctx: ServiceContext, kyc: KycService) -> None:
    mid = enrol(ctx)
    submit(kyc, mid)
    before = len(wal_records(ctx))
    for actor in (EMPLOYEE, Actor(mid, "Lakshmi Devi", "member")):
        with pytest.raises(PermissionDenied):
            kyc.reveal(actor, mid, "pan", "curious")
    with pytest.raises(ValidationError, match="reason is required"):
        kyc.reveal(ADMIN, mid, "pan", " ")
    with pytest.raises(ValidationError, match="not 'aadhaar'"):
        kyc.reveal(ADMIN, mid, "aadhaar", "need it")
    assert len(wal_records(ctx)) == before
    assert kyc.reveal(ADMIN, mid, "account", "NEFT payout returned") == ACCOUNT
    record = wal_records(ctx)[-1]
    assert record.action == "kyc.reveal"
    assert record.actor == ADMIN.to_json()
    assert record.entity == {"type": "kyc", "id": mid}
    assert record.reason == "NEFT payout returned"
    assert record.change["event"] == {"type": "kyc.reveal", "member_id": mid, "field": "account"}
    assert ACCOUNT not in json.dumps(record.change)
    with pytest.raises(NotFound):
        kyc.reveal(ADMIN, "mem-nobody", "pan", "check")


# -- queue --------------------------------------------------------------------------


def test_queue_rows_are_masked_filtered_and_searchable(
    ctx: ServiceContext, kyc: KycService
) -> None:
    a, b, c = three_pending(ctx, kyc)
    kyc.approve(ADMIN, [b])
    d = enrol(ctx, "Zoya Khan", "7012345678")
    rows = kyc.queue()
    assert [r.member_id for r in rows] == [a, b, c, d]
    first = rows[0]
    assert (first.name, first.phone_masked, first.pan_masked) == (
        "Lakshmi Devi",
        "+91 XXXXXX3210",
        "XXXXXX" + pan(0)[-4:],
    )
    assert (first.status, first.document_count) == ("pending", 2)
    assert first.submitted_at.startswith("2026-11-24T05:00")
    assert [r.member_id for r in kyc.queue("pending")] == [a, c]
    assert [r.member_id for r in kyc.queue("approved")] == [b]
    assert [(r.member_id, r.status) for r in kyc.queue("none")] == [(d, "none")]
    assert [r.member_id for r in kyc.queue(search="arun")] == [b]
    assert [r.member_id for r in kyc.queue("pending", search="3210")] == [a]
    assert [r.member_id for r in kyc.queue(search=pan(1)[-4:].lower())] == [b]
    assert kyc.counts() == {"none": 1, "pending": 2, "approved": 1, "rejected": 0}
    with pytest.raises(ValidationError):
        kyc.queue("maybe")


def test_an_address_given_is_checked_and_kept(ctx: ServiceContext, kyc: KycService) -> None:
    mid = enrol(ctx)
    with pytest.raises(KycErrors) as err:
        submit(kyc, mid, address="12 Anna Salai, Chennai")
    assert err.value.field_errors == {
        "address": "Address needs its 6-digit PIN code (e.g. 600041)."
    }
    record = submit(kyc, mid, address="  12 Anna Salai \r\n\r\n\r\n Chennai ६००००२ ")
    assert record.address == "12 Anna Salai\n\nChennai ६००००२"
    assert submit(kyc, enrol(ctx, "Arun Kumar", "9123456789"), phone="9123456789",
                  pan="ABCPK1234E", aadhaar="234123412346").address is None  # fmt: skip


def test_staff_may_leave_the_mobile_number_to_the_registered_one(
    ctx: ServiceContext, kyc: KycService
) -> None:
    mid = enrol(ctx)
    assert submit(kyc, mid, phone=None).phone_masked == "+91 XXXXXX3210"
