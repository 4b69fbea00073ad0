"""Domain events: what each change to the books means, one small dataclass per kind.

Every change a service writes says what happened as an event. Its class is the one
definition three readers share:

* the WAL record: the class's ``ACTION`` is the record's action (the action *is* the
  event's type) and its fields are the record's ``change.event``
  (``{"type": ACTION, **fields}``, :meth:`Event.to_json`);
* the activity feed's wording: ``SAID``, a sentence filled in from the record by
  :mod:`app.services.activity` (``"recorded a receipt of {amount:inr} from {member}"``:
  one that starts in lower case is said of the actor, "Ravi Kumar (employee) recorded
  ..."); ``FAILED`` marks an event that records something refused (a wrong password);
* the websocket: a reply that reports an event (a bid's acknowledgement) carries the
  same fields.

Build a change from its event with :meth:`app.services.pipeline.ChangeSet.of`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

PAST = {
    "approve": "approved",
    "reject": "rejected",
    "create": "created",
    "open": "opened",
    "close": "closed",
    "submit": "submitted",
    "reveal": "revealed the PAN/Aadhaar of",
    "enroll": "enrolled",
    "start": "started",
    "record": "recorded",
    "move": "moved",
    "add": "added",
    "resume": "resumed",
    "disable": "disabled",
    "enable": "enabled",
    "change_role": "changed the role of",
    "bid": "placed a bid in",
    "sign_in": "signed in",
    "sign_out": "signed out",
    "disburse": "disbursed",
    "pay": "paid",
    "verify": "verified",
    "write_off": "wrote off",
}
"""The past tense of an action's verb (its last dotted part), for the events that do
not say their own."""

EVENTS: dict[str, type[Event]] = {}
"""Every event class by its action."""


def did(action: str) -> str:
    """What an actor did, in words, for ``action`` (an event's ``DID``, else its verb's
    past tense, else the action itself)."""
    kind = EVENTS.get(action)
    if kind is not None and kind.DID:
        return kind.DID
    verb = action.rsplit(".", 1)[-1]
    return PAST.get(verb, f"did {action.replace('_', ' ')} on")


def wording(action: str) -> tuple[str, str]:
    """(what was done, a sentence of its own or "") for ``action``."""
    kind = EVENTS.get(action)
    return did(action), kind.SAID if kind is not None else ""


def failed(action: str) -> bool:
    """Whether ``action`` records something refused (a failed sign-in)."""
    kind = EVENTS.get(action)
    return kind is not None and kind.FAILED


@dataclass(frozen=True)
class Event:
    """One kind of change (see module docstring). Subclasses set ``ACTION``, ``ENTITY``
    (the type of thing changed) and ``SAID``; ``DID`` is the bare verb for the few
    without a sentence of their own."""

    ACTION: ClassVar[str] = ""
    ENTITY: ClassVar[str] = ""
    DID: ClassVar[str] = ""
    SAID: ClassVar[str] = ""
    FAILED: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.ACTION:
            if cls.ACTION in EVENTS and EVENTS[cls.ACTION] is not cls:
                raise TypeError(f"two events for the action {cls.ACTION!r}")
            EVENTS[cls.ACTION] = cls

    def to_json(self) -> dict[str, Any]:
        """``{"type": ACTION, **fields}``; a field named ``from_`` is written ``from``."""
        body = {f.name.rstrip("_"): getattr(self, f.name) for f in fields(self)}
        return {"type": self.ACTION, **body}


# -- members, groups, agreements ----------------------------------------------------------


@dataclass(frozen=True)
class MemberEnrolled(Event):
    ACTION, ENTITY = "member.enroll", "member"
    SAID = "enrolled {thing} as a member"
    member_id: str


@dataclass(frozen=True)
class GroupCreated(Event):
    ACTION, ENTITY = "group.create", "group"
    SAID = "created the group {thing} ({gross:inr})"
    group_id: str
    gross: int


@dataclass(frozen=True)
class TicketEnrolled(Event):
    ACTION, ENTITY = "ticket.enroll", "ticket"
    SAID = "allotted {thing} to {member}"
    group_id: str
    ticket_id: str
    member_id: str = ""


@dataclass(frozen=True)
class GroupStarted(Event):
    ACTION, ENTITY = "group.start", "group"
    SAID = "started the group {thing}"
    group_id: str


@dataclass(frozen=True)
class GroupTermsApproved(Event):
    ACTION, ENTITY = "group.approve_terms", "group"
    SAID = "approved the terms of the group {thing}"
    group_id: str


@dataclass(frozen=True)
class GroupWithdrawn(Event):
    ACTION, ENTITY = "group.withdraw", "group"
    SAID = "withdrew the group {thing} before its terms were approved"
    group_id: str


@dataclass(frozen=True)
class AgreementSigned(Event):
    ACTION, ENTITY = "agreement.sign", "agreement"
    SAID = "signed the agreement of {group} for {member}"
    group_id: str
    member_id: str
    signed_at: str
    text_sha256: str


# -- KYC ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KycSubmitted(Event):
    ACTION, ENTITY = "kyc.submit", "kyc"
    SAID = "submitted the KYC of {member} with {documents:document}"
    member_id: str
    documents: list[dict[str, Any]]


@dataclass(frozen=True)
class KycApproved(Event):
    ACTION, ENTITY = "kyc.approve", "kyc"
    SAID = "approved the KYC of {members}"
    member_ids: list[str]
    count: int


@dataclass(frozen=True)
class KycRejected(KycApproved):
    ACTION = "kyc.reject"
    SAID = "rejected the KYC of {members}"


@dataclass(frozen=True)
class KycRevealed(Event):
    ACTION, ENTITY = "kyc.reveal", "kyc"
    SAID = "revealed the full {field:upper} of {member}"
    member_id: str
    field: str


# -- auctions and payouts ---------------------------------------------------------------------


@dataclass(frozen=True)
class AuctionOpened(Event):
    ACTION, ENTITY = "auction.open", "auction"
    SAID = "opened the auction of {group}, period {period}, until {ends_at:time}"
    auction_id: str
    group_id: str
    period: int
    seed_hash: str
    ends_at: str


@dataclass(frozen=True)
class AuctionResumed(Event):
    ACTION, ENTITY = "auction.resume", "auction"
    SAID = "took over the running auction of {thing}"
    auction_id: str
    by: str


@dataclass(frozen=True)
class BidPlaced(Event):
    """Also what the bidder's websocket acknowledgement says."""

    ACTION, ENTITY = "auction.bid", "auction"
    SAID = "bid a discount of {discount:inr} as {alias} in the auction of {thing}"
    auction_id: str
    alias: str
    discount: int
    ends_at: str
    extended: bool


