"""Proofs from the store's compact rows: digests hashed again, the batch's stored tree top, the mountain's nodes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rwa_sdk.oracle import batch_tree, mmr
from rwa_sdk.oracle.merkle import MerkleTree
from rwa_sdk.oracle.proof import ProofNotFound, climb_path, reading_proof
from rwa_sdk.oracle.reading import Reading, ReadingDomain, keccak256
from rwa_sdk.oracle.store import open_store

ASSET = bytes.fromhex("ef" * 32)
DOMAIN = ReadingDomain(31337, "0x" + "77" * 20)


class FakeOracle:
    """The chain's two views a proof reads (``batchCount``, ``batchPeaks``), from known batch leaves."""

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
    roots = [keccak256(bytes([i])) for i in range(batches_before)] + [mmr.leaf(tree.root, 1_000, 2_000)] \
        + [keccak256(b"later")]
    store.add_chain_leaves(ASSET, 0, roots, 1)
    return store, rs, tree, roots, batches_before


def verifies(proof, tree: MerkleTree, roots: list[bytes], index: int) -> bool:
    climbed = climb_path(DOMAIN.digest(proof.reading), proof.proof, index, len(roots))
    return (climbed.batch_root, climbed.from_time, climbed.to_time) == (tree.root, 1_000, 2_000) \
        and climbed.peak in mmr.peaks(roots)


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


# The tables of a layout-3 store (the release before digests left the rows), as that release wrote them.
LAYOUT_3 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE assets (id {id}, asset {blob} NOT NULL UNIQUE);
CREATE TABLE batches (id {id}, asset {blob} NOT NULL, root {blob} NOT NULL, count {int} NOT NULL,
    energy_wh {numeric} NOT NULL, from_time {int} NOT NULL, to_time {int} NOT NULL, status TEXT NOT NULL, nonce {int},
    tx_hashes {blob} NOT NULL DEFAULT {empty_blob}, block_number {int}, batch_index {int}, built_block {int} NOT NULL,
    created_at {real} NOT NULL, UNIQUE (asset, root));
CREATE TABLE readings (id {id}, device {blob} NOT NULL, seq {int} NOT NULL, asset_ref {int} NOT NULL,
    period_start {int} NOT NULL, period_end {int} NOT NULL, energy_wh {int} NOT NULL, meter_wh {int} NOT NULL,
    flags {int} NOT NULL, signature {blob} NOT NULL, digest {blob} NOT NULL, received_at {real} NOT NULL,
    batch {int} REFERENCES batches(id), dropped {int} NOT NULL DEFAULT 0, UNIQUE (device, seq));
CREATE INDEX readings_pending ON readings (asset_ref, period_start, id) WHERE batch IS NULL AND dropped = 0;
CREATE INDEX readings_pending_age ON readings (asset_ref, id) WHERE batch IS NULL AND dropped = 0;
CREATE INDEX readings_batch ON readings (batch);
CREATE TABLE devices (device {blob} PRIMARY KEY, last_seq {int}, last_end {int}, revoked_at {int});
CREATE TABLE alerts (id {id}, device {blob} NOT NULL, seq {int} NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL,
    at {real} NOT NULL);
INSERT INTO meta (key, value) VALUES ('layout', '3');
"""
OFFSET = 2**63


def write_layout_3(location: str, rs: list[Reading], batched: int, root: bytes) -> None:
    """A layout-3 store: ``rs`` stored with their digests, the first ``batched`` in one anchored batch."""
    if location.startswith("postgresql://"):
        import psycopg

        from rwa_sdk.oracle.pg_store import PostgresStore as Kind

        db, mark = psycopg.connect(location, autocommit=True), "%s"
    else:
        import sqlite3

        from rwa_sdk.oracle.store import SqliteStore as Kind

        db, mark = sqlite3.connect(location, isolation_level=None), "?"
    for statement in LAYOUT_3.format(**Kind.types).split(";"):
        if statement.strip():
            db.execute(statement)
    q = lambda sql: sql.replace("?", mark)  # noqa: E731
    db.execute(q("INSERT INTO assets (asset) VALUES (?)"), (ASSET,))
    db.execute(q("INSERT INTO batches (asset, root, count, energy_wh, from_time, to_time, status, batch_index,"
                 " block_number, built_block, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"),
               (ASSET, root, batched, "0", 1_000, 2_000, "anchored", 0, 1, 1, 0.0))
    for k, r in enumerate(rs):
        db.execute(q("INSERT INTO readings (device, seq, asset_ref, period_start, period_end, energy_wh, meter_wh, flags,"
                     " signature, digest, received_at, batch) VALUES (?,?,1,?,?,?,?,?,?,?,?,?)"),
                   (r.device, r.seq - OFFSET, r.period_start - OFFSET, r.period_end - OFFSET, r.energy_wh - OFFSET,
                    r.meter_wh - OFFSET, r.flags, b"s" * 65, DOMAIN.digest(r), 5.0, 1 if k < batched else None))
        db.execute(q("INSERT INTO devices (device, last_seq, last_end) VALUES (?,?,?)"),
                   (r.device, r.seq - OFFSET, r.period_end - OFFSET))
    db.execute(q("INSERT INTO devices (device, revoked_at) VALUES (?,?)"), (b"\x99" * 20, 1_234 - OFFSET))
    db.execute(q("INSERT INTO alerts (device, seq, kind, detail, at) VALUES (?,?,?,?,?)"),
               (b"\x99" * 20, 2**64 - 1 - OFFSET, "revoked", "", 0.0))
    db.close()


def test_a_layout_3_store_is_migrated_with_every_reading_and_batch(store_location):
    rs = readings(40)
    tree = MerkleTree.from_digests([DOMAIN.digest(r) for r in rs[:30]])
    write_layout_3(store_location, rs, 30, tree.root)
    store = open_store(store_location)
    try:
        assert store.meta("layout") == "4"
        assert store.counts()["readings_anchored"] == 30 and store.counts()["readings_pending"] == 10
        for r in rs:
            found = store.find_reading(r.device, r.seq)
            assert found.reading == r and found.signature == b"s" * 65 and found.received_at == 5.0
        assert [p.reading for p in store.pending_readings(ASSET, 0, 2**40, 100)] == rs[30:]
        assert store.revocations([b"\x99" * 20]) == {b"\x99" * 20: 1_234}
        assert store.alerts() == [(b"\x99" * 20, 2**64 - 1, "revoked", "")]
        assert store.last_seqs()[rs[0].device] == 1
        columns = [d[0] for d in store._execute("SELECT * FROM readings LIMIT 1").description]
        assert "digest" not in columns
        # resends still compare with the migrated content; new readings get fresh ids
        assert [o.value for o in store.insert_readings([(rs[0], b"s" * 65, b""), (rs[1].with_(energy_wh=1), b"s" * 65, b"")])] \
            == ["duplicate", "conflict"]
        new = Reading(rs[0].device, ASSET, 2, 1_300, 1_600, 1, 1, 0)
        assert [o.value for o in store.insert_readings([(new, b"t" * 65, b"")])] == ["inserted"]
        assert store.find_reading(new.device, 2).id > max(store.find_reading(r.device, 1).id for r in rs)
        # a migrated batch keeps no tree top: its proofs hash the whole batch again
        roots = [mmr.leaf(tree.root, 1_000, 2_000)]
        store.add_chain_leaves(ASSET, 0, roots, 1)
        proof = reading_proof(store, FakeOracle(roots), rs[7].device, 1, domain=DOMAIN)
        assert verifies(proof, tree, roots, 0)
    finally:
        store.close()
    open_store(store_location).close()  # opens again as layout 4
