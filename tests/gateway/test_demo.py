"""`rwa demo --site charging` (also `rwa gateway demo`): the charging-site scenario runs end to end on its own
Anvil (osaka)."""

from __future__ import annotations

from click.testing import CliRunner

from rwa_sdk.cli import main as rwa


def test_charging_demo_runs_a_charger_through_the_gateway_to_the_chain(compiled, monkeypatch):
    monkeypatch.setenv("RWA_DEVICE_PASSWORD", "demo only")
    result = CliRunner().invoke(rwa, ["demo", "--site", "charging"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "P256VERIFY precompile present" in out and "refused  bad_signature" in out
    assert '"readings": 4' in out and '"ocmf_refused": 1' in out and '"billable_wh": 720' in out
    assert '"proof_verified": true' in out and '"meter_signature_onchain": true' in out
