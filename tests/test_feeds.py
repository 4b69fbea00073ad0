"""Feeds: the live lists web clients follow, defined by the services that own the data.
The first callback is the list now; later ones are its changes, from any commit."""

from __future__ import annotations

import queue
from collections.abc import Iterator

import pytest

from app.services.context import ServiceContext
from app.services.feeds import Change, Feeds, Listener
from app.services.gate import BankersGate
from app.services.ledger import LedgerService
from app.services.loans import LoanService
from tests.lending import LAKH, RAVI, add_member

WAIT = 10.0


@pytest.fixture
def followed() -> Iterator[list[Listener]]:
    listeners: list[Listener] = []
    yield listeners
    for listener in listeners:
        listener.unsubscribe()


def test_a_members_loans_feed_starts_with_the_list_then_follows_it(
    ctx: ServiceContext, followed: list[Listener]
) -> None:
    loans = LoanService(ctx, gate=BankersGate(ctx, ledger=LedgerService(ctx)))
    priya = add_member(ctx, "Priya Raman", "9876500001")
    arun = add_member(ctx, "Arun Kumar", "9876500002")
    first = loans.apply(RAVI, priya, LAKH, 12, "Working capital")
    calls: queue.Queue[list[Change]] = queue.Queue()
    followed.append(Feeds(ctx.store).follow(loans.member_feed(priya), calls.put))
    assert [(c.kind, c.document.id) for c in calls.get(timeout=WAIT)] == [("added", first)]
    loans.apply(RAVI, arun, LAKH, 12, "Someone else's loan")
    second = loans.apply(RAVI, priya, 2 * LAKH, 24, "A second shop")
    assert [(c.kind, c.document.id) for c in calls.get(timeout=WAIT)] == [("added", second)]
    assert calls.empty()


def test_equal_feeds_have_equal_keys(ctx: ServiceContext) -> None:
    loans = LoanService(ctx, gate=BankersGate(ctx, ledger=LedgerService(ctx)))
    assert loans.member_feed("m-1").key == loans.member_feed("m-1").key
    assert loans.member_feed("m-1").key != loans.member_feed("m-2").key
