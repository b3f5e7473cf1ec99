"""Attacks on the oracle's on-chain totals: each reading counts once, a device's counted periods never
overlap, nothing new from a revoked key counts; what a relayer anchors against these rules is disputable.

Each test is written as the attack; on the oracle without direct reporting and disputes the attack adds
energy (or the dispute function does not exist)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rwa_sdk import errors
from rwa_sdk.oracle import mmr
from rwa_sdk.oracle.dispute import Inclusion, conflict, disputed

from .onchain_world import ASSET, CAPACITY_W, DAY, OTHER_ASSET, world  # noqa: F401  (fixture)


def _hours_ago(chain, hours: int) -> int:
    return (chain.timestamp() // 3_600 - hours) * 3_600


# -- item 1: energy counted twice ----------------------------------------------------------------

def test_onchain_anchored_readings_resubmitted_by_an_account_with_no_role_add_nothing(world, chain):
    """The review's attack: 12 anchored readings re-submitted through submitReading by an outsider."""
    dev = world.devices[0]
    start = _hours_ago(chain, 20)
    readings = [world.reading(dev, seq, start + 3_600 * (seq - 1)) for seq in range(1, 13)]
    world.anchor(readings)
    counted = world.energy()
    assert counted == 12 * 20
    for r in readings:
        with pytest.raises(errors.ReadingDeviceNotDirect):
            world.submit(dev, r, sender=world.outsiders[1])
    assert world.energy() == counted


