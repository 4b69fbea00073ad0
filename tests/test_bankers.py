"""The Banker's check: hand examples, and exact agreement with a search over all orders."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.kernel.bankers import (
    BankState,
    Commitment,
    is_safe,
    release,
    request,
)
from app.kernel.errors import Conflict, NotFound, ValidationError
from app.kernel.inr import format_inr

LAKH = 100_000 * 100


def textbook_state() -> BankState:
    """Silberschatz's five processes over resources A, B, C (snapshot at T0)."""
    maxima = [(7, 5, 3), (3, 2, 2), (9, 0, 2), (2, 2, 2), (4, 3, 3)]
    held = [(0, 1, 0), (2, 0, 0), (3, 0, 2), (2, 1, 1), (0, 0, 2)]
    commitments = tuple(
        Commitment(f"P{i}", dict(zip("ABC", m, strict=True)), dict(zip("ABC", h, strict=True)))
        for i, (m, h) in enumerate(zip(maxima, held, strict=True))
    )
    return BankState({"A": 3, "B": 3, "C": 2}, commitments)


def valid_order(state: BankState, order: Sequence[str]) -> bool:
    """Can the commitments finish one after another in ``order``?"""
    work = dict(state.available)
    by_id = {c.id: c for c in state.commitments}
    for cid in order:
        commitment = by_id[cid]
        if any(commitment.need(p) > work[p] for p in work):
            return False
        for pool, amount in commitment.held.items():
            work[pool] += amount
    return sorted(order) == sorted(by_id)


def brute_force_safe(state: BankState) -> bool:
    ids = [c.id for c in state.commitments]
    return any(valid_order(state, order) for order in itertools.permutations(ids))


def closure_work(state: BankState) -> tuple[set[str], dict[str, int]]:
    """The textbook loop: finish whatever can finish until nothing changes."""
    work = dict(state.available)
    done: set[str] = set()
    progress = True
    while progress:
        progress = False
        for c in state.commitments:
            if c.id not in done and all(c.need(p) <= work[p] for p in work):
                done.add(c.id)
                for pool, amount in c.held.items():
                    work[pool] += amount
                progress = True
    return done, work


def test_rupees_use_indian_grouping() -> None:
    assert format_inr(0) == "₹0.00"
    assert format_inr(5) == "₹0.05"
    assert format_inr(99_999) == "₹999.99"
    assert format_inr(100_000) == "₹1,000.00"
    assert format_inr(5 * LAKH) == "₹5,00,000.00"
    assert format_inr(1_234_567_890_123) == "₹12,34,56,78,901.23"
    assert format_inr(-150) == "-₹1.50"


def test_textbook_state_is_safe_with_a_valid_sequence() -> None:
    state = textbook_state()
    result = is_safe(state)
    assert result.safe
    assert result.blocked == ()
    assert valid_order(state, result.sequence)
    assert result.reason.startswith("safe: all 5 commitments can finish in the order ")


def test_textbook_requests() -> None:
    state = textbook_state()
    first = request(state, "P1", {"A": 1, "C": 2})
    assert first.granted and first.new_state is not None
    after = first.new_state
    assert dict(after.available) == {"A": 2, "B": 3, "C": 0}
    assert valid_order(after, first.sequence)

    too_much = request(after, "P4", {"A": 3, "B": 3})
    assert (too_much.granted, too_much.code, too_much.pool) == (False, "exceeds_available", "A")

    unsafe = request(after, "P0", {"B": 2})
    assert (unsafe.granted, unsafe.code) == (False, "unsafe")
    assert unsafe.new_state is None
    assert {b.commitment_id for b in unsafe.blocked} == {"P0", "P1", "P2", "P3", "P4"}


def pools_state() -> BankState:
    return BankState(
        {"group-G3": 1 * LAKH, "lending": 50_000 * 100},
        (
            Commitment("loan-17", {"group-G3": 2 * LAKH}, {}),
            Commitment("prize-5", {"group-G3": 50_000 * 100}, {"group-G3": 30_000 * 100}),
            Commitment("loan-9", {"lending": 40_000 * 100}, {"lending": 10_000 * 100}),
        ),
    )


