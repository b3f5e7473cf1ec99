"""A small throw-away project (its own contracts/ next to the real node_modules) for pipeline tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rwa_sdk.artifacts import load_artifact
from rwa_sdk.compiler import compile_project

ROOT = Path(__file__).resolve().parents[2]

PROBE = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Limits} from "./lib/Limits.sol";

/// A token whose functions fail in each way a contract can fail.
contract Probe is ERC20 {
    error TooLarge(address caller, uint256 amount, uint256 limit);

    constructor(uint256 supply) ERC20("Probe", "PRB") {
        _mint(msg.sender, supply);
    }

    function checkAmount(uint256 amount) external view returns (uint256) {
        if (amount > Limits.MAX) revert TooLarge(msg.sender, amount, Limits.MAX);
        require(amount != 13, "unlucky");
        return 100 / (amount - 7);
    }
}
"""

LIMITS = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

library Limits {
    uint256 internal constant MAX = 1000;
}
"""


def make_project(folder: Path, sources: dict[str, str]) -> Path:
    """A project folder with the given contracts and the real node_modules."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "node_modules").symlink_to(ROOT / "node_modules")
    (folder / "package.json").write_text(json.dumps({"name": "probe", "private": True}))
    for relative, text in sources.items():
        path = folder / "contracts" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


@pytest.fixture
def probe_project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "probe", {"Probe.sol": PROBE, "lib/Limits.sol": LIMITS})


@pytest.fixture(scope="session")
def probe_artifact(tmp_path_factory):
    folder = make_project(tmp_path_factory.mktemp("probe"), {"Probe.sol": PROBE, "lib/Limits.sol": LIMITS})
    compile_project(folder)
    yield load_artifact("Probe", folder)
    shutil.rmtree(folder, ignore_errors=True)
