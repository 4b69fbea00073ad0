"""``auction-minutes``: the minutes of one draw, as s.17 of the Chit Funds Act asks.

Date and place, the subscribers present, every bid (under the aliases bidders had in
the room), the winner, the discount and the dividend, and the lot's seed commitment
and reveal with a check anyone can redo. ``--registrar`` prints the Registrar's copy,
which names the subscriber behind every alias.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.kernel.errors import NotFound
from app.services.auctions import Auction
from app.services.reports.base import Params, ReportKind, Sources, inr, moment
from app.services.reports.blocks import Block, Column, Facts, Heading, Signatures, Table, Text

ROLE_TEXT = {"foreman": "Foreman", "winner": "Prize winner", "subscriber": "Subscriber"}


def _auction(src: Sources, params: Params) -> Auction:
    assert params.group is not None and params.period is not None
    for auction in src.services.auctions.list_auctions(params.group.id):
        if auction.period == params.period:
            return auction
    raise NotFound(
        f"Group {params.group.name} has no auction for period {params.period}.",
        hint=f"Its periods settled so far: 1 to {params.group.periods_done}.",
    )


def _lot_blocks(src: Sources, auction: Auction, minutes: dict[str, Any]) -> list[Block]:
    blocks: list[Block] = [
        Heading("Lot: seed commitment and reveal"),
        Text("Commitment published when the auction opened (SHA-256 of the seed):"),
        Text(auction.seed_hash, "mono"),
        Text("Seed revealed when it closed:"),
        Text(auction.seed or "(not revealed)", "mono"),
    ]
    lot = minutes.get("lot")
    if auction.kind == "foreman":
        return [*blocks, Text("No lot: period 1 went to the foreman's ticket.", "muted")]
    check = src.services.auctions.verify_lot(auction.id)
    if lot:
        blocks.append(Text(f"Drawn among {', '.join(lot['candidates'])}: {lot['winner']}."))
    else:
        blocks.append(Text("No lot was needed: the highest bid won outright."))
    verdict = (
        "Checked: the revealed seed matches its commitment"
        + (" and the draw gives the same winner." if lot else ".")
        if check.ok
        else "CHECK FAILED: the revealed seed or the draw does not match what was published."
    )
    blocks += [
        Text(verdict, "bold"),
        Text("How anyone can redo the draw:"),
        Text(minutes["lot_recipe"], "mono"),
    ]
    return blocks


def _bids(auction: Auction, columns: list[Column], rows: list[tuple[str, ...]]) -> list[Block]:
    if auction.kind == "foreman":
        return [
            Heading("No auction"),
            Text("The agreement gives period 1 to the foreman's ticket, without discount."),
        ]
    return [Heading(f"Bids ({len(rows)})"), Table(columns, rows, empty="No bids were made.")]


def build(src: Sources, params: Params) -> Sequence[Block]:
    s, group = src.services, params.group
    assert group is not None
    auction = _auction(src, params)
    minutes = s.auctions.minutes(auction.id)
    bids = s.auctions.bids(auction.id)
    holders = s.auctions.alias_holders(auction.id) if params.registrar else {}
    ids = {*minutes["present"], minutes["winner_member_id"], *holders.values()}
    ids |= {x["member_id"] for x in minutes["signatures"] if x["member_id"]}
    people = {m: x.name for m, x in s.members.get_many(sorted(ids)).items()}
    tickets = {t.member_id: t.ticket_no for t in s.groups.tickets(group.id)}
    winner = people.get(minutes["winner_member_id"], minutes["winner_member_id"])
    alias = minutes.get("winner_alias")
    columns = [
        Column("Bid", "right"),
        Column("Time", "right"),
        Column("Bidder (alias)", weight=1.5),
        Column("Discount offered", "right"),
        Column("Entered by staff", "center"),
    ]
    if params.registrar:
        columns.append(Column("Subscriber (Registrar's copy)", weight=2))
    bid_rows = [
        (
            str(b.n),
            moment(b.at, seconds=True),
            b.alias,
            inr(b.discount),
            "Yes" if b.on_behalf else "",
            *([people.get(holders.get(b.alias, ""), "?")] if params.registrar else []),
        )
        for b in bids
    ]
    blocks: list[Block] = [
        Facts(
            [
                ("Group", f"{group.name} ({group.id})"),
                ("Period", f"{auction.period} of {group.members}"),
                ("Place", minutes.get("place") or "The foreman's office (not recorded)"),
                ("Chit value", inr(group.agreement.gross_paise)),
                ("Started", moment(minutes["started_at"], seconds=True)),
                ("Ended", moment(minutes["ended_at"], seconds=True)),
            ]
        ),
        Heading(f"Subscribers present ({minutes['present_count']})"),
        Table(
            [
                Column("Ticket", "right"),
                Column("Subscriber", weight=3),
                Column("Member id", mono=True),
            ],
            [(str(tickets.get(m, "—")), people.get(m, m), m) for m in minutes["present"]],
            share=0.7,
        ),
        *_bids(auction, columns, bid_rows),
        Heading("Result"),
        Facts(
            [
                ("Winner", winner + (f" (bid as {alias})" if alias else "")),
                ("Decided by", str(minutes["decided_by"]).capitalize()),
                ("Discount", inr(minutes["discount"])),
                ("Prize (chit value − discount)", inr(minutes["prize"])),
                ("Foreman's commission", inr(minutes["commission"])),
                ("Dividend per subscriber", inr(minutes["share"])),
                ("Net instalment this period", inr(minutes["net_instalment"])),
                ("Bids", str(minutes["bids_count"])),
            ]
        ),
        *_lot_blocks(src, auction, minutes),
        Heading("Signatures"),
        Signatures(
            [
                f"{ROLE_TEXT.get(x['role'], x['role'])}: "
                f"{people.get(x['member_id'], x['member_id']) if x['member_id'] else ''}"
                for x in minutes["signatures"]
            ]
        ),
    ]
    if not params.registrar and auction.kind != "foreman":
        blocks.append(
            Text(
                "Bidders appear under the aliases they had in the room; the Registrar's copy "
                "names them (tfos report auction-minutes --registrar).",
                "muted",
            )
        )
    return blocks


KIND = ReportKind(
    name="auction-minutes",
    title="Minutes of the auction",
    description="The s.17 minutes of one draw: present, bids, winner, dividend and the lot.",
    build=build,
    takes=frozenset({"group", "period", "registrar"}),
    needs=frozenset({"group", "period"}),
)
