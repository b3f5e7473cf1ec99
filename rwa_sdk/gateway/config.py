"""``gateway.toml``: where readings go, which devices exist and how each is reached (see examples/gateway.toml).

Loading validates everything up front and names the offending entry, so a typo fails at start-up
with one line rather than as a silent device that never reports. ``append_device`` adds one
``[[devices]]`` entry as text, keeping the rest of the file (comments included) as it was.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .keys import DEFAULT_PASSWORD_ENV

PROTOCOLS = ("ocpp", "modbus")
DEVICE_TYPES = ("pv-inverter", "battery", "charger", "swap-station")


class ConfigError(ValueError):
    """The gateway config is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class DeviceConfig:
    name: str
    protocol: str
    asset_id: bytes
    capacity_w: int
    keystore: Path
    device_type: str = "charger"
    address: str | None = None  # the keystore's address, when it declares one
    # OCPP: the charge point's identity (its WebSocket path) and EVSE / connector number
    ocpp_id: str | None = None
    evse: int = 1
    meter_key: str | None = None  # P-256 public key of the certified meter (hex DER SPKI)
    ocpp_password_env: str | None = None  # env variable with the charger's Basic-auth password (Security Profile 1)
    # Modbus TCP (SunSpec)
    host: str | None = None
    port: int = 502
    unit: int = 1
    poll_s: float = 60.0


@dataclass(frozen=True)
class GatewayConfig:
    ingest_url: str
    chain_id: int
    oracle: str
    spool: Path
    devices: tuple[DeviceConfig, ...]
    password_env: str = DEFAULT_PASSWORD_ENV
    synchronous: str = "FULL"
    ocpp_host: str = "127.0.0.1"
    ocpp_port: int = 9000
    source: Path | None = field(default=None, compare=False)

    def device(self, name: str) -> DeviceConfig:
        for d in self.devices:
            if d.name == name:
                return d
        raise ConfigError(f"no device named {name!r}")


def _bytes32(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or not re.fullmatch(r"0x[0-9a-fA-F]{64}", value):
        raise ConfigError(f"{where}: asset must be a 0x-prefixed 32-byte hex id")
    return bytes.fromhex(value[2:])


def _get(table: dict, key: str, kind: type | tuple, where: str, default: Any = ...) -> Any:
    if key not in table:
        if default is ...:
            raise ConfigError(f"{where}: missing {key}")
        return default
    value = table[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"{where}: {key} has the wrong type")
    return value


def load_config(path: str | Path) -> GatewayConfig:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    return parse_config(data, base=path.parent, source=path)


def parse_config(data: dict, base: Path = Path("."), source: Path | None = None) -> GatewayConfig:
    gw = _get(data, "gateway", dict, "config")
    ocpp = _get(data, "ocpp", dict, "config", {})
    oracle = _get(gw, "oracle", str, "[gateway]")
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", oracle):
        raise ConfigError("[gateway]: oracle must be the ReadingOracle's address")
    synchronous = _get(gw, "synchronous", str, "[gateway]", "FULL").upper()
    if synchronous not in ("FULL", "NORMAL", "EXTRA"):
        raise ConfigError("[gateway]: synchronous must be FULL, EXTRA or NORMAL")
    devices = []
    names: set[str] = set()
    endpoints: set[tuple] = set()
    for i, raw in enumerate(_get(data, "devices", list, "config", [])):
        where = f"devices[{i}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: must be a table")
        device = _device(raw, where, base)
        if device.name in names:
            raise ConfigError(f"{where}: duplicate device name {device.name!r}")
        endpoint = (device.ocpp_id, device.evse) if device.protocol == "ocpp" else (device.host, device.port, device.unit)
        if endpoint in endpoints:
            raise ConfigError(f"{where}: another device already uses {endpoint}")
        names.add(device.name)
        endpoints.add(endpoint)
        devices.append(device)
    spool = Path(_get(gw, "spool", str, "[gateway]", ".rwa/gateway.db"))
    return GatewayConfig(
        ingest_url=_get(gw, "ingest_url", str, "[gateway]"),
        chain_id=_get(gw, "chain_id", int, "[gateway]"),
        oracle=oracle,
        spool=spool if spool.is_absolute() else base / spool,
        devices=tuple(devices),
        password_env=_get(gw, "password_env", str, "[gateway]", DEFAULT_PASSWORD_ENV),
        synchronous=synchronous,
        ocpp_host=_get(ocpp, "host", str, "[ocpp]", "127.0.0.1"),
        ocpp_port=_get(ocpp, "port", int, "[ocpp]", 9000),
        source=source,
    )