def test_unsafe_state_names_the_pool_and_the_shortfall() -> None:
    result = is_safe(pools_state())
    assert not result.safe and result.sequence == []
    [blocked] = result.blocked
    [shortfall] = blocked.shortfalls
    assert (shortfall.commitment_id, shortfall.pool) == ("loan-17", "group-G3")
    assert (shortfall.need, shortfall.reachable, shortfall.short) == (
        2 * LAKH,
        130_000 * 100,
        70_000 * 100,
    )
    assert result.reason == (
        "unsafe: commitment loan-17 needs ₹2,00,000.00 more from pool group-G3 "
        "but at most ₹1,30,000.00 can become available"
    )


def test_grant_that_would_strand_another_commitment_is_refused() -> None:
    state = BankState(
        {"group-G1": 5_000},
        (
            Commitment("prize-1", {"group-G1": 10_000}, {}),
            Commitment("loan-2", {"group-G1": 10_000}, {"group-G1": 5_000}),
        ),
    )
    assert is_safe(state).sequence == ["loan-2", "prize-1"]
    decision = request(state, "prize-1", {"group-G1": 1_000})
    assert (decision.granted, decision.code) == (False, "unsafe")
    assert decision.to_json()["blocked"] == [
        {"commitment": "prize-1", "pool": "group-G1", "need": 9_000, "reachable": 4_000},
        {"commitment": "loan-2", "pool": "group-G1", "need": 5_000, "reachable": 4_000},
    ]
    assert decision.reason == (
        "refused ₹10.00 to prize-1: the state would become unsafe: commitment prize-1 needs "
        "₹90.00 more from pool group-G1 but at most ₹40.00 can become available; "
        "1 other commitment(s) cannot finish either"
    )
    assert isinstance(decision.error(), Conflict)
    assert request(state, "loan-2", {"group-G1": 5_000}).granted


@pytest.mark.parametrize(
    ("cid", "amounts", "code", "pool", "error"),
    [
        ("loan-404", {"lending": 1}, "unknown_commitment", None, NotFound),
        ("loan-9", {"nowhere": 1}, "unknown_pool", "nowhere", ValidationError),
        ("loan-9", {"lending": -5}, "negative_amount", "lending", ValidationError),
        ("loan-9", {"lending": 1.5}, "invalid_amount", "lending", ValidationError),
        ("loan-9", {"lending": 0}, "empty_request", None, ValidationError),
        ("loan-9", {}, "empty_request", None, ValidationError),
        ("loan-9", {"lending": 30_000 * 100 + 1}, "exceeds_need", "lending", Conflict),
        ("loan-17", {"group-G3": 1 * LAKH + 1}, "exceeds_available", "group-G3", Conflict),
    ],
)
def test_bad_requests_are_refused_with_a_reason(
    cid: str, amounts: Mapping[str, int], code: str, pool: str | None, error: type
) -> None:
    decision = request(pools_state(), cid, amounts)
    assert (decision.granted, decision.code, decision.pool) == (False, code, pool)
    assert decision.reason.startswith("refused")
    if pool is not None:
        assert pool in decision.reason
    assert isinstance(decision.error(), error)


def test_exceeding_need_names_the_pool_and_the_remaining_need() -> None:
    decision = request(pools_state(), "loan-9", {"lending": 40_000 * 100})
    assert decision.reason == (
        "refused: loan-9 asks ₹40,000.00 from pool lending but its remaining need there is "
        "₹30,000.00"
    )


def test_decision_record_is_plain_json_of_ids_and_paise() -> None:
    decision = request(textbook_state(), "P1", {"A": 1, "C": 2})
    record = decision.to_json()
    assert json.loads(json.dumps(record)) == record
    assert set(record) == {"granted", "code", "commitment", "amounts", "reason", "sequence"}
    assert (record["granted"], record["code"], record["commitment"]) == (True, "granted", "P1")
    assert record["amounts"] == {"A": 1, "C": 2}
    assert record["sequence"] == decision.sequence


