"""Ingest rules and the relayer against the session's Anvil: readings in, proofs out."""

from __future__ import annotations

import time

import pytest

from rwa_sdk.oracle import mmr
from rwa_sdk.oracle.batch_log import anchored_batches
from rwa_sdk.oracle.ingest import (
    Ingestor,
    Reason,
    RegistryDirectory,
    Status,
    reading_item,
)
from rwa_sdk.oracle.proof import ProofNotFound, asset_leaves, reading_proof
from rwa_sdk.oracle.reading import DeviceSigner, Reading
from rwa_sdk.oracle.relayer import Relayer, RelayerConfig
from rwa_sdk.oracle.store import (
    BatchStatus,
    OracleBinding,
    SqliteStore,
    StoreError,
    open_store,
)

from ..security.test_ingest_rpc import CountingProvider
from .conftest import ASSET_A, ASSET_B, CAPACITY_W, make_reading


@pytest.fixture
def pipeline(chain, oracle_world, store_location):
    store = open_store(store_location)
    ingestor = Ingestor(store, RegistryDirectory(oracle_world.registry, ttl_s=0), oracle_world.domain,
                        clock=lambda: chain.timestamp())
    relayer = Relayer(chain, oracle_world.oracle, store, oracle_world.relayer,
                      RelayerConfig(max_batch_size=50, max_batch_age_s=0, poll_interval_s=0.01))
    yield ingestor, relayer, store
    store.close()


def _items(world, chain, n_per_device, devices=None, asset=ASSET_A, start_seq=1):
    devices = devices or world.devices_a
    t = chain.timestamp()
    out = []
    for k in range(n_per_device):
        for dev in devices:
            r = make_reading(dev, asset, start_seq + k, t - 30 * (n_per_device - k), energy_wh=20 + k, length=30)
            out.append(reading_item(r, world.domain.sign(r, dev.key)))
    return out


def _status(results):
    return [(r.status, r.reason) for r in results]


def test_valid_readings_are_accepted_and_stored(pipeline, oracle_world, chain):
    ingestor, _, store = pipeline
    results = ingestor.submit(_items(oracle_world, chain, 2))
    assert all(r.status is Status.ACCEPTED for r in results)
    assert store.counts()["readings_pending"] == 6


def test_resent_reading_is_a_duplicate_and_stored_once(pipeline, oracle_world, chain):
    ingestor, _, store = pipeline
    items = _items(oracle_world, chain, 1)
    ingestor.submit(items)
    assert {r.status for r in ingestor.submit(items)} == {Status.DUPLICATE}
    assert store.counts()["readings_pending"] == 3


def test_conflicting_reading_is_rejected_and_alerted(pipeline, oracle_world, chain):
    ingestor, _, store = pipeline
    dev = oracle_world.devices_a[0]
    r = make_reading(dev, ASSET_A, 1, chain.timestamp(), energy_wh=10)
    other = r.with_(energy_wh=11)
    ingestor.submit([reading_item(r, oracle_world.domain.sign(r, dev.key))])
    result = ingestor.submit([reading_item(other, oracle_world.domain.sign(other, dev.key))])[0]
    assert (result.status, result.reason) == (Status.REJECTED, Reason.CONFLICT)
    assert [a[2] for a in store.alerts()] == ["conflict"]
    assert ingestor.metrics.value("alerts_total", kind="conflict") == 1


def test_each_bad_reading_is_rejected_with_its_reason(pipeline, oracle_world, chain):
    ingestor, _, _ = pipeline
    dev, other = oracle_world.devices_a[0], oracle_world.devices_a[1]
    t = chain.timestamp()
    good = make_reading(dev, ASSET_A, 5, t, energy_wh=10)
    sign = lambda r, d=dev: reading_item(r, oracle_world.domain.sign(r, d.key))  # noqa: E731
    stranger = make_reading(oracle_world.devices_b[0], ASSET_A, 1, t)
    unregistered = DeviceSigner.from_secret(bytes([9] * 32))
    cases = [
        ({"device": "0x12"}, Reason.MALFORMED),
        ({**sign(good), "signature": "0x1234"}, Reason.MALFORMED),
        ({**sign(good), "seq": "5 "}, Reason.MALFORMED),  # "5" and "0x5" are accepted; nothing looser
        (sign(good, other), Reason.BAD_SIGNATURE),
        ({**sign(good), "energyWh": 11}, Reason.BAD_SIGNATURE),
        (sign(good.with_(period_start=t)), Reason.INVALID_PERIOD),
        (sign(good.with_(period_start=t + 3_600, period_end=t + 3_900)), Reason.FUTURE_PERIOD),
        (sign(good.with_(energy_wh=CAPACITY_W)), Reason.OVER_CAPACITY),
        (sign(good.with_(period_start=1, period_end=2, energy_wh=0)), Reason.DEVICE_INACTIVE),
        (sign(good.with_(asset_id=ASSET_B)), Reason.WRONG_ASSET),
        (sign(stranger, oracle_world.devices_b[0]), Reason.WRONG_ASSET),
        (sign(good.with_(device=bytes(20))), Reason.BAD_SIGNATURE),  # the signature is checked first
        (sign(good.with_(device=unregistered.address), unregistered), Reason.UNKNOWN_DEVICE),
    ]
    results = ingestor.submit([c[0] for c in cases])
    assert [(r.status, r.reason) for r in results] == [(Status.REJECTED, c[1]) for c in cases]


