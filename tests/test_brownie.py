"""Brownie (the `brownie` extra) compiles the project with our compiler, without a download."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from rwa_sdk import toolchain

from .conftest import ROOT
from .foundation.test_hardhat import strip_metadata


@pytest.mark.slow
def test_brownie_compile_uses_our_solc_and_matches_our_bytecode(compiled):
    brownie = shutil.which("brownie")
    if brownie is None:
        pytest.skip("the brownie extra is not installed (pip install -e .[brownie])")
    solc = toolchain.find_solc(ROOT)
    env = dict(os.environ, SOLCX_BINARY_PATH=str(solc.path.parent))
    run = subprocess.run([brownie, "compile"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    built = json.loads((ROOT / "build/contracts/Stablecoin.json").read_text())
    ours = json.loads((ROOT / "artifacts/contracts/settlement/Stablecoin.sol/Stablecoin.json").read_text())
    assert built["compiler"]["version"].startswith(toolchain.SOLC_VERSION)
    assert strip_metadata(built["deployedBytecode"]) == strip_metadata(ours["deployedBytecode"].removeprefix("0x"))
