from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from rwa_sdk.twin import (
    MeterFaults,
    build_report,
    delivered_energy,
    meter_readings,
    p50_yield,
    pv_power,
    run_backtest,
    tornado,
    twin_cli,
)


@pytest.fixture(scope="module")
def pv_readings(pv_spec, greensboro):
    weather, location = greensboro
    truth = pv_power(weather.loc[:"2019-08-31"], location, 100.0, replace(pv_spec.pv, losses_pct=18.0))["ac_power_w"]
    rng = np.random.default_rng(5)
    return meter_readings(delivered_energy(truth, rng, outage_day_share=0.02), rng, MeterFaults())


@pytest.fixture(scope="module")
def report(pv_spec, pv_readings, greensboro, tmp_path_factory):
    return build_report(pv_spec, pv_readings, tmp_path_factory.mktemp("twin"), horizon_months=12, weather=greensboro[0])


def test_tornado_moves_yield_in_the_economic_direction(report):
    table = report.sensitivity.set_index("driver")
    assert set(table.index) == {"irradiance", "degradation", "availability", "tariff", "opex"}
    base = table["base"].iloc[0]
    assert table.loc["tariff", "yield_high"] > base > table.loc["tariff", "yield_low"]
    assert table.loc["irradiance", "yield_high"] > base > table.loc["irradiance", "yield_low"]
    assert table.loc["opex", "yield_high"] < base < table.loc["opex", "yield_low"]
    assert table.loc["degradation", "yield_high"] < base < table.loc["degradation", "yield_low"]
    # Revenue is linear in tariff, so +/-10 % of tariff moves gross yield by exactly 10 % of revenue per token.
    revenue_yield = (
        report.cashflows["revenue_p50"].sum() / report.spec.finance.token_supply / report.spec.finance.token_price
    )
    assert table.loc["tariff", "yield_high"] - base == pytest.approx(0.1 * revenue_yield, rel=1e-6)
    assert list(report.sensitivity["swing"]) == sorted(report.sensitivity["swing"], reverse=True)
    # Over the remaining life, faster degradation costs value far more than one year of yield shows.
    degradation = table.loc["degradation"]
    value_drop = (degradation["value_base"] - degradation["value_high"]) / degradation["value_base"]
    yield_drop = (base - degradation["yield_high"]) / base
    assert value_drop > 5 * yield_drop > 0
    assert report.sensitivity["value_base"].iloc[0] == pytest.approx(report.valuation.value_per_token)


def test_tornado_base_equals_p50_yield(pv_spec, report):
    cal, typical = report.calibration, report.typical
    start = report.forecast.monthly.index[0]
    weight = report.backtest.summary["model_weight_now"]
    assert 0 < weight <= 1
    assert report.sensitivity["base"].iloc[0] == pytest.approx(p50_yield(pv_spec, typical, cal, start, 12, weight))
    table = tornado(pv_spec, typical, cal, start, months=6, weather=None)
    assert len(table) == 5


def test_report_writes_charts_and_json_with_every_figure(report):
    for name in ("history", "forecast", "tornado"):
        path = report.charts[name]
        assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads(report.json_path.read_text())
    assert data["asset"] == "test-pv" and len(data["forecast"]["monthly"]) == 12
    first = data["forecast"]["monthly"][0]
    assert first["month"] == "2019-09"
    assert first["energy_p50_wh"] == pytest.approx(report.forecast.monthly["energy_p50_wh"].iloc[0])
    assert {"revenue_p50", "per_token_p50", "energy_p90_wh"} <= set(first)
    assert data["valuation"]["value_per_token"] == pytest.approx(report.valuation.value_per_token)
    assert data["calibration"]["performance_factor"] == pytest.approx(report.calibration.performance_factor)
    assert len(data["sensitivity"]) == 5


def test_cli_report_prints_table_and_json(tmp_path, pv_readings):
    spec = tmp_path / "site.toml"
    spec.write_text("""
name = "cli-pv"
kind = "pv"
capacity = 100.0
commissioned = "2019-01-01"
[location]
latitude = 36.1
longitude = -79.95
tz = "Etc/GMT+5"
[tariff]
flat_per_kwh = 0.12
[finance]
token_supply = 100000
""")
    csv = tmp_path / "readings.csv"
    epoch = pd.Timestamp(0, tz="UTC")
    frame = pd.DataFrame(
        {
            "periodStart": (pv_readings.index - epoch) // pd.Timedelta("1s"),
            "periodEnd": (pv_readings["period_end"] - epoch) // pd.Timedelta("1s"),
            "energyWh": pv_readings["energy_wh"],
            "device": pv_readings["device"],
        }
    )
    frame.to_csv(csv, index=False)
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(
        twin_cli, ["report", "--spec", str(spec), "--readings", str(csv), "--out", str(out), "--horizon", "6"]
    )
    assert result.exit_code == 0, result.output
    assert "2019-09" in result.output and "DCF value per token" in result.output
    assert (out / "tornado.png").exists()
    result = runner.invoke(
        twin_cli, ["report", "--spec", str(spec), "--readings", str(csv), "--out", str(out), "--json"]
    )
    assert result.exit_code == 0
    assert len(json.loads(result.output)["forecast"]["monthly"]) == 12


def test_cli_reports_a_bad_spec_as_a_clean_error(tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text(
        'name = "x"\nkind = "pv"\ncapacity = -1.0\n[location]\nlatitude = 1\nlongitude = 2\n'
        "[tariff]\nflat_per_kwh = 0.1\n"
    )
    csv = tmp_path / "r.csv"
    csv.write_text("periodStart,periodEnd,energyWh\n0,3600,1\n")
    result = CliRunner().invoke(
        twin_cli, ["report", "--spec", str(spec), "--readings", str(csv), "--out", str(tmp_path)]
    )
    assert result.exit_code != 0 and "capacity" in result.output


def test_backtest_on_a_shipped_file_forecasts_within_goal():
    table = run_backtest(("723170TYA.CSV",), trials_per_file=6, seed=1)
    assert len(table) == 36 and set(table["month"].astype(str)) == {f"2019-{m:02d}" for m in range(7, 13)}
    assert table["ape"].mean() < 0.15
    assert 0.6 <= table["covered"].mean() <= 1.0
