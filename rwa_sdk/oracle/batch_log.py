"""The chain's record of anchored batches: ``ReadingOracle``'s ``BatchAnchored`` logs.

The contract keeps only running totals and the peaks of each asset's mountain range of batches (each
leaf a root with its span); a batch's root, index, reading count, energy and time span are in its log.
The relayer finds its mined batches here (by asset and root, both indexed), and proofs rebuild the
mountain range from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from web3.contract import Contract

from . import mmr
from .reading import keccak256

BATCH_ANCHORED_TOPIC = keccak256(b"BatchAnchored(bytes32,bytes32,uint256,uint32,uint96,uint64,uint64)")


@dataclass(frozen=True)
class AnchoredBatch:
    """One ``BatchAnchored`` log."""

    asset_id: bytes
    merkle_root: bytes
    batch_index: int
    count: int
    energy_wh: int
    from_time: int
    to_time: int
    block_number: int

    @property
    def leaf(self) -> bytes:
        """This batch's leaf in its asset's mountain range (root and span)."""
        return mmr.leaf(self.merkle_root, self.from_time, self.to_time)


def _decode(oracle: Contract, raw: Any) -> AnchoredBatch:
    event = oracle.events.BatchAnchored().process_log(raw)
    a = event["args"]
    return AnchoredBatch(bytes(a["assetId"]), bytes(a["merkleRoot"]), a["batchIndex"], a["count"],
                         a["totalEnergyWh"], a["fromTime"], a["toTime"], event["blockNumber"])


def _topic(value: bytes | Sequence[bytes] | None) -> str | list[str] | None:
    """One indexed value, or any of several (a log filter ORs the values of one topic position)."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    return ["0x" + bytes(v).hex() for v in value]


def anchored_batches(oracle: Contract, asset_id: bytes | Sequence[bytes] | None, *,
                     root: bytes | Sequence[bytes] | None = None, from_block: int = 0,
                     to_block: int | str = "latest", chunk_blocks: int = 10_000) -> list[AnchoredBatch]:
    """The batches of ``asset_id`` (of every asset if None, of any of them if a list; only those with
    ``root``, or any of several roots, if given), in the order they were anchored.

    Logs are asked for ``chunk_blocks`` blocks at a time: public RPC providers cap the range of one query."""
    topics: list[str | list[str] | None] = ["0x" + BATCH_ANCHORED_TOPIC.hex(), _topic(asset_id)]
    if root is not None:
        topics.append(_topic(root))
    last = oracle.w3.eth.block_number if to_block == "latest" else int(to_block)
    found = []
    for start in range(from_block, last + 1, chunk_blocks):
        found += oracle.w3.eth.get_logs({"address": oracle.address, "fromBlock": start,
                                         "toBlock": min(start + chunk_blocks - 1, last), "topics": topics})
    return sorted((_decode(oracle, raw) for raw in found), key=lambda b: (b.block_number, b.batch_index))


def batches_in_receipt(oracle: Contract, receipt: Any) -> list[AnchoredBatch]:
    """The batches a mined transaction anchored."""
    return [_decode(oracle, raw) for raw in receipt["logs"]
            if raw["address"] == oracle.address and raw["topics"] and bytes(raw["topics"][0]) == BATCH_ANCHORED_TOPIC]
