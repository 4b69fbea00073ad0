"""An office desk with its embedded server, as the desktop runs them (without windows).

It serves the member web view exactly as ``tfos serve`` does (same runtime, same
background jobs, same app) and takes a staff member's commands on stdin, one per line,
answering each with one JSON line: what the desktop's auction control does.

    python tests/office_child.py --data-dir D --store-backend firestore ... --port 0
    open-auction GROUP PERIOD
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from app import bootstrap, config
from app.kernel.errors import KnownError
from app.kernel.files import set_private_umask
from app.services.actors import Actor
from server.app import bound_port, create_app, start

STAFF = Actor("emp-1", "Esha (employee)", "employee")


def command(runtime: bootstrap.Runtime, line: str) -> dict[str, Any]:
    name, *args = line.split()
    if name == "open-auction":
        auction = runtime.services.auctions.open_auction(STAFF, args[0], int(args[1]))
        return {"auction_id": auction.id, "bids": auction.bids_count}
    return {"error": f"unknown command {name!r}"}


async def serve(runtime: bootstrap.Runtime) -> None:
    settings = runtime.settings
    runner = await start(create_app(runtime.services, settings), settings.host, settings.port)
    print(f"TransactFlowOS serving on http://{settings.host}:{bound_port(runner)}", flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while line := (await reader.readline()).decode().strip():
            try:
                answer = await asyncio.to_thread(command, runtime, line)
            except KnownError as exc:
                answer = {"error": str(exc)}
            print(json.dumps(answer), flush=True)
    finally:
        await runner.cleanup()


def main(argv: list[str]) -> None:
    set_private_umask()
    runtime = bootstrap.build(config.parse(argv))
    runtime.start_background()
    try:
        asyncio.run(serve(runtime))
    finally:
        runtime.close()


if __name__ == "__main__":
    main(sys.argv[1:])