@dataclass(frozen=True)
class AuctionClosed(Event):
    ACTION, ENTITY = "auction.close", "auction"
    SAID = (
        "closed the auction of {group}, period {period}: {winner} won {prize:inr} (discount "
        "{discount:inr})"
    )
    auction_id: str
    group_id: str
    period: int
    winner_member_id: str
    winner_alias: str | None
    discount: int
    prize: int
    decided_by: str


@dataclass(frozen=True)
class ForemanPeriodSettled(AuctionClosed):
    ACTION = "auction.foreman_period"
    SAID = "settled {group}, period {period}, as the foreman's period ({prize:inr})"


@dataclass(frozen=True)
class BankersRefused(Event):
    """A disbursement or payout the Banker's gate refused (the record's entity is the
    loan or payout it was about)."""

    ACTION = "bankers.refuse"
    SAID = "The Banker's gate held back {thing} ({decision[code]:words})"
    decision: dict[str, Any]


@dataclass(frozen=True)
class PayoutReleased(Event):
    ACTION, ENTITY = "payout.release", "payout"
    SAID = "released the prize of {member} ({group}): {paid:inr}"
    payout_id: str
    group_id: str
    member_id: str
    paid: int
    deducted: int
    bankers: dict[str, Any]


@dataclass(frozen=True)
class PayoutSecured(Event):
    ACTION, ENTITY = "payout.security", "payout"
    SAID = (
        "recorded the security for the prize of {thing}: {held:inr} held against "
        "{required:inr} needed"
    )
    payout_id: str
    held: int
    required: int


