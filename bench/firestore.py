"""Firestore benchmark, on the gcloud emulator: commits with the log in Firestore, and
listeners across processes.

Run from the repository root::

    PYTHONPATH=. python bench/firestore.py [--quick] [--only NAME ...]

It uses the emulator named by FIRESTORE_EMULATOR_HOST, or starts its own. Every
measure runs in a project of its own, for ``--seconds`` (quick: 4 s, else 12 s).

(a) bare: a loop of Firestore transactions, one writer: read the head document, write
    a record, write the head. The baseline every ratio divides by.
(b) ours_1: ``Pipeline.commit`` with one writer thread, the log in Firestore: one
    change set (a document of the size of a loan application) becomes one conditional
    Firestore commit that creates its record, writes the document and advances the head,
    and the record is appended to the data directory's mirror (fdatasync). (a) and (b)
    run in alternating rounds (measure ``single``); ``commit_ratio`` is the median of
    the rounds' ratios.
(c) ours_8: the same with 8 threads in one process: the process's one writer sends
    what they queue meanwhile as one Firestore commit (group commit); ``batched_ratio``
    = ours_8 / bare. ours_8_hot: 8 threads running transactions that all read and
    rewrite one document (every commit races the others: the pipeline's retries show).
(d) ours_2proc: 2 processes of 4 threads each, on two data directories of one project
    (their writers race for the head).
(e) listener: a commit through the pipeline in another process until this process's
    store listener has it, at 20 commits a second (p50/p99: ``listener_p99_ms``) and in
    back-to-back bursts of 100.

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.cloud import firestore

from app.services.actors import Actor
from app.services.context import ServiceContext, close_context, make_context
from app.services.pipeline import ChangeSet, Reader
from app.services.store.firestore import FirestoreStore
from app.services.store.firestore_client import EMULATOR_ENV, connect
from app.services.store.port import Change, Write
from tests.firestore_emulator import Emulator
from tests.offices import give_key

ROOT = Path(__file__).resolve().parents[1]
ACTOR = Actor("staff-0042", "Asha Rao", "employee")
LOAN = {
    "amount": 5_000_000, "tenure_months": 12, "rate_bps": 2400, "emi": 472_798,
    "purpose": "Stock for the shop before Diwali", "member_id": "mem-3f9a1c2b07",
    "status": "submitted", "applied_at": "2026-11-24T10:30:00+05:30",
}  # fmt: skip
KEY = os.urandom(32)


@dataclass
class Run:
    seconds: float
    quick: bool


def project() -> str:
    return "bench-" + uuid.uuid4().hex[:12]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def latency(name: str, latencies: list[float]) -> dict[str, Any]:
    return {
        f"{name}_p50_ms": round(percentile(latencies, 0.5) * 1000, 2),
        f"{name}_p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
    }


def rate(name: str, count: int, seconds: float, latencies: list[float]) -> dict[str, Any]:
    return {f"{name}_per_s": round(count / seconds, 1)} | latency(name, latencies)


def timed_loop(seconds: float, step: Callable[[int], None]) -> tuple[int, list[float]]:
    """Call ``step(n)`` for ``seconds``; the count and each call's latency."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        step(n)
        latencies.append(time.perf_counter() - started)
        n += 1
    return n, latencies


@contextmanager
def office(project_id: str) -> Iterator[ServiceContext]:
    """A data directory on ``project_id`` (the log in Firestore, the mirror here)."""
    with tempfile.TemporaryDirectory() as tmp:
        data = give_key(Path(tmp) / "data", KEY)
        ctx = make_context(data, store=FirestoreStore.open(project_id))
        try:
            yield ctx
        finally:
            close_context(ctx)


# -- (a) the bare transaction loop ----------------------------------------------------------


def bare_loop(seconds: float) -> tuple[int, list[float]]:
    conn = connect(project())
    client = conn.client
    head = client.collection("bench").document("head")
    records = client.collection("bench_records")
    record = {"body": json.dumps(LOAN), "hash": "0" * 64}

    @firestore.transactional
    def step(tx: Any, n: int) -> None:
        snap = head.get(transaction=tx)
        lsn = (snap.get("lsn") if snap.exists else 0) + 1
        tx.set(records.document(f"{lsn:012d}"), record)
        tx.set(head, {"lsn": lsn})

    try:
        return timed_loop(seconds, lambda n: step(client.transaction(), n))
    finally:
        conn.close()


# -- (b), (c), (d) our commits ----------------------------------------------------------------


