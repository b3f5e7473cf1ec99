"""``rwa twin report --asset``: the twin fed from a deployed asset's spec and anchored energy."""

from __future__ import annotations

import json

import pytest

from .test_settle_revenue import produce

# pvlib 0.16 still calls pandas accessors that pandas 3 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated")


def test_twin_report_for_a_deployed_asset_reads_spec_and_energy_from_the_chain(rwa, sun5, tmp_path):
    produce(sun5, tmp_path / "oracle.db", days=16)
    out = tmp_path / "report"
    result = rwa("twin", "report", "--asset", "SUN5", "--out", out, "--horizon", "3", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["asset"] == "Sunfield Solar 5 MW" and report["spec"]["capacity"] == 5000
    assert report["spec"]["pv"]["tilt_deg"] == 30 and report["spec"]["pv"]["losses_pct"] == 14
    assert report["spec"]["location"]["tz"] == "Europe/Madrid" and report["spec"]["tariff"]["flat_per_kwh"] == 0.085
    assert report["calibration"]["n_days_complete"] >= 14 and report["calibration"]["performance_factor"] > 0
    assert len(report["forecast"]["monthly"]) == 3 and (out / "forecast.png").exists()


def test_twin_report_for_an_asset_without_enough_readings_is_a_clean_error(rwa, sun5, tmp_path):
    produce(sun5, tmp_path / "oracle.db", days=2)
    result = rwa("twin", "report", "--asset", "SUN5", "--out", tmp_path / "report")
    assert result.exit_code == 1 and "need at least 14" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("args", [("--asset", "SUN5", "--spec", "x.toml"), ()])
def test_twin_report_needs_files_or_an_asset(rwa, sun5, args):
    result = rwa("twin", "report", *args)
    assert result.exit_code == 2