def test_onchain_direct_readings_anchored_again_are_taken_off_by_a_dispute(world, chain):
    """The other way round: a direct device's submitted readings put in a batch count only once."""
    dev = world.devices[1]
    world.direct(dev)
    chain.mine(6 * 3_600)
    hour = chain.timestamp() % DAY // 3_600
    if hour < 5:  # the three hours end before midnight: one day's batch (else it is also wrong-period)
        chain.mine((5 - hour) * 3_600)
    start = _hours_ago(chain, 4)
    readings = [world.reading(dev, seq, start + 3_600 * (seq - 1)) for seq in range(1, 4)]
    assert len({r.period_start // DAY for r in readings}) == 1
    for r in readings:
        world.submit(dev, r)
    assert world.energy() == 60
    inclusions = world.anchor(readings)
    assert world.energy() == 120
    for x in inclusions:
        events = disputed(world.dispute_one(x), world.oracle)
        assert [(e["kind"], e["energyWh"]) for e in events] == [("direct-device", 20)]
    assert world.energy() == 60
    assert world.oracle.functions.relayingSuspended().call()


def test_onchain_batch_anchored_twice_is_disputable_once_and_suspends_the_relayer(world, chain):
    dev = world.devices[0]
    start = _hours_ago(chain, 10)
    readings = [world.reading(dev, seq, start + 3_600 * (seq - 1)) for seq in range(1, 4)]
    first, again = world.anchor(readings), world.anchor(readings)
    assert world.energy() == 120
    assert conflict(first[1], again[1]) == "duplicate-seq"
    world.dispute_pair(first[1], again[1])
    assert world.energy() == 100
    with pytest.raises(errors.DisputeInclusionRemoved):  # the same double count is taken off once
        world.dispute_pair(first[1], again[1])
    with pytest.raises(errors.DisputeInclusionRemoved):  # and the survivor cannot be disputed against it
        world.dispute_pair(again[1], first[1])
    with pytest.raises(errors.RelayingSuspended):
        world.anchor([world.reading(dev, 9, start + 9 * 3_600)])
    with pytest.raises(errors.AccessControlUnauthorizedAccount):
        chain.transact(world.oracle.functions.resumeRelaying(), sender=world.outsiders[0])
    for a, b in zip(first, again):
        if a != first[1]:
            world.dispute_pair(b, a)  # either may name the other: the later copy (b, on a tie) leaves
    assert world.energy() == 60
    assert world.oracle.functions.disputeCount().call() == 3
    chain.transact(world.oracle.functions.resumeRelaying(), sender=world.admin)
    world.anchor([world.reading(dev, 9, start + 9 * 3_600)])


def _midnight_hours_ago(chain, hours: int) -> int:
    """The start of today's period, at least ``hours`` in the past (the chain is moved on if need be), so a
    test's readings fall in one day's period, as the relayer batches them."""
    if chain.timestamp() % DAY < hours * 3_600:
        chain.mine(hours * 3_600)
    return chain.timestamp() // DAY * DAY


def test_onchain_copy_in_a_batch_across_midnight_is_disputed_off_the_day_it_was_counted_in(world, chain):
    """A batch from 22:00 to 01:00 counts in its first day. Its copy of the 00:00 reading must leave that
    day's total, not the next day's (where nothing of it was counted): the totals come back to the distinct
    readings whatever day the disputed reading itself starts in."""
    dev = world.devices[2]
    midnight = _midnight_hours_ago(chain, 2)
    day = midnight // DAY
    late, later, past_midnight = (world.reading(dev, seq, midnight + 3_600 * (seq - 3)) for seq in (1, 2, 3))
    batch = world.anchor([past_midnight, late, past_midnight, later])  # the copies apart, not siblings
    assert (world.day_energy(day - 1), world.day_energy(day)) == (80, 0)
    world.dispute_pair(batch[0], batch[2])
    assert (world.day_energy(day - 1), world.day_energy(day)) == (60, 0)
    assert world.energy() == 60  # each distinct reading once
    # the reading of the next day was counted in the wrong period: anyone can take it off
    events = disputed(world.dispute_one(batch[0]), world.oracle)
    assert [(e["kind"], e["epoch"], e["energyWh"]) for e in events] == [("wrong-period", day - 1, 20)]
    assert (world.day_energy(day - 1), world.day_energy(day)) == (40, 0)
    for x in (batch[1], batch[3]):  # the readings of the batch's own day stay counted
        with pytest.raises(errors.DisputeInclusionCountable):
            world.dispute_one(x)


def test_onchain_span_the_relayer_misstates_makes_its_readings_disputable(world, chain):
    """A relayer says a batch covers yesterday while its readings are today's: the span is committed with
    the root, so the readings are disputable as counted in another period, and only from that period."""
    dev = world.devices[2]
    midnight = _midnight_hours_ago(chain, 2)
    today = [world.reading(dev, seq, midnight + 3_600 * (seq - 1)) for seq in (1, 2)]
    batch = world.anchor_as(today, midnight - 7_200, midnight - 3_600)
    assert (world.day_energy(midnight // DAY - 1), world.day_energy(midnight // DAY)) == (40, 0)
    for x in batch:
        assert [e["kind"] for e in disputed(world.dispute_one(x), world.oracle)] == ["wrong-period"]
    assert world.energy() == 0


def test_onchain_proof_that_misstates_its_batch_span_is_refused(world, chain):
    """The span word is part of the batch's leaf: a disputer cannot name another period (to take energy
    off a day the batch never counted in), nor pass a word that is not a span."""
    dev = world.devices[2]
    start = _hours_ago(chain, 6)
    (x,) = world.anchor([world.reading(dev, 1, start)])
    assert x.tree_path[-1] == mmr.span_word(start, start + 3_600)
    for word in (mmr.span_word(start - DAY, start + 3_600), mmr.span_word(start, start + 3_601), b"\xff" * 32):
        forged = Inclusion(x.reading, ASSET, x.batch_index, x.tree_path[:-1] + (word,))
        with pytest.raises(errors.ReadingNotInBatch):
            world.dispute_one(forged)
    with pytest.raises(errors.ReadingNotInBatch):  # without the span word at all
        world.dispute_one(Inclusion(x.reading, ASSET, x.batch_index, x.tree_path[:-1]))
    assert world.energy() == 20


def test_onchain_reading_twice_in_one_batch_is_disputable(world, chain):
    """Copies of a leaf inside one batch: as sibling subtrees (one path, disputeInclusion) or apart."""
    dev = world.devices[0]
    start = _hours_ago(chain, 10)
    a, b, c = (world.reading(dev, seq, start + 3_600 * seq) for seq in (1, 2, 3))
    apart = world.anchor([a, b, a, c, a])  # positions 0, 2 and 4 of one batch
    assert world.energy() == 100
    world.dispute_pair(apart[0], apart[2])
    world.dispute_pair(apart[0], apart[4])
    assert world.energy() == 60
    world.resume()
    siblings = world.anchor([b, b, b, b])  # four copies: two levels of identical subtrees
    assert world.oracle.functions.inclusionId(world_arg(world, siblings[0])).call()[1] == 4
    assert world.energy() == 140
    assert [e["readings"] for e in disputed(world.dispute_one(siblings[0]), world.oracle)] == [3]
    assert world.energy() == 80
    world.dispute_pair(apart[1], siblings[0])  # the last copy, against batch 0's b
    assert world.energy() == 60
    with pytest.raises(errors.DisputeInclusionRemoved):
        world.dispute_one(siblings[3])


def world_arg(world, x: Inclusion) -> tuple:
    from rwa_sdk.oracle.dispute import mountain_leaves
    return x.argument(mountain_leaves(world.oracle, x.asset_id))


def test_onchain_honest_batches_cannot_be_disputed(world, chain):
    dev, other = world.devices[0], world.devices[2]
    start = _midnight_hours_ago(chain, 4)
    mine = world.anchor([world.reading(dev, s, start + 3_600 * s) for s in (1, 2)]
                        + [world.reading(other, 1, start + 3_600)])
    later = world.anchor([world.reading(dev, 3, start + 3 * 3_600)])
    for x in mine + later:
        with pytest.raises(errors.DisputeInclusionCountable):
            world.dispute_one(x)
    for a, b in ((mine[0], mine[1]), (mine[1], later[0]), (mine[0], mine[2])):
        assert conflict(a, b) is None
        with pytest.raises(errors.DisputeNoConflict):
            chain.transact(world.oracle.functions.disputeDoubleCount(world_arg(world, a), world_arg(world, b)),
                           sender=world.outsiders[0])
    with pytest.raises(errors.DisputeSameInclusion):
        chain.transact(world.oracle.functions.disputeDoubleCount(world_arg(world, mine[0]), world_arg(world, mine[0])),
                       sender=world.outsiders[0])
    assert not world.oracle.functions.relayingSuspended().call()
    assert world.energy() == 80


def test_onchain_dispute_with_a_forged_inclusion_reverts(world, chain):
    dev = world.devices[0]
    start = _hours_ago(chain, 10)
    real = world.anchor([world.reading(dev, 1, start), world.reading(dev, 2, start + 3_600)])
    fake = Inclusion(world.reading(dev, 1, start).with_(energy_wh=21), ASSET, real[0].batch_index, real[0].tree_path)
    with pytest.raises(errors.ReadingNotInBatch):
        world.dispute_pair(real[0], fake)
    unknown = Inclusion(real[0].reading, ASSET, 5, real[0].tree_path)
    with pytest.raises(errors.BatchUnknown):
        chain.transact(world.oracle.functions.disputeInclusion(
            (unknown.reading.as_tuple(), ASSET, 5, list(unknown.tree_path))), sender=world.outsiders[0])
    assert world.energy() == 40


def test_onchain_reading_of_another_asset_in_a_batch_is_disputable(world, chain):
    dev = world.devices[0]
    foreign = world.reading(dev, 1, _hours_ago(chain, 5), asset=OTHER_ASSET)
    (x,) = world.anchor([foreign], asset=ASSET)
    assert world.energy() == 20
    assert [e["kind"] for e in disputed(world.dispute_one(x), world.oracle)] == ["wrong-asset"]
    assert world.energy() == 0


# -- item 3: overlapping or backdated periods ---------------------------------------------------

def test_onchain_same_hour_under_ten_seqs_counts_once_when_submitted(world, chain):
    """The review's attack: one hour reported ten times under ten seqs, 27 Wh each against 27 Wh capacity."""
    dev = world.devices[1]
    world.direct(dev)
    chain.mine(3 * 3_600)
    hour = _hours_ago(chain, 1)
    world.submit(dev, world.reading(dev, 1, hour, energy_wh=CAPACITY_W))
    for seq in range(2, 11):
        with pytest.raises(errors.ReadingPeriodOverlap) as e:
            world.submit(dev, world.reading(dev, seq, hour, energy_wh=CAPACITY_W))
        assert e.value.notBefore == hour + 3_600
    assert world.energy() == CAPACITY_W


def test_onchain_backdated_period_under_a_higher_seq_is_refused(world, chain):
    dev = world.devices[1]
    world.direct(dev)
    chain.mine(4 * 3_600)
    now = _hours_ago(chain, 1)
    world.submit(dev, world.reading(dev, 1, now))
    with pytest.raises(errors.ReadingPeriodOverlap):
        world.submit(dev, world.reading(dev, 2, now - 2 * 3_600))
    assert tuple(world.oracle.functions.deviceLog(dev.checksum).call()[:2]) == (1, now + 3_600)


def test_onchain_direct_reading_from_before_the_switch_is_refused(world, chain):
    """The relayer may have counted that time already: direct readings start at the switch."""
    dev = world.devices[1]
    world.direct(dev)
    chain.mine(4 * 3_600)
    with pytest.raises(errors.ReadingPeriodOverlap):
        world.submit(dev, world.reading(dev, 1, _hours_ago(chain, 6)))
    world.submit(dev, world.reading(dev, 1, _hours_ago(chain, 3)))


def test_onchain_same_hour_under_ten_seqs_in_a_batch_is_disputed_back_to_one(world, chain):
    dev = world.devices[0]
    hour = _hours_ago(chain, 3)
    batch = world.anchor([world.reading(dev, seq, hour, energy_wh=CAPACITY_W) for seq in range(1, 11)])
    assert world.energy() == 10 * CAPACITY_W
    for x in batch[1:]:
        assert conflict(batch[0], x) == "overlapping-period"
        events = disputed(world.dispute_pair(x, batch[0]), world.oracle)
        assert [(e["kind"], e["seq"]) for e in events] == [("overlapping-period", x.reading.seq)]
    assert world.energy() == CAPACITY_W


# -- items 4 and 5: revoked keys and the revocation race -----------------------------------------

def test_onchain_revoked_key_adds_nothing_through_submit_reading(world, chain):
    """A stolen key signs after the revocation, dating its readings before it; the next block races it."""
    dev = world.devices[1]
    world.direct(dev)
    chain.mine(10 * 3_600)
    base = _hours_ago(chain, 8)
    world.submit(dev, world.reading(dev, 1, base))
    chain.transact(world.contracts.registry.functions.revokeDevice(dev.checksum), sender=world.operator)
    for seq in range(2, 6):
        with pytest.raises(errors.ReadingDeviceNotValid):
            world.submit(dev, world.reading(dev, seq, base + 3_600 * (seq - 1), energy_wh=CAPACITY_W))
    assert world.energy() == 20


def test_onchain_revoked_key_in_batches_after_the_grace_is_disputable(world, chain):
    dev = world.devices[3]
    base = (chain.timestamp() // 86_400 - 1) * 86_400  # yesterday 00:00: every reading in one period
    honest = world.anchor([world.reading(dev, 1, base)])
    chain.transact(world.contracts.registry.functions.revokeDevice(dev.checksum), sender=world.operator)
    in_grace = world.anchor([world.reading(dev, 2, base + 3_600)])  # received before the revocation
    with pytest.raises(errors.RevocationNotDue):
        chain.transact(world.oracle.functions.markRevocation(dev.checksum), sender=world.outsiders[0])
    grace = world.oracle.functions.REVOCATION_GRACE().call()
    chain.mine(grace)
    chain.transact(world.oracle.functions.markRevocation(dev.checksum), sender=world.outsiders[0])
    with pytest.raises(errors.RevocationAlreadyMarked):
        chain.transact(world.oracle.functions.markRevocation(dev.checksum), sender=world.outsiders[0])
    late = world.anchor([world.reading(dev, seq, base + 3_600 * (seq - 1)) for seq in range(3, 7)])
    assert world.energy() == 6 * 20
    for x in honest + in_grace:
        with pytest.raises(errors.DisputeInclusionCountable):
            world.dispute_one(x)
    for x in late:
        assert [e["kind"] for e in disputed(world.dispute_one(x), world.oracle)] == ["late-after-revocation"]
    assert world.energy() == 2 * 20


def test_onchain_reading_measured_after_revocation_in_a_batch_is_disputable_at_once(world, chain):
    dev = world.devices[3]
    chain.transact(world.contracts.registry.functions.revokeDevice(dev.checksum), sender=world.operator)
    chain.mine(2 * 3_600)
    (x,) = world.anchor([world.reading(dev, 1, _hours_ago(chain, 1))])
    assert [e["kind"] for e in disputed(world.dispute_one(x), world.oracle)] == ["device-not-active"]
    assert world.energy() == 0


# -- direct reporting is the operator's choice ---------------------------------------------------

def test_onchain_only_the_operator_switches_a_live_device_to_direct_reporting(world, chain):
    dev = world.devices[2]
    with pytest.raises(errors.DirectReportingUnauthorized):
        chain.transact(world.oracle.functions.enableDirectReporting(dev.checksum), sender=world.outsiders[0])
    with pytest.raises(errors.DirectReportingUnauthorized):
        chain.transact(world.oracle.functions.enableDirectReporting(world.outsiders[0].address), sender=world.operator)
    world.direct(dev)
    with pytest.raises(errors.DirectReportingUnavailable):
        world.direct(dev)
    revoked = world.devices[3]
    chain.transact(world.contracts.registry.functions.revokeDevice(revoked.checksum), sender=world.operator)
    with pytest.raises(errors.DirectReportingUnavailable):
        world.direct(revoked)


# -- the CLI ------------------------------------------------------------------------------------

def test_onchain_dispute_cli_takes_two_printed_proofs(world, chain, tmp_path, monkeypatch):
    from rwa_sdk.cli import main

    dev = world.devices[0]
    readings = [world.reading(dev, 1, _hours_ago(chain, 6))]
    first, again = world.anchor(readings)[0], world.anchor(readings)[0]
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(world.proof_json(first)))
    world.anchor([world.reading(dev, 2, _hours_ago(chain, 5))])  # batches 0 and 1 merge: a's path is stale
    b.write_text(json.dumps(world.proof_json(again)))
    monkeypatch.setenv("RWA_PRIVATE_KEY", "0x" + bytes(world.outsiders[0].key).hex())
    args = ["oracle", "dispute", str(a), str(b), "--rpc", world.chain.node.url, "--oracle", world.oracle.address]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["kind"] == "duplicate-seq"
    assert world.energy() == 40
    again_result = CliRunner().invoke(main, args)
    assert again_result.exit_code == 1
    assert again_result.output.startswith("error: DisputeInclusionRemoved") and "Traceback" not in again_result.output


# -- revenue follows the corrected totals -------------------------------------------------------

def test_onchain_deposit_matching_the_double_counted_energy_is_refused_after_a_dispute(world, chain, roles,
                                                                                        usd_session, tmp_path):
    from rwa_sdk.deploy import Deployments
    from rwa_sdk.settlement.revenue import PeriodRevenue, deploy_distributor
    from rwa_sdk.settlement.stablecoin import UNIT

    issuer, holder = chain.accounts[0], chain.accounts[8]
    token, _ = chain.deploy("SecurityTokenMock", issuer.address, 0, sender=issuer)
    dist = deploy_distributor(chain, token.address, usd_session.address, admin=issuer.address, sender=issuer,
                              deployments=Deployments(chain.chain_id, tmp_path))
    chain.transact(token.functions.setRevenueHook(dist.address), sender=issuer)
    chain.transact(token.functions.setVerified(holder.address, True), sender=issuer)
    chain.transact(token.functions.mint(holder.address, 100), sender=issuer)
    dist.grant("OPERATOR_ROLE", issuer.address, sender=issuer)
    dist.set_energy_oracle(world.oracle.address, sender=issuer)
    usd_session.mint(issuer.address, 1_000 * UNIT, sender=roles.minter)
    usd_session.approve(dist.address, 2**256 - 1, sender=issuer)

    day = (chain.timestamp() // DAY - 1) * DAY
    dev = world.devices[0]
    readings = [world.reading(dev, seq, day + 3_600 * seq) for seq in range(1, 5)]
    first, again = world.anchor(readings), world.anchor(readings)
    assert world.oracle.functions.periodEnergyWh(ASSET, day, day + DAY).call() == 160
    for a, b in zip(first, again):
        world.dispute_pair(a, b)
    inflated = PeriodRevenue(ASSET, day, day + DAY, 160, b"\xee" * 32, 100 * UNIT)
    with pytest.raises(errors.EnergyMismatch) as caught:
        dist.deposit(inflated, sender=issuer)
    assert caught.value.anchoredWh == 80
    dist.deposit(PeriodRevenue(ASSET, day, day + DAY, 80, b"\xee" * 32, 100 * UNIT), sender=issuer)
