"""The log's Merkle tree (shared.domain.ledger.merkle) against RFC 9162's definitions: the
Certificate Transparency reference vectors, a naive tree hash written from the RFC's text,
every proof of every small tree (and each of them mutated), and the standalone verifier's
own implementation (verify_auction) held to the same answers."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping, Sequence

import pytest

import verify_auction
from shared.domain.ledger.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MissingNode,
    NodeId,
    consistency_proof,
    inclusion_nodes,
    inclusion_proof,
    leaf_hash,
    node_hash,
    perfect_subtrees,
    root_from_inclusion,
    root_of,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

# The reference leaves and hashes of the CT test data (transparency-dev/merkle, testonly),
# as the RFC 6962/9162 hashing gives them.
LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
              "606162636465666768696a6b6c6d6e6f")
]  # fmt: skip
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
NODES = [
    ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
     "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
     "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
     "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
     "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"],
    ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
     "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"],
    ["d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
]  # fmt: skip
# (leaf index, tree size, path) and (old size, new size, path), as published with them.
INCLUSION = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CONSISTENCY = [
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
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


def naive_mth(leaves: Sequence[bytes]) -> bytes:
    """MTH as RFC 9162 2.1.1 words it, recursion and all."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(naive_mth(leaves[:k]), naive_mth(leaves[k:]))


def naive_path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]), RFC 9162 2.1.3.1."""
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return [*naive_path(m, leaves[:k]), naive_mth(leaves[k:])]
    return [*naive_path(m - k, leaves[k:]), naive_mth(leaves[:k])]


def naive_subproof(m: int, leaves: Sequence[bytes], whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b), RFC 9162 2.1.4.1."""
    if m == len(leaves):
        return [] if whole else [naive_mth(leaves)]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m <= k:
        return [*naive_subproof(m, leaves[:k], whole), naive_mth(leaves[k:])]
    return [*naive_subproof(m - k, leaves[k:], False), naive_mth(leaves[:k])]


class Store:
    """A node store fed by compact-range appends, counting its batched reads."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.nodes: dict[NodeId, bytes] = {}
        self.batches: list[int] = []
        edge = CompactRange()
        for leaf in leaves:
            edge, stored = edge.append(leaf)
            self.nodes.update((node.id, node.hash) for node in stored)
        self.edge = edge

    def read(self, ids: Collection[NodeId]) -> Mapping[NodeId, bytes]:
        self.batches.append(len(ids))
        return {node: self.nodes[node] for node in ids if node in self.nodes}


LEAVES = [leaf_hash(i.to_bytes(2, "big")) for i in range(70)]
STORE = Store(LEAVES)


def test_tree_heads_are_the_reference_ones() -> None:
    leaves = [leaf_hash(data) for data in LEAF_INPUTS]
    for size, root in enumerate(ROOTS):
        assert root_of(leaves[:size]).hex() == root
        assert verify_auction.roots_at(leaves, [size])[size].hex() == root
    assert EMPTY_ROOT.hex() == ROOTS[0]


def test_appends_store_the_reference_nodes_and_nothing_unfinished() -> None:
    store = Store([leaf_hash(data) for data in LEAF_INPUTS])
    expected = {(level, i): bytes.fromhex(h) for level, row in enumerate(NODES)
                for i, h in enumerate(row)}  # fmt: skip
    assert store.nodes == expected


def test_the_compact_range_holds_the_reference_edge_at_every_size() -> None:
    """transparency-dev's CompactTrees: one hash per set bit of the size, largest first."""
    nodes = [[bytes.fromhex(h) for h in row] for row in NODES]
    expected = [
        (),
        (nodes[0][0],),
        (nodes[1][0],),
        (nodes[1][0], nodes[0][2]),
        (nodes[2][0],),
        (nodes[2][0], nodes[0][4]),
        (nodes[2][0], nodes[1][2]),
        (nodes[2][0], nodes[1][2], nodes[0][6]),
        (nodes[3][0],),
    ]
    leaves = [leaf_hash(data) for data in LEAF_INPUTS]
    for size, hashes in enumerate(expected):
        assert CompactRange.of_leaves(leaves[:size]).hashes == hashes


