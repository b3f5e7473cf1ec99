"""ReadingOracle: single submissions, batch anchoring, proofs of inclusion, and the Python cross-checks."""

from __future__ import annotations

import os
import random

import pytest
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from rwa_sdk import errors
from rwa_sdk.oracle import mmr
from rwa_sdk.oracle.batch_log import anchored_batches
from rwa_sdk.oracle.contracts import enable_direct_reporting
from rwa_sdk.oracle.merkle import MerkleTree, leaf_of
from rwa_sdk.oracle.reading import DeviceSigner, Reading, recover, struct_hash

from .conftest import ASSET_A, ASSET_B, CAPACITY_W, make_reading


def _submit(chain, world, reading, signature, sender=None):
    return chain.transact(world.oracle.functions.submitReading(reading.as_tuple(), signature), sender=sender or world.outsider)


def _direct(chain, world, device, operator=None):
    """Switch ``device`` to direct reporting and let time pass, so readings ending now start after the switch."""
    enable_direct_reporting(chain, world.contracts, device.checksum, operator or world.operator_a)
    chain.mine(1_200)


def _signed(world, device, reading):
    return world.domain.sign(reading, device.key)


def _anchor(chain, world, asset, readings, sender=None):
    tree = MerkleTree.from_digests([world.domain.digest(r) for r in readings])
    fn = world.oracle.functions.anchorBatch(
        asset, tree.root, len(readings), sum(r.energy_wh for r in readings),
        min(r.period_start for r in readings), max(r.period_end for r in readings),
    )
    sent = chain.transact(fn, sender=sender or world.relayer)
    return tree, sent.events(world.oracle, "BatchAnchored")[0]["batchIndex"], sent


def _path(world, asset, tree, reading, index):
    """The reading's path to its batch root, the batch's span, then the batch leaf's path to its peak (from the logs)."""
    batches = anchored_batches(world.oracle, asset)
    span = mmr.span_word(batches[index].from_time, batches[index].to_time)
    return tree.proof(world.domain.digest(reading)) + [span] + mmr.proof([b.leaf for b in batches], index)


def _verify(chain, world, reading, signature, proof, batch_index):
    return chain.call(world.oracle.functions.verifyReading(reading.as_tuple(), signature, proof, batch_index))


# -- construction ------------------------------------------------------------------------------

def test_constructor_rejects_zero_epoch(chain, oracle_world):
    with pytest.raises(errors.ReadingOracleZeroArgument):
        chain.deploy("ReadingOracle", chain.accounts[0].address, oracle_world.registry.address, 0, 300)


def test_constructor_rejects_zero_admin(chain, oracle_world):
    with pytest.raises(errors.ReadingOracleZeroArgument):
        chain.deploy("ReadingOracle", "0x" + "00" * 20, oracle_world.registry.address, 86_400, 300)


def test_constructor_rejects_zero_registry(chain):
    with pytest.raises(errors.ReadingOracleZeroArgument):
        chain.deploy("ReadingOracle", chain.accounts[0].address, "0x" + "00" * 20, 86_400, 300)


# -- hashing agrees with Python ----------------------------------------------------------------

readings_st = st.builds(
    Reading,
    device=st.binary(min_size=20, max_size=20),
    asset_id=st.binary(min_size=32, max_size=32),
    seq=st.integers(0, 2**64 - 1),
    period_start=st.integers(0, 2**64 - 1),
    period_end=st.integers(0, 2**64 - 1),
    energy_wh=st.integers(0, 2**64 - 1),
    meter_wh=st.integers(0, 2**64 - 1),
    flags=st.integers(0, 2**32 - 1),
)


@given(reading=readings_st)
def test_python_digest_equals_contract_for_random_readings(oracle_world, session_chain, reading):
    on_chain = oracle_world.oracle.functions.hashReading(reading.as_tuple()).call()
    assert on_chain == oracle_world.domain.digest(reading)
    assert oracle_world.oracle.functions.leafOf(on_chain).call() == leaf_of(on_chain)


def test_domain_separator_and_typehash_match(oracle_world):
    fns = oracle_world.oracle.functions
    assert fns.domainSeparator().call() == oracle_world.domain.separator
    from rwa_sdk.oracle.reading import READING_TYPEHASH
    assert fns.READING_TYPEHASH().call() == READING_TYPEHASH


