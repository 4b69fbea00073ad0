"""Merkle trees over a log, as RFC 6962 and RFC 9162 (section 2.1) define them.

The leaves are byte strings (for the write-ahead log: leaf ``i`` is the ``i``-th line
without its newline, the record with ``lsn = i + 1``)::

    leaf hash = SHA-256(0x00 || leaf)
    node hash = SHA-256(0x01 || left || right)
    MTH({})   = SHA-256()                      (the empty tree)
    MTH(D[n]) = node hash(MTH(D[0:k]), MTH(D[k:n]))   k: the largest power of 2 < n

Proofs are lists of 32-byte hashes: an inclusion proof is RFC 9162's PATH (section
2.1.3.1), a consistency proof its PROOF/SUBPROOF (section 2.1.4.1), and the checks
are the algorithms of sections 2.1.3.2 and 2.1.4.2 step for step. Leaf indexes here
start at 0, as in the RFC.

Storage layout (``node_position``): a tree that only grows at the right is stored
as its perfect subtrees in post-order, each leaf hash followed by the hashes of the
subtrees it completes. The file then only ever grows at the end, and the subtree of
``2**level`` leaves starting at leaf ``index * 2**level`` sits at a position computed
in O(1). A tree of ``n`` leaves has ``node_count(n) = 2n - popcount(n)`` nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from hashlib import sha256

from app.kernel.errors import KnownError

HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()
"""MTH of the empty tree."""

Node = Callable[[int, int], bytes]
"""``node(level, index)``: the hash of the perfect subtree of ``2**level`` leaves
starting at leaf ``index * 2**level``."""


class ProofFailed(KnownError):
    """A proof, a root or a signature does not check out; the message says how."""

    code = "proof_failed"


def leaf_hash(leaf: bytes) -> bytes:
    return sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n >= 2``)."""
    return 1 << ((n - 1).bit_length() - 1)


# -- the post-order layout -------------------------------------------------------------


def node_count(size: int) -> int:
    """How many nodes the post-order layout holds for a tree of ``size`` leaves."""
    return 2 * size - size.bit_count()


def node_position(level: int, index: int) -> int:
    """Where the perfect subtree (``level``, ``index``) sits in the post-order layout."""
    return (index << (level + 1)) - index.bit_count() + (2 << level) - 2


def size_for_nodes(count: int) -> int:
    """The largest tree size whose layout fits in ``count`` nodes."""
    size = (count + count.bit_length()) // 2 + 1  # node_count(n) >= 2n - bit_length(n)
    while node_count(size) > count:
        size -= 1
    return size


def peaks(size: int) -> list[tuple[int, int]]:
    """The perfect subtrees (level, index) a tree of ``size`` leaves is made of,
    largest (leftmost) first."""
    out: list[tuple[int, int]] = []
    start = 0
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            out.append((level, start >> level))
            start += 1 << level
    return out


def range_hash(start: int, end: int, node: Node) -> bytes:
    """MTH(D[start:end]) for a range the RFC recursion can reach: ``start`` is a
    multiple of the smallest power of two that is at least ``end - start``.

    The range is its perfect subtrees, largest first, folded from the right.
    """
    if end <= start:
        return EMPTY_ROOT
    hashes: list[bytes] = []
    for level, index in peaks(end - start):
        offset = start >> level
        if offset << level != start:
            raise ValueError(f"the range {start}..{end} is not one the RFC recursion makes")
        hashes.append(node(level, offset + index))
    root = hashes.pop()
    while hashes:
        root = node_hash(hashes.pop(), root)
    return root


class Frontier:
    """The peaks of a tree growing at the right: enough to add leaves and get the root.

    ``push`` returns the nodes the new leaf adds, in layout order (the leaf hash, then
    each subtree it completes).
    """

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} peaks")
        self.size = size
        self.hashes = list(hashes)

    def push(self, leaf: bytes) -> list[bytes]:
        added = [leaf]
        h = leaf
        n = self.size
        hashes = self.hashes
        while n & 1:
            h = node_hash(hashes.pop(), h)
            added.append(h)
            n >>= 1
        hashes.append(h)
        self.size += 1
        return added

    def extend(self, leaves: Iterable[bytes]) -> list[bytes]:
        """``push`` the leaf hash of each of ``leaves`` (raw leaf bytes); all nodes added.

        The same as ``push(leaf_hash(leaf))`` for each, written out: the log's writer
        runs it for every batch while it holds the log's lock."""
        added: list[bytes] = []
        add = added.append
        hashes, size, hasher = self.hashes, self.size, sha256
        for leaf in leaves:
            h = hasher(b"\x00" + leaf).digest()
            add(h)
            n = size
            while n & 1:
                h = hasher(b"\x01" + hashes.pop() + h).digest()
                add(h)
                n >>= 1
            hashes.append(h)
            size += 1
        self.size = size
        return added

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        root = self.hashes[-1]
        for h in reversed(self.hashes[:-1]):
            root = node_hash(h, root)
        return root

    def copy(self) -> Frontier:
        return Frontier(self.size, self.hashes)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over the leaf *hashes* ``leaves`` (streaming; O(log n) memory)."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.push(leaf)
    return frontier.root()