def test_out_of_order_and_replayed_readings_are_rejected(pipeline, oracle_world, chain):
    ingestor, _, _ = pipeline
    dev = oracle_world.devices_a[0]
    t = chain.timestamp()
    r5, r4 = make_reading(dev, ASSET_A, 5, t - 10, 1, length=10), make_reading(dev, ASSET_A, 4, t - 20, 1, length=10)
    results = ingestor.submit([reading_item(r, oracle_world.domain.sign(r, dev.key)) for r in (r5, r4)])
    assert _status(results) == [(Status.ACCEPTED, None), (Status.REJECTED, Reason.SEQ_NOT_INCREASING)]


def test_revoked_device_later_readings_rejected(pipeline, oracle_world, chain):
    ingestor, _, _ = pipeline
    dev = oracle_world.devices_a[0]
    chain.transact(oracle_world.registry.functions.revokeDevice(dev.checksum), sender=oracle_world.operator_a)
    chain.mine(100)
    r = make_reading(dev, ASSET_A, 1, chain.timestamp(), energy_wh=1, length=30)
    assert ingestor.submit([reading_item(r, oracle_world.domain.sign(r, dev.key))])[0].reason is Reason.DEVICE_REVOKED


def test_registry_events_reach_ingest_before_the_cache_expires(oracle_world, chain, store_location):
    """A revocation, a key rotation and a capacity change are followed at once, whatever the cache's TTL."""
    directory = RegistryDirectory(oracle_world.registry, ttl_s=3_600)
    revoked, rotated, resized = oracle_world.devices_a
    for dev in oracle_world.devices_a:
        assert directory.get(dev.address).revoked_at == 0
    new_key = DeviceSigner.from_secret(bytes([7] * 32))
    fns, operator = oracle_world.registry.functions, oracle_world.operator_a
    chain.transact(fns.revokeDevice(revoked.checksum), sender=operator)
    chain.transact(fns.rotateKey(rotated.checksum, new_key.checksum), sender=operator)
    chain.transact(fns.updateDeviceMetadata(resized.checksum, 2 * CAPACITY_W, bytes(32)), sender=operator)
    assert directory.get(revoked.address).revoked_at == 0  # cached
    # revoked: 1 event; rotated: registered + revoked + activated + rotated; resized: 1
    assert directory.follow_events() == 6
    assert directory.get(revoked.address).revoked_at > 0
    assert directory.get(rotated.address).revoked_at > 0 and directory.get(new_key.address) is not None
    assert directory.get(resized.address).capacity_w == 2 * CAPACITY_W
    assert directory.follow_events() == 0
    store = open_store(store_location)
    try:
        ingestor = Ingestor(store, directory, oracle_world.domain, clock=lambda: chain.timestamp())
        chain.mine(60)
        r = make_reading(revoked, ASSET_A, 1, chain.timestamp(), energy_wh=1, length=30)
        (result,) = ingestor.submit([reading_item(r, oracle_world.domain.sign(r, revoked.key))])
        assert result.reason is Reason.DEVICE_REVOKED
    finally:
        store.close()


def test_relayer_anchors_everything_and_every_proof_verifies(pipeline, oracle_world, chain):
    ingestor, relayer, store = pipeline
    items = _items(oracle_world, chain, 30) + _items(oracle_world, chain, 10, oracle_world.devices_b, ASSET_B)
    assert all(r.acknowledged for r in ingestor.submit(items))
    relayer.flush(timeout_s=60)
    counts = store.counts()
    assert counts["readings_anchored"] == 110 and counts["readings_pending"] == 0
    batches = store.batches(BatchStatus.ANCHORED)
    assert sum(b.count for b in batches) == 110
    for dev, seq in ((oracle_world.devices_a[0], 1), (oracle_world.devices_a[2], 30), (oracle_world.devices_b[1], 7)):
        p = reading_proof(store, oracle_world.oracle, dev.address, seq)
        assert p.batch_count == oracle_world.oracle.functions.batchCount(p.reading.asset_id).call()
        assert chain.call(oracle_world.oracle.functions.verifyReading(p.reading.as_tuple(), p.signature, p.proof, p.batch_index))
    on_chain = anchored_batches(oracle_world.oracle, ASSET_A) + anchored_batches(oracle_world.oracle, ASSET_B)
    assert sorted((a.asset_id, a.merkle_root, a.batch_index, a.count) for a in on_chain) == sorted(
        (b.asset_id, b.root, b.batch_index, b.count) for b in batches)


