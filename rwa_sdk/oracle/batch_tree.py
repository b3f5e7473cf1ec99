"""What the store keeps of a batch's Merkle tree, so a proof hashes a few dozen readings, not the batch.

The tree (``merkle.py``: OpenZeppelin's array form, leaves sorted by hash) is a complete binary tree in
heap order: node ``i`` has children ``2i+1`` and ``2i+2``, the leaf of rank ``k`` (its place in hash
order) sits at ``2n-2-k``. The store keeps each reading's rank and the batch's top ``TOP_LEVELS`` levels
(``2**TOP_LEVELS - 1`` nodes, under 1 KB for any batch: 1 byte per reading at 1,000, and the batch row
still fits an SQLite page with others). A reading's path then needs only the leaves under the siblings below
the stored top: at most ``2 * 2**(height - TOP_LEVELS)`` readings (64 of a 1,000-reading batch), fetched by
rank and hashed again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from .merkle import MerkleError, MerkleTree, hash_pair, leaf_of

TOP_LEVELS = 5


def ranks(tree: MerkleTree, digests: Sequence[bytes]) -> list[int]:
    """The rank (place in hash order) of each digest's leaf, in the order given."""
    last = len(tree.nodes) - 1
    return [last - tree.index[leaf_of(d)] for d in digests]


def top(tree: MerkleTree) -> bytes:
    """The nodes of the tree's top levels, concatenated (what the store keeps of the batch)."""
    return b"".join(tree.nodes[:_top_size(len(tree))])


def _top_size(n: int) -> int:
    return min(n - 1, 2**TOP_LEVELS - 1)


def _siblings(n: int, rank: int) -> list[int]:
    """Positions of the siblings on the path from the leaf of ``rank`` to the root, lowest first."""
    if not 0 <= rank < n:
        raise MerkleError(f"leaf rank {rank} is not in a tree of {n}")
    out, i = [], 2 * n - 2 - rank
    while i > 0:
        out.append(i + 1 if i % 2 else i - 1)
        i = (i - 1) // 2
    return out


def _leaves_under(n: int, position: int) -> Iterable[int]:
    """Ranks of the leaves under the node at ``position``."""
    stack = [position]
    while stack:
        i = stack.pop()
        if i >= n - 1:
            yield 2 * n - 2 - i
        else:
            stack += (2 * i + 1, 2 * i + 2)


def needed_ranks(n: int, rank: int) -> list[int]:
    """The ranks whose leaves a proof of ``rank`` must hash again (the siblings below the stored top)."""
    kept = _top_size(n)
    return sorted({k for s in _siblings(n, rank) if s >= kept for k in _leaves_under(n, s)})


def proof(n: int, rank: int, top_nodes: bytes, leaf_at: Callable[[int], bytes]) -> list[bytes]:
    """The sibling path of the leaf of ``rank`` in a tree of ``n`` leaves, from the stored top and the leaves
    of :func:`needed_ranks` (``leaf_at(rank)``)."""
    kept = _top_size(n)
    if len(top_nodes) != 32 * kept:
        raise MerkleError(f"a stored top of {len(top_nodes)} bytes for a tree of {n} leaves")

    def node(i: int) -> bytes:
        if i < kept:
            return top_nodes[32 * i:32 * i + 32]
        if i >= n - 1:
            return leaf_at(2 * n - 2 - i)
        return hash_pair(node(2 * i + 1), node(2 * i + 2))

    return [node(s) for s in _siblings(n, rank)]
