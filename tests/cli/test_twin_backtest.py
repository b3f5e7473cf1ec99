"""``rwa twin backtest`` and ``rwa twin report --weather`` on a real measured record, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from rwa_sdk.cli import main

pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated")

DATA = Path(__file__).parents[1] / "data"
SPEC = str(DATA / "pvdaq_system50.toml")
READINGS = str(DATA / "pvdaq_system50_hourly.csv.gz")
WEATHER = str(DATA / "nsrdb_psm3_golden_1999.csv.gz")


def rwa(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_backtest_prints_the_twin_and_every_baseline_and_writes_chart_and_json(tmp_path):
    result = rwa("twin", "backtest", "--spec", SPEC, "--readings", READINGS, "--out", tmp_path)
    assert result.exit_code == 0, result.output
    for method in ("twin", "persistence", "same month last year", "pvwatts", "12-month total"):
        assert method in result.stdout
    assert "P90 held in" in result.stdout and "PVDAQ system 50" in result.stdout
    assert (tmp_path / "backtest.png").stat().st_size > 10_000
    saved = json.loads((tmp_path / "backtest.json").read_text())
    assert saved["summary"]["forecast_months"] == len(saved["forecasts"]) > 200


def test_backtest_json_is_the_summary_and_the_scored_months():
    result = rwa("twin", "backtest", "--spec", SPEC, "--readings", READINGS, "--weather", WEATHER, "--json",
                 "--horizon", "3", "--min-train", "12")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    summary, rows = data["summary"], data["forecasts"]
    assert {r["lead"] for r in rows} == {1, 2, 3} and all(r["train_months"] >= 12 for r in rows)
    # After 12 months a last year exists, unless that month had too many gaps to be scored.
    assert sum(r["same_month_last_year_wh"] is not None for r in rows) >= 0.5 * len(rows)
    for key in ("twin_mape", "persistence_mape", "same_month_last_year_mape", "pvwatts_mape", "p90_coverage"):
        assert 0 <= summary[key] <= 1


def test_report_states_expected_accuracy_from_its_own_backtest(tmp_path):
    result = rwa("twin", "report", "--spec", SPEC, "--readings", READINGS, "--weather", WEATHER,
                 "--out", tmp_path, "--horizon", "12", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    accuracy = report["expected_accuracy"]
    assert accuracy["forecast_months"] > 200 and accuracy["band_scale_now"] >= 1
    assert report["calibration"]["seasonal_estimated"] and len(report["calibration"]["month_correction"]) == 12
    assert (tmp_path / "backtest.png").exists() and (tmp_path / "tornado.png").exists()
    table = rwa("twin", "report", "--spec", SPEC, "--readings", READINGS, "--out", tmp_path)
    assert "expected accuracy (backtest" in table.stdout and "monthly error" in table.stdout


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("hello,world\n1,2\n", "not a format pvlib reads"),
        ("LOCATION,nowhere\n", "weather file bad"),
    ],
)
def test_a_bad_weather_file_is_one_line_not_a_traceback(tmp_path, content, expected):
    bad = tmp_path / "bad.epw"
    bad.write_text(content)
    for command in ("report", "backtest"):
        result = rwa("twin", command, "--spec", SPEC, "--readings", READINGS, "--weather", bad, "--out", tmp_path)
        assert result.exit_code == 1, result.output
        assert expected in result.output and "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_a_weather_file_from_too_far_away_is_refused_naming_it_and_the_distance(tmp_path):
    result = rwa("twin", "backtest", "--spec", SPEC, "--readings", READINGS, "--weather",
                 _shipped("703165TY.csv"))
    assert result.exit_code == 1 and "703165TY.csv is" in result.output and "km from the site" in result.output


def test_readings_too_short_to_backtest_are_one_line(tmp_path):
    short = tmp_path / "short.csv"
    lines = __import__("gzip").decompress(Path(READINGS).read_bytes()).decode().splitlines()
    short.write_text("\n".join(lines[: 1 + 24 * 40]) + "\n")
    result = rwa("twin", "backtest", "--spec", SPEC, "--readings", short)
    assert result.exit_code == 1 and "a backtest needs 3 months" in result.output


def _shipped(name: str) -> str:
    import pvlib

    return str(Path(pvlib.__file__).parent / "data" / name)