def test_a_damaged_node_under_a_checked_peak_never_reaches_a_proof(pipeline, oracle_world, chain):
    """The peaks are checked against the chain; a node below one, damaged in the store, is caught by climbing
    the path before it is served, and the copy is read again from the logs."""
    ingestor, relayer, store = pipeline
    assert all(r.acknowledged for r in ingestor.submit(_items(oracle_world, chain, 30)))  # 90 readings: 2 batches
    relayer.flush(timeout_s=60)
    dev = oracle_world.devices_a[2]
    first = reading_proof(store, oracle_world.oracle, dev.address, 30)
    assert (first.batch_index, first.batch_count) == (1, 2)  # its mountain's other leaf is batch 0's
    sibling = store.mmr_nodes(ASSET_A, [(0, 0)])[(0, 0)]
    store._execute("UPDATE mmr_nodes SET hash=? WHERE asset=? AND height=0 AND idx=0", (b"\x01" * 32, ASSET_A))
    store._db.commit()
    assert store.mmr_nodes(ASSET_A, [(0, 0)])[(0, 0)] != sibling
    again = reading_proof(store, oracle_world.oracle, dev.address, 30)
    assert again.proof == first.proof and store.mmr_nodes(ASSET_A, [(0, 0)])[(0, 0)] == sibling
    assert chain.call(oracle_world.oracle.functions.verifyReading(
        again.reading.as_tuple(), again.signature, again.proof, again.batch_index))


def test_no_proof_for_a_reading_not_anchored_yet(pipeline, oracle_world, chain):
    ingestor, relayer, store = pipeline
    ingestor.submit(_items(oracle_world, chain, 1))
    dev = oracle_world.devices_a[0]
    with pytest.raises(ProofNotFound, match="not anchored"):
        reading_proof(store, oracle_world.oracle, dev.address, 1)
    relayer.build_batches(force=True)
    with pytest.raises(ProofNotFound, match="not anchored"):
        reading_proof(store, oracle_world.oracle, dev.address, 1)
    with pytest.raises(ProofNotFound, match="no reading"):
        reading_proof(store, oracle_world.oracle, dev.address, 99)


def test_a_store_of_another_chain_is_refused_by_relayer_and_proofs(pipeline, oracle_world, chain, tmp_path):
    """A development chain restarted with the same oracle address is another chain: its genesis differs."""
    ingestor, relayer, store = pipeline
    ingestor.submit(_items(oracle_world, chain, 1))
    relayer.flush(timeout_s=30)
    dev = oracle_world.devices_a[0]
    assert reading_proof(store, oracle_world.oracle, dev.address, 1).batch_index == 0
    elsewhere = SqliteStore(tmp_path / "elsewhere.db")
    try:
        elsewhere.bind(OracleBinding(chain.chain_id, b"\x07" * 32, oracle_world.oracle.address))
        with pytest.raises(StoreError, match="use another store"):
            Relayer(chain, oracle_world.oracle, elsewhere, oracle_world.relayer)
        with pytest.raises(ProofNotFound, match="store's batches went to"):
            reading_proof(elsewhere, oracle_world.oracle, dev.address, 1)
    finally:
        elsewhere.close()


def test_the_stores_copy_of_batch_roots_follows_the_chain_through_a_reorg(pipeline, oracle_world, chain):
    _, _, store = pipeline
    t = chain.timestamp()

    def anchor(root):
        chain.transact(oracle_world.oracle.functions.anchorBatch(ASSET_B, root, 1, 1, t - 10, t), sender=oracle_world.relayer)

    def leaves(*bytes_):
        return [mmr.leaf(bytes([b]) * 32, t - 10, t) for b in bytes_]

    anchor(b"\x0a" * 32)
    snapshot = chain.snapshot()
    anchor(b"\x0b" * 32)
    assert asset_leaves(store, oracle_world.oracle, ASSET_B) == (leaves(0x0a, 0x0b), 2)
    assert store.chain_leaves(ASSET_B) == (leaves(0x0a, 0x0b), chain.w3.eth.block_number)
    chain.revert(snapshot)  # the block holding 0x0b.. is gone; another batch takes its place
    anchor(b"\x0c" * 32)
    anchor(b"\x0d" * 32)
    assert asset_leaves(store, oracle_world.oracle, ASSET_B) == (leaves(0x0a, 0x0c, 0x0d), 3)
    assert store.chain_leaves(ASSET_B)[0] == leaves(0x0a, 0x0c, 0x0d)


