"""Every PDF report, rendered from a demo history and read back.

Each report is rendered from real services over a real store and WAL, its text is
read back with pypdf and its figures compared with the ledger and the services; its
pages are drawn with pdftoppm and checked for content.
"""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from app.kernel.errors import NotFound, ValidationError
from app.services.context import IST
from app.services.kyc import KycService
from app.services.ledger.postings import receivable
from app.services.members import MemberService
from app.services.money import amount_in_words, format_bps, format_inr
from app.services.reports import REPORTS, Request, render_report
from app.services.reports.blocks import Heading, Masthead, Text, register_fonts
from app.services.reports.layout import layout
from app.services.reports.pdf import render
from tests.builders import AADHAAR, ACCOUNT, EMPLOYEE, PAN, PNG
from tests.reports.conftest import FIRM, Demo, fresh_demo
from tests.reports.pdfcheck import blank_pages, page_texts, text

RAW_KEY = re.compile(r"\b(cash|receivable|loans|chitfund|income|equity):[\w*-]")


def params_for(demo: Demo) -> dict[str, dict[str, Any]]:
    """Parameters that make every kind of report from the demo history."""
    s = demo.services
    group = s.groups.list_groups()[0]
    borrower = s.loans.inbox("disbursed")[0].member_id
    receipt = s.ledger.receipt_register()[0].bank_ref
    return {
        "member-list": {},
        "loan-portfolio": {},
        "member-statement": {"member": borrower},
        "group-ledger": {"group": group.id},
        "tickets": {"group": group.id},
        "auction-minutes": {"group": group.id, "period": "2"},
        "defaulters": {},
        "collections-register": {},
        "trial-balance": {},
        "balance-sheet": {},
        "receipt": {"receipt": receipt},
        "audit": {},
    }


def test_every_registered_kind_is_exercised(demo: Demo) -> None:
    assert set(params_for(demo)) == set(REPORTS)


@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_every_page_is_headed_stamped_numbered_and_has_content(
    demo: Demo, kind: str, tmp_path: Path
) -> None:
    rendered = demo.render(kind, **params_for(demo)[kind])
    pages = page_texts(rendered.pdf)
    head = rendered.head
    assert head.lsn == demo.ctx.store.last_applied_lsn()
    for n, page in enumerate(pages, start=1):
        assert f"Page {n} of {len(pages)}" in page
        assert FIRM.firm in page and rendered.kind.title in page
        assert f"record {head.lsn}," in page and head.hash in page
        assert head.at is not None and head.at.astimezone(IST).strftime("%H:%M:%S IST") in page
        assert not RAW_KEY.search(page), RAW_KEY.search(page)
    paper = rendered.kind.paper
    assert blank_pages(rendered.pdf, rendered.masthead, paper, tmp_path) == []


def test_a_page_with_nothing_below_the_masthead_is_found_blank(tmp_path: Path) -> None:
    head = Masthead("Firm", "Title", ["Parameters"], ["Log head SHA-256 " + "0" * 64])
    assert blank_pages(render(head, []), head, "a4", tmp_path / "empty") == [1]
    written = render(head, [Text("Something")])
    assert blank_pages(written, head, "a4", tmp_path / "written") == []


def test_a_signed_note_is_never_split_across_pages() -> None:
    """A mono text (a signed checkpoint, a hash, a proof) is copied back from the page
    whole: near a page's end it starts on the next page, with its heading."""
    head = Masthead("Firm", "Title", ["Parameters"], ["Log head SHA-256 " + "0" * 64])
    register_fonts()
    note = ["origin/1", "895", "HASH=", "", "— origin/1 SIGNATURE="]
    said = set(filter(None, note))
    for lines_before in range(30, 70):  # the first page fills up somewhere in here
        blocks = [Text(f"Line {n}") for n in range(lines_before)]
        pages = layout(head, [*blocks, Heading("Signed checkpoint"), Text("\n".join(note), "mono")])
        on = {
            n
            for n, page in enumerate(pages)
            for op in page.ops
            if op[0] == "t" and op[1][2] in said
        }
        heading_on = {
            n for n, page in enumerate(pages) for op in page.ops
            if op[0] == "t" and op[1][2] == "Signed checkpoint"
        }  # fmt: skip
        assert len(on) == 1 and on == heading_on, (lines_before, on, heading_on)


