"""Hardhat builds the same contracts/ with the same compiler and settings as `rwa compile`."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from rwa_sdk.artifacts import artifact_paths

from .conftest import ROOT


def strip_metadata(code: str) -> str:
    """Runtime code without its CBOR metadata trailer (its last two bytes give its length).

    The trailer hashes the source *names*, which Hardhat spells differently (``project/...``)."""
    code = code.removeprefix("0x")
    if len(code) < 4:
        return code
    length = int(code[-4:], 16)
    return code[: len(code) - 2 * (length + 2)]


@pytest.mark.slow
def test_hardhat_build_matches_our_bytecode(compiled):
    if shutil.which("make") is None or not (ROOT / "node_modules/.bin/node").exists():
        pytest.skip("Hardhat needs make and Node 22 from npm (node_modules/.bin/node); run `npm ci`")
    ours = artifact_paths(ROOT)
    assert ours, "no contracts compiled"
    subprocess.run(["make", "-s", "hardhat-compile"], cwd=ROOT, check=True, timeout=600)
    compared = 0
    for path in ours:
        mine = json.loads(path.read_text())
        theirs_path = ROOT / "hh-artifacts" / path.relative_to(ROOT / "artifacts")
        theirs = json.loads(theirs_path.read_text())
        assert theirs["abi"] == mine["abi"], path
        assert strip_metadata(theirs["deployedBytecode"]) == strip_metadata(mine["deployedBytecode"]), path
        compared += 1
    assert compared == len(ours)
