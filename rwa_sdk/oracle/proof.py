"""Proofs that ``ReadingOracle.verifyReading`` accepts, built from the store and the chain's logs.

A proof is the reading's path to its batch root, the batch's span word, then the batch leaf's path to the
peak of its mountain in the asset's mountain range. The store keeps the range's nodes, appended from the
``BatchAnchored`` logs as they come (O(1) amortised per batch); a proof reads only its mountain's O(log n) nodes and checks the peaks against the chain's
``batchPeaks``, so it costs the same after a day or a year. The path in the batch comes from the
batch's stored tree top and the few dozen readings under the siblings below it (``batch_tree.py``),
their digests hashed again from their fields. It is valid for the batch count it was built
at, and stays valid until the batch's mountain merges into a higher one; then build it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3.contract import Contract

from . import batch_tree, mmr
from .batch_log import anchored_batches
from .merkle import MerkleError, MerkleTree, leaf_of, process_proof
from .reading import ReadingDomain
from .store import BatchRecord, BatchStatus, OracleBinding, StoredReading


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


@dataclass(frozen=True)
class ClimbedPath:
    """What a proof path shows, read as ``verifyReading`` reads it: the batch root it reaches, the batch's
    span, and the peak its mountain climb ends on."""

    batch_root: bytes
    from_time: int
    to_time: int
    peak: bytes


def climb_path(digest: bytes, path: list[bytes], batch_index: int, batch_count: int) -> ClimbedPath:
    """Follow ``path`` from the reading ``digest`` as the contract does (for checks off chain)."""
    height, offset = mmr.position(batch_count, batch_index)
    span_at = len(path) - height - 1
    if span_at < 0:
        raise ProofNotFound(f"a path of {len(path)} nodes is too short for a mountain of height {height}")
    try:
        from_time, to_time = mmr.read_span_word(path[span_at])
    except ValueError:
        raise ProofNotFound("the path's span word is not a batch's time span") from None
    root = process_proof(leaf_of(digest), path[:span_at])
    peak = mmr.climb(mmr.leaf(root, from_time, to_time), path[span_at + 1:], offset)
    return ClimbedPath(root, from_time, to_time, peak)


def reading_proof(store: Any, oracle: Contract, device: bytes, seq: int, *, from_block: int = 0,
                  domain: ReadingDomain | None = None) -> ReadingProof:
    """The proof of reading ``seq`` of ``device``, against the chain's current batches of its asset.

    ``domain`` is the oracle's EIP-712 domain (read from the contract if not given): digests are not
    stored, they are hashed again from the readings' fields."""
    bound = store.binding()
    if bound is not None and bound != OracleBinding.of(oracle):
        raise ProofNotFound(f"the store's batches went to {bound.describe()}, not to {OracleBinding.of(oracle).describe()}")
    stored = store.find_reading(device, seq)
    if stored is None:
        raise ProofNotFound(f"no reading with seq {seq} from this device")
    batch = store.batch(stored.batch) if stored.batch is not None else None
    if batch is None or batch.status is not BatchStatus.ANCHORED:
        raise ProofNotFound("the reading's batch is not anchored yet")
    domain = domain or ReadingDomain.from_contract(oracle)
    digest = domain.digest(stored.reading)
    batch_path = _batch_path(store, batch, stored, digest, domain)
    if process_proof(leaf_of(digest), batch_path) != batch.root:
        raise ProofNotFound("stored batch does not rebuild to its root (store corrupted, or another oracle's readings)")
    for _ in range(2):
        count = sync_leaves(store, oracle, batch.asset_id, from_block=from_block)
        if batch.batch_index >= count:
            raise ProofNotFound(f"batch {batch.batch_index} is not on chain (reorg since it was anchored?)")
        height, _ = mmr.position(count, batch.batch_index)
        peak = (height, batch.batch_index >> height)
        wanted = [(0, batch.batch_index)] + [(k, (batch.batch_index >> k) ^ 1) for k in range(height)]
        nodes = store.mmr_nodes(batch.asset_id, wanted + [peak])
        if nodes.get((0, batch.batch_index)) != mmr.leaf(batch.root, batch.from_time, batch.to_time):
            raise ProofNotFound(f"batch {batch.batch_index} on chain has another root or span "
                                "(reorg since it was anchored?)")
        path = batch_path + [mmr.span_word(batch.from_time, batch.to_time)] + [nodes.get(p, b"") for p in wanted[1:]]
        # sync_leaves checked the peaks against the chain, not the nodes under them: climb before serving
        if climb_path(digest, path, batch.batch_index, count).peak == nodes.get(peak):
            return ReadingProof(stored.reading, stored.signature, path, batch.batch_index, count)
        store.forget_chain_leaves(batch.asset_id)  # a damaged copy: read the logs again
    raise ProofNotFound(f"the stored mountain of batch {batch.batch_index} does not climb to the chain's peak, "
                        "even after reading the logs again")


