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
from matplotlib.ticker import FuncFormatter
from rich.console import Console, Group
from rich.table import Table

from ..commands.common import CommandError, Target, handle_errors, network_options
from .calibration import Calibration, CalibrationError, calibrate
from .rolling import BacktestError, RollingBacktest, chart_backtest, rolling_backtest
from .weather import WeatherFileError
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
    backtest: RollingBacktest | None = None

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
            "expected_accuracy": expected_accuracy(report.backtest),
            "charts": {k: str(v) for k, v in report.charts.items()},
        }
    )


def expected_accuracy(backtest: RollingBacktest | None) -> dict[str, Any] | None:
    """What the rolling backtest on the asset's own readings says about this kind of forecast."""
    if backtest is None:
        return None
    keys = ("forecast_months", "origins", "twin_mape", "persistence_mape", "same_month_last_year_mape", "pvwatts_mape",
            "skill_vs_persistence", "skill_vs_same_month_last_year", "p90_coverage", "twelve_month_total_error",
            "band_scale_now", "model_mape", "model_weight_now")
    return {k: backtest.summary.get(k) for k in keys}


def _thousands(ax: Any) -> None:
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def chart_history(calibration: Calibration, path: Path, name: str = "") -> Path:
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
    _thousands(ax)
    ax.set_title(f"{name}: measured vs modelled history" if name else "Measured vs modelled history")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def chart_forecast(forecast: Forecast, calibration: Calibration, path: Path, name: str = "") -> Path:
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
    _thousands(ax)
    ax.set_title(f"{name}: monthly energy forecast" if name else "Monthly energy forecast")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def chart_tornado(sensitivity: pd.DataFrame, path: Path, name: str = "") -> Path:
    """Tornado of P50 annualised yield for -10 % and +10 % moves of each driver.

    Colour says the effect on yield (green raises it, red lowers it: a cost increase is red), the
    hatch says which move (-10 % hatched); a move with no effect is drawn as a tick, never hidden.
    """
    rows = sensitivity.iloc[::-1]
    base = float(rows["base"].iloc[0]) if len(rows) else 0.0
    span = max([abs(v - base) for v in (*rows["yield_low"], *rows["yield_high"])] or [0.0]) or 1e-4
    fig = Figure(figsize=(8, 3.5))
    ax = fig.subplots()
    for i, row in enumerate(rows.itertuples()):
        for value, hatch, label in ((row.yield_low, "//", "-10 %"), (row.yield_high, "", "+10 %")):
            delta = value - base
            if abs(delta) < span * 1e-3:
                ax.plot([base * 100], [i], marker="|", color="black", ms=14)
                ax.annotate(f"{label}: no effect", (base * 100, i), xytext=(6, 6), textcoords="offset points",
                            fontsize=7)
                continue
            colour = "seagreen" if delta > 0 else "indianred"
            ax.barh(i, delta * 100, left=base * 100, color=colour, hatch=hatch, edgecolor="black", linewidth=0.5)
    ax.axvline(base * 100, color="black", lw=1)
    ax.set_yticks(range(len(rows)), list(rows["driver"]))
    ax.set_xlabel("P50 annualised yield, % (green raises, red lowers; hatched: driver -10 %, plain: +10 %)")
    ax.set_title(f"{name}: sensitivity of yield" if name else "Sensitivity of yield")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


