"""Merkle trees over reading digests, laid out like OpenZeppelin's ``StandardMerkleTree``.

Leaf of a reading: ``keccak256(keccak256(abi.encode(bytes32 digest)))`` (double hashed, so a leaf can
never be confused with an inner node); inner nodes hash the sorted pair (``MerkleProof``'s
commutative hash). Leaves are sorted by hash and stored in the array form of a complete binary tree
(root at index 0, leaves at the end in reverse order), exactly like ``@openzeppelin/merkle-tree``, so
the same root comes out of either implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .reading import keccak256


class MerkleError(ValueError):
    """Empty tree, unknown leaf, or a malformed proof."""


def leaf_of(digest: bytes) -> bytes:
    """The StandardMerkleTree leaf for the single ``bytes32`` value ``digest``."""
    return keccak256(keccak256(digest))


def hash_pair(a: bytes, b: bytes) -> bytes:
    """OpenZeppelin's commutative keccak: the smaller node first."""
    return keccak256(a + b if a <= b else b + a)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root reached from ``leaf`` through ``proof`` (``MerkleProof.processProof``)."""
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


@dataclass(frozen=True)
class MerkleTree:
    """A built tree: ``nodes`` in array form, ``index`` from leaf hash to position in ``nodes``."""

    nodes: tuple[bytes, ...]
    index: dict[bytes, int]

    @classmethod
    def from_digests(cls, digests: Sequence[bytes]) -> MerkleTree:
        return cls.from_leaves([leaf_of(d) for d in digests])

    @classmethod
    def from_leaves(cls, leaves: Sequence[bytes]) -> MerkleTree:
        if not leaves:
            raise MerkleError("a Merkle tree needs at least one leaf")
        ordered = sorted(leaves)
        size = 2 * len(ordered) - 1
        nodes: list[bytes] = [b""] * size
        for i, leaf in enumerate(ordered):
            nodes[size - 1 - i] = leaf
        for i in range(size - 1 - len(ordered), -1, -1):
            nodes[i] = hash_pair(nodes[2 * i + 1], nodes[2 * i + 2])
        index = {nodes[size - 1 - i]: size - 1 - i for i in range(len(ordered))}
        if len(index) != len(ordered):
            raise MerkleError("duplicate leaves: a reading appears twice in the batch")
        return cls(tuple(nodes), index)

    @property
    def root(self) -> bytes:
        return self.nodes[0]

    def __len__(self) -> int:
        return len(self.index)

    def proof_for_leaf(self, leaf: bytes) -> list[bytes]:
        try:
            i = self.index[leaf]
        except KeyError:
            raise MerkleError("leaf not in tree") from None
        proof = []
        while i > 0:
            proof.append(self.nodes[i + 1 if i % 2 == 1 else i - 1])
            i = (i - 1) // 2
        return proof

    def proof(self, digest: bytes) -> list[bytes]:
        """The sibling path of the reading with ``digest`` (for ``verifyReading``)."""
        return self.proof_for_leaf(leaf_of(digest))