def test_the_reference_proofs() -> None:
    store = Store([leaf_hash(data) for data in LEAF_INPUTS])
    for index, size, path in INCLUSION:
        assert [h.hex() for h in inclusion_proof(index, size, store.read)] == path
        proof = [bytes.fromhex(h) for h in path]
        assert verify_inclusion(
            store.nodes[(0, index)], index, size, proof, bytes.fromhex(ROOTS[size])
        )
    for old, new, path in CONSISTENCY:
        assert [h.hex() for h in consistency_proof(old, new, store.read)] == path
        proof = [bytes.fromhex(h) for h in path]
        assert verify_consistency(old, new, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new]),
                                  proof)  # fmt: skip


@pytest.mark.parametrize("size", range(0, 71))
def test_roots_of_every_size_match_the_naive_tree_hash(size: int) -> None:
    expected = naive_mth(LEAVES[:size])
    assert root_of(LEAVES[:size]) == expected
    assert tree_root(size, STORE.read) == expected  # any past size, from stored nodes
    assert CompactRange.of_leaves(LEAVES[:size]).root() == expected
    assert CompactRange.read(size, STORE.read).root() == expected  # resumed after a restart
    assert verify_auction.roots_at(LEAVES, [size])[size] == expected


def test_a_resumed_range_appends_like_the_first() -> None:
    resumed = CompactRange.read(37, STORE.read)
    for leaf in LEAVES[37:]:
        resumed, _ = resumed.append(leaf)
    assert resumed == STORE.edge


def test_perfect_subtrees_tile_a_range_largest_first() -> None:
    assert perfect_subtrees(0, 13) == [(3, 0), (2, 2), (0, 12)]
    assert perfect_subtrees(8, 13) == [(2, 2), (0, 12)]
    assert perfect_subtrees(12, 14) == [(1, 6)]