def test_relayer_restart_recognises_mined_batch(pipeline, oracle_world, chain, tmp_path):
    """A batch mined while the relayer was down (store still says 'sent') is not sent again."""
    ingestor, relayer, store = pipeline
    ingestor.submit(_items(oracle_world, chain, 2))
    relayer.build_batches(force=True)
    relayer.step()  # broadcast (Anvil mines at once) ... and "crash" before seeing the receipt
    assert store.batches(BatchStatus.SENT)
    fresh = Relayer(chain, oracle_world.oracle, store, oracle_world.relayer, relayer.config)
    fresh.flush(timeout_s=30)
    (anchored,) = store.batches(BatchStatus.ANCHORED)
    assert [(a.merkle_root, a.batch_index) for a in anchored_batches(oracle_world.oracle, ASSET_A)] == [
        (anchored.root, anchored.batch_index)]


def test_relayer_built_batch_already_on_chain_is_not_sent_again(pipeline, oracle_world, chain):
    ingestor, relayer, store = pipeline
    ingestor.submit(_items(oracle_world, chain, 1))
    relayer.build_batches(force=True)
    b = store.batches(BatchStatus.BUILT)[0]
    chain.transact(oracle_world.oracle.functions.anchorBatch(b.asset_id, b.root, b.count, b.energy_wh, b.from_time, b.to_time),
                   sender=oracle_world.relayer)
    block = chain.w3.eth.block_number
    relayer.flush(timeout_s=30)
    assert store.batches(BatchStatus.ANCHORED)[0].block_number == block
    assert chain.w3.eth.block_number == block  # nothing else was sent


def test_relayer_replaces_stuck_transaction(pipeline, oracle_world, chain):
    ingestor, relayer, store = pipeline
    ingestor.submit(_items(oracle_world, chain, 1))
    relayer = Relayer(chain, oracle_world.oracle, store, oracle_world.relayer,
                      RelayerConfig(max_batch_age_s=0, stuck_after_s=0.2, poll_interval_s=0.01))
    chain.rpc("evm_setAutomine", False)
    try:
        relayer.build_batches(force=True)
        relayer.step()
        first = store.batches(BatchStatus.SENT)[0]
        original = chain.w3.eth.get_transaction(first.tx_hashes[0])
        time.sleep(0.3)
        relayer.step()  # stuck: replaced with higher fees, same nonce
        second = store.batches(BatchStatus.SENT)[0]
        assert len(second.tx_hashes) == 2 and second.nonce == first.nonce
        replacement = chain.w3.eth.get_transaction(second.tx_hashes[1])
        assert replacement["nonce"] == original["nonce"]
        assert replacement["maxFeePerGas"] >= original["maxFeePerGas"] * 1.25
        assert replacement["maxPriorityFeePerGas"] >= original["maxPriorityFeePerGas"] * 1.25
        assert relayer.metrics.value("relayer_replacements_total") == 1
        chain.rpc("evm_mine")
    finally:
        chain.rpc("evm_setAutomine", True)
    relayer.flush(timeout_s=30)
    anchored = store.batches(BatchStatus.ANCHORED)
    assert len(anchored) == 1
    receipt = chain.w3.eth.get_transaction_receipt(anchored[0].tx_hashes[1])
    assert receipt["status"] == 1


def _sent_then_dropped(chain, relayer, store, then=lambda sent: None):
    """Send the pending batch while the node does not mine, drop it from the node's pool, then run ``then``."""
    chain.rpc("evm_setAutomine", False)
    try:
        relayer.build_batches(force=True)
        relayer.step()
        sent = store.batches(BatchStatus.SENT)[0]
        chain.rpc("anvil_dropTransaction", "0x" + sent.tx_hashes[0].hex())
        then(sent)
    finally:
        chain.rpc("evm_setAutomine", True)
    return sent


def test_relayer_rebroadcasts_dropped_transaction(pipeline, oracle_world, chain):
    ingestor, relayer, store = pipeline
    ingestor.submit(_items(oracle_world, chain, 1))
    _sent_then_dropped(chain, relayer, store)
    restarted = Relayer(chain, oracle_world.oracle, store, oracle_world.relayer, relayer.config)
    restarted.flush(timeout_s=30)  # nobody knows the tx: re-sent at once with the same nonce
    assert store.counts()["readings_anchored"] == 3