def build_report(
    spec: SiteSpec,
    readings: pd.DataFrame | pd.Series,
    out_dir: str | Path | None,
    horizon_months: int = 12,
    weather: pd.DataFrame | None = None,
    weather_file: str | Path | None = None,
    backtest: bool = True,
) -> TwinReport:
    """Model, calibrate, forecast, value and stress one asset; write charts and JSON to ``out_dir``.

    With ``out_dir=None`` nothing is written (the SDK use). The forecast starts at the first whole
    month after the last reading. ``weather_file`` replaces the spec's weather file. With
    ``backtest``, a rolling-origin backtest on the same readings states the expected accuracy and
    widens the band by what the asset's own past forecasts needed (when it has enough months).
    """
    if weather_file is not None:
        spec = dataclasses.replace(spec, pv=dataclasses.replace(spec.pv, weather_file=str(weather_file)))
    typical = typical_year(spec, weather=weather)
    cal = calibrate(spec, typical, readings)
    start = next_month(cal.window[1])
    past: RollingBacktest | None = None
    if backtest:
        try:
            past = rolling_backtest(spec, readings, typical=typical)
        except BacktestError:
            past = None
    scale = tuple(past.summary.get("band_scales_now", (1.0,) * 12)) if past is not None else 1.0
    weight = float(past.summary.get("model_weight_now", 1.0)) if past is not None else 1.0
    fc = forecast_energy(typical, cal, start, horizon_months, band_scale=scale, model_weight=weight)
    flows = cashflows(fc, spec, typical)
    value = valuation(spec, typical, cal, fc)
    sens = tornado(spec, typical, cal, start, months=12, weather=weather, model_weight=weight)
    charts: dict[str, Path] = {}
    json_path = None
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        charts = {
            "history": chart_history(cal, out / "history.png", spec.name),
            "forecast": chart_forecast(fc, cal, out / "forecast.png", spec.name),
            "tornado": chart_tornado(sens, out / "tornado.png", spec.name),
        }
        if past is not None:
            charts["backtest"] = chart_backtest(past, out / "backtest.png", f"{spec.name}: backtest, one month ahead")
        json_path = out / "twin_report.json"
    report = TwinReport(spec, typical, cal, fc, flows, value, sens, charts, json_path, past)
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
        (
            "trend / year",
            f"{cal.trend_per_year:+.4f} ± {cal.trend_se:.4f} ({'estimated' if cal.trend_estimated else 'spec'}"
            f"{', at its bound' if cal.trend_bounded else ''})",
        ),
        (
            "month-of-year corrections",
            " ".join(f"{c:.2f}" for c in cal.month_correction)
            if cal.seasonal_estimated
            else "none yet (need 12 months); band widened for seasonal shape",
        ),
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
    accuracy = expected_accuracy(report.backtest)
    if accuracy is None:
        summary.append(("expected accuracy", "too few months of readings to backtest (need 4 or more)"))
    else:
        summary.append(
            (
                f"expected accuracy (backtest, {accuracy['forecast_months']} months)",
                f"monthly error {_pct(accuracy['twin_mape'])} vs persistence {_pct(accuracy['persistence_mape'])}, "
                f"same month last year {_pct(accuracy['same_month_last_year_mape'])}; "
                f"P90 held in {_pct(accuracy['p90_coverage'])} of months",
            )
        )
    for label, value in summary:
        headline.add_row(label, value)
    return Group(table, headline)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


@click.group("twin")
def twin_cli() -> None:
    """Digital twin: calibrate an asset model to its readings and forecast energy, revenue and yield."""


_WEATHER_HELP = "Weather file (any format pvlib reads: TMY2/3, EPW, NSRDB PSM3/4, PVGIS, ...); replaces pv.weather_file."


def _load_inputs(target: Target, spec_path: str | None, readings_path: str | None, symbol: str | None):
    if symbol is not None and (spec_path or readings_path):
        raise click.UsageError("give --asset, or --spec with --readings, not both")
    if symbol is None and not (spec_path and readings_path):
        raise click.UsageError("give --spec and --readings, or --asset")
    if symbol is not None:
        from ..commands.twin import asset_inputs

        return asset_inputs(target.network, target.dev_accounts, target.deployments, symbol)
    return load_spec(spec_path), read_readings_csv(readings_path)


def _one_line(run):
    """Run a twin step; expected failures and anything unforeseen become one clear line."""
    try:
        return run()
    except (click.UsageError, CommandError):
        raise
    except (SpecError, ReadingsError, CalibrationError, WeatherFileError, BacktestError) as error:
        raise CommandError(str(error)) from error
    except OSError as error:
        raise CommandError(f"cannot read {getattr(error, 'filename', '') or 'input'}: {error.strerror or error}") from None
    except Exception as error:  # noqa: BLE001 - a user sees one line, never a traceback
        from ..spec import SpecError as AssetSpecError

        if isinstance(error, AssetSpecError):
            raise
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise CommandError(f"twin failed: {type(error).__name__}: {first[:200]}") from None


