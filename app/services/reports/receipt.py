"""``receipt``: the numbered counter receipt for one recorded payment (issue 11).

The receipt number, when and how it was paid, who paid what for which ticket and
period (or loan), and the amount in figures and in Indian words. A cheque taken at the
counter says its number and branch and where it stands: pending clearance (the receipt
is subject to realisation), cleared, or bounced (the receipt is void and the due open
again). Reprinting a receipt gives the same file as long as the log has not moved.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.services.ledger.records import BOUNCED, CLEARED, ReceiptEntry
from app.services.money import amount_in_words
from app.services.reports.base import Params, ReportKind, Sources, day, inr, moment
from app.services.reports.blocks import Block, Facts, Gap, Signatures, Text


def build(src: Sources, params: Params) -> Sequence[Block]:
    s = src.services
    assert params.receipt is not None
    entry = s.ledger.receipt_entry(params.receipt)
    member = s.members.get(entry.member_id)
    if entry.loan_id:
        paid_for = f"Loan {entry.loan_no}: repayment (EMI)"
        split = [("Principal", inr(entry.principal)), ("Interest", inr(entry.interest))]
    else:
        group = s.groups.get_group(entry.group_id or "")
        ticket = s.groups.ticket_of(group.id, member.id)
        number = f"ticket {ticket.ticket_no}, " if ticket else ""
        paid_for = f"{group.name}: {number}instalment of period {entry.period}"
        split = []
    return [
        Text(f"Receipt No. {entry.number or entry.bank_ref}", "large"),
        Gap(4),
        Facts(
            [
                ("Received on", day(entry.received_on)),
                ("Recorded", moment(entry.recorded_at)),
                ("Received from", f"{member.name} ({member.member_no})"),
                ("Mobile", member.phone_masked),
                ("Towards", paid_for),
                ("Mode", entry.mode_label),
                *_paid_by(entry),
                *split,
            ],
            per_line=1,
            size=9,
        ),
        Gap(2),
        Text(f"Amount {inr(entry.amount)}", "large"),
        Text(amount_in_words(entry.amount), "bold"),
        *_cheque_state(entry),
        Signatures(["For the firm (received by)", "Member"]),
        Text(
            "Keep this receipt. Its number and reference are in the firm's audit log; the "
            "heading names the audit-log record this copy was printed from.",
            "muted",
        ),
    ]


def _paid_by(entry: ReceiptEntry) -> list[tuple[str, str]]:
    cheque = entry.cheque
    if cheque is None:
        return [("Reference", entry.bank_ref)]
    return [
        ("Cheque", f"Cheque {cheque['number']} on {cheque['ifsc']}"),
        ("Reference", entry.bank_ref),
    ]


def _cheque_state(entry: ReceiptEntry) -> list[Block]:
    """Where a counter cheque stands, under the amount."""
    cheque = entry.cheque
    if cheque is None:
        return []
    state = entry.cheque_state
    if state == CLEARED:
        return [Text(f"Cheque cleared on {day(cheque.get('cleared_on'))}.", "muted")]
    if state == BOUNCED:
        return [
            Text(
                f"CHEQUE BOUNCED on {day(cheque.get('bounced_on'))} "
                f"({cheque.get('reason', '')}): this receipt is void and the instalment is "
                "due again.",
                "bold",
            )
        ]
    return [Text("Cheque pending clearance: this receipt is subject to realisation.", "bold")]


KIND = ReportKind(
    name="receipt",
    title="Receipt",
    description="The numbered counter receipt of one payment, with the amount in words.",
    build=build,
    takes=frozenset({"receipt"}),
    needs=frozenset({"receipt"}),
    paper="a5",
)
