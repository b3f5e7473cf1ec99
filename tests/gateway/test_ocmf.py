"""OCMF records: our own P-256 meter records and pyocmf's documented samples, verified off chain and on chain.

Every case goes through pyocmf (off chain) and the OcmfVerifier contract on two chains, one with the
P256VERIFY precompile (Anvil --hardfork osaka) and one without (Solidity fallback): all three agree.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from eth_account import Account

from rwa_sdk.anvil import DEV_PRIVATE_KEYS, AnvilNode
from rwa_sdk.chain import connect
from rwa_sdk.gateway import ocmf
from rwa_sdk.gateway.onchain import (
    deploy_ocmf_verifier,
    meter_key_of,
    precompile_present,
    set_meter_key,
    verify_call,
    verify_for_device_call,
)
from rwa_sdk.oracle.contracts import deploy_oracle, register_device
from rwa_sdk.oracle.reading import DeviceSigner

SAMPLES = json.loads((Path(__file__).parent / "ocmf_samples.json").read_text())
METER = ec.derive_private_key(0x5EED_0FA_C0FFEE, ec.SECP256R1())
OTHER = ec.derive_private_key(0xBADBADBAD, ec.SECP256R1())
METER_PUB = ocmf.spki_hex(METER.public_key())
OTHER_PUB = ocmf.spki_hex(OTHER.public_key())


def _record(readings=((1_700_000_000, 1_234_500, "B"), (1_700_003_600, 1_256_700, "E")), key=METER, **kw) -> str:
    payload = ocmf.transaction_payload(gateway_id="CP-1", meter_serial="M-1", pagination=7, readings=list(readings))
    return ocmf.sign_payload(payload, key, **kw)


def _tamper(record: str) -> str:
    """One more kWh at the end of the transaction."""
    changed = record.replace('"RV":1256.7', '"RV":1257.7')
    assert changed != record
    return changed


# -- off chain ---------------------------------------------------------------------------------------

def test_our_record_verifies_and_yields_the_billable_energy():
    v = ocmf.verify_record(_record(), METER_PUB)
    assert v.onchain and v.algorithm == "ECDSA-secp256r1-SHA256"
    assert [(s.time, s.register_wh, s.transaction) for s in v.samples] == [
        (1_700_000_000, 1_234_500, "B"), (1_700_003_600, 1_256_700, "E")]
    assert v.billable_wh == 22_200


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["id"] for s in SAMPLES])
def test_pyocmf_documented_samples_verify_with_their_published_keys(sample):
    v = ocmf.verify_record(sample["ocmf"], sample["publicKey"])
    assert v.onchain and v.billable_wh == sample["billableWh"]
    with pytest.raises(ocmf.OcmfRefused) as refused:
        ocmf.verify_record(sample["ocmf"], METER_PUB)
    assert refused.value.reason == ocmf.BAD_SIGNATURE


def test_tampered_wrong_key_unknown_algorithm_and_garbage_are_refused_with_a_reason():
    good = _record()
    cases = {
        "tampered": (_tamper(good), METER_PUB, None, ocmf.BAD_SIGNATURE),
        "wrong key": (good, OTHER_PUB, None, ocmf.BAD_SIGNATURE),
        "other key offered": (good, METER_PUB, OTHER_PUB, ocmf.KEY_NOT_REGISTERED),
        "unknown algorithm": (good.replace('{"SD"', '{"SA":"ECDSA-secp999r1-SHA256","SD"'), METER_PUB, None,
                              ocmf.UNSUPPORTED_ALGORITHM),
        "not ocmf": ("OCMF|{not json}|{}", METER_PUB, None, ocmf.MALFORMED),
        "no key": (good, None, None, ocmf.NO_METER_KEY),
        "signature of another payload": (good.split("|")[0] + "|" + _record(key=METER).split("|")[1].replace("M-1", "M-2")
                                         + "|" + good.split("|")[2], METER_PUB, None, ocmf.BAD_SIGNATURE),
    }
    for name, (record, key, offered, reason) in cases.items():
        with pytest.raises(ocmf.OcmfRefused) as refused:
            ocmf.verify_record(record, key, offered)
        assert refused.value.reason == reason, name
        assert refused.value.detail, name


def test_secp384r1_and_brainpool_records_verify_off_chain_only():
    for curve, algorithm in ((ec.SECP384R1(), "ECDSA-secp384r1-SHA256"), (ec.BrainpoolP256R1(), "ECDSA-brainpoolP256r1-SHA256")):
        key = ec.generate_private_key(curve)
        record = _record(key=key, algorithm=algorithm)
        v = ocmf.verify_record(record, ocmf.spki_hex(key.public_key()))
        assert v.algorithm == algorithm and not v.onchain
        with pytest.raises(ocmf.OcmfRefused) as refused:
            ocmf.p256_point(ocmf.spki_hex(key.public_key()))
        assert refused.value.reason == ocmf.UNSUPPORTED_ALGORITHM
        with pytest.raises(ocmf.OcmfRefused):  # a P-256 key registered, a secp384r1 record presented
            ocmf.verify_record(record, METER_PUB)


@given(position=st.integers(0, 10_000), char=st.sampled_from("0123456789,.:ABCabc\""))
def test_property_any_one_character_change_of_the_payload_is_refused(position, char):
    record = _record()
    head, payload, sig = record.split("|")
    i = position % len(payload)
    if payload[i] == char:
        return
    changed = f"{head}|{payload[:i]}{char}{payload[i + 1:]}|{sig}"
    with pytest.raises(ocmf.OcmfRefused):
        ocmf.verify_record(changed, METER_PUB)


# -- on chain ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chains(compiled):
    """(name, chain, verifier, registry, operator) on osaka (precompile) and cancun (Solidity fallback)."""
    out = []
    nodes = []
    for hardfork in ("osaka", "cancun"):
        node = AnvilNode(hardfork=hardfork).start()
        nodes.append(node)
        chain = connect(node.url)
        chain.accounts[:] = [Account.from_key(k) for k in DEV_PRIVATE_KEYS]
        admin, operator = chain.accounts[0], chain.accounts[1]
        contracts = deploy_oracle(chain, admin)
        chain.transact(contracts.registry.functions.setAssetOperator(b"\xc4" * 32, operator.address), sender=admin)
        verifier = deploy_ocmf_verifier(chain, contracts.registry.address, sender=admin)
        out.append((hardfork, chain, verifier, contracts, operator))
    yield out
    for node in nodes:
        node.stop()


def _cases():
    good = _record()
    high_s = good.rsplit('"SD":"', 1)[0] + '"SD":"' + ocmf.flip_s(json.loads(good.split("|")[2])["SD"]) + '"}'
    cases = [("own record", good, METER_PUB), ("own record, high s", high_s, METER_PUB),
             ("tampered", _tamper(good), METER_PUB), ("wrong key", good, OTHER_PUB)]
    for s in SAMPLES:
        cases.append((s["id"], s["ocmf"], s["publicKey"]))
        cases.append((s["id"] + " tampered", s["ocmf"].replace('"GS":"', '"GS":"9'), s["publicKey"]))
    return cases


def _offchain(record, key) -> bool:
    try:
        ocmf.verify_record(record, key)
        return True
    except ocmf.OcmfRefused:
        return False


def test_the_chains_have_and_lack_the_precompile_as_configured(chains):
    assert [precompile_present(chain) for _, chain, *_ in chains] == [True, False]


def test_onchain_verifier_agrees_with_pyocmf_on_every_case(chains):
    cases = _cases()
    expected = [_offchain(record, key) for _, record, key in cases]
    assert expected.count(True) == 4  # own record (both s forms) and the two samples
    for hardfork, chain, verifier, *_ in chains:
        got = [verify_call(verifier, record, key).call() for _, record, key in cases]
        assert got == expected, hardfork


def test_verify_for_device_uses_the_registered_meter_key(chains):
    for hardfork, chain, verifier, contracts, operator in chains:
        device = DeviceSigner.from_secret(b"\x33" * 32 if hardfork == "osaka" else b"\x34" * 32)
        register_device(chain, contracts, device, b"\xc4" * 32, "charger", 22_000, operator=operator)
        with pytest.raises(Exception, match="OcmfMeterKeyNotSet"):
            chain.call(verify_for_device_call(verifier, device.checksum, _record()))
        set_meter_key(chain, contracts.registry, device.checksum, METER_PUB, operator=operator)
        assert meter_key_of(contracts.registry, device.checksum) == ocmf.p256_point(METER_PUB)
        assert chain.call(verify_for_device_call(verifier, device.checksum, _record())) is True
        assert chain.call(verify_for_device_call(verifier, device.checksum, _tamper(_record()))) is False
        assert chain.call(verify_for_device_call(verifier, device.checksum, _record(key=OTHER))) is False


def test_meter_key_attacks_are_refused(chains):
    _, chain, verifier, contracts, operator = chains[0]
    device = DeviceSigner.from_secret(b"\x35" * 32)
    register_device(chain, contracts, device, b"\xc4" * 32, "charger", 22_000, operator=operator)
    qx, qy = ocmf.p256_point(METER_PUB)
    fns = contracts.registry.functions
    with pytest.raises(Exception, match="MeterKeyNotOnCurve"):
        chain.transact(fns.setMeterKey(device.checksum, qx, (int.from_bytes(qy, "big") ^ 1).to_bytes(32, "big")),
                       sender=operator)
    with pytest.raises(Exception, match="DeviceRegistryUnauthorizedOperator"):
        chain.transact(fns.setMeterKey(device.checksum, qx, qy), sender=chain.accounts[4])
    with pytest.raises(Exception, match="DeviceNotRegistered"):
        chain.transact(fns.setMeterKey(DeviceSigner.from_secret(b"\x36" * 32).checksum, qx, qy), sender=operator)
    chain.transact(fns.revokeDevice(device.checksum), sender=operator)
    with pytest.raises(Exception, match="MeterKeyDeviceRevoked"):
        chain.transact(fns.setMeterKey(device.checksum, qx, qy), sender=operator)


def test_gas_of_one_verification_with_and_without_the_precompile(chains):
    record = _record()
    gas = {hardfork: verify_call(verifier, record, METER_PUB).estimate_gas() for hardfork, _, verifier, *_ in chains}
    # a transaction's gas (21,000 base and calldata included): EIP-7951 prices the check at 6,900 gas
    assert gas["osaka"] < 60_000 < 150_000 < gas["cancun"], gas
