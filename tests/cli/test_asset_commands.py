"""``rwa asset create|show|list`` and spec errors."""

from __future__ import annotations

import json

from .conftest import SPEC, investor


def test_create_prints_every_address_and_records_the_asset(rwa, chain, fresh_records):
    result = rwa("asset", "create", SPEC, "--json", deployments=fresh_records)
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    assert created["symbol"] == "SUN5" and created["chain_id"] == chain.chain_id
    for name in ("token", "vault", "distributor", "dvp", "reading_oracle", "LockUpModule"):
        assert chain.w3.eth.get_code(created[name]), name
    listed = rwa("asset", "list", "--json", deployments=fresh_records)
    assert listed.exit_code == 0
    assert json.loads(listed.stdout) == [{"symbol": "SUN5", "name": "Sunfield Solar 5 MW", "kind": "pv",
                                          "token": created["token"], "stale": ""}]


def test_list_prints_a_table_of_assets(rwa, sun5):
    result = rwa("asset", "list")
    assert result.exit_code == 0
    assert "SUN5" in result.stdout and "Sunfield Solar 5 MW" in result.stdout and sun5.addresses.token in result.stdout


def test_show_reports_spec_addresses_supply_and_holders(rwa, sun5):
    for who in (investor(sun5), investor(sun5, "PT", 3)):
        sun5.token.mint(who.address, 1_500, sender=sun5.roles.agent)
    result = rwa("asset", "show", "--asset", "SUN5", "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert (shown["total_supply"], shown["holders"]) == (3_000, 2)
    assert (shown["name"], shown["capacity_kw"], shown["risk_level"]) == ("Sunfield Solar 5 MW", 5000, 3)
    assert shown["token"] == sun5.addresses.token and shown["supply_cap"] == 5_000_000
    table = rwa("asset", "show", "--asset", "SUN5")
    assert "Sunfield Solar 5 MW" in table.stdout and "holders" in table.stdout


def test_unknown_asset_is_a_red_error_with_exit_code_1(rwa, sun5):
    result = rwa("asset", "show", "--asset", "NOPE")
    assert result.exit_code == 1
    assert "no asset 'NOPE'" in result.stderr and "known: SUN5" in result.stderr
    assert "Traceback" not in result.output


def test_a_bad_spec_names_the_field_and_deploys_nothing(rwa, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SPEC.read_text().replace('"PT", "FR"', '"PT", "XX"'))
    result = rwa("asset", "create", bad, deployments=tmp_path)
    assert result.exit_code == 1
    assert "compliance.allowed_countries[2]" in result.stderr and "'XX'" in result.stderr
    assert not list(tmp_path.glob("*.assets.json"))


def test_a_spec_missing_a_section_or_not_toml_is_reported(rwa, tmp_path):
    missing = tmp_path / "missing.toml"
    missing.write_text(SPEC.read_text().replace("[revenue]", "[earnings]"))
    result = rwa("asset", "create", missing, deployments=tmp_path)
    assert result.exit_code == 1 and "unknown section [earnings] (line 28); did you mean [revenue]?" in result.stderr
    missing.write_text(SPEC.read_text().replace("[revenue]", "").replace("tariff_usd_per_kwh = 0.085", "")
                       .replace("opex_usd_per_year = 60_000", ""))
    result = rwa("asset", "create", missing, deployments=tmp_path)
    assert result.exit_code == 1 and "revenue: missing section" in result.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text("[asset\nname = 1")
    result = rwa("asset", "create", broken, deployments=tmp_path)
    assert result.exit_code == 1 and "not valid TOML" in result.stderr and "Traceback" not in result.output


def test_create_on_a_throw_away_anvil_warns_and_leaves_the_project_records_alone(compiled):
    from click.testing import CliRunner

    from rwa_sdk.cli import main

    from ..conftest import ROOT

    record = ROOT / "deployments" / "31337.assets.json"
    before = record.read_bytes() if record.exists() else None
    result = CliRunner().invoke(main, ["asset", "create", str(SPEC), "--json"],
                                env={"RWA_PRIVATE_KEY": None, "RWA_KEYSTORE": None, "RWA_NETWORK": None})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["symbol"] == "SUN5" and "vanish" in result.stderr
    assert (record.read_bytes() if record.exists() else None) == before


def test_a_dead_rpc_url_is_reported_without_its_secrets(monkeypatch):
    from click.testing import CliRunner

    from rwa_sdk import cli

    monkeypatch.setenv("RWA_PRIVATE_KEY", "0x" + "11" * 32)
    result = CliRunner().invoke(cli.main, ["asset", "list", "--network", "http://127.0.0.1:9/v3/SECRETKEY?k=SECRET2"])
    assert result.exit_code == 1
    assert "SECRET" not in result.output and "11" * 32 not in result.output
    assert "127.0.0.1:9" in result.output