# -- proofs (RFC 9162 2.1.3.1 and 2.1.4.1) ------------------------------------------------


def inclusion_path(index: int, size: int, node: Node) -> list[bytes]:
    """PATH(index, D[size]): the sibling hashes from the leaf up to the root."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    siblings: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            siblings.append(range_hash(start + k, end, node))
            end = start + k
        else:
            siblings.append(range_hash(start, start + k, node))
            start += k
    siblings.reverse()
    return siblings


def consistency_path(first: int, second: int, node: Node) -> list[bytes]:
    """PROOF(first, D[second]); empty when ``first`` is 0 or equal to ``second``."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    proof: list[bytes] = []
    start, end, m, whole = 0, second, first, True
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            proof.append(range_hash(start + k, end, node))
            end = start + k
        else:
            proof.append(range_hash(start, start + k, node))
            start, m, whole = start + k, m - k, False
    if not whole:
        proof.append(range_hash(start, end, node))
    proof.reverse()
    return proof


# -- checks (RFC 9162 2.1.3.2 and 2.1.4.2) -------------------------------------------------


def _check_hashes(what: str, hashes: Sequence[bytes]) -> None:
    for h in hashes:
        if len(h) != HASH_SIZE:
            raise ProofFailed(f"The {what} holds a {len(h)}-byte value; hashes are 32 bytes.")


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root that ``path`` leads to from leaf hash ``leaf`` at ``index`` in ``size``.

    Raises:
        ProofFailed: the index is outside the tree, or the path has the wrong length.
    """
    if not 0 <= index < size:
        raise ProofFailed(f"Leaf {index} is not in a tree of {size} leaves.")
    _check_hashes("inclusion proof", [leaf, *path])
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise ProofFailed("The inclusion proof is longer than the tree is deep.")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofFailed("The inclusion proof is shorter than the tree is deep.")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> None:
    """Check that leaf hash ``leaf`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Raises:
        ProofFailed: it is not (the message says which part failed).
    """
    found = root_from_inclusion(index, size, leaf, path)
    if found != root:
        raise ProofFailed(
            f"The inclusion proof for leaf {index} leads to root {found.hex()}, "
            f"not to {root.hex()}."
        )


def verify_consistency(
    first: int, second: int, path: Sequence[bytes], first_root: bytes, second_root: bytes
) -> None:
    """Check that the tree of ``second`` leaves with ``second_root`` extends the tree of
    ``first`` leaves with ``first_root``.

    Raises:
        ProofFailed: it does not, or the proof is malformed.
    """
    _check_hashes("consistency proof", [first_root, second_root, *path])
    if not 0 <= first <= second:
        raise ProofFailed(f"A tree of {second} leaves cannot extend one of {first}.")
    if first == second or first == 0:
        if path:
            raise ProofFailed("Sizes this close need an empty consistency proof.")
        if first == second and first_root != second_root:
            raise ProofFailed(
                f"Two trees of {first} leaves have different roots: "
                f"{first_root.hex()} and {second_root.hex()}."
            )
        return
    fr, sr = _consistency_roots(first, second, list(path), first_root)
    if fr != first_root:
        raise ProofFailed(
            f"The consistency proof gives root {fr.hex()} for size {first}, "
            f"not {first_root.hex()}: the first {first} leaves changed."
        )
    if sr != second_root:
        raise ProofFailed(
            f"The consistency proof gives root {sr.hex()} for size {second}, "
            f"not {second_root.hex()}."
        )


def _consistency_roots(
    first: int, second: int, path: list[bytes], first_root: bytes
) -> tuple[bytes, bytes]:
    """Steps 1 to 7 of RFC 9162 section 2.1.4.2: the two roots the path leads to."""
    if not path:
        raise ProofFailed("The consistency proof is empty.")
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofFailed("The consistency proof is longer than the trees are deep.")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofFailed("The consistency proof is shorter than the trees are deep.")
    return fr, sr
