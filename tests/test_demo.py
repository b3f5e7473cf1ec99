"""`make demo`'s scenario runs end to end and tells its story."""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import ROOT


def test_demo_deploys_the_stablecoin_and_pays_by_permit(compiled):
    run = subprocess.run([sys.executable, "scripts/demo.py"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert re.search(r"Stablecoin USDC deployed at 0x[0-9a-fA-F]{40}", out)
    assert "vault pulled 20,000.00 USDC without an approve transaction" in out
    assert "replaying it fails: AuthorizationAlreadyUsed(" in out
    assert "blacklisted investor cannot pay: StablecoinBlacklisted(" in out
    assert "balances: investor 25,000.00 USDC, vault 25,000.00 USDC" in out
