"""Digital twin of an energy asset: model it, calibrate it to its readings, forecast what it earns.

Typical use::

    from rwa_sdk.twin import load_spec, readings_frame, build_report
    report = build_report(load_spec("site.toml"), readings_frame(records), out_dir="report")
    report.forecast.monthly      # P50/P90 energy per month (pandas)
    report.valuation             # yield and DCF value per token
    report.backtest.summary      # expected accuracy: rolling backtest on the same readings

The twin does not touch the chain: its inputs are a :class:`SiteSpec` and a readings frame.
"""

from .backtest import run_backtest
from .calibration import Calibration, CalibrationError, calibrate
from .charging import charger_typical_year
from .finance import Valuation, annualised_yield, cashflows, dcf_value_per_token, price_per_kwh_by_month, valuation
from .forecast import Forecast, forecast_energy, monthly_ape, next_month, p90_coverage
from .profile import TypicalYear
from .pv import WeatherFileError, clearsky_weather, load_weather, pv_power, pv_typical_year, shipped_weather_files
from .rolling import BacktestError, RollingBacktest, rolling_backtest
from .weather import align_to_site
from .readings import ReadingsError, as_readings_frame, energy_series_frame, read_readings_csv, readings_frame
from .report import TwinReport, build_report, render_table, report_dict, twin_cli
from .sensitivity import p50_yield, tornado
from .simulate import MeterFaults, bootstrap_days, delivered_energy, meter_readings
from .site import driver_name, typical_year
from .spec import (
    ChargerParams,
    Finance,
    Location,
    PvParams,
    SiteSpec,
    SpecError,
    StorageParams,
    Tariff,
    TouBand,
    load_spec,
    spec_from_dict,
)
from .storage import storage_typical_year

__all__ = [
    "BacktestError",
    "RollingBacktest",
    "align_to_site",
    "rolling_backtest",
    "Calibration",
    "CalibrationError",
    "ChargerParams",
    "Finance",
    "Forecast",
    "Location",
    "MeterFaults",
    "PvParams",
    "ReadingsError",
    "SiteSpec",
    "SpecError",
    "StorageParams",
    "Tariff",
    "TouBand",
    "TwinReport",
    "TypicalYear",
    "Valuation",
    "WeatherFileError",
    "annualised_yield",
    "as_readings_frame",
    "bootstrap_days",
    "build_report",
    "calibrate",
    "cashflows",
    "charger_typical_year",
    "clearsky_weather",
    "dcf_value_per_token",
    "delivered_energy",
    "driver_name",
    "energy_series_frame",
    "forecast_energy",
    "load_spec",
    "load_weather",
    "meter_readings",
    "monthly_ape",
    "next_month",
    "p50_yield",
    "p90_coverage",
    "price_per_kwh_by_month",
    "pv_power",
    "pv_typical_year",
    "read_readings_csv",
    "readings_frame",
    "render_table",
    "report_dict",
    "run_backtest",
    "shipped_weather_files",
    "spec_from_dict",
    "storage_typical_year",
    "tornado",
    "twin_cli",
    "typical_year",
    "valuation",
]