@given(reading=readings_st)
@settings(max_examples=10)
def test_eth_account_signature_recovers_with_fast_path_and_back(oracle_world, reading):
    account = Account.create()
    device = DeviceSigner.from_secret(bytes(account.key))
    reading = reading.with_(device=device.address)
    digest = oracle_world.domain.digest(reading)
    slow = Account.sign_typed_data(account.key, full_message=oracle_world.domain.typed_data(reading))
    assert slow.message_hash == digest
    assert recover(digest, slow.signature) == device.address
    fast = oracle_world.domain.sign(reading, device.key)
    assert fast == slow.signature  # RFC 6979 deterministic, low-s: identical bytes
    from eth_account.messages import encode_typed_data
    assert Account.recover_message(encode_typed_data(full_message=oracle_world.domain.typed_data(reading)), signature=fast) == account.address


def test_struct_hash_is_independent_of_domain(oracle_world):
    r = make_reading(oracle_world.devices_a[0], ASSET_A, 1, 1000)
    assert struct_hash(r) == struct_hash(r.with_())
    assert oracle_world.domain.digest(r) != oracle_world.domain.digest(r.with_(seq=2))


def test_eth_account_signed_reading_is_accepted_on_chain(chain, oracle_world):
    device = oracle_world.devices_a[0]
    _direct(chain, oracle_world, oracle_world.devices_a[0])
    reading = make_reading(device, ASSET_A, 1, chain.timestamp())
    signed = Account.sign_typed_data(device.key.secret, full_message=oracle_world.domain.typed_data(reading))
    sent = _submit(chain, oracle_world, reading, signed.signature)
    assert sent.events(oracle_world.oracle, "ReadingSubmitted")[0]["digest"] == oracle_world.domain.digest(reading)


# -- submitReading -----------------------------------------------------------------------------