@dataclass(frozen=True)
class FutureInstalmentsDeducted(Event):
    ACTION, ENTITY = "payout.deduct_future", "payout"
    SAID = "kept {deducted:inr} of the prize of {thing} for its future instalments"
    payout_id: str
    deducted: int


@dataclass(frozen=True)
class PayoutReleaseRequested(Event):
    """The maker asks for a prize's release; a second person releases it."""

    ACTION, ENTITY = "payout.request_release", "payout"
    SAID = "asked for the release of the prize of {thing} ({group}): {paid:inr}"
    payout_id: str
    group_id: str
    paid: int


@dataclass(frozen=True)
class AdvanceProposed(Event):
    """The maker proposes advancing the company's cash to a pool short for a prize."""

    ACTION, ENTITY = "advance.propose", "advance"
    SAID = "proposed advancing {amount:inr} of the company's cash to the pool of {group}"
    advance_id: str
    group_id: str
    payout_id: str
    amount: int


@dataclass(frozen=True)
class AdvanceApproved(Event):
    ACTION, ENTITY = "advance.approve", "advance"
    SAID = "advanced {amount:inr} of the company's cash to the pool of {group}"
    advance_id: str
    group_id: str
    payout_id: str
    amount: int
    txn_id: str
    bankers: dict[str, Any]


@dataclass(frozen=True)
class AdvanceDeclined(Event):
    ACTION, ENTITY = "advance.decline", "advance"
    SAID = "declined a proposed advance of the company's cash for a prize"
    advance_id: str
    payout_id: str


# -- ledger -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapitalProposed(Event):
    """An admin records capital the company paid in; a second person posts it."""

    ACTION, ENTITY = "capital.propose", "capital"
    SAID = (
        "recorded {amount:inr} of capital paid into {into:account} (bank reference {id}) "
        "for a second person to approve"
    )
    capital_id: str
    amount: int
    into: str


@dataclass(frozen=True)
class CapitalAdded(Event):
    """Capital posted: by the second person who approved a pay-in (``bank_ref`` and the
    ``maker``'s id are then given), or by the demo generator alone."""

    ACTION, ENTITY = "capital.add", "ledger_txn"
    SAID = "added {amount:inr} of the company's capital"
    txn_id: str
    amount: int
    bank_ref: str = ""
    maker: str = ""


@dataclass(frozen=True)
class CapitalDeclined(Event):
    ACTION, ENTITY = "capital.decline", "capital"
    SAID = "declined the capital of {amount:inr} recorded with bank reference {id}"
    capital_id: str
    amount: int


@dataclass(frozen=True)
class ReceiptRecorded(Event):
    ACTION, ENTITY = "receipt.record", "receipt"
    SAID = "recorded a receipt of {amount:inr} from {member} for {group}, period {period}"
    bank_ref: str
    group_id: str
    period: int
    member_id: str
    amount: int


@dataclass(frozen=True)
class ReceiptsImported(Event):
    ACTION, ENTITY = "receipt.import", "receipt"
    SAID = "imported {count:receipt} worth {amount:inr} from a bank statement"
    count: int
    amount: int


@dataclass(frozen=True)
class ChequeCleared(Event):
    ACTION, ENTITY = "receipt.clear_cheque", "receipt"
    SAID = "marked the cheque of receipt {id} cleared"
    bank_ref: str
    member_id: str
    amount: int


@dataclass(frozen=True)
class CounterCheckAsked(Event):
    """A counter receipt (large cash) or a cheque's bounce waits for a second person."""

    ACTION, ENTITY = "counter.ask_check", "counter_approval"
    SAID = "asked a second person to check {id}"
    approval_id: str
    kind: str
    bank_ref: str
    member_id: str
    amount: int


