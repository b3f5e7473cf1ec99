"""Hold the relayer to its batches: disputes built from inclusion proofs (``rwa oracle dispute``).

The oracle cannot see a batch's members, so it cannot refuse a reading counted twice; instead anyone
who holds two proofs of the same (device, seq), or of two overlapping periods of one device, or one
proof of a reading that should not count, can show it on chain (``disputeDoubleCount`` /
``disputeInclusion``). The surplus energy then leaves the period's totals and anchoring stops.

A proof goes stale when its batch's mountain merges into a higher one, so only the reading's path to its
batch root and the batch's span word are kept from the proof (as ``rwa oracle proof --json`` printed it);
the mountain part is rebuilt from the chain's ``BatchAnchored`` logs when the dispute is sent. The
contract takes a removed reading off the period its batch was counted in, which the span word names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3.contract import Contract

from . import mmr
from .batch_log import anchored_batches
from .reading import Reading

# ReadingOracle.DisputeKind, in declaration order.
DISPUTE_KINDS = ("none", "duplicate-seq", "overlapping-period", "duplicate-in-batch", "wrong-asset",
                 "device-not-active", "direct-device", "late-after-revocation", "wrong-period")


class DisputeError(ValueError):
    """The proofs do not make a dispute (not conflicting, malformed, or not anchored on this oracle)."""


@dataclass(frozen=True)
class Inclusion:
    """A reading in batch ``batch_index`` of ``asset_id``, with its path to the batch root and then the batch's
    span word (``mmr.span_word``; no mountain part)."""

    reading: Reading
    asset_id: bytes
    batch_index: int
    tree_path: tuple[bytes, ...]

    @classmethod
    def from_proof_json(cls, data: Any, asset_id: bytes | None = None) -> Inclusion:
        """From what ``rwa oracle proof --json`` prints; ``asset_id`` is the batch's asset (default: the reading's)."""
        try:
            reading = Reading.from_json(data["reading"])
            proof = [bytes.fromhex(str(p).removeprefix("0x")) for p in data["proof"]]
            index, count = int(data["batchIndex"]), int(data["batchCount"])
            height, _ = mmr.position(count, index)
        except (KeyError, TypeError, ValueError) as error:
            raise DisputeError(f"not a reading proof: {error}") from None
        if any(len(p) != 32 for p in proof) or len(proof) <= height:
            raise DisputeError("not a reading proof: path nodes must be 32 bytes, a span word and as many as its "
                               "mountain needs")
        return cls(reading, asset_id or reading.asset_id, index, tuple(proof[:len(proof) - height]))

    def argument(self, leaves: list[bytes]) -> tuple:
        """The contract's ``Inclusion`` tuple, with the mountain path for the asset's current batch ``leaves``."""
        if self.batch_index >= len(leaves):
            raise DisputeError(f"batch {self.batch_index} of asset 0x{self.asset_id.hex()} is not anchored")
        return (self.reading.as_tuple(), self.asset_id, self.batch_index,
                list(self.tree_path) + mmr.proof(leaves, self.batch_index))


def conflict(a: Inclusion, b: Inclusion) -> str | None:
    """Why ``disputeDoubleCount(a, b)`` would succeed (if both are still counted), or None."""
    ra, rb = a.reading, b.reading
    if ra.device != rb.device or a == b:
        return None
    if ra.seq == rb.seq:
        return "duplicate-seq"
    if ra.period_start < rb.period_end and rb.period_start < ra.period_end:
        return "overlapping-period"
    return None


def mountain_leaves(oracle: Contract, asset_id: bytes, *, from_block: int = 0) -> list[bytes]:
    """The asset's batch leaves (root and span) in anchoring order, checked against the chain's peaks."""
    leaves = [b.leaf for b in anchored_batches(oracle, asset_id, from_block=from_block)]
    if mmr.peaks(leaves) != oracle.functions.batchPeaks(asset_id).call():
        raise DisputeError(f"the BatchAnchored logs from block {from_block} do not rebuild the asset's batches")
    return leaves


def _leaves(oracle: Contract, *inclusions: Inclusion, from_block: int = 0) -> dict[bytes, list[bytes]]:
    return {x.asset_id: mountain_leaves(oracle, x.asset_id, from_block=from_block) for x in inclusions}


def double_count_call(oracle: Contract, a: Inclusion, b: Inclusion, *, from_block: int = 0) -> Any:
    """The ``disputeDoubleCount`` call for two inclusions (paths rebuilt for the current batch counts)."""
    if conflict(a, b) is None:
        raise DisputeError("the readings share neither device and seq nor device and an overlapping period")
    leaves = _leaves(oracle, a, b, from_block=from_block)
    return oracle.functions.disputeDoubleCount(a.argument(leaves[a.asset_id]), b.argument(leaves[b.asset_id]))


def inclusion_call(oracle: Contract, x: Inclusion, *, from_block: int = 0) -> Any:
    """The ``disputeInclusion`` call for one inclusion that should not count."""
    return oracle.functions.disputeInclusion(x.argument(_leaves(oracle, x, from_block=from_block)[x.asset_id]))


def disputed(sent: Any, oracle: Contract) -> list[dict[str, Any]]:
    """The ``ReadingDisputed`` events of a dispute transaction, kinds named."""
    out = []
    for event in sent.events(oracle, "ReadingDisputed"):
        row = dict(event)
        row["kind"] = DISPUTE_KINDS[row["kind"]]
        out.append(row)
    return out
