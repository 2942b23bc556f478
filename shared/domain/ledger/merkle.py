"""The Merkle tree of an auction's log, hashed as RFC 9162 section 2.1 hashes one.

leaf = SHA-256(0x00 || entry bytes), node = SHA-256(0x01 || left || right), and a tree of n
leaves splits at k, the largest power of two below n (so its left part is always a perfect
subtree). Written here rather than taken from a library because no maintained Python package
implements RFC 9162 proofs over our own node storage; every function is checked against the
RFC's reference vectors and a naive tree hash (tests/domain/test_ledger_merkle.py).

Storage. A node is stored only once its subtree is perfect, by `(level, index)`: level 0 holds
the leaf hashes, and node (l, i) covers leaves [i * 2^l, (i + 1) * 2^l). Stored nodes never
change, so a proof reads O(log n) of them; a part of the right edge that is not yet perfect is
folded from the perfect subtrees it is made of (at most one per set bit of its size).
`CompactRange` appends a leaf in O(log n) without reading the tree, and hands back the nodes
its append completed, for the store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]
"""(level, index): the perfect subtree over leaves [index * 2^level, (index + 1) * 2^level)."""

NodeReader = Callable[[Collection[NodeId]], Mapping[NodeId, bytes]]
"""Reads stored nodes in one batch (one query), e.g. `WHERE (level, idx) IN (...)`."""


class MissingNode(LookupError):
    """The store lacks a node a proof needs (the tree is not that big yet)."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two below `size` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def _fold(hashes: Sequence[bytes]) -> bytes:
    """The tree hash of consecutive perfect subtrees, largest first: each joins the fold of
    everything to its right, as the RFC's split puts the perfect part on the left."""
    folded = hashes[-1]
    for left in reversed(hashes[:-1]):
        folded = node_hash(left, folded)
    return folded


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (the whole tree in memory: for tests, the verifier, small logs)."""
    if not leaves:
        return EMPTY_ROOT
    return CompactRange.of_leaves(leaves).root()


def perfect_subtrees(start: int, end: int) -> list[NodeId]:
    """[start, end) as the perfect subtrees the RFC's split makes of it, largest first.

    Holds for every range a proof asks for (start is then a multiple of the power of two at
    or above end - start), so the tree hash of the range is the fold of these."""
    ids: list[NodeId] = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start:
            level = min(level, (start & -start).bit_length() - 1)
        ids.append((level, start >> level))
        start += 1 << level
    return ids


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose tree hashes make PATH(index, D[size]) (RFC 9162 2.1.3.1),
    in the proof's order (from the leaf up)."""
    ranges: list[tuple[int, int]] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def _consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """The leaf ranges whose tree hashes make PROOF(old, D[new]) (RFC 9162 2.1.4.1)."""
    ranges: list[tuple[int, int]] = []
    start, end, m, whole = 0, new, old, True
    while True:
        size = end - start
        if m == size:
            if not whole:  # SUBPROOF(m, D[m], false) = {MTH(D[m])}
                ranges.append((start, end))
            break
        k = _split(size)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            whole = False
    return ranges[::-1]


def _proof(ranges: Sequence[tuple[int, int]], read: NodeReader) -> list[bytes]:
    pieces = [perfect_subtrees(a, b) for a, b in ranges]
    wanted = {node for piece in pieces for node in piece}
    found = read(wanted) if wanted else {}
    missing = wanted - found.keys()
    if missing:
        raise MissingNode(f"nodes not stored: {sorted(missing)}")
    return [_fold([found[node] for node in piece]) for piece in pieces]


def inclusion_nodes(index: int, size: int) -> set[NodeId]:
    """The stored nodes an inclusion proof reads (at most about 2 log2(size))."""
    return {node for a, b in _inclusion_ranges(index, size) for node in perfect_subtrees(a, b)}


def inclusion_proof(index: int, size: int, read: NodeReader) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `size` leaves, from stored nodes."""
    if not 0 <= index < size:
        raise ValueError(f"index {index} is not in a tree of {size}")
    return _proof(_inclusion_ranges(index, size), read)


def consistency_proof(old: int, new: int, read: NodeReader) -> list[bytes]:
    """The proof that the tree of `new` leaves extends the one of `old` (empty when old is 0
    or old == new: there is nothing to prove)."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency from {old} to {new}")
    if old in (0, new):
        return []
    return _proof(_consistency_ranges(old, new), read)


def tree_root(size: int, read: NodeReader) -> bytes:
    """The root of the first `size` leaves (any size the tree ever had), from stored nodes."""
    if size == 0:
        return EMPTY_ROOT
    return _proof([(0, size)], read)[0]


def root_from_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes | None:
    """RFC 9162 2.1.3.2: the root the path leads to, or None when it cannot be a path of
    `index` in a tree of `size` (too long, too short, an index outside the tree)."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0 or len(p) != HASH_SIZE:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> bool:
    return root_from_inclusion(leaf, index, size, path) == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2, plus the two cases with nothing to prove: from the empty tree (any
    tree extends it) and between equal sizes (the roots must be the same); both with an
    empty path."""
    if not 0 <= old <= new:
        return False
    if old == 0:
        return not path and old_root == EMPTY_ROOT
    if old == new:
        return not path and old_root == new_root
    if not path or any(len(p) != HASH_SIZE for p in path):
        return False
    hashes = list(path)
    if old & (old - 1) == 0:  # a power of two: the old tree is itself a node of the new one
        hashes.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = hashes[0]
    for c in hashes[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


@dataclass(frozen=True)
class StoredNode:
    level: int
    index: int
    hash: bytes

    @property
    def id(self) -> NodeId:
        return (self.level, self.index)


@dataclass(frozen=True)
class CompactRange:
    """The tree's right edge, Trillian's compact range over [0, size): one hash per set bit
    of `size`, the perfect subtrees from the largest (leftmost) to the smallest. Enough to
    append and to give the root, without reading anything else."""

    size: int = 0
    hashes: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if len(self.hashes) != self.size.bit_count():
            raise ValueError(f"a range of {self.size} has {self.size.bit_count()} hashes")

    @staticmethod
    def node_ids(size: int) -> list[NodeId]:
        """The stored nodes to read to resume appending at `size` (after a restart)."""
        return perfect_subtrees(0, size)

    @classmethod
    def read(cls, size: int, read: NodeReader) -> CompactRange:
        ids = cls.node_ids(size)
        found = read(ids) if ids else {}
        missing = set(ids) - found.keys()
        if missing:
            raise MissingNode(f"nodes not stored: {sorted(missing)}")
        return cls(size, tuple(found[node] for node in ids))

    @classmethod
    def of_leaves(cls, leaves: Sequence[bytes]) -> CompactRange:
        state = cls()
        for leaf in leaves:
            state, _ = state.append(leaf)
        return state

    def append(self, leaf: bytes) -> tuple[CompactRange, list[StoredNode]]:
        """The range with one more leaf, and the nodes the append completed (the leaf itself
        at level 0, then every subtree it closed): what the store gains."""
        stored = [StoredNode(0, self.size, leaf)]
        hashes = list(self.hashes)
        folded, level, index = leaf, 0, self.size
        while (self.size >> level) & 1:  # a carry: the leaf closes a subtree with its left
            folded = node_hash(hashes.pop(), folded)
            level += 1
            index >>= 1
            stored.append(StoredNode(level, index, folded))
        hashes.append(folded)
        return CompactRange(self.size + 1, tuple(hashes)), stored

    def root(self) -> bytes:
        return _fold(self.hashes) if self.hashes else EMPTY_ROOT
