"""The audit log's signed checkpoint and proofs over HTTP, for the members' browsers.

Who sees what is the proof service's rule (:mod:`app.services.proofs`): everyone
signed in gets the checkpoint and consistency proofs; an inclusion proof goes to a
member only for their own records, with the record's line; staff get any record's,
with its line only for the roles that read the audit trail.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from app.services.actors import subject_id
from app.services.proofs import ProofService
from server.api import current_actor


class ProofPages:
    """Handlers over the proof service (bound methods are the aiohttp handlers)."""

    def __init__(self, proofs: ProofService) -> None:
        self.proofs = proofs

    async def checkpoint(self, request: web.Request) -> web.Response:
        await current_actor(request)
        return web.json_response(await asyncio.to_thread(self.proofs.checkpoint))

    async def inclusion(self, request: web.Request) -> web.Response:
        actor = await current_actor(request)
        lsn, size = request.query.get("lsn"), request.query.get("size")
        return web.json_response(await asyncio.to_thread(self.proofs.prove_for, actor, lsn, size))

    async def consistency(self, request: web.Request) -> web.Response:
        await current_actor(request)
        first, second = request.query.get("from"), request.query.get("to")
        return web.json_response(await asyncio.to_thread(self.proofs.consistency, first, second))

    async def records(self, request: web.Request) -> web.Response:
        """The member's own records, whose inclusion their browser checks."""
        actor = await current_actor(request)
        member_id = subject_id(actor, request.query.get("member_id"))
        records = await asyncio.to_thread(self.proofs.own_records, member_id)
        return web.json_response({"records": [r.to_json() for r in records]})


def add_routes(app: web.Application, proofs: ProofService) -> None:
    pages = ProofPages(proofs)
    app.router.add_get("/api/checkpoint", pages.checkpoint)
    app.router.add_get("/api/proof/inclusion", pages.inclusion)
    app.router.add_get("/api/proof/consistency", pages.consistency)
    app.router.add_get("/api/proof/records", pages.records)
