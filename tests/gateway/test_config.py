"""gateway.toml: the shipped example loads; mistakes fail at start-up with the entry named; appending keeps the file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from rwa_sdk.gateway.config import ConfigError, append_device, load_config, parse_config, remove_device, write_new_config

ROOT = Path(__file__).resolve().parents[2]
ASSET = "0x" + "c4" * 32


def test_the_example_config_loads():
    config = load_config(ROOT / "examples" / "gateway.toml")
    assert [(d.name, d.protocol) for d in config.devices] == [("depot-cp1-evse1", "ocpp"), ("roof-inverter-1", "modbus")]
    assert config.devices[0].meter_key and config.spool == ROOT / "examples" / "gateway.db"


def _base(**devices):
    return {"gateway": {"ingest_url": "http://127.0.0.1:8787", "chain_id": 1, "oracle": "0x" + "11" * 20},
            "devices": [dict(name="d", protocol="ocpp", ocpp_id="CP", asset=ASSET, capacity_w=1, keystore="k.json")
                        | devices]}


@pytest.mark.parametrize("change,words", [
    ({"protocol": "zigbee"}, "protocol"),
    ({"asset": "0x12"}, "asset"),
    ({"capacity_w": 0}, "capacity_w"),
    ({"capacity_w": True}, "wrong type"),
    ({"ocpp_id": "../../etc"}, "ocpp_id"),
    ({"evse": 0}, "evse"),
    ({"protocol": "modbus", "host": "h", "poll_s": 0.5}, "poll_s"),
    ({"protocol": "modbus", "host": "h", "unit": 300}, "unit"),
    ({"type": "toaster"}, "type"),
])
def test_mistakes_are_refused_naming_the_device(change, words):
    with pytest.raises(ConfigError, match=words):
        parse_config(_base(**change))


def test_two_devices_on_one_endpoint_are_refused():
    data = _base()
    data["devices"].append(dict(data["devices"][0], name="e"))
    with pytest.raises(ConfigError, match="already uses"):
        parse_config(data)


def test_init_append_and_remove_keep_the_rest_of_the_file(tmp_path):
    path = tmp_path / "gw.toml"
    write_new_config(path, ingest_url="http://127.0.0.1:8787", chain_id=31337, oracle="0x" + "22" * 20)
    with pytest.raises(ConfigError, match="exists"):
        write_new_config(path, ingest_url="x", chain_id=1, oracle="0x" + "22" * 20)
    path.write_text(path.read_text() + "# kept comment\n")
    for name in ("a", "b"):
        append_device(path, {"name": name, "protocol": "ocpp", "ocpp_id": f"CP-{name}", "asset": ASSET,
                             "capacity_w": 7400, "keystore": f"devices/{name}.json"})
    with pytest.raises(ConfigError):  # a quote would break out of the TOML string
        append_device(path, {"name": 'x"\nmalicious = 1', "protocol": "ocpp"})
    assert [d.name for d in load_config(path).devices] == ["a", "b"]
    assert remove_device(path, "a") and not remove_device(path, "zzz")
    assert [d.name for d in load_config(path).devices] == ["b"] and "# kept comment" in path.read_text()
    tomllib.loads(path.read_text())
