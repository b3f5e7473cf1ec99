"""``rwa device add|list|revoke``: the issuer's devices, in the registry on chain and in the gateway config.

``add`` creates the device's key (an eth-account keystore next to the config, password from the
config's ``password_env``), registers and activates it for the asset in the DeviceRegistry (the
asset operator signs), records the certified meter's P-256 key if given, and appends the
``[[devices]]`` entry the gateway needs. ``revoke`` revokes the key on chain (forever) and removes
the entry, so the gateway stops signing for it.
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from .common import CommandError, Target, emit, emit_rows, handle_errors, json_option, network_options, open_chain

TYPES = ("pv-inverter", "battery", "charger", "swap-station")
STATUS = ("none", "registered", "active", "revoked")


@click.group("device")
def device_cli() -> None:
    """Devices of an asset: registry entries, keys, gateway config."""


def _config(path: str):
    from ..gateway.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as error:
        raise CommandError(str(error)) from None


def _registry(chain, config):
    if not chain.w3.eth.get_code(config.oracle):
        raise CommandError(f"no ReadingOracle at {config.oracle} on chain {chain.chain_id}")
    oracle = chain.contract("ReadingOracle", config.oracle)
    return chain.contract("DeviceRegistry", oracle.functions.registry().call())


def _operator(chain):
    from ..asset import AssetRoles

    if not chain.accounts:
        raise CommandError("no signing key: set RWA_PRIVATE_KEY or RWA_KEYSTORE (the asset operator's key)")
    return AssetRoles.from_chain(chain).operator


@device_cli.command("add")
@click.argument("name")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, exists=True),
              envvar="RWA_GATEWAY_CONFIG", help="Gateway config (created by `rwa gateway init`).")
@click.option("--asset", "asset_id", required=True, help="Asset id (0x + 64 hex digits).")
@click.option("--type", "device_type", type=click.Choice(TYPES), default="charger", show_default=True)
@click.option("--capacity-w", required=True, type=click.IntRange(min=1), help="Nameplate power in watts.")
@click.option("--ocpp-id", default=None, help="Charge point identity (its WebSocket path).")
@click.option("--evse", default=1, show_default=True, type=click.IntRange(min=1), help="EVSE (2.0.1) / connector (1.6).")
@click.option("--meter-key", default=None, help="P-256 public key of the certified meter (hex DER), for OCMF.")
@click.option("--modbus-host", default=None, help="SunSpec device's Modbus TCP host.")
@click.option("--modbus-port", default=502, show_default=True, type=int)
@click.option("--unit", default=1, show_default=True, type=click.IntRange(0, 247), help="Modbus unit id.")
@click.option("--poll-s", default=60, show_default=True, type=click.IntRange(min=1), help="Modbus poll cadence.")
@click.option("--fast-kdf", is_flag=True, help="Cheap keystore encryption (tests and demos only).")
@network_options
@json_option
@handle_errors
def add_cmd(name: str, config_path: str, asset_id: str, device_type: str, capacity_w: int, ocpp_id: str | None,
            evse: int, meter_key: str | None, modbus_host: str | None, modbus_port: int, unit: int, poll_s: int,
            fast_kdf: bool, target: Target, as_json: bool) -> None:
    """Create a key for device NAME, register + activate it on chain, add it to the gateway config."""
    from ..gateway.config import ConfigError, append_device
    from ..gateway.keys import KeystoreError, create_keystore, password_from_env
    from ..gateway.ocmf import OcmfRefused, p256_point
    from ..oracle.contracts import DEVICE_TYPES

    if (ocpp_id is None) == (modbus_host is None):
        raise CommandError("give either --ocpp-id (a charger) or --modbus-host (a SunSpec device)")
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", name):
        raise CommandError("NAME must be 1-64 characters of A-Z a-z 0-9 . _ -")
    if not re.fullmatch(r"0x[0-9a-fA-F]{64}", asset_id):
        raise CommandError("--asset must be 0x followed by 64 hex digits")
    config = _config(config_path)
    if any(d.name == name for d in config.devices):
        raise CommandError(f"a device named {name!r} is already in {config_path}")
    point = None
    if meter_key:
        try:
            point = p256_point(meter_key)
        except OcmfRefused as error:
            raise CommandError(f"--meter-key: {error.detail}") from None
    try:
        password = password_from_env(config.password_env)
    except KeystoreError as error:
        raise CommandError(str(error)) from None
    keystore = Path(config_path).parent / "devices" / f"{name}.json"
    with open_chain(target) as chain:
        registry = _registry(chain, config)
        operator = _operator(chain)
        asset = bytes.fromhex(asset_id[2:])
        if registry.functions.operatorOf(asset).call() != operator.address:
            raise CommandError(f"{operator.address} is not the operator of asset {asset_id} in the registry")
        try:
            signer = create_keystore(keystore, password, kdf="pbkdf2" if fast_kdf else "scrypt",
                                     iterations=1_000 if fast_kdf else None)
        except KeystoreError as error:
            raise CommandError(str(error)) from None
        fns = registry.functions
        chain.transact(fns.registerDevice(signer.checksum, asset, DEVICE_TYPES[device_type], capacity_w, bytes(32)),
                       sender=operator)
        chain.transact(fns.activateDevice(signer.checksum), sender=operator)
        if point is not None:
            chain.transact(fns.setMeterKey(signer.checksum, *point), sender=operator)
    entry = {"name": name, "protocol": "ocpp" if ocpp_id else "modbus", "type": device_type, "asset": asset_id,
             "capacity_w": capacity_w, "keystore": f"devices/{name}.json", "address": signer.checksum}
    if ocpp_id:
        entry.update(ocpp_id=ocpp_id, evse=evse, meter_key=meter_key)
    else:
        entry.update(host=modbus_host, port=modbus_port, unit=unit, poll_s=poll_s)
    try:
        append_device(config_path, entry)
    except ConfigError as error:
        raise CommandError(f"registered {signer.checksum} but could not write the config: {error}") from None
    emit({"name": name, "device": signer.checksum, "keystore": str(keystore), "meterKey": bool(point)}, as_json, "device")


@device_cli.command("list")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, exists=True),
              envvar="RWA_GATEWAY_CONFIG")
@network_options
@json_option
@handle_errors
def list_cmd(config_path: str, target: Target, as_json: bool) -> None:
    """The config's devices with their registry state (status, capacity, meter key)."""
    config = _config(config_path)
    rows = []
    with open_chain(target) as chain:
        registry = _registry(chain, config)
        for d in config.devices:
            address = _address_of(d)
            info = registry.functions.getDevice(address).call() if address else None
            meter = registry.functions.meterKeyOf(address).call() if address else (bytes(32), bytes(32))
            rows.append({
                "name": d.name, "device": address or "?", "protocol": d.protocol,
                "endpoint": f"{d.ocpp_id}#{d.evse}" if d.protocol == "ocpp" else f"{d.host}:{d.port}/{d.unit}",
                "status": STATUS[info[6]] if info else "?", "capacityW": info[2] if info else d.capacity_w,
                "meterKey": "yes" if tuple(meter) != (bytes(32), bytes(32)) else "no",
            })
    emit_rows(rows, as_json, "devices", ("name", "device", "protocol", "endpoint", "status", "capacityW", "meterKey"))