def test_a_long_register_breaks_into_numbered_pages_without_a_blank_one(
    demo: Demo, tmp_path: Path
) -> None:
    register = demo.render("collections-register")
    assert len(page_texts(register.pdf)) >= 2, "the demo's receipts fill more than a page"
    assert blank_pages(register.pdf, register.masthead, "a4-landscape", tmp_path) == []


# -- determinism ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_the_same_log_gives_the_same_bytes(demo: Demo, kind: str) -> None:
    params = params_for(demo)[kind]
    assert demo.render(kind, **params).pdf == demo.render(kind, **params).pdf


def test_a_new_log_record_changes_the_stamp_and_the_file(tmp_path: Path) -> None:
    demo = fresh_demo(tmp_path / "data")
    try:
        before = demo.render("trial-balance")
        MemberService(demo.ctx).enroll(EMPLOYEE, "Nandini Rao", "9000012345")
        after = demo.render("trial-balance")
    finally:
        demo.ctx.pipeline.close()
        demo.ctx.store.close()
    assert after.head.lsn == before.head.lsn + 1
    assert after.head.hash != before.head.hash
    assert after.pdf != before.pdf
    assert f"record {after.head.lsn}," in text(after.pdf)
    assert after.head.hash in text(after.pdf) and before.head.hash not in text(after.pdf)


def test_the_pdf_carries_the_log_heads_time_not_the_clocks(demo: Demo) -> None:
    rendered = demo.render("balance-sheet")
    info = PdfReader(io.BytesIO(rendered.pdf)).metadata
    assert info is not None and rendered.head.at is not None
    stamped = rendered.head.at.astimezone(IST).strftime("D:%Y%m%d%H%M%S+05'30'")
    assert info["/CreationDate"] == stamped
    assert info["/Keywords"] == f"LSN {rendered.head.lsn}; head {rendered.head.hash}"