def inclusion_mutations(
    leaf: bytes, index: int, size: int, path: list[bytes], root: bytes
) -> list[tuple[str, bytes, int, int, list[bytes], bytes]]:
    """transparency-dev's corruptions of a good proof: none of them may verify."""
    cases = [
        ("index - 1", leaf, index - 1, size, path, root),
        ("index + 1", leaf, index + 1, size, path, root),
        ("index ^ 2", leaf, index ^ 2, size, path, root),
        ("size * 2", leaf, index, size * 2, path, root),
        ("size // 2", leaf, index, size // 2, path, root),
        ("wrong leaf", leaf_hash(b"WrongLeaf"), index, size, path, root),
        ("empty root", leaf, index, size, path, EMPTY_ROOT),
        ("random root", leaf, index, size, path, SOME_HASH),
        ("trailing garbage", leaf, index, size, [*path, b""], root),
        ("trailing root", leaf, index, size, [*path, root], root),
        ("preceding garbage", leaf, index, size, [b"", *path], root),
        ("preceding root", leaf, index, size, [root, *path], root),
    ]
    for i in range(len(path)):
        flipped = bytes([path[i][0] ^ 8]) + path[i][1:]
        cases.append((f"bit of path[{i}]", leaf, index, size, [*path[:i], flipped, *path[i + 1 :]],
                      root))  # fmt: skip
    if path:
        cases.append(("removed", leaf, index, size, path[:-1], root))
    if len(path) > 1:
        cases.append(("inserted", leaf, index, size, [path[0], SOME_HASH, *path[1:]], root))
    return cases


VERIFY_INCLUSION: list[Callable[[bytes, int, int, list[bytes], bytes], bool]] = [
    verify_inclusion,
    lambda leaf, i, n, path, root: verify_auction.root_from_inclusion(leaf, i, n, path) == root,
]


@pytest.mark.parametrize("verify", VERIFY_INCLUSION, ids=["domain", "verifier"])
@pytest.mark.parametrize("size", range(1, 65))
def test_every_inclusion_proof_verifies_and_no_mutation_does(
    size: int, verify: Callable[[bytes, int, int, list[bytes], bytes], bool]
) -> None:
    root = naive_mth(LEAVES[:size])
    for index in range(size):
        store_batches = len(STORE.batches)
        path = inclusion_proof(index, size, STORE.read)
        assert len(STORE.batches) <= store_batches + 1  # one batched read (none for one leaf)
        assert len(inclusion_nodes(index, size)) <= 2 * max(1, size.bit_length())
        assert path == naive_path(index, LEAVES[:size])
        assert root_from_inclusion(LEAVES[index], index, size, path) == root
        assert verify(LEAVES[index], index, size, path, root)
        for name, *case in inclusion_mutations(LEAVES[index], index, size, path, root):
            assert not verify(*case), name  # type: ignore[arg-type]


def consistency_mutations(
    old: int, new: int, old_root: bytes, new_root: bytes, path: list[bytes]
) -> list[tuple[str, int, int, bytes, bytes, list[bytes]]]:
    cases = [
        ("old - 1", old - 1, new, old_root, new_root, path),
        ("old + 1", old + 1, new, old_root, new_root, path),
        ("old ^ 2", old ^ 2, new, old_root, new_root, path),
        ("new * 2", old, new * 2, old_root, new_root, path),
        ("new // 2", old, new // 2, old_root, new_root, path),
        ("wrong old root", old, new, SOME_HASH, new_root, path),
        ("wrong new root", old, new, old_root, SOME_HASH, path),
        ("swapped roots", old, new, new_root, old_root, path),
        ("empty path", old, new, old_root, new_root, []),
        ("trailing garbage", old, new, old_root, new_root, [*path, b""]),
        ("trailing old root", old, new, old_root, new_root, [*path, old_root]),
        ("trailing new root", old, new, old_root, new_root, [*path, new_root]),
        ("preceding garbage", old, new, old_root, new_root, [b"", *path]),
        ("preceding old root", old, new, old_root, new_root, [old_root, *path]),
        ("preceding new root", old, new, old_root, new_root, [new_root, *path]),
        ("preceding path[0]", old, new, old_root, new_root, [path[0], *path]),
        ("truncated", old, new, old_root, new_root, path[:-1]),
    ]
    for i in range(len(path)):
        flipped = bytes([path[i][0] ^ 16]) + path[i][1:]
        cases.append((f"bit of path[{i}]", old, new, old_root, new_root,
                      [*path[:i], flipped, *path[i + 1 :]]))  # fmt: skip
    return cases


VERIFY_CONSISTENCY: list[Callable[[int, int, bytes, bytes, list[bytes]], bool]] = [
    verify_consistency,
    verify_auction.consistent,
]


@pytest.mark.parametrize("verify", VERIFY_CONSISTENCY, ids=["domain", "verifier"])
@pytest.mark.parametrize("new", range(1, 65))
def test_every_consistency_proof_verifies_and_no_mutation_does(
    new: int, verify: Callable[[int, int, bytes, bytes, list[bytes]], bool]
) -> None:
    new_root = naive_mth(LEAVES[:new])
    for old in range(1, new + 1):
        old_root = naive_mth(LEAVES[:old])
        path = consistency_proof(old, new, STORE.read)
        assert path == (naive_subproof(old, LEAVES[:new], True) if old < new else [])
        assert verify(old, new, old_root, new_root, path)
        if old == new:
            assert not verify(old, new, old_root, SOME_HASH, path)
            assert not verify(old, new, old_root, new_root, [SOME_HASH])
            continue
        for name, *case in consistency_mutations(old, new, old_root, new_root, path):
            assert not verify(*case), name  # type: ignore[arg-type]


def test_the_trivial_consistency_cases() -> None:
    root = naive_mth(LEAVES[:5])
    assert consistency_proof(0, 5, STORE.read) == []
    assert verify_consistency(0, 5, EMPTY_ROOT, root, [])
    assert not verify_consistency(0, 5, SOME_HASH, root, [])  # the empty tree has one root
    assert not verify_consistency(0, 5, EMPTY_ROOT, root, [root])
    assert not verify_consistency(5, 4, root, root, [])  # no going back
    assert not verify_consistency(2, 1, root, root, [])


def test_proofs_outside_the_tree_are_refused() -> None:
    with pytest.raises(ValueError):
        inclusion_proof(5, 5, STORE.read)
    with pytest.raises(ValueError):
        consistency_proof(6, 5, STORE.read)
    with pytest.raises(MissingNode):  # a size the store has not reached
        inclusion_proof(3, 200, STORE.read)
    assert root_from_inclusion(LEAVES[0], 0, 0, []) is None
    assert not verify_inclusion(LEAVES[0], 0, 1, [], EMPTY_ROOT)
    assert verify_inclusion(LEAVES[0], 0, 1, [], LEAVES[0])  # one leaf: it is the root


def test_a_proof_of_a_big_tree_reads_logarithmically_many_nodes() -> None:
    for size in (10_000, 1 << 20, (1 << 20) + 12_345, 10**9):
        for index in (0, size // 3, size - 1):
            nodes = inclusion_nodes(index, size)
            assert len(nodes) <= 2 * size.bit_length()
    assert max(len(inclusion_nodes(i, 10_000)) for i in range(0, 10_000, 7)) <= 28