def test_a_broadcast_lost_to_a_connection_error_is_sent_again_without_waiting_for_the_stuck_timeout(
        pipeline, oracle_world, chain):
    """The node went away as the anchor left: nobody may have it, so the next step re-sends under the same
    nonce at once instead of waiting ``stuck_after_s`` (60 s) for a transaction that never left."""
    ingestor, relayer, store = pipeline
    ingestor.submit(_items(oracle_world, chain, 1))
    real = relayer.w3.eth.send_raw_transaction
    lost = {"left": 1}

    def flaky(raw):
        if lost["left"]:
            lost["left"] -= 1
            raise ConnectionError("Connection aborted: remote end closed connection without response")
        return real(raw)

    relayer.w3.eth.send_raw_transaction = flaky
    try:
        relayer.build_batches(force=True)
        with pytest.raises(ConnectionError):
            relayer.step()
        sent = store.batches(BatchStatus.SENT)
        assert len(sent) == 1 and not lost["left"]
        for _ in range(20):  # well inside stuck_after_s
            relayer.step()
            if store.counts()["readings_anchored"] == 3:
                break
    finally:
        del relayer.w3.eth.send_raw_transaction
    assert store.counts()["readings_anchored"] == 3
    nonces = {b.nonce for b in store.batches(BatchStatus.ANCHORED) if b.id == sent[0].id}
    assert nonces == {sent[0].nonce}  # the same nonce: never a second transaction beside the first

def test_batch_whose_nonce_went_to_another_transaction_is_anchored_once(pipeline, oracle_world, chain):
    """The contract keeps no per-root record, so the relayer must re-send such a batch exactly once."""
    ingestor, relayer, store = pipeline
    ingestor.submit(_items(oracle_world, chain, 1))

    def use_its_nonce(sent):
        other = {"to": oracle_world.outsider.address, "value": 1, "nonce": sent.nonce, "gas": 21_000,
                 "chainId": chain.chain_id, **chain.fee_params()}
        chain.w3.eth.send_raw_transaction(oracle_world.relayer.sign_transaction(other).raw_transaction)
        chain.rpc("evm_mine")

    sent = _sent_then_dropped(chain, relayer, store, use_its_nonce)
    relayer.flush(timeout_s=30)
    (anchored,) = store.batches(BatchStatus.ANCHORED)
    assert anchored.nonce != sent.nonce
    assert [(a.merkle_root, a.batch_index) for a in anchored_batches(oracle_world.oracle, ASSET_A)] == [(sent.root, 0)]
    relayer.flush(timeout_s=5)
    assert oracle_world.oracle.functions.batchCount(ASSET_A).call() == 1


def test_an_anchor_undone_by_a_reorg_is_sent_again_under_its_nonce_and_counted_once(pipeline, oracle_world, chain):
    ingestor, relayer, store = pipeline
    ingestor.submit(_items(oracle_world, chain, 1))
    before_anchor = chain.snapshot()
    relayer.flush(timeout_s=30)
    (first,) = store.batches(BatchStatus.ANCHORED)
    assert relayer.recheck_recent() is False
    chain.revert(before_anchor)  # the block with the anchor is gone
    assert relayer.recheck_recent() is True
    (reopened,) = store.batches(BatchStatus.SENT)
    assert (reopened.id, reopened.nonce, reopened.batch_index) == (first.id, first.nonce, None)
    assert relayer.metrics.value("relayer_reorged_batches_total") == 1
    relayer.flush(timeout_s=30)
    (again,) = store.batches(BatchStatus.ANCHORED)
    assert again.nonce == first.nonce
    assert [(a.merkle_root, a.batch_index) for a in anchored_batches(oracle_world.oracle, ASSET_A)] == [(first.root, 0)]
    assert relayer.recheck_recent() is False


def test_recheck_follows_an_anchor_mined_again_in_another_block(pipeline, oracle_world, chain):
    ingestor, relayer, store = pipeline
    ingestor.submit(_items(oracle_world, chain, 1))
    relayer.flush(timeout_s=30)
    (first,) = store.batches(BatchStatus.ANCHORED)
    store.mark_anchored({first.id: 5}, first.block_number - 1)  # as if seen before a reorg moved it
    assert relayer.recheck_recent() is False
    (fixed,) = store.batches(BatchStatus.ANCHORED)
    assert (fixed.block_number, fixed.batch_index) == (first.block_number, 0)


def _sent_waiting_for_3_confirmations(pipeline, oracle_world, chain):
    """A batch sent (and mined at once) by a relayer that wants 3 confirmations."""
    ingestor, _, store = pipeline
    relayer = Relayer(chain, oracle_world.oracle, store, oracle_world.relayer,
                      RelayerConfig(max_batch_age_s=0, confirmations=3, poll_interval_s=0.01))
    ingestor.submit(_items(oracle_world, chain, 1))
    relayer.build_batches(force=True)
    relayer.step()
    return relayer, store


