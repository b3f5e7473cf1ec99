"""One loader for every weather format pvlib's ``iotools`` reads, and the site-to-file alignment.

Whatever the format (TMY2/TMY3, EPW, NSRDB PSM3/PSM4 CSV, PVGIS TMY/hourly, SolarAnywhere,
SURFRAD, SRML, MIDC, BSRN, CRN, SOLRAD, CAMS), the result is one hourly typical year: columns
ghi/dni/dhi/temp_air/wind_speed (and albedo when the file has it), labelled at the start of the
hour in the file's fixed-offset standard time, on a non-leap reference year. A file of several
years is averaged hour by hour; a file without DNI/DHI is split with the Erbs model. The frame's
``attrs["typical"]`` says whether it is a typical year (months picked to be representative) or
measured years (whose month-to-month weather the PV model smooths out).

A typical year from elsewhere is moved onto the site's sun by solar time (its hours are shifted
by the difference in longitude and clock), and refused when its latitude is too far from the
site's for its sun path and climate to stand in.
"""

from __future__ import annotations

import functools
import gzip
import io
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pvlib

from .spec import Location

REFERENCE_YEAR = 2019
HOURS_PER_YEAR = 8760
MAX_LATITUDE_GAP_DEG = 10.0
EARTH_RADIUS_KM = 6371.0
COLUMNS = ("ghi_w_m2", "dni_w_m2", "dhi_w_m2", "temp_air_c", "wind_speed_m_s")
_NAMES = {
    "ghi_w_m2": ("ghi", "GHI", "G(h)"),
    "dni_w_m2": ("dni", "DNI", "Gb(n)"),
    "dhi_w_m2": ("dhi", "DHI", "Gd(h)"),
    "temp_air_c": ("temp_air", "T2m", "DryBulb", "air_temperature"),
    "wind_speed_m_s": ("wind_speed", "WS10m", "Wspd"),
    "albedo": ("albedo", "Alb", "Surface Albedo"),
}


class WeatherFileError(FileNotFoundError):
    """A weather file is missing, unreadable, or cannot stand for the site."""


def pvlib_data_dir() -> Path:
    return Path(pvlib.__file__).parent / "data"


def shipped_weather_files() -> tuple[str, ...]:
    """Typical-year files that ship inside pvlib (no download needed)."""
    return tuple(sorted(p.name for p in pvlib_data_dir().iterdir() if _is_typical_year_file(p)))


def _is_typical_year_file(path: Path) -> bool:
    name = path.name.upper()
    return name.endswith(".TM2") or (name.endswith(".CSV") and "TY" in name and name[:6].isdigit())


def resolve_weather(name: str | Path) -> Path:
    """A path on disk, or the name of one of pvlib's shipped files."""
    path = Path(name).expanduser()
    if path.is_file():
        return path
    shipped = pvlib_data_dir() / str(name)
    if shipped.is_file():
        return shipped
    raise WeatherFileError(f"weather file {name!s} not found (shipped files: {', '.join(shipped_weather_files())})")


