"""Change topics: subscribers hear about commits to the collections behind their topics,
from this process and from another one, and nothing after they close."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.services import topics
from app.services.context import ServiceContext
from app.services.members import MemberService
from app.services.store import Change, DocumentStore, Listener
from app.services.topics import Topics, reads, topics_of
from tests.builders import ADMIN

ROOT = Path(__file__).resolve().parents[1]
WAIT = 10.0


@pytest.fixture
def hub(ctx: ServiceContext) -> Iterator[Topics]:
    made = Topics(ctx.store)
    yield made
    made.close()


def heard(hub: Topics, *names: str) -> queue.Queue[frozenset[str]]:
    """A queue receiving each callback's changed topics; primed (the store listeners
    have delivered their initial results) before it is returned."""
    calls: queue.Queue[frozenset[str]] = queue.Queue()
    hub.subscribe(names, calls.put)
    deadline = time.monotonic() + WAIT
    while not all(w.primed for w in hub._watches.values()):
        assert time.monotonic() < deadline, "the store listeners never delivered"
        time.sleep(0.01)
    return calls


def test_a_commit_tells_the_subscribers_of_its_topics_only(
    ctx: ServiceContext, hub: Topics
) -> None:
    kyc = heard(hub, topics.KYC, topics.LOANS)
    staff = heard(hub, topics.STAFF)
    MemberService(ctx).enroll(ADMIN, "Lakshmi Devi", "9876543210")
    assert kyc.get(timeout=WAIT) == {topics.KYC}
    with pytest.raises(queue.Empty):
        staff.get(timeout=0.5)


def test_the_initial_result_of_a_listener_is_not_a_change(ctx: ServiceContext, hub: Topics) -> None:
    MemberService(ctx).enroll(ADMIN, "Lakshmi Devi", "9876543210")
    members = heard(hub, topics.MEMBERS)
    with pytest.raises(queue.Empty):
        members.get(timeout=0.5)


def test_nothing_arrives_after_close_and_the_listener_is_released(
    ctx: ServiceContext, hub: Topics
) -> None:
    calls: queue.Queue[frozenset[str]] = queue.Queue()
    sub = hub.subscribe([topics.MEMBERS], calls.put)
    assert "members" in hub._watches
    sub.close()
    assert hub._watches == {}
    MemberService(ctx).enroll(ADMIN, "Lakshmi Devi", "9876543210")
    with pytest.raises(queue.Empty):
        calls.get(timeout=0.5)


def test_subscribers_share_one_listener_per_collection(hub: Topics) -> None:
    first = hub.subscribe([topics.KYC], lambda _: None)
    second = hub.subscribe([topics.MEMBERS], lambda _: None)
    assert hub._watches["members"].users == 2
    first.close()
    assert hub._watches["members"].users == 1 and "kyc" not in hub._watches
    second.close()


def test_a_failing_subscriber_stays_subscribed(ctx: ServiceContext, hub: Topics) -> None:
    calls: queue.Queue[frozenset[str]] = queue.Queue()

    def flaky(changed: frozenset[str]) -> None:
        calls.put(changed)
        raise RuntimeError("a bug in a subscriber")

    hub.subscribe([topics.MEMBERS], flaky)
    members = MemberService(ctx)
    members.enroll(ADMIN, "Lakshmi Devi", "9876543210")
    assert calls.get(timeout=WAIT) == {topics.MEMBERS}
    members.enroll(ADMIN, "Arun Kumar", "9123456789")
    assert calls.get(timeout=WAIT) == {topics.MEMBERS}


CHILD = """
import sys
from pathlib import Path
from app.services.context import close_context, make_context
from app.services.members import MemberService
from tests.builders import ADMIN

ctx = make_context(Path(sys.argv[1]))
try:
    MemberService(ctx).enroll(ADMIN, "Arun Kumar", "9123456789")
finally:
    close_context(ctx)
"""


def test_a_commit_by_another_process_arrives(ctx: ServiceContext, hub: Topics) -> None:
    kyc = heard(hub, topics.KYC)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(ctx.data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.returncode == 0, child.stderr
    assert kyc.get(timeout=WAIT) == {topics.KYC}


def test_read_models_name_their_topics_and_typos_are_refused() -> None:
    @reads(topics.LEDGER, topics.GROUPS)
    def books() -> None: ...

    assert topics_of(books) == {topics.LEDGER, topics.GROUPS}
    with pytest.raises(ValueError, match="unknown topic"):
        reads("ledgers")
    with pytest.raises(TypeError, match="does not name its topics"):
        topics_of(lambda: None)


def test_every_collection_that_a_topic_needs_is_mapped() -> None:
    for name in topics.ALL:
        assert topics.collections_of([name]), name


class LateFirstSnapshot:
    """The real store, whose listeners start (and read their initial result) only when
    told: the moment between subscribing and that first read, made as long as a test
    needs."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self.release = threading.Event()
        self.started: list[Listener] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def watch(self, target: Any, callback: Callable[[list[Change]], None]) -> Listener:
        def start() -> None:
            self.release.wait(WAIT)
            self.started.append(self.store.watch(target, callback))

        threading.Thread(target=start, daemon=True).start()
        return self

    def unsubscribe(self) -> None:
        for listener in self.started:
            listener.unsubscribe()


def test_a_commit_before_the_initial_result_is_still_told(ctx: ServiceContext) -> None:
    late = LateFirstSnapshot(ctx.store)
    hub = Topics(late)  # type: ignore[arg-type]
    calls: queue.Queue[frozenset[str]] = queue.Queue()
    try:
        hub.subscribe([topics.MEMBERS], calls.put)
        MemberService(ctx).enroll(ADMIN, "Lakshmi Devi", "9876543210")
        late.release.set()
        assert calls.get(timeout=WAIT) == {topics.MEMBERS}
    finally:
        hub.close()
