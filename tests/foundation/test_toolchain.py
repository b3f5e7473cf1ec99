from __future__ import annotations

import json
import subprocess

import solcx
from click.testing import CliRunner

from rwa_sdk import cli, toolchain
from rwa_sdk.compiler import standard_input


def test_shim_answers_version_like_native_solc():
    solc = toolchain.find_solc()
    out = subprocess.run([str(solc.path), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"Version: {toolchain.SOLC_VERSION}+commit." in out
    assert str(solcx.wrapper.get_solc_version(solc.path)) == toolchain.SOLC_VERSION


def test_py_solc_x_compiles_through_the_shim_with_imports_resolved_by_it():
    solc = toolchain.find_solc()
    source = (
        'pragma solidity ^0.8.24; import "@openzeppelin/contracts/token/ERC20/ERC20.sol";'
        'contract T is ERC20 { constructor() ERC20("t", "t") {} }'
    )
    data = standard_input({"T.sol": source})
    output = solcx.compile_standard(data, solc_binary=solc.path, base_path=str(toolchain.project_root()))
    assert output["contracts"]["T.sol"]["T"]["evm"]["bytecode"]["object"]
    assert "@openzeppelin/contracts/token/ERC20/ERC20.sol" in output["sources"]


def test_shim_is_the_only_compiler_without_a_native_one(tmp_path, monkeypatch):
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(tmp_path))
    assert toolchain.native_solc() is None
    assert toolchain.find_solc().kind == "solcjs"
    registered = toolchain.register_with_solcx(toolchain.find_solc())
    assert registered == tmp_path / f"solc-v{toolchain.SOLC_VERSION}"
    assert solcx.get_installed_solc_versions() == [solcx.wrapper.Version(toolchain.SOLC_VERSION)]
    assert toolchain.native_solc() is None  # a registered shim is still known as the shim


def test_native_solc_in_solcx_folder_is_preferred(tmp_path, monkeypatch):
    native = tmp_path / f"solc-v{toolchain.SOLC_VERSION}"
    native.write_text("#!/bin/sh\necho 'Version: 0.8.30+commit.73712a01.Linux.g++'\n")
    native.chmod(0o755)
    monkeypatch.setenv("SOLCX_BINARY_PATH", str(tmp_path))
    assert toolchain.find_solc() == toolchain.Solc(native, toolchain.SOLC_VERSION, "native")


def test_cli_toolchain_reports_solc_node_and_anvil():
    result = CliRunner().invoke(cli.main, ["toolchain", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["solc_version"].startswith(toolchain.SOLC_VERSION)
    assert report["anvil"].endswith("anvil") and report["node"]
    assert report["evm_version"] == "cancun"
