"""The checkpoint and proofs over HTTP: what each role gets, proofs that verify against
the signed checkpoint, refusals with a clear 400; and the member statement download,
recorded in the WAL."""

from __future__ import annotations

import asyncio
import re
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from app import config
from app.bootstrap import Runtime, build
from app.kernel.checkpoints import SignedCheckpoint
from app.kernel.log_tree import tree_path
from app.kernel.signed_note import Verifier
from app.kernel.tlog import check_consistency, check_inclusion
from app.services.actors import Actor
from app.services.staff import StaffService
from server.app import create_app
from tests.browser.world import World, own_history
from tests.server.wsutil import add_note, staff_token, token_for
from tests.test_tlog import rewrite

Client = TestClient[Any, Any]
Headers = dict[str, str]


@pytest.fixture
def lsns(runtime: Runtime, world: World) -> dict[str, int]:
    """Asha's own records (a bid, a receipt, her agreement signature), by action."""
    return own_history(runtime, world)


@pytest.fixture
def bala(app: web.Application, runtime: Runtime, world: World) -> Headers:
    return token_for(app, runtime, world.phones[1])


@pytest.fixture
def employee(runtime: Runtime, staff: Headers) -> Headers:
    admin = Actor(runtime.services.staff.resume(staff["Authorization"][7:]).actor.id, "A", "admin")
    StaffService(runtime.ctx).create_staff(admin, "Esha Employee", "esha", "Desk-work-2026!")
    token = StaffService(runtime.ctx).sign_in("esha", "Desk-work-2026!").token
    return {"Authorization": f"Bearer {token}"}


async def get(client: Client, path: str, headers: Headers | None = None) -> tuple[int, Any]:
    resp = await client.get(path, headers=headers or {})
    return resp.status, await resp.json()


async def signed(client: Client, headers: Headers) -> SignedCheckpoint:
    status, body = await get(client, "/api/checkpoint", headers)
    assert status == 200, body
    return SignedCheckpoint.open(body["checkpoint"], Verifier.parse(body["verifier_key"]))


def log_line(runtime: Runtime, lsn: int) -> bytes:
    return runtime.pipeline.wal.path.read_bytes().split(b"\n")[lsn - 1]


async def test_nobody_signed_in_gets_401(client: Client) -> None:
    for path in (
        "/api/checkpoint",
        "/api/proof/inclusion?lsn=1",
        "/api/proof/consistency?from=1",
        "/api/proof/records",
        "/api/statement",
    ):
        status, body = await get(client, path)
        assert status == 401 and body["error"]["code"] == "unauthenticated", path


async def test_the_checkpoint_is_the_logs_signed_note(
    client: Client, runtime: Runtime, asha: Headers
) -> None:
    status, body = await get(client, "/api/checkpoint", asha)
    assert status == 200
    key = runtime.services.proofs.verifier_key()
    assert body["verifier_key"] == key
    checkpoint = SignedCheckpoint.open(body["checkpoint"], Verifier.parse(key))
    assert (checkpoint.size, checkpoint.root.hex()) == (body["size"], body["root"])
    assert checkpoint.size == runtime.pipeline.wal.head()[0]
    assert body["origin"] == key.split("+")[0]


async def test_a_member_proves_their_own_records_with_their_lines(
    client: Client, runtime: Runtime, asha: Headers, lsns: dict[str, int]
) -> None:
    status, body = await get(client, "/api/proof/records", asha)
    assert status == 200
    listed = {r["lsn"]: r for r in body["records"]}
    assert sorted(listed) == sorted(lsns.values())
    assert listed[lsns["receipt.record"]]["what"] == "Receipt UTR-ASHA-P1: ₹50,000.00 for period 1"
    at = await signed(client, asha)
    for lsn in lsns.values():
        status, doc = await get(client, f"/api/proof/inclusion?lsn={lsn}&size={at.size}", asha)
        assert status == 200, doc
        assert doc["line"].encode() == log_line(runtime, lsn)
        check_inclusion(doc, at.checkpoint, doc["line"].encode())