def test_relayer_waits_for_confirmations(pipeline, oracle_world, chain):
    relayer, store = _sent_waiting_for_3_confirmations(pipeline, oracle_world, chain)
    relayer.step()
    assert not store.batches(BatchStatus.ANCHORED)
    chain.mine()
    relayer.step()
    assert not store.batches(BatchStatus.ANCHORED)
    chain.mine()
    relayer.step()
    assert len(store.batches(BatchStatus.ANCHORED)) == 1


def test_a_batch_seen_on_chain_but_not_confirmed_is_waited_for_not_sent_again(pipeline, oracle_world, chain):
    """Its nonce is used and the node has no receipt for it yet, but its log is there: no second anchor."""
    relayer, store = _sent_waiting_for_3_confirmations(pipeline, oracle_world, chain)
    relayer._receipt = lambda tx_hash: None  # a node whose receipt index lags behind its logs
    for _ in range(3):
        relayer.step()
    assert len(anchored_batches(oracle_world.oracle, ASSET_A)) == 1 and store.batches(BatchStatus.SENT)
    chain.mine()
    chain.mine()
    relayer.step()
    assert len(store.batches(BatchStatus.ANCHORED)) == 1
    assert len(anchored_batches(oracle_world.oracle, ASSET_A)) == 1


def test_relayer_without_role_stops_with_a_clear_error(pipeline, oracle_world, chain):
    from rwa_sdk.oracle.relayer import RelayerError

    ingestor, _, store = pipeline
    ingestor.submit(_items(oracle_world, chain, 1))
    relayer = Relayer(chain, oracle_world.oracle, store, oracle_world.outsider, RelayerConfig(max_batch_age_s=0))
    relayer.build_batches(force=True)
    with pytest.raises(RelayerError):
        relayer.step()
    assert store.counts()["readings_batched"] == 3  # kept for a relayer that has the role


def test_relayer_backs_off_and_recovers_from_rpc_errors(pipeline, oracle_world, chain):
    import threading

    ingestor, relayer, store = pipeline
    ingestor.submit(_items(oracle_world, chain, 1))
    real = relayer.w3.eth.get_transaction_count
    failures = {"left": 3}

    def flaky(*args, **kwargs):
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("node unreachable")
        return real(*args, **kwargs)

    relayer.w3.eth.get_transaction_count = flaky
    try:
        stop = threading.Event()
        worker = threading.Thread(target=relayer.run, args=(stop,))
        worker.start()
        try:
            deadline = time.monotonic() + 20
            while store.counts()["readings_anchored"] < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            worker.join(10)
    finally:
        del relayer.w3.eth.get_transaction_count
    assert store.counts()["readings_anchored"] == 3
    assert relayer.metrics.value("relayer_errors_total") == 3


def test_a_reading_received_after_its_device_was_revoked_is_dropped_with_an_alert_not_anchored(
        oracle_world, chain, store_location):
    """The revocation race: ingest's cache still says active, so a reading posted just after the revoking
    transaction was mined (its period dated before the revocation) is stored; the relayer checks the
    registry's logs before anchoring and drops it, and the store refuses the device from then on."""
    from rwa_sdk.oracle.contracts import register_device

    dev = DeviceSigner.from_secret(bytes([9] * 31 + [1]))
    register_device(chain, oracle_world.contracts, dev, ASSET_A, "pv-inverter", CAPACITY_W, operator=oracle_world.operator_a)
    chain.mine(600)
    store = open_store(store_location, clock=chain.timestamp)  # received_at on the chain's clock (it runs ahead here)
    ingestor = Ingestor(store, RegistryDirectory(oracle_world.registry, ttl_s=3_600), oracle_world.domain,
                        clock=chain.timestamp)
    relayer = Relayer(chain, oracle_world.oracle, store, oracle_world.relayer, RelayerConfig(max_batch_age_s=0))
    try:
        t = chain.timestamp()
        before = make_reading(dev, ASSET_A, 1, t - 200, energy_wh=7, length=100)
        assert ingestor.submit([reading_item(before, oracle_world.domain.sign(before, dev.key))])[0].status is Status.ACCEPTED
        chain.mine(5)  # the revocation lands in a later second than the reading's arrival (a tie counts as late)
        chain.transact(oracle_world.registry.functions.revokeDevice(dev.checksum), sender=oracle_world.operator_a)
        late = make_reading(dev, ASSET_A, 2, t - 50, energy_wh=11, length=100)  # backdated, posted after the revocation
        assert ingestor.submit([reading_item(late, oracle_world.domain.sign(late, dev.key))])[0].status is Status.ACCEPTED
        relayer.flush()
        assert store.counts()["readings_anchored"] == 1 and store.counts()["readings_dropped"] == 1
        (batch,) = [b for b in store.batches(BatchStatus.ANCHORED) if b.asset_id == ASSET_A]
        assert batch.energy_wh == 7 and [r.reading.seq for r in store.batch_readings(batch.id)] == [1]
        assert [a[1:3] for a in store.alerts()] == [(2, "revoked")]
        chain.mine(100)
        later = make_reading(dev, ASSET_A, 3, chain.timestamp(), energy_wh=1, length=30)
        result = ingestor.submit([reading_item(later, oracle_world.domain.sign(later, dev.key))])[0]
        assert result.reason is Reason.DEVICE_REVOKED  # the store knows now, whatever ingest's cache says
    finally:
        store.close()


