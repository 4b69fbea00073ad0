"""C2SP signed notes and tlog cosignatures: the Go reference vectors, the cosignature
message checked by hand with the raw Ed25519 key, and the verification rules."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.kernel.merkle import ProofFailed
from app.kernel.signed_note import (
    COSIGNATURE_V1,
    ED25519,
    Signer,
    Verifier,
    open_note,
    parse,
)

# golang.org/x/mod/sumdb/note note_test.go: a key pair and the note it signs.
VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
SIG = (
    "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotp"
    "RZb6KE6RyyBwJnAM=\n"
)
NOTE = TEXT + "\n" + SIG
CHECKPOINT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def test_the_go_reference_key_and_note_are_reproduced_byte_for_byte() -> None:
    signer = Signer.parse(SKEY)
    assert signer.verifier.vkey == VKEY
    assert signer.skey == SKEY
    assert signer.sign(TEXT) == SIG  # Ed25519 is deterministic
    note, verified = open_note(NOTE, [Verifier.parse(VKEY)])
    assert note.text == TEXT and str(note) == NOTE
    assert [v.verifier.vkey for v in verified] == [VKEY]


def test_every_mangled_verifier_key_is_refused() -> None:
    """As the Go tests do: every proper substring, and every byte changed by one."""
    for i in range(len(VKEY) + 1):
        for j in range(i + 1, len(VKEY) + 1):
            if (i, j) != (0, len(VKEY)):
                with pytest.raises(ProofFailed):
                    Verifier.parse(VKEY[i:j])
    for i in range(len(VKEY)):
        with pytest.raises(ProofFailed):
            Verifier.parse(VKEY[:i] + chr(ord(VKEY[i]) + 1) + VKEY[i + 1 :])
    for bad in (
        "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==",
        "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ):
        with pytest.raises(ProofFailed):
            Verifier.parse(bad)


def test_keys_of_both_types_parse_including_a_plus_inside_the_base64() -> None:
    ed = Verifier.parse("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")
    assert (ed.name, ed.kind) == ("TEST", ED25519)
    # A witness's native cosignature key from transparency-dev/formats' tests: its key
    # ID is computed with the type byte 0x04.
    cosigner = Verifier.parse(
        "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
    )
    assert (cosigner.name, cosigner.kind) == ("remora.n621.de", COSIGNATURE_V1)


def test_a_cosignature_signs_the_spec_message_and_carries_its_timestamp() -> None:
    witness = Signer.generate("witness.example/w1", COSIGNATURE_V1)
    line = witness.sign(CHECKPOINT, 1679315147)
    name, blob64 = line.removeprefix("— ").rstrip("\n").split(" ")
    blob = base64.b64decode(blob64)
    assert name == "witness.example/w1" and len(blob) == 4 + 8 + 64
    assert blob[:4] == witness.verifier.key_id
    assert struct.unpack(">Q", blob[4:12]) == (1679315147,)
    message = b"cosignature/v1\ntime 1679315147\n" + CHECKPOINT.encode()
    Ed25519PublicKey.from_public_bytes(witness.verifier.public).verify(blob[12:], message)
    _, verified = open_note(CHECKPOINT + "\n" + line, [witness.verifier])
    assert verified[0].timestamp == 1679315147


def test_a_cosignature_key_cannot_pass_for_a_plain_key() -> None:
    witness = Signer.generate("w", COSIGNATURE_V1)
    plain = Verifier("w", ED25519, witness.verifier.public)
    with pytest.raises(ProofFailed, match="none of them"):
        open_note(CHECKPOINT + "\n" + witness.sign(CHECKPOINT, 5), [plain])


def test_unknown_signatures_are_ignored_and_a_failing_known_one_rejects() -> None:
    log, other = Signer.generate("log.example"), Signer.generate("other.example")
    note = CHECKPOINT + "\n" + other.sign(CHECKPOINT) + log.sign(CHECKPOINT)
    _, verified = open_note(note, [log.verifier])
    assert [v.verifier for v in verified] == [log.verifier]
    with pytest.raises(ProofFailed, match="none of them"):
        open_note(CHECKPOINT + "\n" + other.sign(CHECKPOINT), [log.verifier])
    forged = CHECKPOINT.replace("20852163", "20852164")
    with pytest.raises(ProofFailed, match="does not verify"):
        open_note(forged + "\n" + log.sign(CHECKPOINT), [log.verifier])


@pytest.mark.parametrize(
    "note",
    [
        TEXT + SIG,  # no blank line
        TEXT + "\n",  # no signature
        TEXT + "\n" + SIG.replace("— ", "- "),  # a hyphen is not an em dash
        TEXT + "\n" + SIG.replace("x08go", "x08g!"),  # not base64
        TEXT.replace("answer", "ans\twer") + "\n" + SIG,  # a control character
        TEXT + "\n" + "— PeterNeumann AAAA\n",  # too short to hold a key ID
        TEXT + "\n" + "— Peter+Neumann " + SIG.split(" ")[2],  # '+' in a key name
        TEXT + "\n" + SIG * 101,  # more signatures than anyone accepts
        (TEXT + "\n" + SIG).rstrip("\n"),  # no final newline
    ],
)
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(ProofFailed):
        open_note(note, [Verifier.parse(VKEY)])


def test_adding_lines_keeps_one_signature_per_key() -> None:
    witness = Signer.generate("w.example", COSIGNATURE_V1)
    note = parse(NOTE).with_lines([witness.sign(TEXT, 1)]).with_lines([witness.sign(TEXT, 2)])
    assert [s.name for s in note.signatures] == ["PeterNeumann", "w.example"]
    _, verified = open_note(note, [witness.verifier, Verifier.parse(VKEY)])
    assert sorted((v.verifier.name, v.timestamp) for v in verified) == [
        ("PeterNeumann", None),
        ("w.example", 2),
    ]
