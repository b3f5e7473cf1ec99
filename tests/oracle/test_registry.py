"""DeviceRegistry: who may manage devices, lifecycle rules, and validity over time."""

from __future__ import annotations

import pytest

from rwa_sdk import errors
from rwa_sdk.oracle.reading import DeviceSigner

from .conftest import ASSET_A, ASSET_B

NEW = DeviceSigner.from_secret(bytes([9] * 32))
META = bytes.fromhex("11" * 32)


def _register(chain, world, device=NEW, asset=ASSET_A, sender=None, capacity=5_000):
    fn = world.registry.functions.registerDevice(device.checksum, asset, 2, capacity, META)
    return chain.transact(fn, sender=sender or world.operator_a)


def test_constructor_rejects_zero_admin(chain):
    with pytest.raises(errors.DeviceRegistryZeroAddress):
        chain.deploy("DeviceRegistry", "0x" + "00" * 20)


def test_set_asset_operator_by_outsider_reverts(chain, oracle_world):
    with pytest.raises(errors.AccessControlUnauthorizedAccount):
        chain.transact(oracle_world.registry.functions.setAssetOperator(ASSET_A, oracle_world.outsider.address), sender=oracle_world.outsider)


def test_set_asset_operator_for_zero_asset_reverts(chain, oracle_world):
    with pytest.raises(errors.DeviceRegistryZeroAsset):
        chain.transact(oracle_world.registry.functions.setAssetOperator(bytes(32), oracle_world.outsider.address))


def test_set_asset_operator_emits_and_records(chain, oracle_world):
    sent = chain.transact(oracle_world.registry.functions.setAssetOperator(ASSET_A, oracle_world.outsider.address))
    assert sent.events(oracle_world.registry, "AssetOperatorSet")[0]["operator"] == oracle_world.outsider.address
    assert oracle_world.registry.functions.operatorOf(ASSET_A).call() == oracle_world.outsider.address


def test_register_by_other_assets_operator_reverts(chain, oracle_world):
    with pytest.raises(errors.DeviceRegistryUnauthorizedOperator) as e:
        _register(chain, oracle_world, sender=oracle_world.operator_b)
    assert e.value.assetId == ASSET_A


def test_register_for_zero_asset_reverts(chain, oracle_world):
    with pytest.raises(errors.DeviceRegistryUnauthorizedOperator):
        _register(chain, oracle_world, asset=bytes(32))


def test_register_zero_address_reverts(chain, oracle_world):
    fn = oracle_world.registry.functions.registerDevice("0x" + "00" * 20, ASSET_A, 0, 1, META)
    with pytest.raises(errors.DeviceRegistryZeroAddress):
        chain.transact(fn, sender=oracle_world.operator_a)


def test_register_zero_capacity_reverts(chain, oracle_world):
    with pytest.raises(errors.DeviceZeroCapacity):
        _register(chain, oracle_world, capacity=0)


def test_register_known_key_reverts_even_for_other_asset(chain, oracle_world):
    with pytest.raises(errors.DeviceAlreadyRegistered):
        _register(chain, oracle_world, device=oracle_world.devices_b[0], asset=ASSET_A)


def test_register_records_device_inactive(chain, oracle_world):
    sent = _register(chain, oracle_world)
    event = sent.events(oracle_world.registry, "DeviceRegistered")[0]
    assert (event["device"], event["assetId"], event["capacityW"]) == (NEW.checksum, ASSET_A, 5_000)
    device = oracle_world.registry.functions.getDevice(NEW.checksum).call()
    assert device[0] == ASSET_A and device[1] == META and device[3] == 0 and device[6] == 1  # Registered
    t = chain.timestamp()
    assert oracle_world.registry.functions.isValidFor(NEW.checksum, ASSET_A, t, t + 1).call()[0] is False


def test_activate_by_outsider_reverts(chain, oracle_world):
    _register(chain, oracle_world)
    with pytest.raises(errors.DeviceRegistryUnauthorizedOperator):
        chain.transact(oracle_world.registry.functions.activateDevice(NEW.checksum), sender=oracle_world.outsider)


def test_activate_unknown_device_reverts(chain, oracle_world):
    with pytest.raises(errors.DeviceNotRegistered):
        chain.transact(oracle_world.registry.functions.activateDevice(NEW.checksum), sender=oracle_world.operator_a)


def test_activate_twice_reverts(chain, oracle_world):
    with pytest.raises(errors.DeviceInvalidStatus):
        chain.transact(oracle_world.registry.functions.activateDevice(oracle_world.devices_a[0].checksum), sender=oracle_world.operator_a)


def test_activation_makes_device_valid_from_that_time(chain, oracle_world):
    _register(chain, oracle_world)
    sent = chain.transact(oracle_world.registry.functions.activateDevice(NEW.checksum), sender=oracle_world.operator_a)
    at = sent.events(oracle_world.registry, "DeviceActivated")[0]["activatedAt"]
    valid = oracle_world.registry.functions.isValidFor
    assert valid(NEW.checksum, ASSET_A, at, at + 300).call() == [True, 5_000]
    assert valid(NEW.checksum, ASSET_A, at - 1, at + 300).call()[0] is False
    assert valid(NEW.checksum, ASSET_B, at, at + 300).call()[0] is False


def test_revoke_by_outsider_reverts(chain, oracle_world):
    with pytest.raises(errors.DeviceRegistryUnauthorizedOperator):
        chain.transact(oracle_world.registry.functions.revokeDevice(oracle_world.devices_a[0].checksum), sender=oracle_world.operator_b)