@pytest.mark.parametrize(
    ("available", "commitments", "message"),
    [
        ({"p": 1}, (Commitment("a", {"q": 1}, {}),), "refers to pool q"),
        ({"p": 1}, (Commitment("a", {}, {}), Commitment("a", {}, {})), "appears twice"),
        ({"p": -1}, (), "negative"),
        ({"p": 1.0}, (), "whole number of paise"),
    ],
)
def test_invalid_states_are_rejected(
    available: dict[str, int], commitments: tuple[Commitment, ...], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        BankState(available, commitments)


def test_holding_more_than_the_claim_is_rejected() -> None:
    with pytest.raises(ValidationError, match=r"holds ₹2\.00 from pool p"):
        Commitment("a", {"p": 100}, {"p": 200})


def test_release_returns_what_was_held() -> None:
    state = release(pools_state(), ["prize-5"])
    assert state.available["group-G3"] == 130_000 * 100
    assert [c.id for c in state.commitments] == ["loan-17", "loan-9"]
    with pytest.raises(NotFound):
        release(state, ["prize-5"])


def test_state_is_immutable() -> None:
    amounts = {"p": 5}
    state = BankState(amounts, ())
    amounts["p"] = 0
    assert state.available["p"] == 5


@st.composite
def small_states(draw: st.DrawFn, max_commitments: int = 6) -> BankState:
    pools = [f"g{i}" for i in range(draw(st.integers(1, 3)))]
    amount = st.integers(0, 8)
    commitments = []
    for i in range(draw(st.integers(0, max_commitments))):
        claim = {p: draw(amount) for p in pools}
        held = {p: draw(st.integers(0, claim[p])) for p in pools}
        commitments.append(Commitment(f"c{i}", claim, held))
    return BankState({p: draw(amount) for p in pools}, tuple(commitments))


@settings(max_examples=400, deadline=None)
@given(small_states())
def test_is_safe_agrees_with_search_over_all_orders(state: BankState) -> None:
    result = is_safe(state)
    assert result.safe == brute_force_safe(state)
    if result.safe:
        assert valid_order(state, result.sequence)
        return
    done, work = closure_work(state)
    assert {b.commitment_id for b in result.blocked} == {c.id for c in state.commitments} - done
    for blocked in result.blocked:
        commitment = state.commitment(blocked.commitment_id)
        assert commitment is not None
        expected = {p for p in work if commitment.need(p) > work[p]}
        assert {s.pool for s in blocked.shortfalls} == expected
        assert all(s.reachable == work[s.pool] for s in blocked.shortfalls)


@settings(max_examples=400, deadline=None)
@given(small_states(), st.data())
def test_request_grants_exactly_when_the_result_is_safe(
    state: BankState, data: st.DataObject
) -> None:
    if not state.commitments:
        return
    commitment = data.draw(st.sampled_from(state.commitments))
    amounts = {p: data.draw(st.integers(0, 4)) for p in state.available}
    decision = request(state, commitment.id, amounts)
    fits = all(
        a <= commitment.need(p) and a <= state.available[p] for p, a in amounts.items()
    ) and any(amounts.values())
    if not fits:
        assert not decision.granted and decision.code != "unsafe"
        return
    after = dict(commitment.held)
    for pool, amount in amounts.items():
        after[pool] = after.get(pool, 0) + amount
    expected = BankState(
        {p: state.available[p] - amounts[p] for p in state.available},
        tuple(
            Commitment(c.id, c.max_claim, after) if c.id == commitment.id else c
            for c in state.commitments
        ),
    )
    assert decision.granted == brute_force_safe(expected)
    if decision.granted:
        assert decision.new_state == expected
        assert valid_order(expected, decision.sequence)


@pytest.mark.parametrize("seed", range(20))
def test_larger_states_agree_with_the_textbook_loop(seed: int) -> None:
    rng = random.Random(seed)
    pools = [f"g{i}" for i in range(rng.randint(2, 8))]
    commitments = []
    for i in range(rng.randint(20, 80)):
        touched = rng.sample(pools, rng.randint(1, min(3, len(pools))))
        claim = {p: rng.randint(0, 500) for p in touched}
        commitments.append(
            Commitment(f"c{i}", claim, {p: rng.randint(0, claim[p]) for p in touched})
        )
    state = BankState({p: rng.randint(0, 400) for p in pools}, tuple(commitments))
    result = is_safe(state)
    done, _ = closure_work(state)
    assert result.safe == (len(done) == len(commitments))
    assert set(result.sequence) == (done if result.safe else set())
    if result.safe:
        assert valid_order(state, result.sequence)