def test_a_batch_is_read_back_before_sending_exactly_when_one_of_its_devices_has_a_revocation(store_location):
    """The relayer's last screen reads a batch's readings again only if the store knows a revocation of one
    of its devices; any revocation counts, even one after every reading (the readings decide, not the query)."""
    store = open_store(store_location)
    try:
        devices = [bytes([k]) * 20 for k in (1, 2)]
        store.insert_readings([(Reading(d, ASSET_A, 1, 100, 200, 1, 0, 0), b"s" * 65, bytes([k]) * 32)
                               for k, d in enumerate(devices)])
        ids = {p.reading.device: p.id for p in store.pending_readings(ASSET_A, 0, 2**40, 10)}
        batches = [store.create_batch(ASSET_A, bytes([k]) * 32, [ids[d]], 1, 100, 200, 1) for k, d in enumerate(devices)]
        assert [store.batch_has_revoked_device(b) for b in batches] == [False, False]
        store.mark_revoked({devices[1]: 10**9})
        assert [store.batch_has_revoked_device(b) for b in batches] == [False, True]
    finally:
        store.close()


def test_a_revocation_after_a_batch_was_cut_sends_the_batch_back_to_be_rebuilt_without_it(
        oracle_world, chain, store_location):
    from rwa_sdk.oracle.contracts import register_device

    devs = [DeviceSigner.from_secret(bytes([9] * 31 + [k])) for k in (2, 3)]
    for dev in devs:
        register_device(chain, oracle_world.contracts, dev, ASSET_A, "pv-inverter", CAPACITY_W,
                        operator=oracle_world.operator_a)
    chain.mine(600)
    store = open_store(store_location, clock=lambda: chain.timestamp() + 1_000)  # both received "late"
    ingestor = Ingestor(store, RegistryDirectory(oracle_world.registry, ttl_s=3_600), oracle_world.domain,
                        clock=chain.timestamp)
    relayer = Relayer(chain, oracle_world.oracle, store, oracle_world.relayer, RelayerConfig(max_batch_age_s=0))
    try:
        t = chain.timestamp()
        rs = [make_reading(dev, ASSET_A, 1, t - 100, energy_wh=5 + k, length=100) for k, dev in enumerate(devs)]
        ingestor.submit([reading_item(r, oracle_world.domain.sign(r, d.key)) for r, d in zip(rs, devs)])
        assert relayer.build_batches(force=True) == 1
        chain.transact(oracle_world.registry.functions.revokeDevice(devs[0].checksum), sender=oracle_world.operator_a)
        relayer.flush()
        (batch,) = [b for b in store.batches(BatchStatus.ANCHORED) if b.asset_id == ASSET_A]
        assert batch.count == 1 and batch.energy_wh == 6
        assert store.counts()["readings_dropped"] == 1
    finally:
        store.close()


def _cached_pipeline(chain, world, store_location, config):
    """A store, an ingestor whose registry cache holds a minute and a relayer with ``config``."""
    store = open_store(store_location)
    ingestor = Ingestor(store, RegistryDirectory(world.registry, ttl_s=60), world.domain,
                        clock=lambda: chain.timestamp())
    return store, ingestor, Relayer(chain, world.oracle, store, world.relayer, config)


def test_relayer_anchors_several_full_batches_of_one_asset_in_one_transaction(oracle_world, chain, store_location):
    store, ingestor, relayer = _cached_pipeline(chain, oracle_world, store_location, RelayerConfig(
        max_batch_size=4, max_batch_age_s=3_600, max_batches_per_tx=3, poll_interval_s=0.01))
    try:
        items = _items(oracle_world, chain, 5)  # 15 readings of one asset: three full batches of 4, 3 left
        assert all(r.acknowledged for r in ingestor.submit(items))
        assert [s[1] for s in store.pending_summary(cap=4)] == [4] and store.pending_summary()[0][1] == 15
        before = chain.w3.eth.block_number
        for _ in range(100):  # cut three batches and send them, then the receipt (it may take a few steps)
            relayer.step()
            if len(store.batches(BatchStatus.ANCHORED)) == 3:
                break
            time.sleep(0.02)
        anchored = store.batches(BatchStatus.ANCHORED)
        assert [b.count for b in anchored] == [4, 4, 4] and len({b.block_number for b in anchored}) == 1
        assert len(anchored_batches(oracle_world.oracle, ASSET_A, from_block=before + 1)) == 3
        assert store.counts()["readings_pending"] == 3  # a partial batch waits for its age
    finally:
        store.close()


