"""Issue 9's critical finding, the way it was found: one loan purpose with a NUL or a lone
surrogate went into the WAL, the store refused to apply it, and from then on every write
failed and neither `tfos serve` nor `tfos ledger check` would start."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient

from app import config
from app.bootstrap import Runtime, build
from tests.browser.world import PHONES, World
from tests.cli import tfos
from tests.server.conftest import last_code

Client = TestClient[Any, Any]


def origin(client: Client) -> dict[str, str]:
    return {"Origin": str(client.make_url("")).rstrip("/")}


async def apply(client: Client, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    resp = await client.post(
        "/api/loans",
        data=body,
        headers={**headers, **origin(client), "Content-Type": "application/json"},
    )
    return resp.status, await resp.json()


async def test_nul_and_lone_surrogates_in_a_purpose_stop_no_write(
    client: Client, runtime: Runtime, world: World, asha: dict[str, str]
) -> None:
    data_dir = runtime.settings.data_dir
    status, body = await apply(
        client, asha, b'{"amount":"10000","tenure":"6","purpose":"a\\u0000b"}'
    )
    assert status == 400 and body["error"]["code"] == "invalid", body
    assert "what the loan is for" in body["error"]["message"]

    status, body = await apply(
        client, asha, b'{"amount":"10000","tenure":"6","purpose":"x\\ud800y shop stock"}'
    )
    assert status == 201, body
    status, second = await apply(
        client, asha, b'{"amount":"10000","tenure":"6","purpose":"school\\u0000 fees\\u202e"}'
    )
    assert status == 201, second
    purposes = {runtime.services.loans.get(b["loan_id"]).data["purpose"] for b in (body, second)}
    assert purposes == {"xy shop stock", "school fees"}

    resp = await client.post("/api/otp/request", json={"phone": PHONES[1]}, headers=origin(client))
    assert resp.status < 300, await resp.text()  # writes go on: members can still sign in
    assert last_code(runtime, PHONES[1]).isdigit()

    runtime.close()
    verify = tfos(data_dir, "wal", "verify")
    assert verify.returncode == 0 and json.loads(verify.stdout)["ok"], verify.stdout
    check = tfos(data_dir, "ledger", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    restarted = build(config.load(environ={}, data_dir=data_dir))  # as `tfos serve` starts
    try:
        assert len(restarted.services.loans.for_member(world.members[0])) == 2
    finally:
        restarted.close()
