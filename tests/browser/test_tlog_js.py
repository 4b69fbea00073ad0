"""The browser's log checker (server/static/tlog.js) in the system Chromium, against
proofs, checkpoints and keys made by the kernel: it accepts what the kernel accepts and
refuses every tampered variant, and the roots it derives for landmarks are the RFC's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.kernel.checkpoints import Checkpoint, SignedCheckpoint
from app.kernel.merkle import consistency_path, inclusion_path, leaf_hash, root_of
from app.kernel.signed_note import COSIGNATURE_V1, Signer
from tests.browser.static import open_tlog, static_site

pytestmark = [pytest.mark.browser]

LINES = [b'%064x {"lsn":%d,"reason":"r\\u00e9cord %d"}' % (i, i + 1, i) for i in range(40)]
LEAVES = [leaf_hash(line) for line in LINES]
MAX = 17


def node(level: int, index: int) -> bytes:
    return root_of(LEAVES[index << level : (index + 1) << level])


def mth(size: int) -> str:
    return root_of(LEAVES[:size]).hex()


def flip(hex_hash: str) -> str:
    return ("0" if hex_hash[0] != "0" else "1") + hex_hash[1:]


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    with static_site() as url:
        yield open_tlog(browser, url)


RUN_INCLUSION = """async (cases) => {
  const out = [];
  for (const c of cases) {
    const cp = { size: c.doc.size, root: TLog.fromHex(c.root, "root") };
    try {
      const r = await TLog.checkInclusion(c.doc, cp);
      out.push({ ok: true, before: TLog.hex(r.before.root), through: TLog.hex(r.through.root) });
    } catch (e) {
      if (!(e instanceof TLog.ProofError)) throw e;
      out.push({ ok: false, error: e.message });
    }
  }
  return out;
}"""


def inclusion_cases() -> list[dict[str, Any]]:
    cases = []
    for size in range(1, MAX + 1):
        for index in range(size):
            proof = [h.hex() for h in inclusion_path(index, size, node)]
            doc = {
                "lsn": index + 1,
                "size": size,
                "leaf_hash": LEAVES[index].hex(),
                "proof": proof,
                "line": LINES[index].decode(),
            }
            cases.append({"doc": doc, "root": mth(size), "want": True, "index": index})
    return cases


def tampered(case: dict[str, Any]) -> list[dict[str, Any]]:
    doc, out = case["doc"], []
    for k in range(len(doc["proof"])):
        proof = list(doc["proof"])
        proof[k] = flip(proof[k])
        out.append({**case, "doc": {**doc, "proof": proof}, "want": False})
    out.append({**case, "doc": {**doc, "line": doc["line"] + " "}, "want": False})
    out.append({**case, "doc": {**doc, "proof": [*doc["proof"], "00" * 32]}, "want": False})
    if doc["proof"]:
        out.append({**case, "doc": {**doc, "proof": doc["proof"][:-1]}, "want": False})
    out.append({**case, "root": flip(case["root"]), "want": False})
    out.append({**case, "doc": {**doc, "lsn": doc["lsn"] % doc["size"] + 1}, "want": False})
    return [c for c in out if c["doc"] != doc or c["root"] != case["root"]]


def test_inclusion_proofs_verify_and_tampered_ones_do_not(page: Any) -> None:
    good = inclusion_cases()
    bad = [t for c in good for t in tampered(c)]
    results = page.evaluate(RUN_INCLUSION, good + bad)
    for case, result in zip(good + bad, results, strict=True):
        assert result["ok"] is case["want"], (case, result)
    for case, result in zip(good, results[: len(good)], strict=True):
        index = case["index"]
        assert result["before"] == mth(index), case  # the landmark roots: D[0:i], D[0:i+1]
        assert result["through"] == mth(index + 1), case


RUN_CONSISTENCY = """async (cases) => {
  const out = [];
  for (const c of cases) {
    const older = { size: c.doc.from, root: TLog.fromHex(c.old, "root") };
    const newer = { size: c.doc.to, root: TLog.fromHex(c.new, "root") };
    try { await TLog.checkConsistency(c.doc, older, newer); out.push({ ok: true }); }
    catch (e) {
      if (!(e instanceof TLog.ProofError)) throw e;
      out.push({ ok: false, error: e.message });
    }
  }
  return out;
}"""


def test_consistency_proofs_verify_and_a_changed_history_does_not(page: Any) -> None:
    cases = []
    for second in range(1, MAX + 1):
        for first in range(0, second + 1):
            proof = [h.hex() for h in consistency_path(first, second, node)]
            doc = {"from": first, "to": second, "proof": proof}
            case = {"doc": doc, "old": mth(first), "new": mth(second), "want": True}
            cases.append(case)
            if first > 0:
                cases.append({**case, "old": flip(case["old"]), "want": False})
                cases.append({**case, "new": flip(case["new"]), "want": False})
            for k in range(len(proof)):
                changed = list(proof)
                changed[k] = flip(changed[k])
                cases.append({**case, "doc": {**doc, "proof": changed}, "want": False})
    results = page.evaluate(RUN_CONSISTENCY, cases)
    for case, result in zip(cases, results, strict=True):
        assert result["ok"] is case["want"], (case, result)


RUN_NOTES = """async (cases) => {
  const out = [];
  for (const c of cases) {
    try {
      const cp = await TLog.openCheckpoint(c.note, c.vkey);
      out.push({ ok: true, size: cp.size, root: TLog.hex(cp.root), origin: cp.origin });
    } catch (e) {
      if (!(e instanceof TLog.ProofError)) throw e;
      out.push({ ok: false, error: e.message });
    }
  }
  return out;
}"""


def key_with_a_plus(name: str) -> Signer:
    """A log key whose base64 holds a '+' (the verifier key's separator)."""
    for n in range(1000):
        signer = Signer.from_seed(name, n.to_bytes(32, "big"))
        if "+" in signer.verifier.vkey.split("+", 2)[2]:
            return signer
    raise AssertionError("no such key in 1000 seeds")


def test_checkpoints_open_only_with_the_logs_key_and_unchanged(page: Any) -> None:
    log = key_with_a_plus("transactflowos/3f9a1c2b4d5e6f70")
    impostor = Signer.generate(log.name)
    witness = Signer.generate("auditor.example/asha", COSIGNATURE_V1)
    checkpoint = Checkpoint(log.name, 17, bytes.fromhex(mth(17)))
    note = SignedCheckpoint.sign(checkpoint, log).text
    cosigned = note + witness.sign(checkpoint.text, 1_800_000_000)
    other_log = SignedCheckpoint.sign(Checkpoint("other/log", 17, checkpoint.root), log).text
    key = log.verifier.vkey
    cases = [
        (note, key, True),
        (cosigned, key, True),  # a witness's cosignature beside the log's is ignored
        (note.replace("\n17\n", "\n18\n"), key, False),  # the size changed
        (note, impostor.verifier.vkey, False),  # another key under the same name
        (SignedCheckpoint.sign(checkpoint, impostor).text, key, False),
        (other_log, key, False),  # the log's key, but another origin
        (note.replace("\u2014 ", "- "), key, False),
        (note[:-1], key, False),
        (note, key.replace("+", "+0", 1), False),
        (note, witness.verifier.vkey, False),  # not an Ed25519 log key
    ]
    results = page.evaluate(RUN_NOTES, [{"note": n, "vkey": k} for n, k, _ in cases])
    for (text, vkey, want), result in zip(cases, results, strict=True):
        assert result["ok"] is want, (text, vkey, result)
    assert results[0] == {"ok": True, "size": 17, "root": mth(17), "origin": log.name}