def test_batches_of_two_assets_already_on_chain_or_not_are_told_apart_by_one_log_query(
        oracle_world, chain, store_location):
    store, ingestor, relayer = _cached_pipeline(chain, oracle_world, store_location, RelayerConfig(
        max_batch_size=3, max_batch_age_s=0, max_batches_per_tx=8, poll_interval_s=0.01))
    try:
        items = _items(oracle_world, chain, 2) + _items(oracle_world, chain, 2, oracle_world.devices_b, ASSET_B)
        assert all(r.acknowledged for r in ingestor.submit(items))
        relayer.build_batches(force=True)
        built = store.batches(BatchStatus.BUILT)
        assert {b.asset_id for b in built} == {ASSET_A, ASSET_B} and len(built) >= 3
        first = built[1]  # anchored by another transaction: it must not be sent again
        chain.transact(oracle_world.oracle.functions.anchorBatch(
            first.asset_id, first.root, first.count, first.energy_wh, first.from_time, first.to_time),
            sender=oracle_world.relayer)
        with CountingProvider(chain.w3) as rpc:
            missing = relayer._not_on_chain(built)
        assert [b.id for b in missing] == [b.id for b in built if b.id != first.id]
        assert rpc.calls.count("eth_getLogs") == 1
        relayer.flush(timeout_s=30)
        roots = [a.merkle_root for asset in (ASSET_A, ASSET_B) for a in anchored_batches(oracle_world.oracle, asset)]
        assert all(roots.count(b.root) == 1 for b in built)  # every batch anchored, none twice
        assert {b.id for b in store.batches(BatchStatus.ANCHORED)} >= {b.id for b in built}
    finally:
        store.close()


def test_a_device_switched_to_direct_reporting_leaves_the_batch_path(oracle_world, chain, store_location):
    """Energy counted once across both paths: once a device reports directly (``submitReading``), the relayer
    never anchors its later readings (a dispute would take them off and suspend anchoring), and the store
    takes nothing new from it for batching."""
    from rwa_sdk.oracle.contracts import enable_direct_reporting, register_device

    dev = DeviceSigner.from_secret(bytes([9] * 31 + [7]))
    register_device(chain, oracle_world.contracts, dev, ASSET_A, "pv-inverter", CAPACITY_W, operator=oracle_world.operator_a)
    chain.mine(600)
    store = open_store(store_location, clock=chain.timestamp)
    ingestor = Ingestor(store, RegistryDirectory(oracle_world.registry, ttl_s=3_600), oracle_world.domain,
                        clock=chain.timestamp)
    relayer = Relayer(chain, oracle_world.oracle, store, oracle_world.relayer, RelayerConfig(max_batch_age_s=0))
    try:
        t = chain.timestamp()
        before = make_reading(dev, ASSET_A, 1, t - 300, energy_wh=5, length=100)
        assert ingestor.submit([reading_item(before, oracle_world.domain.sign(before, dev.key))])[0].status is Status.ACCEPTED
        chain.mine(5)
        enable_direct_reporting(chain, oracle_world.contracts, dev.checksum, operator=oracle_world.operator_a)
        chain.mine(60)
        after = make_reading(dev, ASSET_A, 2, chain.timestamp() - 30, energy_wh=9, length=20)
        assert ingestor.submit([reading_item(after, oracle_world.domain.sign(after, dev.key))])[0].status is Status.ACCEPTED
        relayer.flush()
        anchored = [r.reading.seq for b in store.batches(BatchStatus.ANCHORED) if b.asset_id == ASSET_A
                    for r in store.batch_readings(b.id)]
        assert anchored == [1] and store.counts()["readings_dropped"] == 1
        chain.mine(3)
        with CountingProvider(relayer.w3) as rpc:  # registry and oracle logs in one query
            assert relayer.follow_revocations() == 0
        assert rpc.calls.count("eth_getLogs") == 1
        later = make_reading(dev, ASSET_A, 3, chain.timestamp(), energy_wh=1, length=10)
        assert ingestor.submit([reading_item(later, oracle_world.domain.sign(later, dev.key))])[0].status is Status.REJECTED
    finally:
        store.close()
