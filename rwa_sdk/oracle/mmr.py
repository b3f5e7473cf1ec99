"""The Merkle Mountain Range of an asset's batches, as ``MerkleMountainRange.sol`` keeps it.

The contract stores only the peaks. Each leaf is a batch's root with its time span (``leaf``), from the
``BatchAnchored`` logs in anchoring order: the span is committed so that a dispute knows the period the
batch was counted in. From the leaves this module rebuilds the peaks and the path from batch ``index`` to
the peak of its mountain, which ``verifyReading`` takes after the reading's path to its batch root and the
batch's ``span_word``. Inner nodes hash their children in order (``keccak256(left ++ right)``), unlike the
batch trees.
"""

from __future__ import annotations

from collections.abc import Sequence

from .reading import keccak256


class MountainRangeError(ValueError):
    """Unknown leaf index, or a leaf list that does not match the chain."""


def position(size: int, index: int) -> tuple[int, int]:
    """Height of the mountain holding leaf ``index`` of ``size`` leaves, and the leaf's offset in it."""
    if not 0 <= index < size:
        raise MountainRangeError(f"leaf {index} is not in a range of {size}")
    height = (size ^ index).bit_length() - 1
    return height, index & ((1 << height) - 1)


def mountains(size: int) -> list[tuple[int, int]]:
    """``(first leaf, height)`` of each mountain of a range of ``size`` leaves, highest first."""
    out, start = [], 0
    for height in range(size.bit_length() - 1, -1, -1):
        if size >> height & 1:
            out.append((start, height))
            start += 1 << height
    return out


def leaf(root: bytes, from_time: int, to_time: int) -> bytes:
    """Batch ``root`` with its span as the contract appends it: ``keccak256(abi.encodePacked(root, from, to))``."""
    return keccak256(root + from_time.to_bytes(8, "big") + to_time.to_bytes(8, "big"))


def span_word(from_time: int, to_time: int) -> bytes:
    """The proof node between the batch path and the mountain path: ``fromTime << 64 | toTime``."""
    return (from_time << 64 | to_time).to_bytes(32, "big")


def read_span_word(word: bytes) -> tuple[int, int]:
    """``(fromTime, toTime)`` of a span word; ValueError for a word the contract refuses (2^128 or more)."""
    span = int.from_bytes(word, "big")
    if span >> 128:
        raise ValueError("not a batch's time span")
    return span >> 64, span & (2**64 - 1)


def parent(left: bytes, right: bytes) -> bytes:
    """An inner node: its children hashed in order."""
    return keccak256(left + right)


def _tree_root(leaves: Sequence[bytes]) -> bytes:
    level = list(leaves)
    while len(level) > 1:
        level = [keccak256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def peaks(leaves: Sequence[bytes]) -> list[bytes]:
    """The peaks the contract holds after appending ``leaves`` (``batchPeaks``, highest first)."""
    return [_tree_root(leaves[start:start + (1 << height)]) for start, height in mountains(len(leaves))]


def proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The siblings from leaf ``index`` up to the peak of its mountain, lowest first."""
    height, offset = position(len(leaves), index)
    start = index - offset
    level = list(leaves[start:start + (1 << height)])
    path = []
    for _ in range(height):
        path.append(level[offset ^ 1])
        level = [keccak256(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        offset //= 2
    return path


def climb(leaf: bytes, path: Sequence[bytes], offset: int) -> bytes:
    """The peak reached from ``leaf`` at ``offset`` in its mountain through ``path`` (the contract's ``climb``)."""
    node = leaf
    for i, sibling in enumerate(path):
        node = keccak256(node + sibling) if (offset >> i) & 1 == 0 else keccak256(sibling + node)
    return node