def _text(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace")


def _stem(path: Path) -> str:
    name = path.name.lower()
    return name[:-3] if name.endswith(".gz") else name


def _sniff(path: Path, head: str) -> list[str]:
    """Readers to try, most likely first (content beats extension)."""
    name = _stem(path)
    first = head.splitlines()[0] if head else ""
    order: list[str] = []
    if name.endswith(".tm2"):
        order.append("tmy2")
    if name.endswith(".epw") or first.startswith("LOCATION,"):
        order.append("epw")
    if first.startswith("Source,") or "Location ID" in first:
        order.append("psm")
    if first[:6].isdigit() and first.count(",") >= 6 and not first.startswith("Source"):
        order.append("tmy3")
    if name.endswith(".json"):
        order += ["pvgis_tmy", "pvgis_hourly"]
    if first.startswith("Latitude") or "PVGIS" in head[:2000]:
        order += ["pvgis_tmy", "pvgis_hourly"]
    if "SolarAnywhere" in head[:2000] or "Solar Anywhere" in head[:2000]:
        order.append("solaranywhere")
    if name.startswith("cams") or head.startswith("# Coding") or "CAMS" in head[:500]:
        order.append("cams")
    # CAMS is tried only when sniffed: its reader never returns on other text.
    order += ["tmy3", "psm", "epw", "tmy2", "solaranywhere", "pvgis_tmy", "pvgis_hourly",
              "surfrad", "solrad", "srml", "crn", "midc", "bsrn"]
    return list(dict.fromkeys(order))


def _buffer(text: str) -> io.StringIO:
    return io.StringIO(text)


def _read_tmy2(path: Path, text: str) -> tuple[pd.DataFrame, dict]:
    data, meta = pvlib.iotools.read_tmy2(str(path) if not _is_gz(path) else _tmp_copy(path, text))
    frame = data.rename(columns={"GHI": "ghi", "DNI": "dni", "DHI": "dhi"})
    # TMY2 stores temperature and wind speed in tenths.
    frame["temp_air"] = data["DryBulb"] / 10.0
    frame["wind_speed"] = data["Wspd"] / 10.0
    return frame, {**meta, "positional": True, "typical": True}


def _is_gz(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def _tmp_copy(path: Path, text: str) -> str:
    import tempfile

    handle = tempfile.NamedTemporaryFile("w", suffix=Path(_stem(path)).suffix, delete=False)
    with handle:
        handle.write(text)
    return handle.name


def _read_tmy3(path: Path, text: str) -> tuple[pd.DataFrame, dict]:
    data, meta = pvlib.iotools.read_tmy3(_buffer(text), map_variables=True)
    return data, {**meta, "positional": True, "typical": True}


def _read_epw(path: Path, text: str) -> tuple[pd.DataFrame, dict]:
    data, meta = pvlib.iotools.read_epw(_buffer(text))
    return data, {**meta, "positional": len(data) == HOURS_PER_YEAR}


def _read_psm(path: Path, text: str) -> tuple[pd.DataFrame, dict]:
    data, meta = pvlib.iotools.read_nsrdb_psm4(_buffer(text), map_variables=True)
    meta = {**meta, "TZ": meta.get("Time Zone", meta.get("Local Time Zone"))}
    return data, meta


def _read_pvgis_tmy(path: Path, text: str) -> tuple[pd.DataFrame, dict]:
    fmt = "json" if text.lstrip().startswith("{") else "csv"
    source = str(path) if not _is_gz(path) else _tmp_copy(path, text)
    data, meta = pvlib.iotools.read_pvgis_tmy(source, pvgis_format=fmt, map_variables=True)
    inputs = meta.get("inputs", meta)
    location = inputs.get("location", inputs)
    # A PVGIS TMY stacks months of different years in UTC: keep the order, relabel.
    return data, {"latitude": location["latitude"], "longitude": location["longitude"],
                  "altitude": location.get("elevation", 0.0), "TZ": 0.0, "positional": len(data) == HOURS_PER_YEAR,
                  "typical": True}


def _read_pvgis_hourly(path: Path, text: str) -> tuple[pd.DataFrame, dict]:
    fmt = "json" if text.lstrip().startswith("{") else "csv"
    data, meta = pvlib.iotools.read_pvgis_hourly(_buffer(text), pvgis_format=fmt, map_variables=True)
    location = meta.get("location", meta.get("inputs", {}).get("location", {}))
    if "poa_global" in data and "ghi" not in data:
        raise ValueError("PVGIS hourly file holds plane-of-array irradiance only; export with components")
    return data, {"latitude": location["latitude"], "longitude": location["longitude"],
                  "altitude": location.get("elevation", 0.0), "TZ": 0.0}


def _read_generic(reader: Callable[..., Any]) -> Callable[[Path, str], tuple[pd.DataFrame, dict]]:
    def read(path: Path, text: str) -> tuple[pd.DataFrame, dict]:
        source: Any = str(path) if not _is_gz(path) else _tmp_copy(path, text)
        result = reader(source)
        data, meta = result if isinstance(result, tuple) else (result, {})
        meta = dict(meta or {})
        if "latitude" not in meta and "latitude" in data:
            meta["latitude"], meta["longitude"] = float(data["latitude"].iloc[0]), float(data["longitude"].iloc[0])
        return data, meta

    return read


_READERS: dict[str, Callable[[Path, str], tuple[pd.DataFrame, dict]]] = {
    "tmy2": _read_tmy2,
    "tmy3": _read_tmy3,
    "epw": _read_epw,
    "psm": _read_psm,
    "pvgis_tmy": _read_pvgis_tmy,
    "pvgis_hourly": _read_pvgis_hourly,
    "solaranywhere": _read_generic(pvlib.iotools.read_solaranywhere),
    "cams": _read_generic(pvlib.iotools.read_cams),
    "surfrad": _read_generic(pvlib.iotools.read_surfrad),
    "solrad": _read_generic(pvlib.iotools.read_solrad),
    "srml": _read_generic(pvlib.iotools.read_srml),
    "crn": _read_generic(pvlib.iotools.read_crn),
    "midc": _read_generic(pvlib.iotools.read_midc),
    "bsrn": _read_generic(pvlib.iotools.read_bsrn),
}


def _column(data: pd.DataFrame, target: str) -> pd.Series | None:
    for name in (target, *_NAMES.get(target, ())):
        if name in data.columns:
            return pd.to_numeric(data[name], errors="coerce")
    return None


def _meta_float(meta: dict, *keys: str) -> float | None:
    for key in keys:
        if key in meta and meta[key] not in (None, ""):
            try:
                return float(meta[key])
            except (TypeError, ValueError):
                continue
    return None


def _standard_offset_h(index: pd.DatetimeIndex, meta: dict) -> float:
    offset = _meta_float(meta, "TZ", "tz", "Time Zone", "timezone")
    if offset is not None:
        return offset
    if index.tz is None:
        return 0.0
    offsets = {index[0].utcoffset(), index[len(index) // 2].utcoffset()}
    return min(o.total_seconds() for o in offsets if o is not None) / 3600.0


def _fixed_tz(offset_h: float) -> str:
    if offset_h == 0:
        return "UTC"
    if float(offset_h).is_integer():
        return f"Etc/GMT{-int(offset_h):+d}"
    sign = "+" if offset_h > 0 else "-"
    minutes = int(round(abs(offset_h) * 60))
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def reference_index(n_hours: int, utc_offset_h: float) -> pd.DatetimeIndex:
    return pd.date_range(f"{REFERENCE_YEAR}-01-01", periods=n_hours, freq="h", tz=_fixed_tz(utc_offset_h))


def _typical_hours(frame: pd.DataFrame, offset_h: float) -> pd.DataFrame:
    """Hour-by-hour mean over the years a time series covers, on the reference year."""
    index = pd.DatetimeIndex(frame.index)
    if index.tz is None:
        index = index.tz_localize(_fixed_tz(offset_h))
    local = index.tz_convert(_fixed_tz(offset_h))
    # Readers label at the start, the middle or the end of their interval; floor to the hour.
    hours = local.floor("h")
    grouped = frame.set_axis(hours).groupby(level=0).mean()
    when = pd.DatetimeIndex(grouped.index)
    keep = ~((when.month == 2) & (when.day == 29))
    grouped, when = grouped[keep], when[keep]
    key = pd.MultiIndex.from_arrays([when.month, when.day, when.hour])
    climatology = grouped.set_axis(key).groupby(level=[0, 1, 2]).mean()
    target = reference_index(HOURS_PER_YEAR, offset_h)
    wanted = pd.MultiIndex.from_arrays([target.month, target.day, target.hour])
    out = climatology.reindex(wanted)
    covered = out["ghi_w_m2"].notna().groupby(target.date).any().sum()
    if covered < 365:
        raise ValueError(f"covers {covered} days of the year; a typical year needs all 365")
    out = out.set_axis(target)
    return out.interpolate(limit_direction="both")


def _decompose(frame: pd.DataFrame, location: Location) -> pd.DataFrame:
    """DNI/DHI from GHI (Erbs) where the file has only global irradiance."""
    mid = frame.index + pd.Timedelta(minutes=30)
    sun = pvlib.solarposition.get_solarposition(mid, location.latitude, location.longitude, location.altitude_m)
    parts = pvlib.irradiance.erbs(frame["ghi_w_m2"].to_numpy(), sun["zenith"].to_numpy(), mid)
    frame = frame.copy()
    frame["dni_w_m2"] = np.nan_to_num(np.asarray(parts["dni"], dtype=float))
    frame["dhi_w_m2"] = np.nan_to_num(np.asarray(parts["dhi"], dtype=float))
    return frame


def load_weather(name: str | Path) -> tuple[pd.DataFrame, Location]:
    """Read any pvlib-readable weather file into an hourly typical year and the file's location.

    Raises :class:`WeatherFileError` with the file name and the formats tried when no reader fits.
    """
    path = resolve_weather(name)
    stat = path.stat()
    frame, location = _load_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    copy = frame.copy()
    copy.attrs = dict(frame.attrs)
    return copy, location


@functools.lru_cache(maxsize=8)
def _load_cached(resolved: str, mtime_ns: int, size: int) -> tuple[pd.DataFrame, Location]:
    path = Path(resolved)
    text = _text(path)
    errors: list[str] = []
    for fmt in _sniff(path, text[:4000]):
        try:
            data, meta = _READERS[fmt](path, text)
        except Exception as error:  # noqa: BLE001 - any reader failure means "not this format"
            errors.append(f"{fmt}: {_first_line(error)}")
            continue
        if not isinstance(data, pd.DataFrame) or _column(data, "ghi_w_m2") is None or len(data) < 24:
            continue
        try:
            return _normalise(data, meta, path)
        except (ValueError, KeyError) as error:
            # The format was recognised but the content cannot make a typical year: say why.
            raise WeatherFileError(f"weather file {path.name} ({fmt}): {_first_line(error)}") from None
    raise WeatherFileError(
        f"weather file {path.name}: not a format pvlib reads (TMY2/TMY3, EPW, NSRDB PSM3/PSM4, PVGIS, "
        f"SolarAnywhere, SURFRAD, SRML, MIDC, BSRN, CRN, SOLRAD, CAMS); first tries: {'; '.join(errors[:3])}"
    )


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:100] if text else type(error).__name__


def _normalise(data: pd.DataFrame, meta: dict, path: Path) -> tuple[pd.DataFrame, Location]:
    latitude = _meta_float(meta, "latitude", "Latitude", "lat")
    longitude = _meta_float(meta, "longitude", "Longitude", "lon")
    if latitude is None or longitude is None:
        raise ValueError("no latitude/longitude in the file")
    altitude = _meta_float(meta, "altitude", "Elevation", "elevation") or 0.0
    frame = pd.DataFrame(index=data.index)
    for target in (*COLUMNS, "albedo"):
        column = _column(data, target)
        if column is not None:
            frame[target] = column.to_numpy(dtype=float)
    index = pd.DatetimeIndex(data.index)
    offset = _standard_offset_h(index, meta)
    years = index.year.to_numpy()
    # A typical year stacks months of different years; a measured record runs forward in time.
    typical = bool(np.any(np.diff(years) < 0)) or bool(meta.get("typical", False))
    interannual = None if typical else monthly_ghi_interannual_cv(frame.get("ghi_w_m2"), offset)
    if meta.get("positional") and len(frame) == HOURS_PER_YEAR:
        # Typical years mix calendar years and stamp hours at their end: keep the order, relabel.
        frame.index = reference_index(HOURS_PER_YEAR, offset)
    else:
        frame = _typical_hours(frame, offset)
    location = Location(float(latitude), float(longitude), float(altitude), str(frame.index.tz))
    for column, default in (("temp_air_c", 20.0), ("wind_speed_m_s", 1.0)):
        if column not in frame:
            frame[column] = default
    frame["ghi_w_m2"] = frame["ghi_w_m2"].clip(lower=0).fillna(0.0)
    if "dni_w_m2" not in frame or "dhi_w_m2" not in frame or frame[["dni_w_m2", "dhi_w_m2"]].isna().all().any():
        frame = _decompose(frame, location)
    if "albedo" in frame:
        albedo = frame["albedo"].where((frame["albedo"] > 0) & (frame["albedo"] < 1))
        if albedo.notna().mean() > 0.5:
            frame["albedo"] = albedo.interpolate(limit_direction="both")
        else:
            frame = frame.drop(columns="albedo")
    frame = frame.fillna({c: 0.0 for c in ("dni_w_m2", "dhi_w_m2")}).astype(float)
    frame.attrs["source"] = path.name
    frame.attrs["typical"] = typical
    frame.attrs["years"] = measured_years(index)
    if interannual is not None:
        frame.attrs["interannual_cv"] = interannual
    return frame, location


INTERANNUAL_MIN_YEARS = 3
MEASURED_YEAR_MIN_DAYS = 330


def measured_years(index: pd.DatetimeIndex) -> int:
    """How many calendar years a measured record averages (each one sample of the site's climate).

    A year counts with at least ``MEASURED_YEAR_MIN_DAYS`` days of data, so stray or partial years
    cannot pass for climate; at least 1.
    """
    days = pd.Series(pd.DatetimeIndex(index).normalize().unique())
    per_year = days.groupby(days.dt.year).size()
    return max(1, int((per_year >= MEASURED_YEAR_MIN_DAYS).sum()))


def monthly_ghi_interannual_cv(ghi: pd.Series | None, offset_h: float) -> dict[int, float] | None:
    """Year-to-year coefficient of variation of each calendar month's GHI, from a multi-year record.

    Only complete months count (>= 95 % of their hours present); a calendar month needs
    ``INTERANNUAL_MIN_YEARS`` of them. Returns None when no month has enough years.
    """
    if ghi is None or ghi.empty:
        return None
    index = pd.DatetimeIndex(ghi.index)
    index = index.tz_localize(_fixed_tz(offset_h)) if index.tz is None else index.tz_convert(_fixed_tz(offset_h))
    hourly = pd.Series(ghi.to_numpy(dtype=float), index=index.floor("h")).clip(lower=0)
    hourly = hourly.groupby(level=0).mean()
    months = pd.PeriodIndex(pd.DatetimeIndex(hourly.index).tz_localize(None), freq="M")
    table = hourly.groupby(months).agg(["sum", "count"])
    hours = np.asarray(table.index.days_in_month) * 24
    table = table[table["count"].to_numpy() >= 0.95 * hours]
    if table.empty:
        return None
    mean_power = table["sum"] / table["count"]
    out = {}
    for month, values in mean_power.groupby(table.index.month):
        if len(values) >= INTERANNUAL_MIN_YEARS and values.mean() > 0:
            out[int(month)] = float(values.std(ddof=1) / values.mean())
    return out or None


def distance_km(a: Location, b: Location) -> float:
    """Great-circle distance between two locations."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def standard_offset_h(tz: str) -> float:
    """UTC offset of a time zone's standard (winter) time, in hours."""
    stamps = pd.DatetimeIndex(["2019-01-15", "2019-07-15"]).tz_localize(tz)
    return min(s.utcoffset().total_seconds() for s in stamps) / 3600.0


def solar_shift_h(site_longitude: float, site_offset_h: float, file_longitude: float, file_offset_h: float) -> float:
    """Hours to add to a site clock hour to find the file hour with the same solar time."""
    return (site_longitude - file_longitude) / 15.0 - (site_offset_h - file_offset_h)


def align_to_site(weather: pd.DataFrame, weather_site: Location, site: Location, name: str = "") -> pd.DataFrame:
    """The weather file's typical year on the site's clock, hour for hour at the same solar time.

    The values are moved circularly along the year (a fractional shift interpolates between
    neighbouring hours), so noon in the file lands on solar noon at the site. Refuses a file whose
    latitude is more than ``MAX_LATITUDE_GAP_DEG`` from the site's.
    """
    label = name or weather.attrs.get("source", "weather file")
    gap = abs(site.latitude - weather_site.latitude)
    km = distance_km(site, weather_site)
    file_offset = pd.Timestamp("2019-01-15", tz=str(weather.index.tz)).utcoffset().total_seconds() / 3600.0
    site_offset = standard_offset_h(site.tz)
    shift = solar_shift_h(site.longitude, site_offset, weather_site.longitude, file_offset)
    if gap > MAX_LATITUDE_GAP_DEG:
        raise WeatherFileError(
            f"weather file {label} is {km:,.0f} km from the site (latitude {weather_site.latitude:.1f} vs "
            f"{site.latitude:.1f}, solar time {shift:+.1f} h): too far to stand for its sun and climate; "
            f"give a file within {MAX_LATITUDE_GAP_DEG:.0f}° of latitude (--weather FILE or pv.weather_file)"
        )
    values = weather.to_numpy(dtype=float)
    n = len(values)
    position = (np.arange(n) + shift) % n
    low = np.floor(position).astype(int)
    frac = (position - low)[:, None]
    moved = values[low] * (1 - frac) + values[(low + 1) % n] * frac
    out = pd.DataFrame(moved, index=reference_index(n, site_offset), columns=weather.columns)
    out.attrs = {**weather.attrs, "distance_km": km, "solar_shift_h": shift, "source": label}
    return out