def test_submit_reading_counts_energy_and_seq(chain, oracle_world):
    device = oracle_world.devices_a[0]
    _direct(chain, oracle_world, oracle_world.devices_a[0])
    t = chain.timestamp()
    r1 = make_reading(device, ASSET_A, 5, t - 300, energy_wh=700)
    r2 = make_reading(device, ASSET_A, 6, t, energy_wh=800)
    for r in (r1, r2):
        sent = _submit(chain, oracle_world, r, _signed(oracle_world, device, r))
    event = sent.events(oracle_world.oracle, "ReadingSubmitted")[0]
    assert (event["device"], event["seq"], event["energyWh"], event["meterWh"]) == (device.checksum, 6, 800, r2.meter_wh)
    epochs = {r1.period_start // 86_400, r2.period_start // 86_400}
    totals = [oracle_world.oracle.functions.totals(ASSET_A, e).call() for e in epochs]
    assert (sum(t[0] for t in totals), sum(t[1] for t in totals)) == (1500, 2)
    assert oracle_world.oracle.functions.lastSeq(device.checksum).call() == 6


def test_submit_replayed_reading_reverts(chain, oracle_world):
    device = oracle_world.devices_a[0]
    _direct(chain, oracle_world, oracle_world.devices_a[0])
    r = make_reading(device, ASSET_A, 1, chain.timestamp())
    sig = _signed(oracle_world, device, r)
    _submit(chain, oracle_world, r, sig)
    with pytest.raises(errors.ReadingSeqNotIncreasing) as e:
        _submit(chain, oracle_world, r, sig)
    assert (e.value.seq, e.value.lastSeq) == (1, 1)


def test_submit_out_of_order_reading_reverts(chain, oracle_world):
    device = oracle_world.devices_a[0]
    _direct(chain, oracle_world, oracle_world.devices_a[0])
    t = chain.timestamp()
    later, earlier = make_reading(device, ASSET_A, 9, t), make_reading(device, ASSET_A, 8, t - 300)
    _submit(chain, oracle_world, later, _signed(oracle_world, device, later))
    with pytest.raises(errors.ReadingSeqNotIncreasing):
        _submit(chain, oracle_world, earlier, _signed(oracle_world, device, earlier))


def test_submit_empty_period_reverts(chain, oracle_world):
    device = oracle_world.devices_a[0]
    _direct(chain, oracle_world, oracle_world.devices_a[0])
    t = chain.timestamp()
    r = make_reading(device, ASSET_A, 1, t).with_(period_start=t)
    with pytest.raises(errors.ReadingInvalidPeriod):
        _submit(chain, oracle_world, r, _signed(oracle_world, device, r))


def test_submit_future_reading_reverts(chain, oracle_world):
    device = oracle_world.devices_a[0]
    _direct(chain, oracle_world, oracle_world.devices_a[0])
    r = make_reading(device, ASSET_A, 1, chain.timestamp() + 3_600)
    with pytest.raises(errors.ReadingInFuture):
        _submit(chain, oracle_world, r, _signed(oracle_world, device, r))


def test_submit_reading_within_clock_skew_is_accepted(chain, oracle_world):
    device = oracle_world.devices_a[0]
    _direct(chain, oracle_world, oracle_world.devices_a[0])
    r = make_reading(device, ASSET_A, 1, chain.timestamp() + 200)
    _submit(chain, oracle_world, r, _signed(oracle_world, device, r))


def test_submit_over_capacity_reverts(chain, oracle_world):
    device = oracle_world.devices_a[0]
    _direct(chain, oracle_world, oracle_world.devices_a[0])
    limit = CAPACITY_W * 300 // 3600
    ok = make_reading(device, ASSET_A, 1, chain.timestamp() - 300, energy_wh=limit)
    _submit(chain, oracle_world, ok, _signed(oracle_world, device, ok))
    r = make_reading(device, ASSET_A, 2, chain.timestamp(), energy_wh=limit + 1)
    with pytest.raises(errors.ReadingOverCapacity) as e:
        _submit(chain, oracle_world, r, _signed(oracle_world, device, r))
    assert e.value.maxEnergyWh == limit


def test_submit_for_wrong_asset_reverts(chain, oracle_world):
    device = oracle_world.devices_a[0]
    _direct(chain, oracle_world, oracle_world.devices_a[0])
    r = make_reading(device, ASSET_B, 1, chain.timestamp())
    with pytest.raises(errors.ReadingDeviceNotValid):
        _submit(chain, oracle_world, r, _signed(oracle_world, device, r))


def test_submit_from_unregistered_device_reverts(chain, oracle_world):
    stranger = DeviceSigner.from_secret(bytes([7] * 32))
    r = make_reading(stranger, ASSET_A, 1, chain.timestamp())
    with pytest.raises(errors.ReadingDeviceNotValid):
        _submit(chain, oracle_world, r, _signed(oracle_world, stranger, r))


def test_submit_forged_signature_reverts(chain, oracle_world):
    device, forger = oracle_world.devices_a[0], oracle_world.devices_a[1]
    _direct(chain, oracle_world, oracle_world.devices_a[0])
    r = make_reading(device, ASSET_A, 1, chain.timestamp())
    with pytest.raises(errors.ReadingInvalidSignature):
        _submit(chain, oracle_world, r, _signed(oracle_world, forger, r))


def test_submit_tampered_reading_reverts(chain, oracle_world):
    device = oracle_world.devices_a[0]
    _direct(chain, oracle_world, oracle_world.devices_a[0])
    r = make_reading(device, ASSET_A, 1, chain.timestamp(), energy_wh=100)
    sig = _signed(oracle_world, device, r)
    with pytest.raises(errors.ReadingInvalidSignature):
        _submit(chain, oracle_world, r.with_(energy_wh=200), sig)


def test_submit_high_s_signature_reverts_and_fast_path_rejects_it(chain, oracle_world):
    device = oracle_world.devices_a[0]
    _direct(chain, oracle_world, oracle_world.devices_a[0])
    r = make_reading(device, ASSET_A, 1, chain.timestamp())
    sig = _signed(oracle_world, device, r)
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    s = int.from_bytes(sig[32:64], "big")
    malleated = sig[:32] + (n - s).to_bytes(32, "big") + bytes((55 - sig[64],))
    assert recover(oracle_world.domain.digest(r), malleated) is None
    with pytest.raises(errors.ContractError):
        _submit(chain, oracle_world, r, malleated)


def test_submit_after_revocation_reverts_even_for_a_period_before_it(chain, oracle_world):
    """Once revoked, nothing new from the key counts: a reading dated before the revocation but submitted
    after it (a stolen key backdating, or a submission racing the revocation) is refused."""
    device = oracle_world.devices_a[0]
    _direct(chain, oracle_world, device)
    counted = make_reading(device, ASSET_A, 1, chain.timestamp() - 600)
    _submit(chain, oracle_world, counted, _signed(oracle_world, device, counted))
    backdated = make_reading(device, ASSET_A, 2, chain.timestamp() - 10)
    chain.transact(oracle_world.registry.functions.revokeDevice(device.checksum), sender=oracle_world.operator_a)
    with pytest.raises(errors.ReadingDeviceNotValid):
        _submit(chain, oracle_world, backdated, _signed(oracle_world, device, backdated))
    chain.mine(60)
    after = make_reading(device, ASSET_A, 3, chain.timestamp())
    with pytest.raises(errors.ReadingDeviceNotValid):
        _submit(chain, oracle_world, after, _signed(oracle_world, device, after))
    assert oracle_world.oracle.functions.lastSeq(device.checksum).call() == 1


def test_rotated_key_old_key_rejected_new_key_accepted(chain, oracle_world):
    old = oracle_world.devices_a[0]
    _direct(chain, oracle_world, old)
    new = DeviceSigner.from_secret(bytes([6] * 32))
    chain.transact(oracle_world.registry.functions.rotateKey(old.checksum, new.checksum), sender=oracle_world.operator_a)
    _direct(chain, oracle_world, new)
    stale = make_reading(old, ASSET_A, 1, chain.timestamp())
    with pytest.raises(errors.ReadingDeviceNotValid):
        _submit(chain, oracle_world, stale, _signed(oracle_world, old, stale))
    fresh = make_reading(new, ASSET_A, 1, chain.timestamp())
    _submit(chain, oracle_world, fresh, _signed(oracle_world, new, fresh))
    # the new key cannot sign in the old key's name
    forged = make_reading(old, ASSET_A, 2, chain.timestamp())
    with pytest.raises(errors.ReadingDeviceNotValid):
        _submit(chain, oracle_world, forged, _signed(oracle_world, new, forged))


# -- anchorBatch -------------------------------------------------------------------------------

def _batch(world, chain, n, asset=ASSET_A, devices=None):
    devices = devices or world.devices_a
    t = chain.timestamp()
    readings = [make_reading(devices[i % len(devices)], asset, 1 + i // len(devices), t - 5 * (i // len(devices)), energy_wh=1 + i % 10, length=5) for i in range(n)]
    return readings, [world.domain.sign(r, devices[i % len(devices)].key) for i, r in enumerate(readings)]


def test_anchor_by_outsider_reverts(chain, oracle_world):
    fn = oracle_world.oracle.functions.anchorBatch(ASSET_A, b"\x01" * 32, 1, 1, 1, 2)
    with pytest.raises(errors.AccessControlUnauthorizedAccount):
        chain.transact(fn, sender=oracle_world.outsider)


@pytest.mark.parametrize("root,count", [(bytes(32), 1), (b"\x01" * 32, 0)])
def test_anchor_empty_batch_reverts(chain, oracle_world, root, count):
    with pytest.raises(errors.BatchEmpty):
        chain.transact(oracle_world.oracle.functions.anchorBatch(ASSET_A, root, count, 1, 1, 2), sender=oracle_world.relayer)


def test_anchor_reversed_time_range_reverts(chain, oracle_world):
    with pytest.raises(errors.BatchInvalidTimeRange):
        chain.transact(oracle_world.oracle.functions.anchorBatch(ASSET_A, b"\x01" * 32, 1, 1, 5, 5), sender=oracle_world.relayer)


def test_anchor_future_batch_reverts(chain, oracle_world):
    t = chain.timestamp()
    with pytest.raises(errors.BatchInFuture):
        chain.transact(oracle_world.oracle.functions.anchorBatch(ASSET_A, b"\x01" * 32, 1, 1, t, t + 3_600), sender=oracle_world.relayer)


def test_batch_indexes_count_per_asset_from_zero(chain, oracle_world):
    t = chain.timestamp()
    fn = oracle_world.oracle.functions.anchorBatch
    indexes = [chain.transact(fn(asset, bytes([i + 1]) * 32, 1, 1, t - 10, t), sender=oracle_world.relayer)
               .events(oracle_world.oracle, "BatchAnchored")[0]["batchIndex"]
               for i, asset in enumerate((ASSET_A, ASSET_B, ASSET_A, ASSET_A))]
    assert indexes == [0, 0, 1, 2]
    assert [oracle_world.oracle.functions.batchCount(a).call() for a in (ASSET_A, ASSET_B)] == [3, 1]


def test_anchor_records_batch_totals_and_event(chain, oracle_world):
    readings, _ = _batch(oracle_world, chain, 5)
    tree, index, sent = _anchor(chain, oracle_world, ASSET_A, readings)
    event = sent.events(oracle_world.oracle, "BatchAnchored")[0]
    energy = sum(r.energy_wh for r in readings)
    start, end = min(r.period_start for r in readings), max(r.period_end for r in readings)
    assert (event["assetId"], event["merkleRoot"], index) == (ASSET_A, tree.root, 0)
    assert (event["count"], event["totalEnergyWh"], event["fromTime"], event["toTime"]) == (5, energy, start, end)
    assert oracle_world.oracle.functions.batchPeaks(ASSET_A).call() == [mmr.leaf(tree.root, start, end)]
    assert tuple(oracle_world.oracle.functions.totals(ASSET_A, start // 86_400).call()) == (energy, 5)


def test_period_totals_roll_over_and_late_batches_count_in_their_own_period(chain, oracle_world):
    """The latest period's totals share the asset's log slot; a later period moves them out."""
    fn, day = oracle_world.oracle.functions, 86_400
    d0 = (chain.timestamp() // day - 3) * day

    def anchor(start, energy, count):
        chain.transact(fn.anchorBatch(ASSET_A, os.urandom(32), count, energy, start, start + 60), sender=oracle_world.relayer)

    anchor(d0 + 10, 100, 2)
    anchor(d0 + day + 10, 200, 3)  # day 1 starts: day 0 moves out of the log slot
    anchor(d0 + 20, 5, 1)  # late batch for day 0
    anchor(d0 + day + 20, 7, 1)
    assert [tuple(fn.totals(ASSET_A, d0 // day + i).call()) for i in range(3)] == [(105, 3), (207, 4), (0, 0)]
    assert fn.periodEnergyWh(ASSET_A, d0, d0 + 2 * day).call() == 312
    assert fn.periodEnergyWh(ASSET_A, d0 + day, d0 + 3 * day).call() == 207
    assert fn.periodEnergyWh(ASSET_B, d0, d0 + 2 * day).call() == 0


@given(st.lists(st.sampled_from([ASSET_A, ASSET_B]), min_size=1, max_size=20), st.data())
def test_property_any_anchor_sequence_keeps_every_batch_provable(session_chain, oracle_world, assets, data):
    """Two assets' batches interleaved in any order: each asset's peaks match Python's, and a reading of
    any batch verifies with the path rebuilt at the final count."""
    chain, world = session_chain, oracle_world
    snapshot = chain.snapshot()
    try:
        t = chain.timestamp()
        anchored = {ASSET_A: [], ASSET_B: []}
        for i, asset in enumerate(assets):
            device = (world.devices_a if asset == ASSET_A else world.devices_b)[0]
            r = make_reading(device, asset, 1000 + i, t - 20 * (len(assets) - i), energy_wh=1, length=10)
            tree, index, _ = _anchor(chain, world, asset, [r])
            assert index == len(anchored[asset])
            anchored[asset].append((r, world.domain.sign(r, device.key), tree))
        for asset, batches in anchored.items():
            leaves = [mmr.leaf(tree.root, r.period_start, r.period_end) for r, _, tree in batches]
            assert world.oracle.functions.batchPeaks(asset).call() == mmr.peaks(leaves)
            if batches:
                index = data.draw(st.integers(0, len(batches) - 1))
                r, sig, tree = batches[index]
                assert _verify(chain, world, r, sig, _path(world, asset, tree, r, index), index)
    finally:
        chain.revert(snapshot)


def test_period_energy_beyond_uint96_reverts_instead_of_wrapping(chain, oracle_world):
    t = chain.timestamp()
    fn = oracle_world.oracle.functions.anchorBatch
    chain.transact(fn(ASSET_A, b"\x01" * 32, 1, 2**96 - 1, t - 10, t), sender=oracle_world.relayer)
    with pytest.raises(errors.SafeCastOverflowedUintDowncast):
        chain.transact(fn(ASSET_A, b"\x02" * 32, 1, 1, t - 10, t), sender=oracle_world.relayer)
    assert oracle_world.oracle.functions.batchCount(ASSET_A).call() == 1


def test_batch_peaks_match_the_python_mountain_range(chain, oracle_world):
    t = chain.timestamp()
    roots = [bytes([i + 1]) * 32 for i in range(13)]
    for n, root in enumerate(roots, start=1):
        chain.transact(oracle_world.oracle.functions.anchorBatch(ASSET_A, root, 1, 1, t - 10, t), sender=oracle_world.relayer)
        assert oracle_world.oracle.functions.batchPeaks(ASSET_A).call() == mmr.peaks([mmr.leaf(r, t - 10, t) for r in roots[:n]])
    assert [b.merkle_root for b in anchored_batches(oracle_world.oracle, ASSET_A)] == roots
    in_small_ranges = anchored_batches(oracle_world.oracle, ASSET_A, chunk_blocks=3)
    assert in_small_ranges == anchored_batches(oracle_world.oracle, ASSET_A)
    assert [b.batch_index for b in in_small_ranges] == list(range(13))


# -- verifyReading -----------------------------------------------------------------------------

@pytest.mark.parametrize("size", [1, 2, 3, 7, 1001])
def test_every_reading_of_a_batch_verifies_on_chain(chain, oracle_world, size):
    readings, sigs = _batch(oracle_world, chain, size)
    tree, index, _ = _anchor(chain, oracle_world, ASSET_A, readings)
    picks = range(size) if size <= 7 else random.Random(size).sample(range(size), 12)
    for i in picks:
        proof = _path(oracle_world, ASSET_A, tree, readings[i], index)
        assert _verify(chain, oracle_world, readings[i], sigs[i], proof, index) is True


def test_proof_with_another_span_word_does_not_verify(chain, oracle_world):
    """The batch's span is committed in its mountain leaf: a proof cannot claim another period for it."""
    readings, sigs = _batch(oracle_world, chain, 3)
    tree, index, _ = _anchor(chain, oracle_world, ASSET_A, readings)
    proof = _path(oracle_world, ASSET_A, tree, readings[1], index)
    at = len(proof) - 1 - mmr.position(index + 1, index)[0]
    start, end = min(r.period_start for r in readings), max(r.period_end for r in readings)
    assert proof[at] == mmr.span_word(start, end)
    for word in (mmr.span_word(start - 86_400, end), mmr.span_word(start, end + 1), b"\x01" + proof[at][1:]):
        with pytest.raises(errors.ReadingNotInBatch):
            _verify(chain, oracle_world, readings[1], sigs[1], proof[:at] + [word] + proof[at + 1:], index)
    with pytest.raises(errors.ReadingNotInBatch):
        _verify(chain, oracle_world, readings[1], sigs[1], proof[:at] + proof[at + 1:], index)


def test_readings_of_every_batch_verify_as_the_mountain_range_grows(chain, oracle_world):
    """Batches 0..6 (mountains of 4, 2 and 1): each verifies with its path rebuilt at every size."""
    anchored = []
    for _ in range(7):
        readings, sigs = _batch(oracle_world, chain, 3)
        tree, index, _ = _anchor(chain, oracle_world, ASSET_A, readings)
        anchored.append((tree, index, readings[index % 3], sigs[index % 3]))
        chain.mine(10)
        for tree_i, index_i, reading, sig in anchored:
            proof = _path(oracle_world, ASSET_A, tree_i, reading, index_i)
            assert _verify(chain, oracle_world, reading, sig, proof, index_i) is True


def test_proof_built_before_its_mountain_merged_no_longer_verifies(chain, oracle_world):
    readings, sigs = _batch(oracle_world, chain, 2)
    tree, index, _ = _anchor(chain, oracle_world, ASSET_A, readings)
    stale = _path(oracle_world, ASSET_A, tree, readings[0], index)
    assert _verify(chain, oracle_world, readings[0], sigs[0], stale, index)
    _anchor(chain, oracle_world, ASSET_A, _batch(oracle_world, chain, 1)[0])  # batches 0 and 1 merge
    with pytest.raises(errors.ReadingNotInBatch):
        _verify(chain, oracle_world, readings[0], sigs[0], stale, index)
    assert _verify(chain, oracle_world, readings[0], sigs[0], _path(oracle_world, ASSET_A, tree, readings[0], index), index)


def test_verify_under_another_batch_index_of_the_same_mountain_reverts(chain, oracle_world):
    """The mountain part of the path hashes in order, so it pins the batch index, not just the mountain."""
    readings, sigs = _batch(oracle_world, chain, 2)
    first, index, _ = _anchor(chain, oracle_world, ASSET_A, readings)
    _anchor(chain, oracle_world, ASSET_A, _batch(oracle_world, chain, 1)[0])
    proof = _path(oracle_world, ASSET_A, first, readings[1], index)
    with pytest.raises(errors.ReadingNotInBatch):
        _verify(chain, oracle_world, readings[1], sigs[1], proof, index + 1)


def test_verify_with_a_path_shorter_than_the_mountain_reverts(chain, oracle_world):
    readings, sigs = _batch(oracle_world, chain, 1)
    tree, index, _ = _anchor(chain, oracle_world, ASSET_A, readings)
    _anchor(chain, oracle_world, ASSET_A, _batch(oracle_world, chain, 1)[0])
    with pytest.raises(errors.ReadingNotInBatch):
        _verify(chain, oracle_world, readings[0], sigs[0], [], index)


def test_verify_unknown_batch_reverts(chain, oracle_world):
    readings, sigs = _batch(oracle_world, chain, 2)
    tree, index, _ = _anchor(chain, oracle_world, ASSET_A, readings)
    with pytest.raises(errors.BatchUnknown) as e:
        _verify(chain, oracle_world, readings[0], sigs[0], _path(oracle_world, ASSET_A, tree, readings[0], index), 1)
    assert (e.value.assetId, e.value.batchIndex) == (ASSET_A, 1)


def test_verify_reading_not_in_batch_reverts(chain, oracle_world):
    readings, sigs = _batch(oracle_world, chain, 4)
    tree, index, _ = _anchor(chain, oracle_world, ASSET_A, readings[:3])
    proof = _path(oracle_world, ASSET_A, tree, readings[0], index)
    with pytest.raises(errors.ReadingNotInBatch):
        _verify(chain, oracle_world, readings[3], sigs[3], proof, index)


def test_verify_with_wrong_proof_reverts(chain, oracle_world):
    readings, sigs = _batch(oracle_world, chain, 4)
    tree, index, _ = _anchor(chain, oracle_world, ASSET_A, readings)
    proof = _path(oracle_world, ASSET_A, tree, readings[1], index)
    with pytest.raises(errors.ReadingNotInBatch):
        _verify(chain, oracle_world, readings[0], sigs[0], proof, index)


def test_verify_reading_anchored_under_other_asset_reverts(chain, oracle_world):
    """A relayer that puts asset A's readings in asset B's batch cannot get them verified."""
    readings, sigs = _batch(oracle_world, chain, 3)
    _anchor(chain, oracle_world, ASSET_A, _batch(oracle_world, chain, 1)[0])  # A has a batch 0 too
    tree, index, _ = _anchor(chain, oracle_world, ASSET_B, readings)
    with pytest.raises(errors.ReadingNotInBatch):
        _verify(chain, oracle_world, readings[0], sigs[0], _path(oracle_world, ASSET_B, tree, readings[0], index), index)


def test_verify_reading_with_forged_signature_reverts(chain, oracle_world):
    readings, sigs = _batch(oracle_world, chain, 2)
    tree, index, _ = _anchor(chain, oracle_world, ASSET_A, readings)
    proof = _path(oracle_world, ASSET_A, tree, readings[0], index)
    with pytest.raises(errors.ReadingInvalidSignature):
        _verify(chain, oracle_world, readings[0], sigs[1], proof, index)


def test_verify_reading_of_revoked_device_after_revocation_reverts(chain, oracle_world):
    device = oracle_world.devices_a[0]
    chain.transact(oracle_world.registry.functions.revokeDevice(device.checksum), sender=oracle_world.operator_a)
    chain.mine(400)
    r = make_reading(device, ASSET_A, 1, chain.timestamp())
    sig = _signed(oracle_world, device, r)
    tree, index, _ = _anchor(chain, oracle_world, ASSET_A, [r])
    with pytest.raises(errors.ReadingDeviceNotValid):
        _verify(chain, oracle_world, r, sig, _path(oracle_world, ASSET_A, tree, r, index), index)


def test_verify_reading_measured_before_revocation_still_verifies(chain, oracle_world):
    device = oracle_world.devices_a[0]
    chain.mine(100)
    r = make_reading(device, ASSET_A, 1, chain.timestamp(), energy_wh=100, length=60)
    sig = _signed(oracle_world, device, r)
    chain.transact(oracle_world.registry.functions.revokeDevice(device.checksum), sender=oracle_world.operator_a)
    tree, index, _ = _anchor(chain, oracle_world, ASSET_A, [r])
    assert _verify(chain, oracle_world, r, sig, _path(oracle_world, ASSET_A, tree, r, index), index)


def test_verify_over_capacity_reading_reverts_even_if_anchored(chain, oracle_world):
    device = oracle_world.devices_a[0]
    r = make_reading(device, ASSET_A, 1, chain.timestamp(), energy_wh=CAPACITY_W)
    sig = _signed(oracle_world, device, r)
    tree, index, _ = _anchor(chain, oracle_world, ASSET_A, [r])
    with pytest.raises(errors.ReadingOverCapacity):
        _verify(chain, oracle_world, r, sig, _path(oracle_world, ASSET_A, tree, r, index), index)


def test_anchor_batches_by_outsider_reverts(chain, oracle_world):
    header = (ASSET_A, b"\x01" * 32, 1, 1, 1, 2)
    with pytest.raises(errors.AccessControlUnauthorizedAccount):
        chain.transact(oracle_world.oracle.functions.anchorBatches([header]), sender=oracle_world.outsider)


def test_anchor_batches_records_each_and_all_verify(chain, oracle_world):
    ra, sa = _batch(oracle_world, chain, 3)
    rb, sb = _batch(oracle_world, chain, 2, asset=ASSET_B, devices=oracle_world.devices_b)
    trees, headers = [], []
    for asset, rs in ((ASSET_A, ra), (ASSET_B, rb)):
        tree = MerkleTree.from_digests([oracle_world.domain.digest(r) for r in rs])
        trees.append(tree)
        headers.append((asset, tree.root, len(rs), sum(r.energy_wh for r in rs), min(r.period_start for r in rs), max(r.period_end for r in rs)))
    sent = chain.transact(oracle_world.oracle.functions.anchorBatches(headers), sender=oracle_world.relayer)
    ids = [e["batchIndex"] for e in sent.events(oracle_world.oracle, "BatchAnchored")]
    assert ids == [0, 0]
    assert _verify(chain, oracle_world, ra[2], sa[2], _path(oracle_world, ASSET_A, trees[0], ra[2], 0), 0)
    assert _verify(chain, oracle_world, rb[1], sb[1], _path(oracle_world, ASSET_B, trees[1], rb[1], 0), 0)


def test_anchor_batches_is_all_or_nothing(chain, oracle_world):
    t = chain.timestamp()
    good = (ASSET_A, b"\x02" * 32, 1, 1, t - 10, t)
    bad = (ASSET_A, bytes(32), 1, 1, t - 10, t)
    with pytest.raises(errors.BatchEmpty):
        chain.transact(oracle_world.oracle.functions.anchorBatches([good, bad]), sender=oracle_world.relayer)
    assert oracle_world.oracle.functions.batchCount(ASSET_A).call() == 0
