"""The twin report: one call from spec + readings to figures, charts, JSON and a printed table.

``build_report`` is what the SDK calls; ``twin_cli`` is the ``rwa twin`` command group that the main
CLI attaches lazily. ``rwa twin report --asset SYMBOL`` takes the spec and the anchored energy of a
deployed asset from the chain instead of files (see :mod:`rwa_sdk.commands.twin`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pandas as pd
from matplotlib.figure import Figure
from rich.console import Console, Group
from rich.table import Table

from ..commands.common import CommandError, Target, handle_errors, network_options
from .calibration import Calibration, CalibrationError, calibrate
from .finance import Valuation, cashflows, valuation
from .forecast import Forecast, forecast_energy, next_month
from .profile import TypicalYear
from .readings import ReadingsError, read_readings_csv
from .sensitivity import tornado
from .site import typical_year
from .spec import SiteSpec, SpecError, load_spec


@dataclass(frozen=True, eq=False)
class TwinReport:
    """Everything the twin concluded about one asset; ``to_dict`` is the JSON written to disk."""

    spec: SiteSpec
    typical: TypicalYear
    calibration: Calibration
    forecast: Forecast
    cashflows: pd.DataFrame
    valuation: Valuation
    sensitivity: pd.DataFrame
    charts: dict[str, Path]
    json_path: Path | None

    def to_dict(self) -> dict[str, Any]:
        return report_dict(self)


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (dt.date, pd.Period, Path)):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


def _records(frame: pd.DataFrame, index_name: str) -> list[dict[str, Any]]:
    out = frame.reset_index().rename(columns={frame.index.name or "index": index_name})
    return [_clean(row) for row in out.to_dict("records")]


def report_dict(report: TwinReport) -> dict[str, Any]:
    """Every figure of the report as plain JSON-able data (energies in Wh, money in the spec currency)."""
    cal = report.calibration
    cal_fields = {f.name: getattr(cal, f.name) for f in dataclasses.fields(cal) if f.name not in ("daily", "monthly")}
    fc = report.forecast
    return _clean(
        {
            "asset": report.spec.name,
            "kind": report.spec.kind,
            "spec": dataclasses.asdict(report.spec),
            "calibration": {**cal_fields, "window": list(cal.window), "monthly": _records(cal.monthly, "month")},
            "forecast": {
                "total_p50_wh": fc.total_p50_wh,
                "total_p90_wh": fc.total_p90_wh,
                "total_sd_rel": fc.total_sd_rel,
                "monthly": _records(fc.monthly.join(report.cashflows), "month"),
            },
            "valuation": dataclasses.asdict(report.valuation),
            "sensitivity": report.sensitivity.to_dict("records"),
            "charts": {k: str(v) for k, v in report.charts.items()},
        }
    )


def chart_history(calibration: Calibration, path: Path) -> Path:
    """Daily measured energy against the spec model and the calibrated model."""
    days = calibration.daily
    dates = pd.to_datetime(days.index)
    calibrated = days["expected_wh"] * calibration.performance_factor
    fig = Figure(figsize=(10, 4))
    ax = fig.subplots()
    up = days["status"] == "up"
    ax.plot(dates[up], days.loc[up, "measured_wh"] / 1000, ".", ms=3, label="measured (up days)")
    flagged = days["status"].isin(["down", "outlier"])
    ax.plot(
        dates[flagged],
        days.loc[flagged, "measured_wh"].clip(upper=calibrated.max() * 1.5) / 1000,
        "x",
        color="red",
        label="down / outlier (clipped)",
    )
    ax.plot(dates, days["expected_wh"] / 1000, "-", color="grey", label="spec model (typical year)")
    ax.plot(dates, calibrated / 1000, "-", color="black", label=f"calibrated x{calibration.performance_factor:.3f}")
    ax.set_ylabel("kWh per day")
    ax.set_title("Measured vs modelled history")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def chart_forecast(forecast: Forecast, calibration: Calibration, path: Path) -> Path:
    """Monthly measured history and the forecast P50 with its P90-P10 band."""
    frame = forecast.monthly
    x = frame.index.to_timestamp()
    fig = Figure(figsize=(10, 4))
    ax = fig.subplots()
    hist = calibration.monthly
    if len(hist):
        scaled = hist["measured_wh"] / hist["n_days"] * pd.Series(hist.index.days_in_month, index=hist.index)
        ax.bar(
            hist.index.to_timestamp(),
            scaled / 1e3,
            width=20,
            color="lightsteelblue",
            label="measured (scaled to month)",
        )
    ax.fill_between(x, frame["energy_p90_wh"] / 1e3, frame["energy_p10_wh"] / 1e3, alpha=0.3, label="P90-P10")
    ax.plot(x, frame["energy_p50_wh"] / 1e3, "o-", label="P50")
    ax.plot(x, frame["energy_p90_wh"] / 1e3, "--", label="P90")
    ax.set_ylabel("kWh per month")
    ax.set_title("Monthly energy forecast")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def chart_tornado(sensitivity: pd.DataFrame, path: Path) -> Path:
    """Tornado of P50 annualised yield for ±10 % moves of each driver."""
    rows = sensitivity.iloc[::-1]
    base = float(rows["base"].iloc[0]) if len(rows) else 0.0
    fig = Figure(figsize=(8, 3.5))
    ax = fig.subplots()
    for i, row in enumerate(rows.itertuples()):
        ax.barh(i, (row.yield_low - base) * 100, left=base * 100, color="indianred")
        ax.barh(i, (row.yield_high - base) * 100, left=base * 100, color="seagreen")
    ax.axvline(base * 100, color="black", lw=1)
    ax.set_yticks(range(len(rows)), list(rows["driver"]))
    ax.set_xlabel("P50 annualised yield, % (red: -10 %, green: +10 %)")
    ax.set_title("Sensitivity of yield")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def build_report(
    spec: SiteSpec,
    readings: pd.DataFrame | pd.Series,
    out_dir: str | Path | None,
    horizon_months: int = 12,
    weather: pd.DataFrame | None = None,
) -> TwinReport:
    """Model, calibrate, forecast, value and stress one asset; write charts and JSON to ``out_dir``.

    With ``out_dir=None`` nothing is written (the SDK use). The forecast starts at the first whole
    month after the last reading.
    """
    typical = typical_year(spec, weather=weather)
    cal = calibrate(spec, typical, readings)
    start = next_month(cal.window[1])
    fc = forecast_energy(typical, cal, start, horizon_months)
    flows = cashflows(fc, spec, typical)
    value = valuation(spec, typical, cal, fc)
    sens = tornado(spec, typical, cal, start, months=12, weather=weather)
    charts: dict[str, Path] = {}
    json_path = None
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        charts = {
            "history": chart_history(cal, out / "history.png"),
            "forecast": chart_forecast(fc, cal, out / "forecast.png"),
            "tornado": chart_tornado(sens, out / "tornado.png"),
        }
        json_path = out / "twin_report.json"
    report = TwinReport(spec, typical, cal, fc, flows, value, sens, charts, json_path)
    if json_path is not None:
        json_path.write_text(json.dumps(report_dict(report), indent=2))
    return report


_FACTOR_LABEL = {
    "pv": "performance factor (measured / spec model)",
    "storage": "throughput vs plan",
    "charger": "utilisation vs spec",
    "swap": "utilisation vs spec",
}


def render_table(report: TwinReport) -> Group:
    """The monthly forecast and the headline figures as two rich tables."""
    cur = report.spec.finance.currency
    table = Table(title=f"{report.spec.name} ({report.spec.kind}) — forecast from {report.forecast.monthly.index[0]}")
    for name in ("month", "P50 kWh", "P90 kWh", f"revenue P50 {cur}", f"distributable P50 {cur}", "per token P50"):
        table.add_column(name, justify="right")
    joined = report.forecast.monthly.join(report.cashflows)
    for month, row in joined.iterrows():
        table.add_row(
            str(month),
            f"{row.energy_p50_wh / 1e3:,.0f}",
            f"{row.energy_p90_wh / 1e3:,.0f}",
            f"{row.revenue_p50:,.2f}",
            f"{row.distributable_p50:,.2f}",
            f"{row.per_token_p50:.6f}",
        )
    cal, val = report.calibration, report.valuation
    headline = Table(title="calibration and value", show_header=False)
    summary = [
        (_FACTOR_LABEL[report.spec.kind], f"{cal.performance_factor:.3f} ± {cal.performance_factor_se:.3f}"),
        (
            "availability achieved (spec)",
            f"{cal.availability:.3f} ± {cal.availability_se:.3f} ({report.spec.availability:.3f})",
        ),
        ("trend / year", f"{cal.trend_per_year:+.4f} ({'estimated' if cal.trend_estimated else 'spec'})"),
        (
            "days complete/missing/outlier/down",
            f"{cal.n_days_complete}/{cal.n_days_missing}/{cal.n_days_outlier}/{cal.n_days_down}",
        ),
        (
            "total P50 / P90 kWh",
            f"{report.forecast.total_p50_wh / 1e3:,.0f} / {report.forecast.total_p90_wh / 1e3:,.0f}",
        ),
        (
            "annualised yield P50 / P90",
            f"{val.annualised_yield_p50:.2%} / {val.annualised_yield_p90:.2%} at {val.token_price} {cur}",
        ),
        ("DCF value per token", f"{val.value_per_token:.4f} {cur} ({val.remaining_life_years:.1f} years left)"),
    ]
    if cal.performance_ratio is not None:
        summary.insert(0, ("performance ratio (vs typical-year POA)", f"{cal.performance_ratio:.3f}"))
    for driver in report.sensitivity.itertuples():
        summary.append(
            (
                f"yield (value) if {driver.driver} -10 % / +10 %",
                f"{driver.yield_low:.2%} / {driver.yield_high:.2%} ({driver.value_low:.4f} / {driver.value_high:.4f})",
            )
        )
    for label, value in summary:
        headline.add_row(label, value)
    return Group(table, headline)


@click.group("twin")
def twin_cli() -> None:
    """Digital twin: calibrate an asset model to its readings and forecast energy, revenue and yield."""


@twin_cli.command("report")
@click.option("--spec", "spec_path", type=click.Path(exists=True, dir_okay=False), help="Site spec TOML.")
@click.option(
    "--readings",
    "readings_path",
    type=click.Path(exists=True, dir_okay=False),
    help="CSV with periodStart, periodEnd (unix s), energyWh[, device].",
)
@click.option("--asset", "symbol", default=None, help="A deployed asset: spec and anchored energy from the chain.")
@click.option(
    "--out",
    "out_dir",
    default="twin-report",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the PNG charts and twin_report.json.",
)
@click.option("--horizon", "horizon_months", default=12, show_default=True, type=click.IntRange(1, 120))
@click.option("--json", "as_json", is_flag=True, help="Print the JSON report instead of the table.")
@network_options
@handle_errors
def report_cmd(
    spec_path: str | None,
    readings_path: str | None,
    symbol: str | None,
    out_dir: str,
    horizon_months: int,
    as_json: bool,
    target: Target,
) -> None:
    """Print the forecast table and write charts + JSON for one asset (--spec and --readings, or --asset)."""
    if symbol is not None and (spec_path or readings_path):
        raise click.UsageError("give --asset, or --spec with --readings, not both")
    if symbol is None and not (spec_path and readings_path):
        raise click.UsageError("give --spec and --readings, or --asset")
    try:
        if symbol is not None:
            from ..commands.twin import asset_inputs

            spec, readings = asset_inputs(target.network, target.dev_accounts, target.deployments, symbol)
        else:
            spec = load_spec(spec_path)
            readings = read_readings_csv(readings_path)
        report = build_report(spec, readings, out_dir, horizon_months)
    except (SpecError, ReadingsError, CalibrationError) as error:
        raise CommandError(str(error)) from error
    if as_json:
        click.echo(json.dumps(report_dict(report), indent=2))
    else:
        Console().print(render_table(report))
        click.echo(f"charts: {', '.join(str(p) for p in report.charts.values())}; json: {report.json_path}")
