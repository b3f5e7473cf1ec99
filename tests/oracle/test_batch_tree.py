"""A reading's path in its batch from the stored tree top and a few leaves equals the full tree's path."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rwa_sdk.oracle import batch_tree
from rwa_sdk.oracle.merkle import MerkleError, MerkleTree, leaf_of, process_proof
from rwa_sdk.oracle.reading import keccak256


def _tree(n: int) -> tuple[MerkleTree, list[bytes]]:
    digests = [keccak256(b"r" + i.to_bytes(4, "big")) for i in range(n)]
    return MerkleTree.from_digests(digests), digests


@given(st.integers(1, 1_100), st.data())
def test_property_path_from_the_top_and_needed_leaves_is_the_full_trees(n, data):
    tree, digests = _tree(n)
    ranks = batch_tree.ranks(tree, digests)
    assert sorted(ranks) == list(range(n))
    i = data.draw(st.integers(0, n - 1))
    by_rank = {rank: leaf_of(d) for rank, d in zip(ranks, digests)}
    needed = batch_tree.needed_ranks(n, ranks[i])
    asked = []

    def leaf_at(rank):
        asked.append(rank)
        return by_rank[rank]

    path = batch_tree.proof(n, ranks[i], batch_tree.top(tree), leaf_at)
    assert path == tree.proof(digests[i])
    assert process_proof(leaf_of(digests[i]), path) == tree.root
    assert set(asked) <= set(needed)
    height = (2 * n - 2).bit_length()  # depth of the deepest leaf + 1
    assert len(needed) <= 2 * 2 ** max(0, height - batch_tree.TOP_LEVELS)


def test_a_thousand_reading_batch_keeps_under_a_kilobyte_and_hashes_64_readings_at_most():
    tree, digests = _tree(1_000)
    assert len(batch_tree.top(tree)) == 31 * 32
    assert max(len(batch_tree.needed_ranks(1_000, k)) for k in range(1_000)) <= 64


def test_a_tampered_or_truncated_top_is_caught():
    tree, digests = _tree(300)
    rank = batch_tree.ranks(tree, digests)[5]
    leaves = dict(zip(batch_tree.ranks(tree, digests), (leaf_of(d) for d in digests)))
    top = bytearray(batch_tree.top(tree))
    top[32 * 2] ^= 1  # one stored node flipped
    path = batch_tree.proof(300, rank, bytes(top), leaves.__getitem__)
    assert process_proof(leaf_of(digests[5]), path) != tree.root
    with pytest.raises(MerkleError):
        batch_tree.proof(300, rank, bytes(top[:-1]), leaves.__getitem__)
    for bad in (-1, 300):
        with pytest.raises(MerkleError):
            batch_tree.needed_ranks(300, bad)
