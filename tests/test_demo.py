"""`make demo`'s scenario runs end to end and tells its story."""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import ROOT


def test_demo_tells_the_whole_story_from_plant_to_payout(compiled):
    run = subprocess.run([sys.executable, "scripts/demo.py"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert re.search(r"token\s+0x[0-9a-fA-F]{40}", out)
    assert re.search(r"Claire \(FR\)\s+refused: .*risk tier 2, below the token's risk level 3", out)
    assert re.search(r"Dan \(US\)\s+refused: .*country US \(United States of America, 840\)", out)
    assert "100,000 SUN5 minted to 2 holders" in out
    assert "14,400 signed readings verified and stored, 14,400 acknowledged" in out
    assert "verifyReading = True" in out
    claimed = [float(x.replace(",", "")) for x in re.findall(r"claimed ([\d,]+\.\d\d) USDC", out)]
    deposited = float(re.search(r"= ([\d,]+\.\d\d) USDC deposited", out).group(1).replace(",", ""))
    assert len(claimed) == 2 and abs(claimed[0] - 1.5 * claimed[1]) <= 0.02  # 60,000 vs 40,000 tokens
    assert abs(sum(claimed) - deposited) <= 0.02
    energy = float(re.search(r"(\d+\.\d+) MWh x 0.085", out).group(1))
    assert 20 < energy < 80  # 5 MW for three days, clear-sky-with-clouds model
    from rwa_sdk.twin.readings import read_readings_csv

    kept = read_readings_csv(str(ROOT / ".rwa" / "demo-readings.csv"))  # the twin can read what the demo kept
    assert len(kept) == 14_400 and abs(kept["energy_wh"].sum() / 1e6 - energy) < 0.01
    assert "examples/twin_readings.py" in out


def test_rwa_demo_entry_point_reports_the_same_story_as_json(compiled):
    import json

    from click.testing import CliRunner

    from rwa_sdk import cli

    result = CliRunner().invoke(cli.main, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # stdout is the JSON alone: the story goes to stderr
    assert "== 1. Tokenize the plant" in result.stderr and "demo finished" in result.stderr
    assert report["holders"] == 2 and report["supply"] == 100_000
    assert report["readings"] == 14_400 and report["batches"] >= 15
    assert abs(report["paid_usd"] - report["revenue_usd"]) < 1e-6
    assert abs(report["revenue_usd"] - report["energy_mwh"] * 85) < 0.1  # 0.085 USD/kWh; energy rounded to kWh
