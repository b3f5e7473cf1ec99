"""Devices that are contracts (gateways, multisigs, smart wallets) sign through ERC-1271, in ingest and on chain."""

from __future__ import annotations

import pytest

from rwa_sdk import errors
from rwa_sdk.oracle.contracts import DEVICE_TYPES
from rwa_sdk.oracle.ingest import (
    Ingestor,
    Reason,
    RegistryDirectory,
    Status,
    reading_item,
)
from rwa_sdk.oracle.proof import reading_proof
from rwa_sdk.oracle.reading import DeviceSigner, address_bytes
from rwa_sdk.oracle.relayer import Relayer, RelayerConfig
from rwa_sdk.oracle.store import SqliteStore

from .conftest import ASSET_A, CAPACITY_W, make_reading

OWNER = DeviceSigner.from_secret(bytes([9] * 32))
STRANGER = DeviceSigner.from_secret(bytes([8] * 32))


class _Wallet:
    """A device whose address is a SmartWalletMock owned by OWNER."""

    def __init__(self, address: str):
        self.checksum = address
        self.address = address_bytes(address)


@pytest.fixture
def wallet(chain, oracle_world):
    contract, _ = chain.deploy("SmartWalletMock", OWNER.checksum)
    fns = oracle_world.registry.functions
    chain.transact(fns.registerDevice(contract.address, ASSET_A, DEVICE_TYPES["pv-inverter"], CAPACITY_W, bytes(32)),
                   sender=oracle_world.operator_a)
    chain.transact(fns.activateDevice(contract.address), sender=oracle_world.operator_a)
    chain.mine(600)
    return _Wallet(contract.address)


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(tmp_path / "oracle.db")
    yield s
    s.close()


def _ingestor(chain, oracle_world, store, directory=None):
    directory = directory or RegistryDirectory(oracle_world.registry, ttl_s=60)
    return Ingestor(store, directory, oracle_world.domain, clock=lambda: chain.timestamp())


def test_ingest_accepts_a_wallet_devices_reading_and_the_proof_verifies_on_chain(chain, oracle_world, wallet, store):
    t = chain.timestamp()
    short = make_reading(wallet, ASSET_A, 1, t - 300)
    long = make_reading(wallet, ASSET_A, 2, t)
    items = [reading_item(short, oracle_world.domain.sign(short, OWNER.key)),
             reading_item(long, oracle_world.domain.sign(long, OWNER.key) + b"\x01")]  # 66 bytes: a validator id
    results = _ingestor(chain, oracle_world, store).submit(items)
    assert [r.status for r in results] == [Status.ACCEPTED, Status.ACCEPTED]
    Relayer(chain, oracle_world.oracle, store, oracle_world.relayer, RelayerConfig(max_batch_age_s=0)).flush(30)
    for seq in (1, 2):
        p = reading_proof(store, oracle_world.oracle, wallet.address, seq)
        assert chain.call(oracle_world.oracle.functions.verifyReading(p.reading.as_tuple(), p.signature, p.proof, p.batch_index))


def test_ingest_rejects_a_wallet_reading_signed_by_another_key(chain, oracle_world, wallet, store):
    r = make_reading(wallet, ASSET_A, 1, chain.timestamp())
    (result,) = _ingestor(chain, oracle_world, store).submit([reading_item(r, oracle_world.domain.sign(r, STRANGER.key))])
    assert (result.status, result.reason) == (Status.REJECTED, Reason.BAD_SIGNATURE)


def test_bad_signatures_of_a_key_device_never_reach_the_wallet_path_on_the_node(chain, oracle_world, store):
    """ERC-1271 is asked only of devices with code, and code is looked up once per cache period."""
    device = oracle_world.devices_a[0]
    directory = RegistryDirectory(oracle_world.registry, ttl_s=60)
    calls = {"get_code": 0, "call": 0}
    eth = chain.w3.eth
    real_code, real_call = eth.get_code, eth.call

    def count(name, real):
        def wrapped(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)
        return wrapped

    eth.get_code, eth.call = count("get_code", real_code), count("call", real_call)
    try:
        ingestor = _ingestor(chain, oracle_world, store, directory)
        directory.get(device.address)  # registry lookup cached first
        calls["call"] = 0
        t = chain.timestamp()
        forged = [make_reading(device, ASSET_A, seq, t - 300 * (5 - seq)) for seq in range(1, 5)]
        results = ingestor.submit([reading_item(r, oracle_world.domain.sign(r, STRANGER.key)) for r in forged])
    finally:
        del eth.get_code, eth.call
    assert {r.reason for r in results} == {Reason.BAD_SIGNATURE}
    assert calls == {"get_code": 1, "call": 0}


def test_submit_reading_on_chain_accepts_the_wallets_signature_only(chain, oracle_world, wallet):
    chain.transact(oracle_world.oracle.functions.enableDirectReporting(wallet.checksum), sender=oracle_world.operator_a)
    chain.mine(600)
    r = make_reading(wallet, ASSET_A, 1, chain.timestamp())
    submit = oracle_world.oracle.functions.submitReading
    with pytest.raises(errors.ReadingInvalidSignature):
        chain.transact(submit(r.as_tuple(), oracle_world.domain.sign(r, STRANGER.key)), sender=oracle_world.outsider)
    sent = chain.transact(submit(r.as_tuple(), oracle_world.domain.sign(r, OWNER.key)), sender=oracle_world.outsider)
    assert sent.events(oracle_world.oracle, "ReadingSubmitted")[0]["device"] == wallet.checksum
