"""Solar PV model: typical-year weather from pvlib's shipped files, PVWatts DC/AC chain.

Pure functions over pandas objects, units in the names. Weather is always hourly, labelled at the
start of the hour, in the file's fixed-offset standard time, on a non-leap reference year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pvlib

from .profile import (
    TypicalYear,
    hourly_share_from_power,
    smooth_circular,
    smooth_keep_monthly_totals,
    variability_from_days,
)
from .spec import Location, PvParams, SiteSpec
from .weather import (  # noqa: F401 - re-exported: the loader lived here first
    REFERENCE_YEAR,
    WeatherFileError,
    align_to_site,
    load_weather,
    shipped_weather_files,
)

WEATHER_COLUMNS = ("ghi_w_m2", "dni_w_m2", "dhi_w_m2", "temp_air_c", "wind_speed_m_s")
DEFAULT_ALBEDO = 0.2
SAPM_OPEN_RACK = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_polymer"]


def clearsky_weather(
    location: Location, index: pd.DatetimeIndex, temp_air_c: float = 20.0, wind_speed_m_s: float = 1.0
) -> pd.DataFrame:
    """Ineichen clear-sky irradiance (Linke turbidity from pvlib's shipped climatology) at mid-hour."""
    site = pvlib.location.Location(location.latitude, location.longitude, location.tz, location.altitude_m)
    sky = site.get_clearsky(index + pd.Timedelta(minutes=30), model="ineichen")
    sky.index = index
    return pd.DataFrame(
        {
            "ghi_w_m2": sky["ghi"],
            "dni_w_m2": sky["dni"],
            "dhi_w_m2": sky["dhi"],
            "temp_air_c": temp_air_c,
            "wind_speed_m_s": wind_speed_m_s,
        },
        index=index,
    )


def scale_irradiance(weather: pd.DataFrame, factor: float) -> pd.DataFrame:
    """The same weather with every irradiance component multiplied (for sensitivity runs)."""
    scaled = weather.copy()
    for column in ("ghi_w_m2", "dni_w_m2", "dhi_w_m2"):
        scaled[column] = scaled[column] * factor
    return scaled


def _albedo(weather: pd.DataFrame, params: PvParams) -> float | np.ndarray:
    """The spec's albedo when it sets one, else the weather file's hourly albedo, else 0.2."""
    if params.albedo is not None:
        return float(params.albedo)
    if "albedo" in weather.columns:
        return weather["albedo"].to_numpy(dtype=float)
    return DEFAULT_ALBEDO


def pv_power(weather: pd.DataFrame, location: Location, capacity_kw_dc: float, params: PvParams) -> pd.DataFrame:
    """Hourly plane-of-array irradiance, cell temperature and DC/AC power of a fixed-tilt array.

    Chain: NREL SPA sun position at mid-hour, Hay-Davies transposition, physical IAM on the beam,
    SAPM cell temperature (open rack), PVWatts DC with lumped losses, PVWatts inverter with clipping.
    Returns columns poa_w_m2, cell_temp_c, dc_power_w, ac_power_w (hour means, so W x 1 h = Wh).
    """
    mid = weather.index + pd.Timedelta(minutes=30)
    sun = pvlib.solarposition.get_solarposition(
        mid, location.latitude, location.longitude, location.altitude_m, temperature=weather["temp_air_c"].to_numpy()
    )
    zenith = sun["apparent_zenith"].to_numpy()
    azimuth = sun["azimuth"].to_numpy()
    dni_extra = pvlib.irradiance.get_extra_radiation(mid).to_numpy()
    dni = weather["dni_w_m2"].to_numpy()
    dni = np.where(zenith < 90, dni, 0.0)
    poa = pvlib.irradiance.get_total_irradiance(
        params.tilt_deg,
        params.azimuth_deg,
        zenith,
        azimuth,
        dni,
        weather["ghi_w_m2"].to_numpy(),
        weather["dhi_w_m2"].to_numpy(),
        dni_extra=dni_extra,
        albedo=_albedo(weather, params),
        model="haydavies",
    )
    aoi = pvlib.irradiance.aoi(params.tilt_deg, params.azimuth_deg, zenith, azimuth)
    iam = pvlib.iam.physical(aoi)
    poa_global = np.nan_to_num(np.asarray(poa["poa_global"], dtype=float)).clip(min=0.0)
    effective = (
        np.nan_to_num(np.asarray(poa["poa_direct"], dtype=float)) * np.nan_to_num(iam)
        + np.nan_to_num(np.asarray(poa["poa_diffuse"], dtype=float))
    ).clip(min=0.0)
    cell = pvlib.temperature.sapm_cell(
        poa_global, weather["temp_air_c"].to_numpy(), weather["wind_speed_m_s"].to_numpy(), **SAPM_OPEN_RACK
    )
    pdc0_w = capacity_kw_dc * 1000.0
    dc = pvlib.pvsystem.pvwatts_dc(effective, cell, pdc0_w, params.gamma_pdc_per_c) * (1 - params.losses_pct / 100)
    dc = np.clip(dc, 0.0, None)
    pac0_w = pdc0_w / params.dc_ac_ratio
    ac = pvlib.inverter.pvwatts(dc, pac0_w / params.inverter_efficiency, eta_inv_nom=params.inverter_efficiency)
    ac = np.clip(np.nan_to_num(ac), 0.0, pac0_w)
    return pd.DataFrame(
        {"poa_w_m2": poa_global, "cell_temp_c": cell, "dc_power_w": dc, "ac_power_w": ac}, index=weather.index
    )


def daily_energy_wh(power_w: pd.Series) -> pd.Series:
    """Daily energy from hourly mean power (start-of-hour labels, local standard time)."""
    return power_w.groupby(power_w.index.date).sum().rename("energy_wh")


MEASURED_YEAR_WINDOW_DAYS = 61


def smooth_measured_year(raw_daily_wh: pd.Series, clear_daily_wh: pd.Series) -> pd.Series:
    """Expected energy from a real (not typical) year: its cloudiness smoothed, the sun's cycle kept.

    A typical year's months are picked to be representative; a real year's are not (one bright
    February is weather, not climate). The ratio of the year's energy to the clear-sky energy is
    smoothed over ``MEASURED_YEAR_WINDOW_DAYS`` and multiplied back onto the clear-sky days, so
    month-scale weather anomalies are spread out while the astronomical seasonal shape stays exact.
    """
    raw = raw_daily_wh.to_numpy(dtype=float)
    clear = clear_daily_wh.reindex(raw_daily_wh.index).to_numpy(dtype=float)
    ratio = smooth_circular(raw, MEASURED_YEAR_WINDOW_DAYS) / np.maximum(
        smooth_circular(clear, MEASURED_YEAR_WINDOW_DAYS), 1e-9
    )
    expected = pd.Series(ratio * clear, index=raw_daily_wh.index, name="expected_wh")
    # Keep the year's total: the level is calibrated anyway, the shape is what this fixes.
    return expected * raw.sum() / expected.sum()


def climatology_sd(
    interannual_sd_rel: pd.Series, years: int, window_days: int = MEASURED_YEAR_WINDOW_DAYS
) -> pd.Series:
    """Error of each month (index 1..12) of a typical year built from ``years`` measured years.

    Each measured month is one sample of its climate: its year-to-year anomaly (sd
    ``interannual_sd_rel``) stays in the typical year, averaged over the years and spread over the
    neighbouring months by the smoothing of :func:`smooth_measured_year`. A month's error is then
    sqrt(sum_j w_ij^2 sd_j^2 / years), w_ij the share of month j's days in month i's smoothed days.
    """
    month = pd.date_range("2019-01-01", periods=365, freq="D").month.to_numpy()
    weights = np.zeros((12, 12))
    for j in range(1, 13):
        spread = smooth_circular((month == j).astype(float), window_days)
        weights[:, j - 1] = pd.Series(spread).groupby(month).mean().to_numpy()
    sd = interannual_sd_rel.reindex(range(1, 13)).to_numpy(dtype=float)
    return pd.Series(np.sqrt(weights**2 @ sd**2 / max(years, 1)), index=range(1, 13), name="climatology_sd_rel")


# Year-to-year sd of a month's irradiation from its cloudiness: clouds are what varies, so a month
# that is always clear hardly varies and a cloudy one varies most: sd = coef x (1 - the month's
# clear-sky index of GHI). With coef 0.3 this gives 2-5 % for clear desert summers (index
# 0.85-0.93), 6-9 % for sunny winters (0.7-0.8) and 15-18 % for cloudy winters (0.4-0.5), the
# range reported for the year-to-year variability of monthly irradiation (about 5-15 % depending
# on month and climate). A multi-year weather file replaces it by its own year-to-year spread.
# The array's energy varies more than GHI where beam dominates (a steep array in winter): the sd
# is multiplied by the elasticity of daily PV energy to daily GHI within the month.
INTERANNUAL_COEF = 0.3
INTERANNUAL_BOUNDS = (0.03, 0.20)
ELASTICITY_BOUNDS = (0.5, 2.0)


def energy_elasticity(raw_daily_wh: pd.Series, ghi_daily: pd.Series) -> pd.Series:
    """Per calendar month, d log(daily PV energy) / d log(daily GHI) over the year's days (1 if flat)."""
    frame = pd.DataFrame({"e": raw_daily_wh.to_numpy(dtype=float),
                          "g": ghi_daily.reindex(raw_daily_wh.index).to_numpy(dtype=float)})
    frame["month"] = pd.DatetimeIndex(pd.to_datetime(raw_daily_wh.index)).month
    frame = frame[(frame["e"] > 0) & (frame["g"] > 0)]
    out = {}
    for month, rows in frame.groupby("month"):
        x, y = np.log(rows["g"].to_numpy()), np.log(rows["e"].to_numpy())
        out[month] = float(np.cov(x, y)[0, 1] / np.var(x, ddof=1)) if len(rows) > 5 and np.var(x) > 1e-6 else 1.0
    return pd.Series(out).reindex(range(1, 13)).fillna(1.0).clip(*ELASTICITY_BOUNDS)


def interannual_sd(
    ghi_daily: pd.Series, clear_ghi_daily: pd.Series, measured: dict[int, float] | None,
    elasticity: pd.Series | None = None,
) -> pd.Series:
    """Year-to-year relative sd of each calendar month's PV energy (index 1..12).

    The month's GHI spread from the weather file's own years where it has enough of them
    (``measured``), else from its clear-sky index with its neighbours' (see ``INTERANNUAL_COEF``); times the array's
    ``elasticity`` to GHI; within the bounds.
    """
    month = pd.DatetimeIndex(pd.to_datetime(ghi_daily.index)).month
    ghi = ghi_daily.groupby(month).sum()
    clear = clear_ghi_daily.reindex(ghi_daily.index).groupby(month).sum()
    index = (ghi / clear.where(clear > 0)).clip(0, 1).fillna(0.5).reindex(range(1, 13)).fillna(0.5)
    # Cloudiness is a seasonal climate; one file's single month of it is weather: a month with its
    # two neighbours (circular), so one clear November does not make November certain.
    values = index.to_numpy()
    index = pd.Series((np.roll(values, 1) + values + np.roll(values, -1)) / 3, index=index.index)
    sd = INTERANNUAL_COEF * (1 - index)
    for m, value in (measured or {}).items():
        sd.loc[m] = value
    if elasticity is not None:
        sd = sd * elasticity.reindex(range(1, 13)).fillna(1.0)
    return sd.clip(*INTERANNUAL_BOUNDS).rename("interannual_sd_rel")


def pv_typical_year(
    spec: SiteSpec, weather: pd.DataFrame | None = None, irradiance_factor: float = 1.0, weather_site: Location | None = None
) -> TypicalYear:
    """Reduce the spec's array on its typical-year weather to a :class:`TypicalYear`.

    The weather file's hours are moved onto the site's sun by solar time and its clock becomes the
    site's standard time (see :func:`align_to_site`); a file too far in latitude is refused. A
    ``weather`` frame given without ``weather_site`` is taken as already on the site's clock.
    """
    if weather is None:
        weather, weather_site = load_weather(spec.pv.weather_file)
    if weather_site is not None:
        weather = align_to_site(weather, weather_site, spec.location, weather.attrs.get("source", spec.pv.weather_file))
    if irradiance_factor != 1.0:
        weather = scale_irradiance(weather, irradiance_factor)
    location = Location(
        spec.location.latitude, spec.location.longitude, spec.location.altitude_m, str(weather.index.tz)
    )
    power = pv_power(weather, location, spec.capacity, spec.pv)
    clear_sky = clearsky_weather(location, weather.index)
    clear = pv_power(clear_sky, location, spec.capacity, spec.pv)
    ghi_daily = daily_energy_wh(weather["ghi_w_m2"])
    raw = daily_energy_wh(power["ac_power_w"])
    cv, kappa = variability_from_days(raw)
    reference = daily_energy_wh(power["poa_w_m2"]) / 1000.0 * spec.capacity * 1000.0  # Wh a lossless array would make
    clear_daily = daily_energy_wh(clear["ac_power_w"])
    interannual = interannual_sd(
        ghi_daily, daily_energy_wh(clear_sky["ghi_w_m2"]), weather.attrs.get("interannual_cv"),
        energy_elasticity(raw, ghi_daily),
    )
    climatology = None
    if weather.attrs.get("typical", True):
        expected = smooth_keep_monthly_totals(raw)
    else:
        expected = smooth_measured_year(raw, clear_daily)
        climatology = climatology_sd(interannual, int(weather.attrs.get("years", 1)))
    return TypicalYear(
        daily_wh=expected,
        raw_daily_wh=raw,
        # Ceiling: a lossless array under clear sky, +10 % (room for a spec that is wrong in tilt/losses).
        upper_daily_wh=daily_energy_wh(clear["poa_w_m2"]) / 1000.0 * spec.capacity * 1000.0 * 1.1,
        daily_cv=cv,
        kappa=kappa,
        hourly_share=hourly_share_from_power(power["ac_power_w"]),
        trend_per_year=-spec.degradation_per_year,
        reference_daily_wh=smooth_keep_monthly_totals(reference),
        interannual_sd_rel=interannual,
        climatology_sd_rel=climatology,
    )
