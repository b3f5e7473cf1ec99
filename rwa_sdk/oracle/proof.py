"""Proofs that ``ReadingOracle.verifyReading`` accepts, built from the store and the chain's logs.

A proof is the reading's path to its batch root (rebuilt from the batch's readings in the store)
followed by the batch root's path to the peak of its mountain in the asset's mountain range (rebuilt
from the asset's batch roots: the store keeps a copy of them, read from the ``BatchAnchored`` logs and
checked against the chain's ``batchPeaks``). It is valid for the batch count it was built at, and
stays valid until the batch's mountain merges into a higher one; then build it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3.contract import Contract

from . import mmr
from .batch_log import anchored_batches
from .merkle import MerkleTree
from .store import BatchStatus, OracleBinding


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
    bound = store.binding()
    if bound is not None and bound != OracleBinding.of(oracle):
        raise ProofNotFound(f"the store's batches went to {bound.describe()}, not to {OracleBinding.of(oracle).describe()}")
    stored = store.find_reading(device, seq)
    if stored is None:
        raise ProofNotFound(f"no reading with seq {seq} from this device")
    batch = store.batch(stored.batch) if stored.batch is not None else None
    if batch is None or batch.status is not BatchStatus.ANCHORED:
        raise ProofNotFound("the reading's batch is not anchored yet")
    tree = MerkleTree.from_digests([r.digest for r in store.batch_readings(batch.id)])
    if tree.root != batch.root:
        raise ProofNotFound("stored batch does not rebuild to its root (store corrupted)")
    roots, count = asset_roots(store, oracle, batch.asset_id, from_block=from_block)
    if batch.batch_index >= count or roots[batch.batch_index] != batch.root:
        raise ProofNotFound(f"batch {batch.batch_index} on chain has another root (reorg since it was anchored?)")
    path = tree.proof(stored.digest) + mmr.proof(roots, batch.batch_index)
    return ReadingProof(stored.reading, stored.signature, path, batch.batch_index, count)


def asset_roots(store: Any, oracle: Contract, asset_id: bytes, *, from_block: int = 0) -> tuple[list[bytes], int]:
    """All batch roots of ``asset_id`` at the latest block, and their count.

    The store keeps a copy, topped up from the logs of the blocks it has not read yet, and checked
    against the chain's peaks; a copy that does not match (a reorg) is dropped and read again."""
    for _ in range(2):
        block = oracle.w3.eth.block_number
        roots, synced = store.chain_roots(asset_id)
        start = max(from_block, synced + 1)
        if start <= block:
            new = anchored_batches(oracle, asset_id, from_block=start, to_block=block)
            if [b.batch_index for b in new] == list(range(len(roots), len(roots) + len(new))):
                store.add_chain_roots(asset_id, len(roots), [b.merkle_root for b in new], block)
                roots += [b.merkle_root for b in new]
        count = oracle.functions.batchCount(asset_id).call(block_identifier=block)
        if len(roots) == count and (not count or mmr.peaks(roots) == oracle.functions.batchPeaks(asset_id).call(
                block_identifier=block)):
            return roots, count
        store.forget_chain_roots(asset_id)
    raise ProofNotFound(f"the BatchAnchored logs from block {from_block} do not rebuild the asset's {count} "
                        "batches (start earlier, or the node serves incomplete logs)")