def test_rupees_are_drawn_with_the_embedded_dejavu_subset(demo: Demo) -> None:
    rendered = demo.render("trial-balance")
    reader = PdfReader(io.BytesIO(rendered.pdf))
    fonts = {
        str(font["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()  # type: ignore[index]
    }
    assert any(re.fullmatch(r"/[A-Z]{6}\+DejaVuSansCondensed", f) for f in fonts), fonts
    assert "Helvetica" not in " ".join(fonts)
    assert "₹" in text(rendered.pdf)


# -- figures against the ledger and the services --------------------------------------------


def test_trial_balance_totals_match_the_ledger(demo: Demo) -> None:
    tb = demo.services.ledger.trial_balance()
    body = text(demo.render("trial-balance").pdf)
    debit_balances = format_inr(sum(max(r.balance, 0) for r in tb.rows))
    totals = f"{format_inr(tb.total_debit)} {format_inr(tb.total_credit)}"
    assert f"Total {totals} {debit_balances} {debit_balances}" in body
    assert f"Debit balances {debit_balances} Credit balances {debit_balances}" in body
    assert "The ledger balances" in body


def test_balance_sheet_sections_match_the_ledger_and_name_every_account(demo: Demo) -> None:
    sheet = demo.services.ledger.balance_sheet()
    body = text(demo.render("balance-sheet").pdf)
    for section, title in (("asset", "assets"), ("liability", "liabilities"), ("equity", "equity")):
        assert f"Total {title} {format_inr(sheet.total(section))}" in body
    for group in demo.services.groups.list_groups():
        assert f"Pool — {group.name}" in body
    assert "The balance sheet balances" in body


def test_collections_register_totals_match_the_ledgers_postings(demo: Demo) -> None:
    start, end = date(2026, 9, 1), date(2026, 10, 31)
    txns = [
        t
        for kind in ("instalment.received", "emi.received")
        for t in demo.services.ledger.transactions(kind=kind)
        if start.isoformat() <= t.date <= end.isoformat()
    ]
    assert txns, "the demo has receipts in the range"
    body = text(demo.render("collections-register", start="2026-09-01", end="2026-10-31").pdf)
    total = format_inr(sum(t.amount for t in txns))
    assert f"Receipts {len(txns)} receipts Total received {total}" in body
    listed = re.findall(r" ([A-Z]{4}[A-Z0-9]{12,}) ₹", body)
    assert sorted(listed) == sorted(t.refs["bank_ref"] for t in txns)


def test_member_statement_balance_is_what_the_ledger_says_the_member_owes(demo: Demo) -> None:
    s = demo.services
    member_id = params_for(demo)["member-statement"]["member"]
    owed = sum(
        s.ledger.balance(receivable(member_id, t.group_id))
        for t in s.groups.member_tickets(member_id)
    )
    outstanding = sum(x.outstanding for x in s.loans.for_member(member_id))
    body = text(demo.render("member-statement", member=member_id).pdf)
    assert f"Owes on chits {format_inr(owed)} Loans outstanding {format_inr(outstanding)}" in body
    member = s.members.get(member_id)
    assert f"Member {member.name} ({member.member_no})" in body  # the heading's line
    assert f"Member no. {member.member_no}" in body and member_id not in body


def test_member_statement_range_carries_the_balance_forward(demo: Demo) -> None:
    member_id = params_for(demo)["member-statement"]["member"]
    whole = text(demo.render("member-statement", member=member_id).pdf)
    part = text(demo.render("member-statement", member=member_id, start="2026-10-01").pdf)
    assert "Balance brought forward" in part and "Balance brought forward" not in whole
    owes = re.compile(r"Owes on chits (\S+)")
    assert owes.findall(whole) == owes.findall(part)
    assert len(part) < len(whole)


def test_group_ledger_pool_and_arrears_match_the_ledger(demo: Demo) -> None:
    s = demo.services
    group = s.groups.list_groups()[0]
    body = text(demo.render("group-ledger", group=group.name).pdf)
    assert f"Registration (sanction) number {group.registration_no}" in body
    assert f"Pool (cash held) {format_inr(s.ledger.pool(group.id))}" in body
    owed = sum(d.outstanding for d in s.ledger.open_dues(group.id))
    assert f"Total {format_inr(owed)} \n" in body
    periods = [s.ledger.period_collections(group.id, p) for p in range(1, group.periods_done + 1)]
    for p in periods:
        assert f"{format_inr(p.expected)} {format_inr(p.collected)} {p.paid_count} of" in body
    assert f"{format_inr(sum(p.collected for p in periods))} \n" in body


def test_the_ticket_list_is_in_ticket_order_under_the_registration(demo: Demo) -> None:
    s = demo.services
    group = s.groups.list_groups()[0]
    body = text(demo.render("tickets", group=group.name).pdf)
    assert f"Registration (sanction) number {group.registration_no}" in body
    assert group.registration_no and group.registration_no.startswith("TN/CHIT/")
    people = s.members.get_many([t.member_id for t in s.groups.tickets(group.id)])
    at = [
        body.index(f"{t.ticket_no} {people[t.member_id].name} ") for t in s.groups.tickets(group.id)
    ]
    assert len(at) == group.members and at == sorted(at)
    assert all(m.phone not in body and m.phone_masked in body for m in people.values())
    assert "Checked by (second staff member)" in body


def test_loan_portfolio_matches_the_loan_accounts(demo: Demo) -> None:
    s = demo.services
    book = s.loans.portfolio()
    on_books = sum(
        s.ledger.balance(f"loans:{r.loan_id}") for r in s.loans.inbox(("disbursed", "closed"))
    )
    assert book.outstanding == on_books
    body = text(demo.render("loan-portfolio").pdf)
    assert f"Outstanding principal {format_inr(on_books)}" in body
    assert f"Provisions {format_inr(book.provisions.total)}" in body
    par30 = f"PAR30 {format_bps(book.par30.bps)} ({format_inr(book.par30.at_risk)} at risk)"
    assert par30 in body


def test_defaulters_and_member_list_add_up_the_overdue_dues(demo: Demo) -> None:
    s = demo.services
    overdue = s.ledger.overdue(demo.ctx.clock.today())
    late = format_inr(sum(d.outstanding for d in overdue))
    assert f"Instalments overdue {late}" in text(demo.render("defaulters").pdf)
    members = text(demo.render("member-list").pdf)
    receivables = sum(
        v
        for a, v in s.ledger.balances().items()
        if a.startswith("receivable:") and "penalty" not in a
    )
    assert f"Dues outstanding {format_inr(receivables)} Of which overdue {late}" in members


def test_auction_minutes_show_aliases_and_the_registrar_sees_names(demo: Demo) -> None:
    s = demo.services
    group = s.groups.list_groups()[0]
    auction = next(a for a in s.auctions.list_auctions(group.id) if a.period == 2)
    minutes = s.auctions.minutes(auction.id)
    holders = s.auctions.alias_holders(auction.id)
    bids = s.auctions.bids(auction.id)
    public = text(demo.render("auction-minutes", group=group.id, period=2).pdf)
    registrar = text(demo.render("auction-minutes", group=group.id, period=2, registrar=True).pdf)
    for body in (public, registrar):
        assert f"Discount {format_inr(minutes['discount'])}" in body
        assert f"Prize (chit value − discount) {format_inr(minutes['prize'])}" in body
        assert auction.seed_hash in body and str(auction.seed) in body
        assert all(f" {b.alias} {format_inr(b.discount)}" in body for b in bids)
        assert "Checked: the revealed seed matches its commitment" in body
    names = s.members.get_many([holders[b.alias] for b in bids])
    for bid in bids:
        row = next(line for line in registrar.splitlines() if f" {bid.alias} " in line)
        assert row.rstrip().endswith(names[holders[bid.alias]].name), row
    for marker in ("Registrar's copy: true names shown", "Subscriber (Registrar's copy)"):
        assert marker in registrar and marker not in public


def test_receipt_states_the_amount_in_figures_and_in_words(demo: Demo) -> None:
    entry = demo.services.ledger.receipt_register()[0]
    body = text(demo.render("receipt", receipt=entry.bank_ref.lower()).pdf)
    assert entry.number is not None and entry.number.startswith("TN-CHIT-")
    assert f"Receipt No. {entry.number}" in body
    assert entry.group_id is not None and entry.group_id not in body
    member = demo.services.members.get(entry.member_id)
    assert f"{member.name} ({member.member_no})" in body and member.id not in body
    assert f"Amount {format_inr(entry.amount)}" in body
    assert amount_in_words(entry.amount) in body
    assert entry.bank_ref in body and "Bank transfer" in body


def test_loans_appear_by_number_never_by_id(demo: Demo) -> None:
    s = demo.services
    params = params_for(demo)
    loan_reports = ("loan-portfolio", "member-statement", "balance-sheet", "defaulters")
    for kind in (*loan_reports, "collections-register"):
        body = text(demo.render(kind, **params[kind]).pdf)
        assert "loan-" not in body, kind
        if kind in loan_reports:
            assert re.search(r"\bL-\d{4}\b", body), kind
    entry = next(e for e in s.ledger.receipt_register() if e.kind == "emi")
    assert entry.number is not None and re.fullmatch(r"L-\d{4}/E\d{3}", entry.number)
    body = text(demo.render("receipt", receipt=entry.bank_ref).pdf)
    assert f"Receipt No. {entry.number}" in body
    assert f"Loan {entry.loan_no}: repayment (EMI)" in body and "loan-" not in body


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (Request("payslips"), "There is no 'payslips' report; the reports are member-list"),
        (Request("trial-balance", start="2026-01-01"), "The trial-balance report takes no --from"),
        (Request("member-list", member="x"), "takes no --member; it takes --group."),
        (Request("member-statement"), "needs --member (a member id or mobile number)"),
        (Request("receipt"), "needs --receipt (the receipt's bank reference)"),
        (Request("auction-minutes", group="g"), "needs --period"),
        (Request("collections-register", start="2026-13-01"), "--from: '2026-13-01' is not a date"),
        (
            Request("collections-register", start="2026-11-02", end="2026-11-01"),
            "--from 02 Nov 2026 is after --to 01 Nov 2026",
        ),
        (Request("group-ledger", group="Nowhere Chit"), "no chit group 'Nowhere Chit'"),
        (Request("member-statement", member="9999999999"), "there is no member '9999999999'"),
        (Request("auction-minutes", group="x", period="two"), "--period: 'two' is not a period"),
    ],
)
def test_bad_requests_are_refused_in_one_line(demo: Demo, request_: Request, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        render_report(demo.services, demo.ctx, request_, FIRM)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_minutes_of_a_period_not_yet_drawn_say_which_periods_exist(demo: Demo) -> None:
    group = demo.services.groups.list_groups()[0]
    with pytest.raises(NotFound, match=f"Its periods settled so far: 1 to {group.periods_done}"):
        demo.render("auction-minutes", group=group.id, period=group.periods_done + 1)


def test_a_group_can_be_named_by_its_name_in_any_case(demo: Demo) -> None:
    group = demo.services.groups.list_groups()[1]
    rendered = demo.render("group-ledger", group=group.name.upper())
    assert rendered.params.group == group


# -- personal numbers --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_no_report_shows_a_members_mobile_number_in_full(demo: Demo, kind: str) -> None:
    body = text(demo.render(kind, **params_for(demo)[kind]).pdf).replace(" ", "")
    phones = [m.phone[-10:] for m in demo.services.members.list_members()]
    assert phones and not [p for p in phones if p in body]


def test_pan_aadhaar_and_account_are_masked_on_paper(tmp_path: Path) -> None:
    demo = fresh_demo(tmp_path / "data")
    try:
        member = MemberService(demo.ctx).enroll(EMPLOYEE, "Lakshmi Devi", "9876543210")
        KycService(demo.ctx).submit(
            EMPLOYEE,
            member.id,
            name="Lakshmi Devi",
            phone="9876543210",
            pan=PAN,
            aadhaar=AADHAAR,
            account_number=ACCOUNT,
            ifsc="SBIN0001234",
            documents=[("pan.png", PNG, "image/png")],
        )
        bodies = [
            text(demo.render("member-list").pdf),
            text(demo.render("member-statement", member=member.id).pdf),
        ]
    finally:
        demo.ctx.pipeline.close()
        demo.ctx.store.close()
    for body in bodies:
        flat = body.replace(" ", "").replace("-", "")
        for secret in (PAN, AADHAAR, ACCOUNT, "9876543210", PAN[-6:], AADHAAR[-8:]):
            assert secret not in flat, secret
        assert "XXXXXX234E" in body and "+91 XXXXXX3210" in body
    assert "XXXX-XXXX-3376" in bodies[1]


def test_every_kind_of_receipt_prints_on_one_sheet(demo: Demo) -> None:
    """An instalment by bank, each state of a counter cheque and a loan's EMI: the
    receipt and the log's signed checkpoint under it fit on its one A5 page."""
    kinds: dict[tuple[str, str, str], str] = {}
    for entry in demo.services.ledger.receipt_register():
        key = (entry.kind, entry.mode, entry.cheque_state or "")
        kinds.setdefault(key, entry.bank_ref)
    assert len(kinds) >= 3, kinds
    for key, bank_ref in kinds.items():
        pages = page_texts(demo.render("receipt", receipt=bank_ref).pdf)
        assert len(pages) == 1, key
        assert "Signed checkpoint of the log" in pages[0], key
