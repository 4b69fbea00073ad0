"""Domain events: what each change to the books means, one small dataclass per kind.

Every change a service writes says what happened as an event. Its class is the one
definition three readers share:

* the WAL record: the class's ``ACTION`` is the record's action (the action *is* the
  event's type) and its fields are the record's ``change.event``
  (``{"type": ACTION, **fields}``, :meth:`Event.to_json`);
* the activity feed's wording: ``DID`` ("approved", "placed a bid in"), or ``SAID``
  for an event told in a sentence of its own (:func:`wording`);
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


@dataclass(frozen=True)
class Event:
    """One kind of change (see module docstring). Subclasses set ``ACTION`` and
    ``ENTITY`` (the type of thing changed), and ``DID`` or ``SAID`` when the verb's past
    tense does not say it."""

    ACTION: ClassVar[str] = ""
    ENTITY: ClassVar[str] = ""
    DID: ClassVar[str] = ""
    SAID: ClassVar[str] = ""

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
    member_id: str


@dataclass(frozen=True)
class GroupCreated(Event):
    ACTION, ENTITY = "group.create", "group"
    group_id: str
    gross: int


@dataclass(frozen=True)
class TicketEnrolled(Event):
    ACTION, ENTITY = "ticket.enroll", "ticket"
    group_id: str
    ticket_id: str


@dataclass(frozen=True)
class GroupStarted(Event):
    ACTION, ENTITY = "group.start", "group"
    group_id: str


@dataclass(frozen=True)
class AgreementSigned(Event):
    ACTION, ENTITY = "agreement.sign", "agreement"
    group_id: str
    member_id: str
    signed_at: str
    text_sha256: str


# -- KYC ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KycSubmitted(Event):
    ACTION, ENTITY = "kyc.submit", "kyc"
    member_id: str
    documents: list[dict[str, Any]]


@dataclass(frozen=True)
class KycApproved(Event):
    ACTION, ENTITY = "kyc.approve", "kyc"
    member_ids: list[str]
    count: int


@dataclass(frozen=True)
class KycRejected(KycApproved):
    ACTION = "kyc.reject"


@dataclass(frozen=True)
class KycRevealed(Event):
    ACTION, ENTITY = "kyc.reveal", "kyc"
    member_id: str
    field: str


# -- auctions and payouts ---------------------------------------------------------------------


@dataclass(frozen=True)
class AuctionOpened(Event):
    ACTION, ENTITY = "auction.open", "auction"
    auction_id: str
    group_id: str
    period: int
    seed_hash: str
    ends_at: str


@dataclass(frozen=True)
class AuctionResumed(Event):
    ACTION, ENTITY = "auction.resume", "auction"
    auction_id: str
    by: str


@dataclass(frozen=True)
class BidPlaced(Event):
    """Also what the bidder's websocket acknowledgement says."""

    ACTION, ENTITY = "auction.bid", "auction"
    auction_id: str
    alias: str
    discount: int
    ends_at: str
    extended: bool


@dataclass(frozen=True)
class AuctionClosed(Event):
    ACTION, ENTITY = "auction.close", "auction"
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


@dataclass(frozen=True)
class BankersRefused(Event):
    """A disbursement or payout the Banker's gate refused (the record's entity is the
    loan or payout it was about)."""

    ACTION = "bankers.refuse"
    decision: dict[str, Any]


@dataclass(frozen=True)
class PayoutReleased(Event):
    ACTION, ENTITY = "payout.release", "payout"
    payout_id: str
    group_id: str
    member_id: str
    paid: int
    deducted: int
    bankers: dict[str, Any]


@dataclass(frozen=True)
class PayoutSecured(Event):
    ACTION, ENTITY = "payout.security", "payout"
    payout_id: str
    held: int
    required: int


@dataclass(frozen=True)
class FutureInstalmentsDeducted(Event):
    ACTION, ENTITY = "payout.deduct_future", "payout"
    payout_id: str
    deducted: int