def _batch_path(store: Any, batch: BatchRecord, stored: StoredReading, digest: bytes,
                domain: ReadingDomain) -> list[bytes]:
    """The reading's path to its batch root: from the stored tree top and the readings under the siblings
    below it, or (a batch stored without its top) from the whole batch hashed again."""
    top = store.batch_tree_top(batch.id) if stored.leaf is not None else None
    try:
        if top is None:
            tree = MerkleTree.from_digests([domain.digest(r.reading) for r in store.batch_readings(batch.id)])
            return tree.proof(digest)
        needed = batch_tree.needed_ranks(batch.count, stored.leaf)  # type: ignore[arg-type]
        rows = store.batch_readings_by_rank(batch.id, needed)
        if len(rows) != len(needed):
            raise ProofNotFound(f"{len(needed) - len(rows)} reading(s) of the batch are no longer stored")
        return batch_tree.proof(batch.count, stored.leaf, top,  # type: ignore[arg-type]
                                lambda rank: leaf_of(domain.digest(rows[rank].reading)))
    except MerkleError as exc:
        raise ProofNotFound(f"stored batch does not rebuild to its root (store corrupted): {exc}") from None


def sync_leaves(store: Any, oracle: Contract, asset_id: bytes, *, from_block: int = 0) -> int:
    """Bring the store's copy of the asset's mountain range up to the latest block; returns the batch count.

    Only the logs of blocks not read yet are fetched; the copy's peaks (O(log n) nodes) are checked
    against the chain's ``batchPeaks``, and a copy that does not match (a reorg) is dropped and read again."""
    for _ in range(2):
        block = oracle.w3.eth.block_number
        size, synced = store.chain_size(asset_id)
        start = max(from_block, synced + 1)
        if start <= block:
            new = anchored_batches(oracle, asset_id, from_block=start, to_block=block)
            if [b.batch_index for b in new] == list(range(size, size + len(new))):
                store.add_chain_leaves(asset_id, size, [b.leaf for b in new], block)
                size += len(new)
        count = oracle.functions.batchCount(asset_id).call(block_identifier=block)
        if size == count:
            if not count:
                return 0
            tops = [(h, first >> h) for first, h in mmr.mountains(count)]
            mine = store.mmr_nodes(asset_id, tops)
            if [mine.get(t) for t in tops] == list(oracle.functions.batchPeaks(asset_id).call(block_identifier=block)):
                return count
        store.forget_chain_leaves(asset_id)
    raise ProofNotFound(f"the BatchAnchored logs from block {from_block} do not rebuild the asset's {count} "
                        "batches (start earlier, or the node serves incomplete logs)")


def asset_leaves(store: Any, oracle: Contract, asset_id: bytes, *, from_block: int = 0) -> tuple[list[bytes], int]:
    """All batch leaves (``mmr.leaf``) of ``asset_id`` at the latest block, and their count (O(n): for tools
    and tests; proofs read only their mountain)."""
    count = sync_leaves(store, oracle, asset_id, from_block=from_block)
    return store.chain_leaves(asset_id)[0], count
