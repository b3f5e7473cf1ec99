"""Write a readings CSV for examples/site_pv.toml, as the oracle would export it, to try the twin.

The plant is simulated on a resampled year of the spec's shipped weather file with hidden
parameters a little worse than its spec (18 % losses instead of 14 %), meter noise, gaps and two
mis-scaled days. Then:

    PYTHONPATH=$PWD python examples/twin_readings.py twin-readings.csv
    PYTHONPATH=$PWD python -c "from rwa_sdk.twin import twin_cli; twin_cli()" report \\
        --spec examples/site_pv.toml --readings twin-readings.csv --out twin-report
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from rwa_sdk.twin import bootstrap_days, delivered_energy, load_spec, load_weather, meter_readings, pv_power


def main(out: str = "twin-readings.csv", months: int = 9, seed: int = 7) -> None:
    spec = load_spec(Path(__file__).with_name("site_pv.toml"))
    weather, location = load_weather(spec.pv.weather_file)
    rng = np.random.default_rng(seed)
    actual = bootstrap_days(weather, rng)
    # Move the reference year onto the commissioning year so the readings look like live data.
    offset = pd.Timestamp(spec.commissioned) - pd.Timestamp(actual.index[0].date())
    actual.index = actual.index + offset
    truth = pv_power(
        actual, replace(spec.location, tz=str(actual.index.tz)), spec.capacity, replace(spec.pv, losses_pct=18.0)
    )["ac_power_w"]
    truth = truth[truth.index < truth.index[0] + pd.DateOffset(months=months)]
    readings = meter_readings(
        delivered_energy(truth, rng, degradation_per_year=0.007, outage_day_share=0.01),
        rng,
        device="0x00000000000000000000000000000000000000a1",
    )
    epoch = pd.Timestamp(0, tz="UTC")
    pd.DataFrame(
        {
            "periodStart": (readings.index - epoch) // pd.Timedelta("1s"),
            "periodEnd": (readings["period_end"] - epoch) // pd.Timedelta("1s"),
            "energyWh": readings["energy_wh"].round(1),
            "device": readings["device"],
        }
    ).to_csv(out, index=False)
    print(f"wrote {len(readings)} readings to {out}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