def _address_of(device) -> str | None:
    """The device's address: the config's, else its keystore's (checksummed), else None."""
    from ..gateway.keys import keystore_address
    from ..oracle.reading import address_bytes, to_checksum

    if device.address:
        return device.address
    value = keystore_address(device.keystore)
    return to_checksum(address_bytes(value)) if value else None


@device_cli.command("revoke")
@click.argument("name")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, exists=True),
              envvar="RWA_GATEWAY_CONFIG")
@network_options
@json_option
@handle_errors
def revoke_cmd(name: str, config_path: str, target: Target, as_json: bool) -> None:
    """Revoke device NAME's key in the registry (forever) and drop it from the gateway config."""
    from ..gateway.config import ConfigError, remove_device

    config = _config(config_path)
    try:
        device = config.device(name)
    except ConfigError as error:
        raise CommandError(str(error)) from None
    address = _address_of(device)
    if not address:
        raise CommandError(f"device {name!r}: no address in the config and none in its keystore")
    with open_chain(target) as chain:
        registry = _registry(chain, config)
        sent = chain.transact(registry.functions.revokeDevice(address), sender=_operator(chain))
    remove_device(config_path, name)
    emit({"name": name, "device": address, "revoked": True, "tx": sent.tx_hash}, as_json, "device")
