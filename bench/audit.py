"""Audit benchmark: the WAL's Merkle tree, signed checkpoints and proofs.

Run from the repository root::

    PYTHONPATH=. python bench/audit.py [--quick] [--dir DIR]

(a) merkle_vs_sha_ratio: building the Merkle tree of a log from scratch (what the
    first start with an existing log does: read the lines, hash the leaves and the
    interior nodes, write wal.tree) against a bare loop that reads the same lines and
    SHA-256es each one, in the same run. 1,000,000 records (--quick: 200,000, and the
    1,000,000-record time is extrapolated).
(b) checkpoint_after_append_ms: ``checkpoint()`` right after one ``append`` on that
    log, with the background signer running as in the app (it must sign a new
    checkpoint: compute the root, check it extends the saved one, sign; the signer
    thread saves it); p99, and p50 beside it.
(c) proof_ms_p99: ``prove(lsn)`` for random records of that log (the JSON document:
    O(log n) reads of wal.tree); consistency proofs beside it.
(d) the tree's cost on the WAL's commit path, which runs under the WAL lock:
    the CPU time of ``LogTree.appended`` for batches of 1 and 64 records (measured
    alone, no disk noise), and a single writer's durable appends per second with the
    tree against without it, in rounds of without/with/without (the ratio of each round
    is taken, then the median; it is fsync-bound, so noisy on a shared disk).

(e) pdf_10k_s: a collections register of 10,000 receipts as the desktop exports it
    (signed with the log's key and checkpoint), and statement_pdf_s, the busiest
    member's statement: the history is made through the services, as bench/reports.py
    makes it (--quick: about 1,000 receipts, the time scaled to 10,000).
(f) what a member's browser spends on the checks of its integrity badge, measured in
    the system Chromium (Playwright) on that log: verifying an inclusion proof of a
    random record (hashing its line, then the path to the root: RFC 9162 with
    WebCrypto's SHA-256) and the checkpoint's Ed25519 signature (parsing the key and
    the note, WebCrypto's importKey and verify), both with server/static/tlog.js, the
    code the member pages run; per check, p50 and p99.

The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path
from typing import Any

from app.kernel.log_tree import LogTree, tree_path
from app.kernel.tlog import TransparencyLog
from app.kernel.wal import WriteAheadLog
from app.kernel.wal_scan import Tip
from app.services.own_records import read_lines
from bench.wal import build_log, sample_entry

ONE_MILLION = 1_000_000


def raw_sha_seconds(path: Path) -> float:
    """Read the log's lines and SHA-256 each one: the floor of any tree builder."""
    began = time.perf_counter()
    with open(path, "rb") as file:
        rest = b""
        while piece := file.read(16 << 20):
            lines = (rest + piece).split(b"\n")
            rest = lines.pop()
            for line in lines:
                sha256(line).digest()
    return time.perf_counter() - began


def build_tree_seconds(log: Path, records: int) -> float:
    tree_path(log).unlink(missing_ok=True)
    tree = LogTree(tree_path(log), log)
    began = time.perf_counter()
    report = tree.reconcile(Tip(records, b"", log.stat().st_size))
    spent = time.perf_counter() - began
    tree.close()
    assert report.size == report.added == records, report
    return spent


def merkle_figures(log: Path, records: int) -> dict[str, Any]:
    raw = min(raw_sha_seconds(log) for _ in range(2))
    built = build_tree_seconds(log, records)
    return {
        "records": records,
        "raw_sha256_s": round(raw, 3),
        "merkle_build_s": round(built, 3),
        "merkle_vs_sha_ratio": round(built / raw, 2),
        "merkle_build_1m_s": round(built * ONE_MILLION / records, 2),
        "merkle_build_extrapolated": records != ONE_MILLION,
    }