async def test_a_member_gets_no_proof_of_records_not_their_own(
    client: Client, asha: Headers, bala: Headers, lsns: dict[str, int]
) -> None:
    for lsn in (1, lsns["auction.bid"] + 1):  # a staff record, and the auction's close
        status, body = await get(client, f"/api/proof/inclusion?lsn={lsn}", asha)
        assert status == 403 and body["error"]["code"] == "forbidden"
        assert f"Record {lsn} is not one of your own records" in body["error"]["message"]
    status, body = await get(client, f"/api/proof/inclusion?lsn={lsns['auction.bid']}", bala)
    assert status == 403, body  # Asha's bid is not Bala's
    status, body = await get(client, "/api/proof/records?member_id=someone-else", asha)
    assert status == 403 and "only your own" in body["error"]["message"]


async def test_staff_prove_any_record_and_only_audit_readers_see_its_line(
    client: Client,
    runtime: Runtime,
    world: World,
    staff: Headers,
    employee: Headers,
    lsns: dict[str, int],
) -> None:
    at = await signed(client, staff)
    status, doc = await get(client, f"/api/proof/inclusion?lsn=1&size={at.size}", staff)
    assert status == 200 and doc["line"].encode() == log_line(runtime, 1)  # an admin
    check_inclusion(doc, at.checkpoint, doc["line"].encode())
    status, doc = await get(client, f"/api/proof/inclusion?lsn=1&size={at.size}", employee)
    assert status == 200 and "line" not in doc  # an employee does not read the audit trail
    check_inclusion(doc, at.checkpoint)
    asha_id = world.members[0]
    status, body = await get(client, f"/api/proof/records?member_id={asha_id}", employee)
    assert status == 200 and [r["lsn"] for r in body["records"]] == sorted(lsns.values())
    status, body = await get(client, "/api/proof/records", employee)
    assert status == 400 and "member_id" in body["error"]["message"]


async def test_consistency_proofs_show_the_log_grew_without_changing(
    client: Client, runtime: Runtime, asha: Headers
) -> None:
    old = await signed(client, asha)
    for n in range(5):
        await asyncio.to_thread(add_note, runtime, f"n{n}", "later")
    new = await signed(client, asha)
    assert new.size == old.size + 5
    path = f"/api/proof/consistency?from={old.size}&to={new.size}"
    status, doc = await get(client, path, asha)
    assert status == 200 and (doc["from"], doc["to"]) == (old.size, new.size)
    check_consistency(doc, old.checkpoint, new.checkpoint)
    status, latest = await get(client, f"/api/proof/consistency?from={old.size}", asha)
    assert latest["to"] == new.size


BAD = [
    ("/api/proof/inclusion", "Give lsn, a whole number."),
    ("/api/proof/inclusion?lsn=", "Give lsn, a whole number."),
    ("/api/proof/inclusion?lsn=abc", "lsn must be a whole number, not 'abc'."),
    ("/api/proof/inclusion?lsn=-3", "lsn must be a whole number, not '-3'."),
    ("/api/proof/inclusion?lsn=1.5", "lsn must be a whole number, not '1.5'."),
    ("/api/proof/inclusion?lsn=0", "lsn must be 1 or more, not 0."),
    ("/api/proof/inclusion?lsn=99999999999999999999", "lsn must be a whole number"),
    ("/api/proof/inclusion?lsn=1&size=x", "size must be a whole number, not 'x'."),
    ("/api/proof/inclusion?lsn=9999", "Record 9999 is not in a tree of"),
    ("/api/proof/inclusion?lsn=5&size=3", "Record 5 is not in a tree of 3 records"),
    ("/api/proof/inclusion?lsn=1&size=9999", "there is no tree of size 9999"),
    ("/api/proof/consistency", "Give from, a whole number."),
    ("/api/proof/consistency?from=2&to=y", "to must be a whole number, not 'y'."),
    ("/api/proof/consistency?from=5&to=3", "from a smaller size to a larger one; got 5 to 3"),
    ("/api/proof/consistency?from=1&to=9999", "there is no tree of size 9999"),
]


