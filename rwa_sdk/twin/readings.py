"""Anchored readings as a pandas frame: the one input shape the twin accepts from the oracle."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

COLUMNS = ("period_end", "energy_wh", "device")


class ReadingsError(ValueError):
    """A reading record is malformed (missing key, end before start, negative energy)."""

    def __init__(self, index: int, problem: str) -> None:
        super().__init__(f"reading #{index}: {problem}")
        self.index = index
        self.problem = problem


def readings_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Turn oracle records ``{periodStart, periodEnd, energyWh, device}`` (unix seconds) into a frame.

    The index is ``period_start`` (UTC); columns ``period_end`` (UTC), ``energy_wh`` (float) and
    ``device``. A device re-sending a period keeps its last value, so replays do not double count.
    """
    rows = []
    for i, record in enumerate(records):
        try:
            start, end = int(record["periodStart"]), int(record["periodEnd"])
            energy = float(record["energyWh"])
            device = str(record.get("device", ""))
        except KeyError as missing:
            raise ReadingsError(i, f"missing key {missing.args[0]}") from None
        except (TypeError, ValueError) as bad:
            raise ReadingsError(i, f"bad value ({bad})") from None
        if end <= start:
            raise ReadingsError(i, f"periodEnd {end} is not after periodStart {start}")
        if energy < 0:
            raise ReadingsError(i, f"negative energyWh {energy}")
        rows.append((start, end, energy, device))
    frame = pd.DataFrame(rows, columns=["period_start", "period_end", "energy_wh", "device"])
    frame["period_start"] = pd.to_datetime(frame["period_start"], unit="s", utc=True)
    frame["period_end"] = pd.to_datetime(frame["period_end"], unit="s", utc=True)
    frame = frame.drop_duplicates(["device", "period_start"], keep="last").set_index("period_start").sort_index()
    return frame[list(COLUMNS)]


def read_readings_csv(path: str) -> pd.DataFrame:
    """Read a CSV with columns periodStart, periodEnd, energyWh[, device] (as exported by the oracle)."""
    raw = pd.read_csv(path)
    return readings_frame(raw.to_dict("records"))


def energy_series_frame(energy_wh: pd.Series, period: str | pd.Timedelta = "1h", device: str = "meter") -> pd.DataFrame:
    """Wrap a tz-aware series of energy per period (labelled at period start) into a readings frame."""
    index = pd.DatetimeIndex(energy_wh.index)
    if index.tz is None:
        raise ReadingsError(0, "energy series index must be timezone-aware")
    start = index.tz_convert("UTC")
    frame = pd.DataFrame(
        {"period_end": start + pd.Timedelta(period), "energy_wh": energy_wh.to_numpy(dtype=float), "device": device},
        index=pd.DatetimeIndex(start, name="period_start"),
    )
    return frame


def as_readings_frame(readings: pd.DataFrame | pd.Series) -> pd.DataFrame:
    """Accept a readings frame, or a tz-aware series of energy per period (period = median spacing)."""
    if isinstance(readings, pd.Series):
        index = pd.DatetimeIndex(readings.index)
        if len(index) < 2:
            raise ReadingsError(0, "a series needs at least two readings to infer its period")
        period = pd.Series(index[1:] - index[:-1]).median()
        return energy_series_frame(readings, period)
    missing = {"period_end", "energy_wh"} - set(readings.columns)
    if missing:
        raise ReadingsError(0, f"frame lacks columns {sorted(missing)}")
    if "device" not in readings.columns:
        readings = readings.assign(device="meter")
    return readings