# -- ledger -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapitalAdded(Event):
    ACTION, ENTITY = "capital.add", "ledger_txn"
    txn_id: str
    amount: int


@dataclass(frozen=True)
class ReceiptRecorded(Event):
    ACTION, ENTITY = "receipt.record", "receipt"
    bank_ref: str
    group_id: str
    period: int
    member_id: str
    amount: int


@dataclass(frozen=True)
class ReceiptsImported(Event):
    ACTION, ENTITY = "receipt.import", "receipt"
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
    approval_id: str
    kind: str
    bank_ref: str
    amount: int
    maker: str


@dataclass(frozen=True)
class CounterCheckRejected(CounterCheckApproved):
    ACTION = "counter.reject"


@dataclass(frozen=True)
class StatementLinesImported(Event):
    """A chunk of a bank statement's lines recorded as receipts."""

    ACTION, ENTITY = "receipt.import_statement", "statement"
    DID = "imported lines of"
    statement: str
    first_line: int
    last_line: int
    count: int
    amount: int


# -- loans ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoanApplied(Event):
    ACTION, ENTITY = "loan.apply", "loan"
    loan_id: str
    member_id: str
    amount: int
    tenure_months: int


@dataclass(frozen=True)
class LoanScored(Event):
    ACTION, ENTITY = "loan.score", "loan"
    loan_id: str
    score: int
    eligibility: str


@dataclass(frozen=True)
class LoanRecommended(Event):
    ACTION, ENTITY = "loan.recommend", "loan"
    loan_id: str
    by: str


@dataclass(frozen=True)
class LoanRejected(LoanRecommended):
    ACTION = "loan.reject"


@dataclass(frozen=True)
class LoanApproved(Event):
    ACTION, ENTITY = "loan.approve", "loan"
    loan_id: str
    amount: int
    bankers: dict[str, Any]


@dataclass(frozen=True)
class LoanDisbursed(Event):
    ACTION, ENTITY = "loan.disburse", "loan"
    loan_id: str
    member_id: str
    amount: int
    txn_id: str
    bankers: dict[str, Any]


@dataclass(frozen=True)
class EmiReceived(Event):
    ACTION, ENTITY = "loan.emi", "loan"
    loan_id: str
    bank_ref: str
    amount: int
    principal: int
    interest: int


@dataclass(frozen=True)
class DaysPastDueRefreshed(Event):
    ACTION, ENTITY = "loan.refresh_dpd", "portfolio"
    as_of: str
    changed: int


# -- member sign-in ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeRequested(Event):
    ACTION, ENTITY = "otp.request", "member"
    member_id: str


@dataclass(frozen=True)
class CodeIssued(Event):
    """Staff issued a member a sign-in code (texted, or handed over in person)."""

    ACTION, ENTITY = "otp.issue", "member"
    member_id: str
    by: str
    how: str


@dataclass(frozen=True)
class MemberSignedIn(Event):
    ACTION, ENTITY = "member.sign_in", "member"
    member_id: str


# -- recovery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CasesSwept(Event):
    ACTION, ENTITY = "recovery.sweep", "recovery"
    as_of: str
    opened: list[str]
    updated: int
    resolved: list[str]


@dataclass(frozen=True)
class CaseMoved(Event):
    ACTION, ENTITY = "recovery.move", "recovery_case"
    case_id: str
    member_id: str
    from_: str
    to: str
    overdue: int


@dataclass(frozen=True)
class CaseWrittenOff(CaseMoved):
    ACTION = "recovery.write_off"


@dataclass(frozen=True)
class WriteOffRequested(Event):
    ACTION, ENTITY = "recovery.write_off_request", "recovery_case"
    case_id: str


@dataclass(frozen=True)
class NoticeSent(Event):
    ACTION, ENTITY = "recovery.notice_sent", "recovery_case"
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
    SAID = "counted a sign-in attempt for {id}"
