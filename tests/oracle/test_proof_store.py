"""Proofs from the store's compact rows: digests hashed again, the batch's stored tree top, the mountain's nodes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rwa_sdk.oracle import batch_tree, mmr
from rwa_sdk.oracle.merkle import MerkleTree, leaf_of, process_proof
from rwa_sdk.oracle.proof import ProofNotFound, reading_proof
from rwa_sdk.oracle.reading import Reading, ReadingDomain, keccak256
from rwa_sdk.oracle.store import open_store

ASSET = bytes.fromhex("ef" * 32)
DOMAIN = ReadingDomain(31337, "0x" + "77" * 20)


class FakeOracle:
    """The chain's two views a proof reads (``batchCount``, ``batchPeaks``), from known batch roots."""

    def __init__(self, roots: list[bytes]):
        self.w3 = SimpleNamespace(eth=SimpleNamespace(block_number=1))
        answer = lambda value: SimpleNamespace(call=lambda block_identifier=None: value)  # noqa: E731
        self.functions = SimpleNamespace(batchCount=lambda asset: answer(len(roots)),
                                         batchPeaks=lambda asset: answer(mmr.peaks(roots)))


def readings(n: int, device_byte: int = 1) -> list[Reading]:
    return [Reading(bytes([device_byte]) + i.to_bytes(19, "big"), ASSET, 1, 1_000 + i, 1_300 + i, 5 + i % 7, i, 0)
            for i in range(n)]


def anchored_store(location: str, n: int, *, with_top: bool = True, batches_before: int = 5):
    """A store holding one anchored batch of ``n`` readings at index ``batches_before`` of the asset's range."""
    store = open_store(location)
    rs = readings(n)
    store.insert_readings([(r, b"s" * 65, DOMAIN.digest(r)) for r in rs])
    pending = store.pending_readings(ASSET, 0, 2**40, n)
    digests = [DOMAIN.digest(p.reading) for p in pending]
    tree = MerkleTree.from_digests(digests)
    extra = {"leaf_ranks": batch_tree.ranks(tree, digests), "tree_top": batch_tree.top(tree)} if with_top else {}
    batch = store.create_batch(ASSET, tree.root, [p.id for p in pending], 0, 1_000, 2_000, 1, **extra)
    store.mark_anchored({batch: batches_before}, 1)
    roots = [keccak256(bytes([i])) for i in range(batches_before)] + [tree.root] + [keccak256(b"later")]
    store.add_chain_roots(ASSET, 0, roots, 1)
    return store, rs, tree, roots, batches_before


def verifies(proof, tree: MerkleTree, roots: list[bytes], index: int) -> bool:
    batch_path_len = len(proof.proof) - mmr.position(len(roots), index)[0]
    root = process_proof(leaf_of(DOMAIN.digest(proof.reading)), proof.proof[:batch_path_len])
    peak = mmr.climb(root, proof.proof[batch_path_len:], mmr.position(len(roots), index)[1])
    return root == tree.root and peak in mmr.peaks(roots)


@pytest.mark.parametrize("with_top", [True, False])
def test_every_reading_proves_with_or_without_a_stored_top(store_location, with_top):
    store, rs, tree, roots, index = anchored_store(store_location, 150, with_top=with_top)
    oracle = FakeOracle(roots)
    try:
        for r in rs[::7]:
            proof = reading_proof(store, oracle, r.device, r.seq, domain=DOMAIN)
            assert proof.reading == r and proof.batch_index == index
            assert verifies(proof, tree, roots, index)
    finally:
        store.close()


def test_a_reading_altered_in_the_store_does_not_prove(tmp_path):
    store, rs, tree, roots, _ = anchored_store(str(tmp_path / "o.db"), 100)
    oracle = FakeOracle(roots)
    victim = rs[3]
    neighbour_rank = batch_tree.needed_ranks(100, store.find_reading(victim.device, 1).leaf)[0]
    (neighbour,) = store.batch_readings_by_rank(store.find_reading(victim.device, 1).batch, [neighbour_rank]).values()
    store._execute("UPDATE readings SET energy_wh = energy_wh + 1 WHERE id=?", (neighbour.id,))
    with pytest.raises(ProofNotFound, match="does not rebuild"):
        reading_proof(store, oracle, victim.device, 1, domain=DOMAIN)
    with pytest.raises(ProofNotFound, match="does not rebuild"):  # another oracle's domain: other digests
        reading_proof(store, oracle, rs[50].device, 1, domain=ReadingDomain(1, "0x" + "77" * 20))
    store._execute("DELETE FROM readings WHERE id=?", (neighbour.id,))
    with pytest.raises(ProofNotFound, match="no longer stored"):
        reading_proof(store, oracle, victim.device, 1, domain=DOMAIN)
    store.close()


def test_a_batch_given_a_wrong_number_of_leaf_ranks_is_refused(tmp_path):
    from rwa_sdk.oracle.store import StoreError

    store = open_store(str(tmp_path / "o.db"))
    rs = readings(3)
    store.insert_readings([(r, b"s" * 65, DOMAIN.digest(r)) for r in rs])
    ids = [p.id for p in store.pending_readings(ASSET, 0, 2**40, 3)]
    with pytest.raises(StoreError, match="one leaf rank per reading"):
        store.create_batch(ASSET, b"r" * 32, ids, 0, 1_000, 2_000, 1, leaf_ranks=[0, 1], tree_top=b"")
    assert store.counts()["readings_pending"] == 3
    store.close()