def _percentiles(samples_ms: list[float]) -> tuple[float, float]:
    samples_ms.sort()
    p99 = samples_ms[min(len(samples_ms) - 1, int(len(samples_ms) * 0.99))]
    return round(statistics.median(samples_ms), 3), round(p99, 3)


def _timed(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return (time.perf_counter() - began) * 1e3


def tlog_figures(folder: Path, log: Path, appends: int, proofs: int) -> dict[str, Any]:
    with WriteAheadLog(log) as wal:
        tlog = TransparencyLog(
            wal, key_path=folder / "checkpoint.key", checkpoints_dir=folder / "checkpoints"
        )
        tlog.start()  # as the app runs it: the latest is saved in the background
        after, total = [], []
        for i in range(appends):
            began = time.perf_counter()
            wal.append(sample_entry(i))
            after.append(_timed(tlog.checkpoint))
            total.append((time.perf_counter() - began) * 1e3)
        size = wal.head()[0]
        rng = random.Random(12)
        prove = [_timed(lambda: tlog.prove(rng.randint(1, size))) for _ in range(proofs)]
        agree = [_timed(lambda: tlog.consistency(rng.randint(1, size))) for _ in range(proofs)]
        tlog.close()
    cp50, cp99 = _percentiles(after)
    tot50, tot99 = _percentiles(total)
    pr50, pr99 = _percentiles(prove)
    co50, co99 = _percentiles(agree)
    return {
        "tree_size": size,
        "checkpoint_after_append_ms": cp99,
        "checkpoint_after_append_ms_p50": cp50,
        "append_and_checkpoint_ms_p50": tot50,
        "append_and_checkpoint_ms_p99": tot99,
        "proof_ms_p50": pr50,
        "proof_ms_p99": pr99,
        "consistency_ms_p50": co50,
        "consistency_ms_p99": co99,
    }


def browser_material(folder: Path, log: Path, count: int) -> dict[str, Any]:
    """What the member pages are given: the signed checkpoint, the log's key, and
    inclusion proofs of ``count`` random records with their lines."""
    with WriteAheadLog(log) as wal:
        tlog = TransparencyLog(
            wal, key_path=folder / "checkpoint.key", checkpoints_dir=folder / "checkpoints"
        )
        signed = tlog.checkpoint()
        rng = random.Random(13)
        docs = [tlog.prove(rng.randint(1, signed.size), signed.size) for _ in range(count)]
        lines = dict(read_lines(log, sorted({d["lsn"] for d in docs})))
        tlog.close()
    for doc in docs:
        doc["line"] = lines[doc["lsn"]].decode("ascii")
    return {"note": signed.text, "vkey": tlog.verifier_key, "docs": docs}


MEASURE = """async ({ note, vkey, docs, rounds }) => {
  const cp = await TLog.openCheckpoint(note, vkey);
  for (const doc of docs.slice(0, 20)) await TLog.checkInclusion(doc, cp);  // warm up
  const proof = [], signature = [];
  for (const doc of docs) {
    const began = performance.now();
    await TLog.checkInclusion(doc, cp);
    proof.push(performance.now() - began);
  }
  for (let i = 0; i < rounds; i++) {
    const began = performance.now();
    await TLog.openCheckpoint(note, vkey);
    signature.push(performance.now() - began);
  }
  // Means over whole loops (performance.now() ticks in 0.1 ms), and their floors: the
  // bare WebCrypto calls each check makes (a digest per hash; one Ed25519 verify).
  const line = new TextEncoder().encode(docs[0].line), hashes = docs[0].proof.length + 1;
  const parsed = TLog.parseNote(note), key = await TLog.parseKey(vkey);
  const imported = await crypto.subtle.importKey("raw", key.publicKey, { name: "Ed25519" },
    false, ["verify"]);
  const data = new TextEncoder().encode(parsed.text), sig = parsed.signatures[0].signature;
  const mean = async (n, fn) => {
    const began = performance.now();
    for (let i = 0; i < n; i++) await fn(i);
    return (performance.now() - began) / n;
  };
  return {
    proof, signature, size: cp.size, hashes,
    proofMean: await mean(docs.length, (i) => TLog.checkInclusion(docs[i], cp)),
    digestsMean: await mean(docs.length, async () => {
      for (let k = 0; k < hashes; k++) await crypto.subtle.digest("SHA-256", line);
    }),
    signatureMean: await mean(rounds, () => TLog.openCheckpoint(note, vkey)),
    verifyMean: await mean(rounds,
      () => crypto.subtle.verify({ name: "Ed25519" }, imported, sig, data)),
  };
}"""


def browser_figures(material: dict[str, Any], rounds: int) -> dict[str, Any]:
    """The badge's checks timed in the system Chromium, with the member pages' own code."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.browser.static import open_tlog, static_site

    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: the browser's figures need it.")
    with sync_playwright() as pw, static_site() as url:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            found = open_tlog(browser, url).evaluate(MEASURE, {**material, "rounds": rounds})
        finally:
            browser.close()
    pr50, pr99 = _percentiles(found["proof"])
    sg50, sg99 = _percentiles(found["signature"])
    return {
        "browser_tree_size": found["size"],
        "browser_proof_ms": pr50,
        "browser_proof_ms_p99": pr99,
        "browser_proof_ms_mean": round(found["proofMean"], 4),
        "browser_proof_vs_bare_digests": round(found["proofMean"] / found["digestsMean"], 2),
        "browser_signature_ms": sg50,
        "browser_signature_ms_p99": sg99,
        "browser_signature_ms_mean": round(found["signatureMean"], 4),
        "browser_signature_vs_bare_verify": round(found["signatureMean"] / found["verifyMean"], 2),
    }


def hook_cpu_us(folder: Path, line: bytes, batch: int, rounds: int) -> float:
    """CPU microseconds ``LogTree.appended`` takes per batch of ``batch`` records."""
    log = folder / f"hook-{batch}.log"
    log.write_bytes(b"")
    tree = LogTree(tree_path(log), log)
    tree.reconcile(Tip(0, b"", 0))
    data = line * batch
    began = time.process_time()
    for n in range(rounds):
        tree.appended(n * batch + 1, data)
    spent = time.process_time() - began
    tree.close()
    return spent / rounds * 1e6


def writer_rate(path: Path, seconds: float, keep_tree: bool) -> float:
    with WriteAheadLog(path, keep_tree=keep_tree) as wal:
        count, began = 0, time.perf_counter()
        while time.perf_counter() - began < seconds:
            wal.append(sample_entry(count))
            count += 1
        rate = count / (time.perf_counter() - began)
    path.unlink()
    tree_path(path).unlink(missing_ok=True)
    return rate


def commit_path_figures(folder: Path, rounds: int, seconds: float) -> dict[str, Any]:
    with WriteAheadLog(folder / "sample.log", keep_tree=False) as wal:
        line = wal.append(sample_entry()).line
    with_tree, without, ratios = [], [], []
    for _ in range(rounds):  # without, with, without: the disk's drift hits both sides
        before = writer_rate(folder / "plain.log", seconds, keep_tree=False)
        with_tree.append(writer_rate(folder / "tree.log", seconds, keep_tree=True))
        after = writer_rate(folder / "plain.log", seconds, keep_tree=False)
        without += [before, after]
        ratios.append(with_tree[-1] / ((before + after) / 2))
    return {
        "tree_hook_us_per_batch_1": round(hook_cpu_us(folder, line, 1, 20_000), 2),
        "tree_hook_us_per_batch_64": round(hook_cpu_us(folder, line, 64, 2_000), 2),
        "single_writer_with_tree_per_s": round(statistics.median(with_tree)),
        "single_writer_without_tree_per_s": round(statistics.median(without)),
        "single_writer_tree_ratio": round(statistics.median(ratios), 3),
    }


def report_figures(quick: bool) -> dict[str, Any]:
    from bench.reports import pdf_figures

    pdf = pdf_figures(quick, signed=True)
    return {
        "pdf_10k_s": pdf["pdf_10k_s"],
        "pdf_register_rows": pdf["register_rows"],
        "pdf_register_pages": pdf["register_pages"],
        "pdf_10k_raw_canvas_s": pdf["raw_canvas_10k_s"],
        "statement_pdf_s": round(pdf["statement_ms"] / 1000, 3),
        "statement_lines": pdf["statement_lines"],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200,000 records, fewer rounds")
    parser.add_argument("--dir", type=Path, default=Path("bench/out"), help="where to write")
    args = parser.parse_args(argv)
    records = 200_000 if args.quick else ONE_MILLION
    folder = args.dir / f"audit-bench-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        log = folder / "wal.log"
        build_log(log, records)
        result: dict[str, Any] = {"quick": args.quick, **merkle_figures(log, records)}
        result |= tlog_figures(folder, log, 200 if args.quick else 500, 2_000)
        result |= commit_path_figures(folder, 7 if args.quick else 15, 0.3)
        result |= report_figures(args.quick)
        result |= browser_figures(browser_material(folder, log, 500), 500)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    _print_table(result)
    print(json.dumps(result))
    return result


def _print_table(r: dict[str, Any]) -> None:
    note = " (extrapolated)" if r["merkle_build_extrapolated"] else ""
    print(
        f"(a) tree of {r['records']:,} records     {r['merkle_build_s']} s; raw SHA-256 "
        f"{r['raw_sha256_s']} s; ratio {r['merkle_vs_sha_ratio']} (goal <= 3)"
    )
    print(f"    1,000,000 records in {r['merkle_build_1m_s']} s{note}")
    print(
        f"(b) checkpoint after one append   p50 {r['checkpoint_after_append_ms_p50']} ms, "
        f"p99 {r['checkpoint_after_append_ms']} ms (goal <= 5 ms); with the append "
        f"p50 {r['append_and_checkpoint_ms_p50']} ms, p99 {r['append_and_checkpoint_ms_p99']} ms"
    )
    print(
        f"(c) inclusion proof in {r['tree_size']:,}  p50 {r['proof_ms_p50']} ms, "
        f"p99 {r['proof_ms_p99']} ms (goal <= 5 ms); consistency p99 {r['consistency_ms_p99']} ms"
    )
    print(
        f"(d) tree under the WAL lock        {r['tree_hook_us_per_batch_1']} us per 1-record "
        f"batch, {r['tree_hook_us_per_batch_64']} us per 64-record batch"
    )
    print(
        f"    single writer {r['single_writer_with_tree_per_s']:,}/s with the tree, "
        f"{r['single_writer_without_tree_per_s']:,}/s without: ratio "
        f"{r['single_writer_tree_ratio']}"
    )
    print(
        f"(e) collections register PDF       {r['pdf_10k_s']} s for 10,000 rows (goal <= 5 s; "
        f"{r['pdf_register_rows']:,} rows measured, bare drawString loop "
        f"{r['pdf_10k_raw_canvas_s']} s); member statement {r['statement_pdf_s']} s"
    )
    print(
        f"(f) in Chromium, of {r['browser_tree_size']:,} records: an inclusion proof "
        f"p50 {r['browser_proof_ms']} ms, p99 {r['browser_proof_ms_p99']} ms, mean "
        f"{r['browser_proof_ms_mean']} ms ({r['browser_proof_vs_bare_digests']} x its bare digests)"
    )
    print(
        f"    the checkpoint's signature p50 {r['browser_signature_ms']} ms, p99 "
        f"{r['browser_signature_ms_p99']} ms, mean {r['browser_signature_ms_mean']} ms "
        f"({r['browser_signature_vs_bare_verify']} x a bare Ed25519 verify)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