def _input_options(command):
    """``--spec`` and ``--readings`` (or ``--asset``) and ``--weather``: what ``report`` and ``backtest`` read."""
    options = (
        click.option("--spec", "spec_path", type=click.Path(exists=True, dir_okay=False), help="Site spec TOML."),
        click.option("--readings", "readings_path", type=click.Path(exists=True, dir_okay=False),
                     help="CSV with periodStart, periodEnd (unix s), energyWh[, device]."),
        click.option("--asset", "symbol", default=None,
                     help="A deployed asset: spec and anchored energy from the chain."),
        click.option("--weather", "weather_path", type=click.Path(exists=True, dir_okay=False), help=_WEATHER_HELP),
    )
    for option in reversed(options):
        command = option(command)
    return command


@twin_cli.command("report")
@_input_options
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
    weather_path: str | None,
    out_dir: str,
    horizon_months: int,
    as_json: bool,
    target: Target,
) -> None:
    """Print the forecast table and write charts + JSON for one asset (--spec and --readings, or --asset)."""

    def run() -> TwinReport:
        spec, readings = _load_inputs(target, spec_path, readings_path, symbol)
        return build_report(spec, readings, out_dir, horizon_months, weather_file=weather_path)

    report = _one_line(run)
    if as_json:
        click.echo(json.dumps(report_dict(report), indent=2))
    else:
        Console().print(render_table(report))
        click.echo(f"charts: {', '.join(str(p) for p in report.charts.values())}; json: {report.json_path}")


@twin_cli.command("backtest")
@_input_options
@click.option("--min-train", "min_train_months", default=3, show_default=True, type=click.IntRange(1, 120),
              help="Months of readings before the first forecast origin.")
@click.option("--horizon", "horizon_months", default=12, show_default=True, type=click.IntRange(1, 36))
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False),
              help="Folder for backtest.png and backtest.json (nothing written without it).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary and every scored forecast as JSON.")
@network_options
@handle_errors
def backtest_cmd(
    spec_path: str | None,
    readings_path: str | None,
    symbol: str | None,
    weather_path: str | None,
    min_train_months: int,
    horizon_months: int,
    out_dir: str | None,
    as_json: bool,
    target: Target,
) -> None:
    """Rolling-origin backtest of the twin on the asset's own readings, against naive baselines."""

    def run() -> tuple[SiteSpec, RollingBacktest]:
        spec, readings = _load_inputs(target, spec_path, readings_path, symbol)
        if weather_path is not None:
            spec = dataclasses.replace(spec, pv=dataclasses.replace(spec.pv, weather_file=weather_path))
        return spec, rolling_backtest(spec, readings, min_train_months=min_train_months, horizon_months=horizon_months)

    spec, result = _one_line(run)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        chart_backtest(result, out / "backtest.png", f"{spec.name}: backtest, one month ahead")
        (out / "backtest.json").write_text(json.dumps(_clean(result.to_dict()), indent=2))
    if as_json:
        click.echo(json.dumps(_clean(result.to_dict()), indent=2))
        return
    Console().print(render_backtest(spec, result))
    if out_dir is not None:
        click.echo(f"chart: {Path(out_dir) / 'backtest.png'}; json: {Path(out_dir) / 'backtest.json'}")


def render_backtest(spec: SiteSpec, result: RollingBacktest) -> Table:
    """The backtest summary: each method's monthly error on the months it could forecast."""
    s = result.summary
    table = Table(title=f"{spec.name} — rolling-origin backtest: {s['origins']} origins, {s['forecast_months']} "
                        "forecast months")
    for name in ("method", "monthly MAPE", "months", "note"):
        table.add_column(name, justify="left" if name in ("method", "note") else "right")
    frame = result.table
    notes = {
        "twin": f"P90 held in {_pct(s.get('p90_coverage'))} of months (goal 85-95 %)",
        "model": f"calibrated model alone (the twin weighs it {_pct(s.get('model_weight_now'))} against persistence)",
        "persistence": f"twin skill {_signed(s.get('skill_vs_persistence'))}",
        "same_month_last_year": f"twin skill {_signed(s.get('skill_vs_same_month_last_year'))} on the same months",
        "pvwatts": "spec model, uncalibrated, same weather",
    }
    for method in ("twin", "model", "persistence", "same_month_last_year", "pvwatts"):
        table.add_row(method.replace("_", " "), _pct(s.get(f"{method}_mape")),
                      f"{int(frame[f'{method}_wh'].notna().sum()):,}", notes[method])
    table.add_row("12-month total", _pct(s.get("twelve_month_total_error")), f"{s.get('twelve_month_windows', 0):,}",
                  "mean |error| of whole 12-month forecasts (goal ≤ 5 %)")
    return table


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"
