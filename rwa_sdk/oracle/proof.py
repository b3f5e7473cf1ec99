"""Proofs that ``ReadingOracle.verifyReading`` accepts, built from the store and the chain's logs.

A proof is the reading's path to its batch root (rebuilt from the batch's readings in the store)
followed by the batch root's path to the peak of its mountain in the asset's mountain range (rebuilt
from the ``BatchAnchored`` logs at one block). It is valid for the batch count it was built at, and
stays valid until the batch's mountain merges into a higher one; then build it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3.contract import Contract

from . import mmr
from .batch_log import anchored_batches
from .merkle import MerkleTree
from .store import BatchStatus


class ProofNotFound(LookupError):
    """The reading is unknown, not anchored yet, or the chain's logs do not match the store."""


@dataclass(frozen=True)
class ReadingProof:
    """Everything ``verifyReading(reading, signature, proof, batchIndex)`` needs for one stored reading."""

    reading: Any
    signature: bytes
    proof: list[bytes]
    batch_index: int
    batch_count: int  # the asset's batch count the proof was built for

    def to_json(self) -> dict[str, Any]:
        return {
            "reading": self.reading.to_json(),
            "signature": "0x" + self.signature.hex(),
            "proof": ["0x" + p.hex() for p in self.proof],
            "batchIndex": self.batch_index,
            "batchCount": self.batch_count,
        }


def reading_proof(store: Any, oracle: Contract, device: bytes, seq: int, *, from_block: int = 0) -> ReadingProof:
    """The proof of reading ``seq`` of ``device``, against the chain's current batches of its asset."""
    stored = store.find_reading(device, seq)
    if stored is None:
        raise ProofNotFound(f"no reading with seq {seq} from this device")
    batch = store.batch(stored.batch) if stored.batch is not None else None
    if batch is None or batch.status is not BatchStatus.ANCHORED:
        raise ProofNotFound("the reading's batch is not anchored yet")
    tree = MerkleTree.from_digests([r.digest for r in store.batch_readings(batch.id)])
    if tree.root != batch.root:
        raise ProofNotFound("stored batch does not rebuild to its root (store corrupted)")
    block = oracle.w3.eth.block_number
    count = oracle.functions.batchCount(batch.asset_id).call(block_identifier=block)
    logged = anchored_batches(oracle, batch.asset_id, from_block=from_block, to_block=block)
    if [b.batch_index for b in logged] != list(range(count)):
        raise ProofNotFound(f"the logs from block {from_block} do not hold the asset's {count} batches")
    roots = [b.merkle_root for b in logged]
    if roots[batch.batch_index] != batch.root:
        raise ProofNotFound(f"batch {batch.batch_index} on chain has another root (reorg since it was anchored?)")
    path = tree.proof(stored.digest) + mmr.proof(roots, batch.batch_index)
    return ReadingProof(stored.reading, stored.signature, path, batch.batch_index, count)
