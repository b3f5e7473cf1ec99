"""Junk must not cost the node anything: the signature is checked before any lookup, the device set is
learnt from the registry's events in bulk, and unknown devices never cost one call per reading."""

from __future__ import annotations

import os

import pytest

from rwa_sdk.oracle.directory import EventDirectory
from rwa_sdk.oracle.ingest import Ingestor, Reason, Status, reading_item
from rwa_sdk.oracle.reading import DeviceSigner, ReadingDomain
from rwa_sdk.oracle.store import SqliteStore
from tests.oracle.conftest import ASSET_A, make_reading, oracle_world  # noqa: F401  (fixture)

N_HALF = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
N = 2 * N_HALF + 1


class CountingProvider:
    """Counts every JSON-RPC call web3 makes through ``w3`` (wraps the provider's make_request)."""

    def __init__(self, w3):
        self.provider = w3.provider
        self.calls: list[str] = []
        self._real = self.provider.make_request

    def __enter__(self):
        def counted(method, params):
            self.calls.append(method)
            return self._real(method, params)
        self.provider.make_request = counted
        self._forget_wrapped_request()
        return self

    def __exit__(self, *exc):
        del self.provider.make_request
        self._forget_wrapped_request()

    def _forget_wrapped_request(self):
        """web3 caches make_request wrapped in its middleware: without this, its own calls bypass the count."""
        self.provider._request_func_cache = (None, None)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "oracle.db")
    yield s
    s.close()


def _junk(world, t, n):
    """``n`` readings that must all be refused, of every kind an attacker can make for free."""
    registered = world.devices_a[0]
    stranger = DeviceSigner.from_secret(b"\x77" * 32)
    out = []
    for i in range(n):
        kind = i % 6
        r = make_reading(registered, ASSET_A, 10_000 + i, t - 10)
        sig = world.domain.sign(r, registered.key)
        if kind == 0:  # no real signature at all
            out.append(reading_item(r, os.urandom(64) + b"\x1b"))
        elif kind == 1:  # the right signature with v as 0/1 (not canonical)
            out.append(reading_item(r, sig[:64] + bytes((sig[64] - 27,))))
        elif kind == 2:  # the same signature in its high-s twin
            s = int.from_bytes(sig[32:64], "big")
            out.append(reading_item(r, sig[:32] + (N - s).to_bytes(32, "big") + bytes((55 - sig[64],))))
        elif kind == 3:  # a random device address that no key or wallet stands behind
            out.append(reading_item(r.with_(device=os.urandom(20)), sig))
        elif kind == 4:  # a registered device, signed by someone else
            out.append(reading_item(r, world.domain.sign(r, stranger.key)))
        else:  # properly signed by fresh unregistered keys
            key = DeviceSigner.generate()
            fake = r.with_(device=key.address)
            out.append(reading_item(fake, world.domain.sign(fake, key.key)))
    return out


def test_junk_readings_cost_the_node_at_most_one_call_per_hundred(chain, oracle_world, store):
    """Issue 11 item 6: each junk reading used to cost ~4 RPC calls (2,000 readings: 8,031 calls)."""
    directory = EventDirectory(oracle_world.registry)
    directory.sync()
    ingestor = Ingestor(store, directory, oracle_world.domain, clock=lambda: chain.timestamp())
    junk = _junk(oracle_world, chain.timestamp(), 2_000)
    t = chain.timestamp()
    ingestor.clock = lambda: t
    with CountingProvider(chain.w3) as rpc:
        results = ingestor.submit(junk)
    assert all(r.status is Status.REJECTED for r in results)
    reasons = {r.reason for r in results}
    assert reasons == {Reason.BAD_SIGNATURE, Reason.UNKNOWN_DEVICE}
    assert len(rpc.calls) / len(junk) <= 0.01, rpc.calls
    assert store.counts()["readings_pending"] == 0


def test_a_known_devices_reading_makes_no_rpc_call_and_the_device_set_comes_in_bulk(chain, oracle_world, store):
    directory = EventDirectory(oracle_world.registry)
    with CountingProvider(chain.w3) as rpc:
        directory.sync()
    assert rpc.calls.count("eth_getLogs") <= 1 + chain.w3.eth.block_number // directory.range_blocks
    for dev in oracle_world.devices_a + oracle_world.devices_b:
        info = directory.get(dev.address)
        assert info is not None and info.activated_at > 0
        on_chain = oracle_world.registry.functions.getDevice(dev.checksum).call()
        assert (info.asset_id, info.capacity_w, info.activated_at, info.revoked_at) == (
            bytes(on_chain[0]), on_chain[2], on_chain[3], on_chain[4])
    t = chain.timestamp()
    ingestor = Ingestor(store, directory, oracle_world.domain, clock=lambda: t)
    dev = oracle_world.devices_b[1]
    items = [reading_item(r, oracle_world.domain.sign(r, dev.key))
             for r in (make_reading(dev, bytes.fromhex("bb" * 32), 50_000 + k, t - 600 + 60 * k, 1, 30) for k in range(5))]
    with CountingProvider(chain.w3) as rpc:
        results = ingestor.submit(items)
    assert [r.status for r in results] == [Status.ACCEPTED] * 5
    assert rpc.calls == []