def _device(raw: dict, where: str, base: Path) -> DeviceConfig:
    name = _get(raw, "name", str, where)
    where = f"device {name!r}"
    protocol = _get(raw, "protocol", str, where)
    if protocol not in PROTOCOLS:
        raise ConfigError(f"{where}: protocol must be one of {', '.join(PROTOCOLS)}")
    device_type = _get(raw, "type", str, where, "charger" if protocol == "ocpp" else "pv-inverter")
    if device_type not in DEVICE_TYPES:
        raise ConfigError(f"{where}: type must be one of {', '.join(DEVICE_TYPES)}")
    capacity = _get(raw, "capacity_w", int, where)
    if capacity <= 0:
        raise ConfigError(f"{where}: capacity_w must be positive")
    keystore = Path(_get(raw, "keystore", str, where))
    common: dict[str, Any] = dict(
        name=name, protocol=protocol, asset_id=_bytes32(raw.get("asset"), where), capacity_w=capacity,
        keystore=keystore if keystore.is_absolute() else base / keystore, device_type=device_type,
        address=_get(raw, "address", str, where, None),
    )
    if protocol == "ocpp":
        ocpp_id = _get(raw, "ocpp_id", str, where)
        if not re.fullmatch(r"[A-Za-z0-9._:\-]{1,48}", ocpp_id):
            raise ConfigError(f"{where}: ocpp_id must be 1-48 characters of A-Z a-z 0-9 . _ : -")
        evse = _get(raw, "evse", int, where, 1)
        if evse < 1:
            raise ConfigError(f"{where}: evse must be 1 or more")
        return DeviceConfig(**common, ocpp_id=ocpp_id, evse=evse, meter_key=_get(raw, "meter_key", str, where, None),
                            ocpp_password_env=_get(raw, "ocpp_password_env", str, where, None))
    poll = _get(raw, "poll_s", (int, float), where, 60.0)
    if poll < 1:
        raise ConfigError(f"{where}: poll_s must be at least 1 (readings have whole-second periods)")
    unit = _get(raw, "unit", int, where, 1)
    if not 0 <= unit <= 247:
        raise ConfigError(f"{where}: unit must be a Modbus unit id (0-247)")
    return DeviceConfig(**common, host=_get(raw, "host", str, where), port=_get(raw, "port", int, where, 502),
                        unit=unit, poll_s=float(poll))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    text = str(value)
    if any(c in text for c in '"\\\n\r\t') or any(ord(c) < 32 for c in text):
        raise ConfigError(f"value {text!r} cannot be written to the config")
    return f'"{text}"'


def append_device(path: str | Path, entry: dict[str, Any]) -> None:
    """Add one ``[[devices]]`` table to the config at ``path`` (created with a header if missing)."""
    path = Path(path)
    lines = ["", "[[devices]]"] + [f"{key} = {_toml_value(value)}" for key, value in entry.items() if value is not None]
    text = path.read_text() if path.exists() else ""
    new = text.rstrip("\n") + "\n" + "\n".join(lines) + "\n"
    parse_config(tomllib.loads(new), base=path.parent) if "[gateway]" in new else tomllib.loads(new)
    path.write_text(new)


def remove_device(path: str | Path, name: str) -> bool:
    """Drop the ``[[devices]]`` table named ``name`` from the config text (other tables untouched)."""
    path = Path(path)
    text = path.read_text()
    blocks = re.split(r"(?m)^(?=\[\[devices\]\]\s*$)", text)
    kept = [b for b in blocks if not (b.startswith("[[devices]]") and _block_name(b) == name)]
    if len(kept) == len(blocks):
        return False
    path.write_text("".join(kept).rstrip("\n") + "\n")
    return True


def _block_name(block: str) -> str | None:
    match = re.search(r'(?m)^name\s*=\s*"([^"]*)"', block)
    return match.group(1) if match else None


def write_new_config(path: str | Path, *, ingest_url: str, chain_id: int, oracle: str, spool: str = "gateway.db",
                     ocpp_host: str = "127.0.0.1", ocpp_port: int = 9000) -> None:
    """A config with the [gateway] and [ocpp] tables and no devices yet (refuses to overwrite)."""
    path = Path(path)
    if path.exists():
        raise ConfigError(f"{path} already exists")
    text = (
        "# rwa gateway config: see docs/devices.md\n[gateway]\n"
        f"ingest_url = {_toml_value(ingest_url)}\nchain_id = {chain_id}\noracle = {_toml_value(oracle)}\n"
        f"spool = {_toml_value(spool)}\npassword_env = {_toml_value(DEFAULT_PASSWORD_ENV)}\n\n"
        f"[ocpp]\nhost = {_toml_value(ocpp_host)}\nport = {ocpp_port}\n"
    )
    parse_config(tomllib.loads(text), base=path.parent)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
