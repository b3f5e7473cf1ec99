from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rwa_sdk import cli
from rwa_sdk.compiler import CompilationError, collect_sources, compile_project

from .conftest import LIMITS, PROBE, make_project


def test_compile_writes_hardhat_artifacts_for_project_contracts(probe_project):
    result = compile_project(probe_project)
    assert not result.cached
    artifact_path = probe_project / "artifacts/contracts/Probe.sol/Probe.json"
    assert artifact_path in result.artifacts
    artifact = json.loads(artifact_path.read_text())
    assert artifact["_format"] == "hh-sol-artifact-1"
    assert artifact["contractName"] == "Probe"
    assert artifact["sourceName"] == "contracts/Probe.sol"
    assert artifact["bytecode"].startswith("0x60") and len(artifact["deployedBytecode"]) > 100
    assert {"linkReferences", "deployedLinkReferences", "abi"} <= artifact.keys()
    assert any(e.get("name") == "TooLarge" and e["type"] == "error" for e in artifact["abi"])
    # OpenZeppelin sources are compiled but get no artifacts of their own
    assert not (probe_project / "artifacts/@openzeppelin").exists()


def test_sources_follow_relative_and_package_imports(probe_project):
    sources = collect_sources(probe_project)
    assert "contracts/lib/Limits.sol" in sources
    assert "@openzeppelin/contracts/token/ERC20/ERC20.sol" in sources
    assert "@openzeppelin/contracts/token/ERC20/IERC20.sol" in sources  # imported by ERC20.sol


def test_unchanged_tree_is_served_from_cache_and_a_change_recompiles(probe_project):
    compile_project(probe_project)
    warm = compile_project(probe_project)
    assert warm.cached and warm.seconds < 1.0
    (probe_project / "contracts/lib/Limits.sol").write_text(LIMITS.replace("1000", "2000"))
    changed = compile_project(probe_project)
    assert not changed.cached


def test_deleted_artifact_forces_recompile(probe_project):
    result = compile_project(probe_project)
    result.artifacts[0].unlink()
    assert not compile_project(probe_project).cached
    assert result.artifacts[0].is_file()


def test_compile_error_names_file_and_line(tmp_path):
    broken = PROBE.replace("return 100 / (amount - 7);", "return undefinedThing;")
    project = make_project(tmp_path / "broken", {"Probe.sol": broken, "lib/Limits.sol": LIMITS})
    with pytest.raises(CompilationError) as caught:
        compile_project(project)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.file == "contracts/Probe.sol"
    assert diagnostic.line == broken.splitlines().index("        return undefinedThing;") + 1
    assert "undefinedThing" in str(caught.value)
    assert str(diagnostic).startswith(f"contracts/Probe.sol:{diagnostic.line}:")


def test_missing_import_is_reported(tmp_path):
    project = make_project(tmp_path / "missing", {"A.sol": 'pragma solidity ^0.8.24; import "./Nope.sol";'})
    with pytest.raises(CompilationError, match="Nope.sol"):
        compile_project(project)


def test_cli_compile_fails_with_location_on_error(tmp_path, monkeypatch):
    broken = PROBE.replace("uint256 amount)", "uint256 amount", 1)
    project = make_project(tmp_path / "cli", {"Probe.sol": broken, "lib/Limits.sol": LIMITS})
    monkeypatch.setenv("RWA_PROJECT_ROOT", str(project))
    result = CliRunner().invoke(cli.main, ["compile"])
    assert result.exit_code == 1
    assert "contracts/Probe.sol:" in result.output


def test_cli_compile_reports_cache(probe_project, monkeypatch):
    monkeypatch.setenv("RWA_PROJECT_ROOT", str(probe_project))
    first = CliRunner().invoke(cli.main, ["compile", "--json"])
    second = CliRunner().invoke(cli.main, ["compile", "--json"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert json.loads(first.stdout)["cached"] is False
    assert json.loads(second.stdout) | {"seconds": 0} == {"artifacts": 2, "cached": True, "seconds": 0}  # Probe and Limits
