"""RFC 6962 / 9162 Merkle trees: the published test vectors, and an independent
brute-force tree written straight from the RFC's recursive definitions."""

from __future__ import annotations

import random
from collections.abc import Callable
from hashlib import sha256

import pytest

from app.kernel.merkle import (
    EMPTY_ROOT,
    Frontier,
    ProofFailed,
    consistency_path,
    inclusion_path,
    leaf_hash,
    node_count,
    node_position,
    peaks,
    root_from_inclusion,
    size_for_nodes,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex

# The RFC 6962 test vectors (transparency-dev/merkle proof/verify_test.go, the same ones
# certificate-transparency-go used): eight leaves, the root of each prefix, and proofs.
LEAVES = [h(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                         "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
ROOTS = [h(x) for x in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]  # fmt: skip
# (leaf number counting from 1, tree size, proof)
INCLUSION = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


# -- an independent tree: the RFC's recursions on lists, nothing shared with the code ----


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return sha256(b"").digest()
    if len(d) == 1:
        return sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


def layout(leaves: list[bytes]) -> Callable[[int, int], bytes]:
    """``node(level, index)`` read from a post-order layout the Frontier writes."""
    nodes: list[bytes] = []
    frontier = Frontier()
    for leaf in leaves:
        nodes += frontier.push(leaf_hash(leaf))
    assert len(nodes) == node_count(len(leaves))
    return lambda level, index: nodes[node_position(level, index)]


def hexes(items: list[str]) -> list[bytes]:
    return [h(x) for x in items]


# -- the vectors ----------------------------------------------------------------------------


def test_roots_match_the_rfc6962_vectors() -> None:
    frontier = Frontier()
    for n, leaf in enumerate(LEAVES, 1):
        frontier.push(leaf_hash(leaf))
        assert frontier.root() == ROOTS[n - 1] == mth(LEAVES[:n])
    assert Frontier().root() == EMPTY_ROOT == sha256(b"").digest()


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_vectors(leaf: int, size: int, proof: list[str]) -> None:
    node = layout(LEAVES[:size])
    assert inclusion_path(leaf - 1, size, node) == hexes(proof)
    verify_inclusion(leaf - 1, size, leaf_hash(LEAVES[leaf - 1]), hexes(proof), ROOTS[size - 1])


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_vectors(first: int, second: int, proof: list[str]) -> None:
    node = layout(LEAVES[:second])
    assert consistency_path(first, second, node) == hexes(proof)
    verify_consistency(first, second, hexes(proof), ROOTS[first - 1], ROOTS[second - 1])


def _inclusion_corruptions(
    index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes
) -> list[tuple[str, tuple[int, int, bytes, list[bytes], bytes]]]:
    """The probes of the Go verifier's tests: every one of them must fail."""
    probes = [
        ("index - 1", (index - 1, size, leaf, proof, root)),
        ("index + 1", (index + 1, size, leaf, proof, root)),
        ("index ^ 2", (index ^ 2, size, leaf, proof, root)),
        ("size * 2", (index, size * 2, leaf, proof, root)),
        ("size // 2", (index, size // 2, leaf, proof, root)),
        ("wrong leaf", (index, size, sha256(b"WrongLeaf").digest(), proof, root)),
        ("empty root", (index, size, leaf, proof, EMPTY_ROOT)),
        ("random root", (index, size, leaf, proof, SOME_HASH)),
        ("trailing root", (index, size, leaf, [*proof, root], root)),
        ("preceding root", (index, size, leaf, [root, *proof], root)),
        ("trailing garbage", (index, size, leaf, [*proof, b""], root)),
    ]
    for i in range(len(proof)):
        flipped = [*proof]
        flipped[i] = bytes([proof[i][0] ^ 8]) + proof[i][1:]
        probes.append((f"proof[{i}] bit 3", (index, size, leaf, flipped, root)))
    if proof:
        probes.append(("removed component", (index, size, leaf, proof[:-1], root)))
    if len(proof) > 1:
        inserted = [proof[0], SOME_HASH, *proof[1:]]
        probes.append(("inserted component", (index, size, leaf, inserted, root)))
    return probes


@pytest.mark.parametrize(("leaf", "size", "proof"), INCLUSION[1:])
def test_corrupted_inclusion_proofs_fail(leaf: int, size: int, proof: list[str]) -> None:
    args = (leaf - 1, size, leaf_hash(LEAVES[leaf - 1]), hexes(proof), ROOTS[size - 1])
    for why, probe in _inclusion_corruptions(*args):
        with pytest.raises(ProofFailed):
            verify_inclusion(*probe)
            pytest.fail(f"a proof with {why} verified")


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY[1:])
def test_corrupted_consistency_proofs_fail(first: int, second: int, proof: list[str]) -> None:
    good = hexes(proof)
    r1, r2 = ROOTS[first - 1], ROOTS[second - 1]
    probes = [
        (first - 1, second, good, r1, r2),
        (first + 1, second, good, r1, r2),
        (first ^ 2, second, good, r1, r2),
        (first, second * 2, good, r1, r2),
        (first, second // 2, good, r1, r2),
        (first, second, good, SOME_HASH, r2),
        (first, second, good, r1, SOME_HASH),
        (first, second, good, r2, r1),
        (first, second, [], r1, r2),
        (first, second, [*good, r1], r1, r2),
        (first, second, [*good, r2], r1, r2),
        (first, second, [r1, *good], r1, r2),
        (first, second, [good[0], *good], r1, r2),
        (first, second, good[:-1], r1, r2),
    ]
    for i in range(len(good)):
        flipped = [*good]
        flipped[i] = bytes([good[i][0] ^ 16]) + good[i][1:]
        probes.append((first, second, flipped, r1, r2))
    for n, probe in enumerate(probes):
        with pytest.raises(ProofFailed):
            verify_consistency(*probe)
            pytest.fail(f"corrupted consistency probe {n} verified")


def test_consistency_edge_cases_follow_the_reference_verifier() -> None:
    r1, r2 = sha256(b"one").digest(), sha256(b"two").digest()
    verify_consistency(0, 0, [], r1, r1)
    verify_consistency(0, 1, [], r1, r2)  # the empty tree is a prefix of every tree
    verify_consistency(1, 1, [], r2, r2)
    for bad in [(0, 0, [], r1, r2), (1, 1, [], r1, r2), (1, 0, [], r1, r2), (2, 1, [], r1, r2),
                (1, 2, [], r1, r2), (0, 0, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT),
                (1, 1, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT)]:  # fmt: skip
        with pytest.raises(ProofFailed):
            verify_consistency(*bad)  # type: ignore[arg-type]
    with pytest.raises(ProofFailed, match="not in a tree"):
        root_from_inclusion(3, 3, EMPTY_ROOT, [])


# -- against the brute-force tree ------------------------------------------------------------


def _random_leaves(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.randrange(0, 40)) for _ in range(n)]


def test_every_proof_of_small_trees_matches_the_brute_force_tree() -> None:
    leaves = _random_leaves(70, 1)
    node = layout(leaves)
    for size in range(1, len(leaves) + 1):
        d = leaves[:size]
        root = mth(d)
        for m in range(size):
            proof = inclusion_path(m, size, node)
            assert proof == path(m, d)
            verify_inclusion(m, size, leaf_hash(d[m]), proof, root)
        for m in range(1, size + 1):
            proof = consistency_path(m, size, node)
            assert proof == (subproof(m, d, True) if m < size else [])
            verify_consistency(m, size, proof, mth(leaves[:m]), root)


def test_big_trees_agree_with_the_brute_force_tree_at_random_points() -> None:
    rng = random.Random(7)
    leaves = _random_leaves(1500, 2)
    node = layout(leaves)
    for _ in range(60):
        size = rng.randrange(1, len(leaves) + 1)
        m = rng.randrange(size)
        d = leaves[:size]
        assert inclusion_path(m, size, node) == path(m, d)
        first = rng.randrange(1, size + 1)
        assert consistency_path(first, size, node) == (
            subproof(first, d, True) if first < size else []
        )


def test_the_layout_places_every_perfect_subtree_where_node_position_says() -> None:
    leaves = _random_leaves(300, 3)
    node = layout(leaves)
    for size in range(301):
        assert size_for_nodes(node_count(size)) == size
        if size:
            assert size_for_nodes(node_count(size) - 1) == size - 1  # a torn write
        for level, index in peaks(size):
            start = index << level
            assert node(level, index) == mth(leaves[start : start + (1 << level)])
