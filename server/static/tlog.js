/* Checking the audit log in the browser, with WebCrypto and nothing else:
   C2SP signed notes and checkpoints (Ed25519), RFC 9162 inclusion and consistency proofs.
   The same rules as app/kernel/signed_note.py, checkpoints.py and merkle.py, so what a
   member's browser accepts is what `tfos audit` accepts. Sizes stay below 2^53: no bit
   operators on them (they would cut them to 32 bits). */
"use strict";

const TLog = (() => {
  const encoder = new TextEncoder();
  const DASH = "\u2014 ";
  const ED25519 = 0x01;

  class ProofError extends Error {}

  function fail(message) { throw new ProofError(message); }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  }

  function hex(bytes) { return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(""); }

  function fromHex(text, what) {
    if (typeof text !== "string" || !/^([0-9a-f]{2})*$/.test(text)) fail(`The ${what} is not hex.`);
    return new Uint8Array(text.match(/../g)?.map((b) => parseInt(b, 16)) || []);
  }

  function fromBase64(text, what) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) fail(`The ${what} is not base64.`);
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  }

  function same(a, b) { return a.length === b.length && a.every((x, i) => x === b[i]); }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  const EMPTY_ROOT = sha256(new Uint8Array(0));
  const leafHash = (leaf) => sha256(concat([0x00], leaf));
  const nodeHash = (left, right) => sha256(concat([0x01], left, right));
  const odd = (n) => n % 2 === 1;
  const half = (n) => Math.floor(n / 2);

  function powerOfTwo(n) {
    while (n > 1 && !odd(n)) n = half(n);
    return n === 1;
  }

  function hashes(list, what) {
    if (!Array.isArray(list)) fail(`The ${what} is not a list of hashes.`);
    return list.map((h) => {
      const bytes = fromHex(h, what);
      if (bytes.length !== 32) fail(`The ${what} holds a ${bytes.length}-byte value.`);
      return bytes;
    });
  }

  /* RFC 9162 2.1.3.2, and on the way the roots of the first `index` and `index + 1`
     leaves: the left siblings on the path are the perfect subtrees left of the leaf,
     smallest first, so folding them (with and without the leaf) gives those roots. */
  async function inclusionRoots(index, size, leaf, path) {
    if (!(index >= 0 && index < size)) fail(`Leaf ${index} is not in a tree of ${size} leaves.`);
    let fn = index, sn = size - 1, r = leaf, left = null, through = leaf;
    for (const p of path) {
      if (sn === 0) fail("The inclusion proof is longer than the tree is deep.");
      if (odd(fn) || fn === sn) {
        r = await nodeHash(p, r);
        left = left === null ? p : await nodeHash(p, left);
        through = await nodeHash(p, through);
        while (fn !== 0 && !odd(fn)) { fn = half(fn); sn = half(sn); }
      } else {
        r = await nodeHash(r, p);
      }
      fn = half(fn); sn = half(sn);
    }
    if (sn !== 0) fail("The inclusion proof is shorter than the tree is deep.");
    return { root: r, before: left === null ? await EMPTY_ROOT : left, through };
  }

  /* RFC 9162 2.1.4.2: does the tree of `second` leaves with `secondRoot` extend the one
     of `first` leaves with `firstRoot`? */
  async function verifyConsistency(first, second, proof, firstRoot, secondRoot) {
    if (!(first >= 0 && first <= second)) fail(`A tree of ${second} leaves cannot extend one of ${first}.`);
    if (first === second || first === 0) {
      if (proof.length) fail("Sizes this close need an empty consistency proof.");
      if (first === second && !same(firstRoot, secondRoot)) {
        fail(`Two trees of ${first} leaves have different roots.`);
      }
      return;
    }
    if (!proof.length) fail("The consistency proof is empty.");
    const path = powerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
    let fn = first - 1, sn = second - 1;
    while (odd(fn)) { fn = half(fn); sn = half(sn); }
    let fr = path[0], sr = path[0];
    for (const c of path.slice(1)) {
      if (sn === 0) fail("The consistency proof is longer than the trees are deep.");
      if (odd(fn) || fn === sn) {
        fr = await nodeHash(c, fr);
        sr = await nodeHash(c, sr);
        while (fn !== 0 && !odd(fn)) { fn = half(fn); sn = half(sn); }
      } else {
        sr = await nodeHash(sr, c);
      }
      fn = half(fn); sn = half(sn);
    }
    if (sn !== 0) fail("The consistency proof is shorter than the trees are deep.");
    if (!same(fr, firstRoot)) fail(`The first ${first} records are not the ones the older checkpoint signed.`);
    if (!same(sr, secondRoot)) fail(`The proof does not lead to the root of the ${second} records.`);
  }

  // -- signed notes and checkpoints (c2sp.org/signed-note, c2sp.org/tlog-checkpoint) ----

  async function parseKey(vkey) {
    const found = /^([^+\s]+)\+([0-9a-f]{8})\+(\S+)$/.exec(String(vkey));
    if (!found) fail("This is not a verifier key (<name>+<8 hex>+<base64 key>).");
    const [, name, id, key64] = found;
    const key = fromBase64(key64, "verifier key");
    if (key.length !== 33 || key[0] !== ED25519) fail("The verifier key is not an Ed25519 key.");
    const keyId = (await sha256(concat(encoder.encode(name + "\n"), key))).slice(0, 4);
    if (hex(keyId) !== id) fail("The verifier key's ID does not match its key.");
    return { name, keyId, publicKey: key.slice(1) };
  }

  function parseNote(note) {
    if (typeof note !== "string" || !note.endsWith("\n")) fail("A signed note ends with a newline.");
    const cut = note.lastIndexOf("\n\n");
    if (cut < 0) fail("This is not a signed note: no blank line before the signatures.");
    const lines = note.slice(cut + 2, -1).split("\n");
    const signatures = lines.map((line) => {
      const [name, sig64, ...rest] = line.slice(DASH.length).split(" ");
      if (!line.startsWith(DASH) || !sig64 || rest.length) fail("A signature line is malformed.");
      const data = fromBase64(sig64, "signature");
      return { name, keyId: data.slice(0, 4), signature: data.slice(4) };
    });
    return { text: note.slice(0, cut + 1), signatures };
  }

  /* The checkpoint in `note`, once the log's key `vkey` verifies its signature:
     { origin, size, root, note }. */
  async function openCheckpoint(note, vkey) {
    const key = await parseKey(vkey);
    const parsed = parseNote(note);
    const mine = parsed.signatures.find((s) => s.name === key.name && same(s.keyId, key.keyId));
    if (!mine) fail(`The checkpoint is not signed by the key ${key.name} (${hex(key.keyId)}).`);
    const publicKey = await crypto.subtle.importKey("raw", key.publicKey, { name: "Ed25519" },
      false, ["verify"]);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, publicKey, mine.signature,
      encoder.encode(parsed.text));
    if (!ok) fail("The checkpoint's signature does not verify: its text was changed.");
    const lines = parsed.text.split("\n");
    if (lines.length !== 4 || !/^(0|[1-9][0-9]{0,15})$/.test(lines[1])) fail("This is not a checkpoint.");
    if (lines[0] !== key.name) fail(`The checkpoint is for the log ${lines[0]}, not ${key.name}.`);
    const root = fromBase64(lines[2], "checkpoint's root");
    if (root.length !== 32) fail("The checkpoint's root is not 32 bytes.");
    return { origin: lines[0], size: Number(lines[1]), root, note };
  }

  /* Check an inclusion proof document ({lsn, size, leaf_hash, proof[, line]}) against a
     checkpoint; the roots of the first lsn - 1 and lsn records, as the tree it proves
     has them. */
  async function checkInclusion(doc, checkpoint) {
    const lsn = Number(doc.lsn);
    if (Number(doc.size) !== checkpoint.size) {
      fail(`The proof is for size ${doc.size}, the checkpoint for ${checkpoint.size}.`);
    }
    const leaf = fromHex(doc.leaf_hash, "leaf hash");
    if (typeof doc.line === "string" && !same(await leafHash(encoder.encode(doc.line)), leaf)) {
      fail(`Record ${lsn}'s line is not the leaf the proof is for.`);
    }
    const roots = await inclusionRoots(lsn - 1, checkpoint.size, leaf, hashes(doc.proof, "inclusion proof"));
    if (!same(roots.root, checkpoint.root)) fail(`Record ${lsn} is not in the signed tree.`);
    return { before: { size: lsn - 1, root: roots.before }, through: { size: lsn, root: roots.through } };
  }

  /* Check a consistency proof document ({from, to, proof}): does `newer` extend `older`
     (each { size, root })? */
  async function checkConsistency(doc, older, newer) {
    if (Number(doc.from) !== older.size || Number(doc.to) !== newer.size) {
      fail(`The proof goes from ${doc.from} to ${doc.to}, not from ${older.size} to ${newer.size}.`);
    }
    await verifyConsistency(older.size, newer.size, hashes(doc.proof, "consistency proof"),
      older.root, newer.root);
  }

  return { ProofError, hex, fromHex, sha256, leafHash, inclusionRoots, verifyConsistency,
    parseKey, parseNote, openCheckpoint, checkInclusion, checkConsistency };
})();