@pytest.mark.parametrize(("path", "message"), BAD, ids=[p for p, _ in BAD])
async def test_bad_parameters_get_a_400_saying_what_is_wrong(
    client: Client, staff: Headers, path: str, message: str
) -> None:
    status, body = await get(client, path, staff)
    assert status == 400 and body["error"]["code"] == "invalid", body
    assert message in body["error"]["message"]


async def test_a_log_that_forked_says_so_with_409(aiohttp_client: Any, tmp_path: Path) -> None:
    settings = config.load(environ={}, data_dir=tmp_path / "data")
    runtime = build(settings)
    for n in range(6):
        add_note(runtime, f"n{n}", "before")
    runtime.services.proofs.checkpoint_text()
    runtime.close()
    rewrite(settings.wal_path, 3, "adjusted")
    tree_path(settings.wal_path).unlink()  # checkpoints/latest stays: the log refuses to sign
    runtime = build(settings)
    try:
        client = await aiohttp_client(create_app(runtime.services, settings))
        token = await asyncio.to_thread(staff_token, runtime)
        status, body = await get(client, "/api/checkpoint", {"Authorization": f"Bearer {token}"})
        assert status == 409 and body["error"]["code"] == "log_forked"
        assert "no longer extends the checkpoint it signed at size 6" in body["error"]["message"]
    finally:
        runtime.close()


# -- the member statement --------------------------------------------------------------------


async def test_a_member_downloads_their_statement_and_the_download_is_recorded(
    client: Client, runtime: Runtime, world: World, asha: Headers, lsns: dict[str, int]
) -> None:
    resp = await client.get("/api/statement", headers=asha)
    assert resp.status == 200 and resp.content_type == "application/pdf"
    pdf = await resp.read()
    assert pdf.startswith(b"%PDF-")
    asha_id = world.members[0]
    assert re.fullmatch(
        rf'attachment; filename="statement-{asha_id}-\d{{4}}-\d\d-\d\d\.pdf"',
        resp.headers["Content-Disposition"],
    )
    record = list(runtime.pipeline.read())[-1]
    assert record.action == "report.export" and record.actor["id"] == asha_id
    event = record.change["event"]
    assert event["kind"] == "member-statement" and event["params"] == {"member": asha_id}
    assert event["sha256"] == sha256(pdf).hexdigest() and event["bytes"] == len(pdf)
    assert event["lsn"] == record.lsn - 1  # the head the statement reflects
    assert event["head_hash"] == record.prev


async def test_statements_are_a_members_own_and_any_members_for_staff(
    client: Client, runtime: Runtime, world: World, asha: Headers, staff: Headers
) -> None:
    bala_id = world.members[1]
    status, body = await get(client, f"/api/statement?member_id={bala_id}", asha)
    assert status == 403 and "only your own" in body["error"]["message"]
    status, body = await get(client, "/api/statement", staff)
    assert status == 400 and "member_id" in body["error"]["message"]
    resp = await client.get(f"/api/statement?member_id={bala_id}&from=2026-01-01", headers=staff)
    assert resp.status == 200 and (await resp.read()).startswith(b"%PDF-")
    record = list(runtime.pipeline.read())[-1]
    assert record.action == "report.export" and record.actor["role"] == "admin"
    assert record.change["event"]["params"] == {"member": bala_id, "from": "2026-01-01"}
    status, body = await get(client, f"/api/statement?member_id={bala_id}&to=soon", staff)
    assert status == 400 and "'soon' is not a date (YYYY-MM-DD)" in body["error"]["message"]