@dataclass(frozen=True)
class CounterCheckApproved(Event):
    """The checker approved: the cash receipt is posted, or the bounce reversed."""

    ACTION, ENTITY = "counter.approve", "counter_approval"
    SAID = "checked and approved the {kind:words} of {bank_ref} ({amount:inr})"
    approval_id: str
    kind: str
    bank_ref: str
    amount: int
    maker: str


@dataclass(frozen=True)
class CounterCheckRejected(CounterCheckApproved):
    ACTION = "counter.reject"
    SAID = "checked and rejected the {kind:words} of {bank_ref} ({amount:inr})"


@dataclass(frozen=True)
class StatementLinesImported(Event):
    """A chunk of a bank statement's lines recorded as receipts."""

    ACTION, ENTITY = "receipt.import_statement", "statement"
    DID = "imported lines of"
    SAID = (
        "recorded {count:receipt} worth {amount:inr} from rows {first_line} to {last_line}"
        " of a bank statement"
    )
    statement: str
    first_line: int
    last_line: int
    count: int
    amount: int


# -- loans ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoanApplied(Event):
    ACTION, ENTITY = "loan.apply", "loan"
    SAID = "applied for a loan of {amount:inr} over {tenure_months:month}{for_member}"
    loan_id: str
    member_id: str
    amount: int
    tenure_months: int


@dataclass(frozen=True)
class LoanScored(Event):
    ACTION, ENTITY = "loan.score", "loan"
    SAID = "scored {thing}: {score} points, {eligibility:words}"
    loan_id: str
    score: int
    eligibility: str


@dataclass(frozen=True)
class LoanRecommended(Event):
    ACTION, ENTITY = "loan.recommend", "loan"
    SAID = "recommended {thing} for approval"
    loan_id: str
    by: str


@dataclass(frozen=True)
class LoanRejected(LoanRecommended):
    ACTION = "loan.reject"
    SAID = "rejected {thing}"


@dataclass(frozen=True)
class LoanApproved(Event):
    ACTION, ENTITY = "loan.approve", "loan"
    SAID = "approved {thing} for {amount:inr}"
    loan_id: str
    amount: int
    bankers: dict[str, Any]


@dataclass(frozen=True)
class LoanDisbursed(Event):
    ACTION, ENTITY = "loan.disburse", "loan"
    SAID = "paid out {thing}: {amount:inr}"
    loan_id: str
    member_id: str
    amount: int
    txn_id: str
    bankers: dict[str, Any]


@dataclass(frozen=True)
class EmiReceived(Event):
    ACTION, ENTITY = "loan.emi", "loan"
    SAID = "recorded an EMI of {amount:inr} for {thing}"
    loan_id: str
    bank_ref: str
    amount: int
    principal: int
    interest: int


@dataclass(frozen=True)
class DaysPastDueRefreshed(Event):
    ACTION, ENTITY = "loan.refresh_dpd", "portfolio"
    SAID = "counted the days past due of every loan ({changed:loan} changed)"
    as_of: str
    changed: int


# -- member sign-in ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeRequested(Event):
    ACTION, ENTITY = "otp.request", "member"
    SAID = "A web sign-in code was sent to {thing}"
    member_id: str


@dataclass(frozen=True)
class CodeIssued(Event):
    """Staff issued a member a sign-in code (texted, or handed over in person)."""

    ACTION, ENTITY = "otp.issue", "member"
    SAID = "issued a web sign-in code to {member} ({how})"
    member_id: str
    by: str
    how: str


@dataclass(frozen=True)
class MemberSignedIn(Event):
    ACTION, ENTITY = "member.sign_in", "member"
    SAID = "{thing} signed in to the web view"
    member_id: str


# -- recovery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CasesSwept(Event):
    ACTION, ENTITY = "recovery.sweep", "recovery"
    SAID = "ran the daily recovery sweep: {opened:case} opened, {resolved:case} resolved"
    as_of: str
    opened: list[str]
    updated: int
    resolved: list[str]


@dataclass(frozen=True)
class CaseMoved(Event):
    ACTION, ENTITY = "recovery.move", "recovery_case"
    SAID = "moved the recovery case of {member} from {from:words} to {to:words}"
    case_id: str
    member_id: str
    from_: str
    to: str
    overdue: int