def commit(ctx: ServiceContext, writer: str, n: int) -> None:
    doc_id = f"{writer}-{n}"
    write = Write("set", "loans", doc_id, {**LOAN, "n": n})
    ctx.pipeline.commit(ACTOR, ChangeSet("loan.apply", "loan", doc_id, [write], LOAN["purpose"]))


def bump_hot(ctx: ServiceContext, writer: str, n: int) -> None:
    def work(reader: Reader) -> ChangeSet:
        doc = reader.get("hot", "doc")
        data = {**(doc.data if doc else {}), writer: n}
        return ChangeSet("hot.bump", "hot", "doc", [Write("set", "hot", "doc", data)])

    ctx.pipeline.transact(ACTOR, work, attempts=200)


def threads(
    ctx: ServiceContext, writers: int, seconds: float, work: Callable[..., None]
) -> tuple[int, list[float]]:
    results: list[tuple[int, list[float]]] = []
    lock = threading.Lock()

    def loop(i: int) -> None:
        out = timed_loop(seconds, lambda n: work(ctx, f"w{os.getpid()}-{i}", n))
        with lock:
            results.append(out)

    pool = [threading.Thread(target=loop, args=(i,)) for i in range(writers)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(c for c, _ in results), [x for _, lat in results for x in lat]


def ours_1_loop(seconds: float) -> tuple[int, list[float]]:
    with office(project()) as ctx:
        commit(ctx, "warm", 0)
        return threads(ctx, 1, seconds, commit)


def single(run: Run) -> dict[str, Any]:
    """(a) and (b) in alternating rounds, so that the machine's noise hits both alike;
    rates are medians over the rounds, the ratio the median of each round's ratio."""
    rounds = 2 if run.quick else 4
    length = run.seconds / 2
    bare_rates, our_rates, ratios_ = [], [], []
    bare_lat: list[float] = []
    our_lat: list[float] = []
    for _ in range(rounds):
        count, latencies = bare_loop(length)
        bare_rates.append(count / length)
        bare_lat += latencies
        count, latencies = ours_1_loop(length)
        our_rates.append(count / length)
        our_lat += latencies
        ratios_.append(our_rates[-1] / bare_rates[-1])
    return {
        "bare_per_s": round(statistics.median(bare_rates), 1),
        **latency("bare", bare_lat),
        "ours_1_per_s": round(statistics.median(our_rates), 1),
        **latency("ours_1", our_lat),
        "commit_ratio": round(statistics.median(ratios_), 2),
    }


def ours_8(run: Run) -> dict[str, Any]:
    with office(project()) as ctx:
        count, latencies = threads(ctx, 8, run.seconds, commit)
        batches = ctx.pipeline.log.batches  # type: ignore[attr-defined]
        sends = batches.attempts
    out = rate("ours_8", count, run.seconds, latencies)
    out["ours_8_changes_per_firestore_commit"] = round(count / max(sends, 1), 1)
    with office(project()) as ctx:
        count, latencies = threads(ctx, 8, run.seconds, bump_hot)
    return out | rate("ours_8_hot", count, run.seconds, latencies)


def ours_2proc(run: Run) -> dict[str, Any]:
    shared = project()
    children = [_child("writer", shared, str(run.seconds), "4") for _ in range(2)]
    for child in children:
        _expect(child, "ready")
    for child in children:
        _say(child, "go")
    reports = [json.loads(_expect(child, "{")) for child in children]
    for child in children:
        child.wait(60)
    count = sum(r["count"] for r in reports)
    latencies = [x for r in reports for x in r["latencies"]]
    return rate("ours_2proc", count, run.seconds, latencies)


def writer_process(project_id: str, seconds: float, writers: int) -> None:
    with office(project_id) as ctx:
        print("ready", flush=True)
        sys.stdin.readline()
        count, latencies = threads(ctx, writers, seconds, commit)
    print(json.dumps({"count": count, "latencies": latencies}), flush=True)


# -- (e) listeners across processes ----------------------------------------------------------


def listener(run: Run) -> dict[str, Any]:
    shared = project()
    heard: dict[str, float] = {}
    lock = threading.Lock()

    def on_change(changes: list[Change]) -> None:
        now = time.time()
        with lock:
            for change in changes:
                heard.setdefault(change.document.id, now - change.document.data["sent"])

    paced = max(20, int(20 * run.seconds))
    with FirestoreStore.open(shared) as store:
        store.on_snapshot("pings", on_change)
        child = _child("pinger", shared)
        _expect(child, "ready")
        _say(child, f"paced {paced} 20")
        _expect(child, "done")
        steady = _collect(heard, lock, [f"paced-{i}" for i in range(paced)])
        _say(child, "burst 100 0")
        _expect(child, "done")
        burst = _collect(heard, lock, [f"burst-{i}" for i in range(100)])
        assert child.stdin is not None
        child.stdin.close()
        child.wait(60)
    return {
        "listener_p50_ms": round(percentile(steady, 0.5) * 1000, 1),
        "listener_p99_ms": round(percentile(steady, 0.99) * 1000, 1),
        "listener_burst_p50_ms": round(percentile(burst, 0.5) * 1000, 1),
        "listener_burst_p99_ms": round(percentile(burst, 0.99) * 1000, 1),
        "listener_commits": paced,
    }


def _collect(heard: dict[str, float], lock: threading.Lock, wanted: list[str]) -> list[float]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with lock:
            if all(w in heard for w in wanted):
                return [heard[w] for w in wanted]
        time.sleep(0.05)
    raise RuntimeError(f"the listener heard {sum(w in heard for w in wanted)}/{len(wanted)}")


def pinger_process(project_id: str) -> None:
    with office(project_id) as ctx:
        print("ready", flush=True)
        for line in sys.stdin:
            kind, count, per_second = line.split()
            gap = 1 / int(per_second) if int(per_second) else 0.0
            for i in range(int(count)):
                next_at = time.perf_counter() + gap
                write = Write("set", "pings", f"{kind}-{i}", {"sent": time.time()})
                ctx.pipeline.commit(ACTOR, ChangeSet("ping", "ping", f"{kind}-{i}", [write]))
                time.sleep(max(0.0, next_at - time.perf_counter()))
            print("done", flush=True)


# -- child processes -------------------------------------------------------------------


def _child(role: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--child", role, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "BENCH_KEY": KEY.hex()},
    )


def _say(child: subprocess.Popen[str], line: str) -> None:
    assert child.stdin is not None
    child.stdin.write(line + "\n")
    child.stdin.flush()


def _expect(child: subprocess.Popen[str], prefix: str) -> str:
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line.startswith(prefix):
        raise RuntimeError(f"a bench child said {line!r}, expected {prefix!r}")
    return line


# -- the run ---------------------------------------------------------------------------

MEASURES: dict[str, Callable[[Run], dict[str, Any]]] = {
    "single": single,
    "ours_8": ours_8,
    "ours_2proc": ours_2proc,
    "listener": listener,
}


def ratios(r: dict[str, Any]) -> dict[str, Any]:
    base = r.get("bare_per_s")

    def over(key: str) -> float | None:
        return round(r[key] / base, 2) if base and key in r else None

    return {"batched_ratio": over("ours_8_per_s"), "ours_2proc_ratio": over("ours_2proc_per_s")}


@contextmanager
def emulator() -> Iterator[str]:
    """The emulator to use: FIRESTORE_EMULATOR_HOST's, or one started for this run."""
    if os.environ.get(EMULATOR_ENV):
        yield os.environ[EMULATOR_ENV]
        return
    with tempfile.TemporaryDirectory() as tmp:
        started = Emulator(Path(tmp))
        os.environ[EMULATOR_ENV] = started.host
        try:
            yield started.host
        finally:
            started.stop()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (about a minute)")
    parser.add_argument("--seconds", type=float, help="length of each measure")
    parser.add_argument("--only", nargs="+", choices=sorted(MEASURES), help="these measures")
    args = parser.parse_args(argv)
    run = Run(args.seconds or (4.0 if args.quick else 12.0), args.quick)
    result: dict[str, Any] = {"quick": args.quick, "seconds_per_measure": run.seconds}
    with emulator() as host:
        result["emulator"] = host
        bare_loop(2.0)  # warm the emulator's JIT before anything is measured
        ours_1_loop(2.0)
        for name in args.only or list(MEASURES):
            figures = MEASURES[name](run)
            print(f"{name}: {figures}", flush=True)
            result |= figures
    result |= ratios(result)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        KEY = bytes.fromhex(os.environ["BENCH_KEY"])
        role, rest = sys.argv[2], sys.argv[3:]
        if role == "writer":
            writer_process(rest[0], float(rest[1]), int(rest[2]))
        else:
            pinger_process(rest[0])
    else:
        main()