def test_v_0_1_and_high_s_signatures_are_refused(chain, oracle_world, store):
    """Issue 11 item 7: v = 0/1 was accepted, then `rwa oracle proof` printed a proof verifyReading refused."""
    directory = EventDirectory(oracle_world.registry)
    directory.sync()
    t = chain.timestamp()
    ingestor = Ingestor(store, directory, oracle_world.domain, clock=lambda: t)
    dev = oracle_world.devices_a[1]
    r = make_reading(dev, ASSET_A, 70_000, t - 5, 1, 1)
    sig = oracle_world.domain.sign(r, dev.key)
    s = int.from_bytes(sig[32:64], "big")
    high_s = sig[:32] + (N - s).to_bytes(32, "big") + bytes((55 - sig[64],))
    for bad in (sig[:64] + bytes((sig[64] - 27,)), high_s):
        (result,) = ingestor.submit([reading_item(r, bad)])
        assert (result.status, result.reason) == (Status.REJECTED, Reason.BAD_SIGNATURE)
    assert store.counts()["readings_pending"] == 0
    assert ingestor.submit([reading_item(r, sig)])[0].status is Status.ACCEPTED


def test_the_domain_is_read_from_the_oracle_contract(oracle_world):
    """Issue 16 item 9: ERC-5267 ``eip712Domain()`` instead of hard-coded name/version."""
    domain = ReadingDomain.from_contract(oracle_world.oracle)
    assert domain.separator == bytes(oracle_world.oracle.functions.domainSeparator().call())
    assert (domain.name, domain.version) == ("RWA ReadingOracle", "1")
    other = ReadingDomain(domain.chain_id, domain.verifying_contract, domain.name, "2")
    assert other.separator != domain.separator


def test_a_revoked_key_adds_nothing_new_even_for_periods_before_its_revocation(chain, oracle_world, store):
    """Issue 11 item 4: readings signed after revocation, dated before it, were accepted off chain."""
    thief_key = DeviceSigner.from_secret(b"\x5a" * 32)
    from rwa_sdk.oracle.contracts import register_device

    register_device(chain, oracle_world.contracts, thief_key, ASSET_A, "pv-inverter", 10_000,
                    operator=oracle_world.operator_a)
    chain.mine(600)
    before = chain.timestamp()
    chain.transact(oracle_world.registry.functions.revokeDevice(thief_key.checksum), sender=oracle_world.operator_a)
    directory = EventDirectory(oracle_world.registry)
    directory.sync()
    t = chain.timestamp()
    ingestor = Ingestor(store, directory, oracle_world.domain, clock=lambda: t)
    backdated = make_reading(thief_key, ASSET_A, 1, before - 10, energy_wh=20, length=60)
    (result,) = ingestor.submit([reading_item(backdated, oracle_world.domain.sign(backdated, thief_key.key))])
    assert (result.status, result.reason) == (Status.REJECTED, Reason.DEVICE_REVOKED)
    assert store.counts()["readings_pending"] == 0


def test_every_store_outcome_maps_to_a_reason_and_unknown_ones_to_a_generic_refusal(store):
    """The store is the authority on seq and period order; ingest names what it says."""
    from enum import Enum

    from rwa_sdk.oracle.ingest import Ingestor
    from rwa_sdk.oracle.ingest import StaticDirectory as Static

    class Outcome(str, Enum):
        SEQ_NOT_INCREASING = "seq_not_increasing"
        PERIOD_OVERLAP = "period_overlap"
        SOMETHING_NEW = "something_new"

    ingestor = Ingestor(store, Static({}), ReadingDomain(1, "0x" + "11" * 20))
    r = make_reading(DeviceSigner.from_secret(b"\x01" * 32), ASSET_A, 1, 1_000)
    got = [ingestor._outcome(o, r) for o in Outcome]
    assert [(x.status, x.reason) for x in got] == [
        (Status.REJECTED, Reason.SEQ_NOT_INCREASING), (Status.REJECTED, Reason.PERIOD_OVERLAP),
        (Status.REJECTED, Reason.REFUSED)]