def test_revoke_unknown_device_reverts(chain, oracle_world):
    with pytest.raises(errors.DeviceNotRegistered):
        chain.transact(oracle_world.registry.functions.revokeDevice(NEW.checksum), sender=oracle_world.operator_a)


def test_revoke_twice_reverts(chain, oracle_world):
    dev = oracle_world.devices_a[0].checksum
    chain.transact(oracle_world.registry.functions.revokeDevice(dev), sender=oracle_world.operator_a)
    with pytest.raises(errors.DeviceInvalidStatus):
        chain.transact(oracle_world.registry.functions.revokeDevice(dev), sender=oracle_world.operator_a)


def test_revoked_device_earlier_periods_stay_valid_later_ones_do_not(chain, oracle_world):
    dev = oracle_world.devices_a[0].checksum
    sent = chain.transact(oracle_world.registry.functions.revokeDevice(dev), sender=oracle_world.operator_a)
    at = sent.events(oracle_world.registry, "DeviceRevoked")[0]["revokedAt"]
    valid = oracle_world.registry.functions.isValidFor
    assert valid(dev, ASSET_A, at - 300, at).call()[0] is True
    assert valid(dev, ASSET_A, at - 300, at + 1).call()[0] is False


def test_revoked_device_cannot_be_reactivated(chain, oracle_world):
    _register(chain, oracle_world)
    chain.transact(oracle_world.registry.functions.revokeDevice(NEW.checksum), sender=oracle_world.operator_a)
    with pytest.raises(errors.DeviceInvalidStatus):
        chain.transact(oracle_world.registry.functions.activateDevice(NEW.checksum), sender=oracle_world.operator_a)


def test_update_metadata_by_outsider_reverts(chain, oracle_world):
    fn = oracle_world.registry.functions.updateDeviceMetadata(oracle_world.devices_a[0].checksum, 1, META)
    with pytest.raises(errors.DeviceRegistryUnauthorizedOperator):
        chain.transact(fn, sender=oracle_world.outsider)


def test_update_metadata_unknown_device_reverts(chain, oracle_world):
    with pytest.raises(errors.DeviceNotRegistered):
        chain.transact(oracle_world.registry.functions.updateDeviceMetadata(NEW.checksum, 1, META), sender=oracle_world.operator_a)


def test_update_metadata_zero_capacity_reverts(chain, oracle_world):
    fn = oracle_world.registry.functions.updateDeviceMetadata(oracle_world.devices_a[0].checksum, 0, META)
    with pytest.raises(errors.DeviceZeroCapacity):
        chain.transact(fn, sender=oracle_world.operator_a)


def test_update_metadata_of_revoked_device_reverts(chain, oracle_world):
    dev = oracle_world.devices_a[0].checksum
    chain.transact(oracle_world.registry.functions.revokeDevice(dev), sender=oracle_world.operator_a)
    with pytest.raises(errors.DeviceInvalidStatus):
        chain.transact(oracle_world.registry.functions.updateDeviceMetadata(dev, 1, META), sender=oracle_world.operator_a)


def test_update_metadata_changes_capacity(chain, oracle_world):
    dev = oracle_world.devices_a[0].checksum
    sent = chain.transact(oracle_world.registry.functions.updateDeviceMetadata(dev, 7_000, META), sender=oracle_world.operator_a)
    assert sent.events(oracle_world.registry, "DeviceMetadataUpdated")[0]["capacityW"] == 7_000
    got = oracle_world.registry.functions.getDevice(dev).call()
    assert (got[1], got[2]) == (META, 7_000)


def test_rotate_by_outsider_reverts(chain, oracle_world):
    fn = oracle_world.registry.functions.rotateKey(oracle_world.devices_a[0].checksum, NEW.checksum)
    with pytest.raises(errors.DeviceRegistryUnauthorizedOperator):
        chain.transact(fn, sender=oracle_world.outsider)


def test_rotate_inactive_key_reverts(chain, oracle_world):
    _register(chain, oracle_world)
    other = DeviceSigner.from_secret(bytes([8] * 32))
    with pytest.raises(errors.DeviceInvalidStatus):
        chain.transact(oracle_world.registry.functions.rotateKey(NEW.checksum, other.checksum), sender=oracle_world.operator_a)


def test_rotate_to_known_key_reverts(chain, oracle_world):
    fn = oracle_world.registry.functions.rotateKey(oracle_world.devices_a[0].checksum, oracle_world.devices_a[1].checksum)
    with pytest.raises(errors.DeviceAlreadyRegistered):
        chain.transact(fn, sender=oracle_world.operator_a)


def test_rotate_moves_device_to_new_key_at_one_instant(chain, oracle_world):
    old = oracle_world.devices_a[0].checksum
    sent = chain.transact(oracle_world.registry.functions.rotateKey(old, NEW.checksum), sender=oracle_world.operator_a)
    event = sent.events(oracle_world.registry, "DeviceKeyRotated")[0]
    at = event["at"]
    assert (event["oldKey"], event["newKey"], event["assetId"]) == (old, NEW.checksum, ASSET_A)
    valid = oracle_world.registry.functions.isValidFor
    assert valid(old, ASSET_A, at - 300, at).call()[0] is True
    assert valid(old, ASSET_A, at, at + 300).call()[0] is False
    assert valid(NEW.checksum, ASSET_A, at, at + 300).call() == [True, 10_000]
    assert valid(NEW.checksum, ASSET_A, at - 300, at).call()[0] is False