@dataclass(frozen=True)
class CaseWrittenOff(CaseMoved):
    ACTION = "recovery.write_off"
    SAID = "wrote off the recovery case of {member} ({overdue:inr} overdue)"


@dataclass(frozen=True)
class WriteOffRequested(Event):
    ACTION, ENTITY = "recovery.write_off_request", "recovery_case"
    SAID = "asked a second person to write off {thing}"
    case_id: str


@dataclass(frozen=True)
class NoticeSent(Event):
    ACTION, ENTITY = "recovery.notice_sent", "recovery_case"
    SAID = "sent the written notice of {thing} on {sent_on:day}"
    case_id: str
    sent_on: str


# -- events said in a sentence of their own ------------------------------------------------


@dataclass(frozen=True)
class FirstAdminSetUp(Event):
    ACTION, ENTITY = "staff.setup", "staff"
    SAID = "set up this data folder as its first admin"


@dataclass(frozen=True)
class SignInAttemptCounted(Event):
    ACTION, ENTITY = "staff.sign_in_attempt", "staff_signin"
    SAID = "A desktop sign-in as {id} was tried"
    """Written before each sign-in by earlier versions; now a failure is
    :class:`StaffSignInFailed` and a success :class:`StaffSignedIn`."""


# -- staff accounts and sign-in ---------------------------------------------------------------


@dataclass(frozen=True)
class StaffCreated(Event):
    ACTION, ENTITY = "staff.create", "staff"
    SAID = "created a staff account for {thing} ({role})"
    role: str


@dataclass(frozen=True)
class StaffDisabled(Event):
    ACTION, ENTITY = "staff.disable", "staff"
    SAID = "disabled the staff account of {thing}"


@dataclass(frozen=True)
class StaffEnabled(Event):
    ACTION, ENTITY = "staff.enable", "staff"
    SAID = "enabled the staff account of {thing}"


@dataclass(frozen=True)
class StaffRoleChanged(Event):
    ACTION, ENTITY = "staff.change_role", "staff"
    SAID = "made {thing} {role:article}"
    role: str


@dataclass(frozen=True)
class PasswordSet(Event):
    """A new password (every session of the account ended with it)."""

    ACTION, ENTITY = "staff.set_password", "staff"
    SAID = "set a new password for {thing}"


@dataclass(frozen=True)
class StaffSignedIn(Event):
    ACTION, ENTITY = "staff.sign_in", "staff"
    SAID = "signed in to the desktop"


@dataclass(frozen=True)
class StaffSignedOut(Event):
    ACTION, ENTITY = "staff.sign_out", "staff"
    SAID = "signed out of the desktop"


@dataclass(frozen=True)
class StaffSignInFailed(Event):
    """A desktop sign-in refused (the record's entity is the username tried)."""

    ACTION, ENTITY = "staff.sign_in_failed", "staff_signin"
    SAID = "A desktop sign-in as {id} failed ({why}; {failures:failure} in a row)"
    FAILED = True
    failures: int
    why: str


@dataclass(frozen=True)
class WrongCodeEntered(Event):
    """A member's web sign-in with a wrong code (the entity is the member, or the phone
    number's key when it is no member's)."""

    ACTION, ENTITY = "otp.wrong_code", "member"
    SAID = "A web sign-in of {thing} failed: wrong code"
    FAILED = True


@dataclass(frozen=True)
class MemberSignedOut(Event):
    ACTION, ENTITY = "member.sign_out", "member"
    SAID = "{thing} signed out of the web view"


# -- reports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportExported(Event):
    """A report was exported (a PDF written or handed out): which one, with which
    parameters, as of which log record, and the SHA-256 of the file, so the copy an
    auditor holds can be matched to this record. The record's entity id is the kind."""

    ACTION, ENTITY = "report.export", "report"
    SAID = "exported the {id} report"
    kind: str
    params: dict[str, str]
    lsn: int
    head_hash: str
    sha256: str
    bytes: int
    pages: int
    via: str
