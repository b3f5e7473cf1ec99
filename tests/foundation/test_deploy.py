from __future__ import annotations

import json

import pytest

from rwa_sdk.deploy import Deployments, deploy, deployed

from .conftest import make_project, PROBE, LIMITS
from rwa_sdk.compiler import compile_project


@pytest.fixture
def project(tmp_path, monkeypatch):
    folder = make_project(tmp_path / "deploy", {"Probe.sol": PROBE, "lib/Limits.sol": LIMITS})
    compile_project(folder)
    monkeypatch.setenv("RWA_PROJECT_ROOT", str(folder))
    return folder


def test_deploy_records_address_tx_block_and_hashes(chain, project):
    result = deploy(chain, "Probe", 500)
    assert not result.skipped and result.gas_used > 0
    # a throw-away node's records live in its own folder, never in the project's deployments/
    assert not (project / "deployments").exists()
    saved = json.loads((chain.records_dir / f"{chain.chain_id}.json").read_text())["Probe"]
    assert saved["address"] == result.contract.address
    assert saved["artifact"] == "contracts/Probe.sol:Probe"
    receipt = chain.w3.eth.get_transaction_receipt(saved["tx_hash"])
    assert receipt["contractAddress"] == saved["address"] and receipt["blockNumber"] == saved["block"]
    assert result.contract.functions.totalSupply().call() == 500


def test_redeploy_with_same_build_and_args_is_skipped(chain, project):
    first = deploy(chain, "Probe", 500)
    blocks = chain.w3.eth.block_number
    again = deploy(chain, "Probe", 500)
    assert again.skipped and again.record == first.record
    assert chain.w3.eth.block_number == blocks  # nothing was sent


def test_force_changed_args_or_new_name_deploy_again(chain, project):
    first = deploy(chain, "Probe", 500)
    forced = deploy(chain, "Probe", 500, force=True)
    other_args = deploy(chain, "Probe", 600)
    named = deploy(chain, "Probe", 600, name="ProbeB")
    addresses = {first.contract.address, forced.contract.address, other_args.contract.address, named.contract.address}
    assert len(addresses) == 4
    assert not any(r.skipped for r in (forced, other_args, named))
    records = Deployments(chain.chain_id, chain.records_dir).load()
    assert records["Probe"].address == other_args.contract.address
    assert deployed(chain, "ProbeB").address == named.contract.address


def test_changed_source_redeploys(chain, project):
    first = deploy(chain, "Probe", 500)
    (project / "contracts/lib/Limits.sol").write_text(LIMITS.replace("1000", "77"))
    compile_project(project)
    second = deploy(chain, "Probe", 500)
    assert not second.skipped and second.contract.address != first.contract.address


def test_record_whose_code_is_gone_redeploys(chain, project):
    snapshot = chain.snapshot()
    first = deploy(chain, "Probe", 500)
    chain.revert(snapshot)  # a fresh chain: the record points at an empty address
    second = deploy(chain, "Probe", 500)
    assert not second.skipped
    assert chain.w3.eth.get_code(second.contract.address)
    assert second.record.tx_hash != first.record.tx_hash or second.record.block >= 1


def test_unknown_deployment_name_is_a_clear_error(chain, project):
    with pytest.raises(LookupError, match="Nothing"):
        deployed(chain, "Nothing")


def test_cli_deploy_records_and_skips_on_rerun(chain, project, monkeypatch):
    from click.testing import CliRunner

    from rwa_sdk import cli
    from rwa_sdk.anvil import DEV_PRIVATE_KEYS

    monkeypatch.setenv("RWA_PRIVATE_KEY", DEV_PRIVATE_KEYS[0])
    url = chain.node.url
    first = CliRunner().invoke(cli.main, ["deploy", "Probe", "777", "--network", url, "--json"])
    assert first.exit_code == 0, first.output
    record = json.loads(first.stdout)
    assert record["skipped"] is False and record["chain_id"] == chain.chain_id
    contract = chain.contract("Probe", record["address"])
    assert contract.functions.totalSupply().call() == 777
    again = CliRunner().invoke(cli.main, ["deploy", "Probe", "777", "--network", url, "--json"])
    assert json.loads(again.stdout)["skipped"] is True
    assert (project / "deployments" / f"{chain.chain_id}.json").is_file()  # a URL: the project's records


def test_cli_deploy_errors_are_one_line(chain, project, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from rwa_sdk import cli

    monkeypatch.delenv("RWA_PRIVATE_KEY", raising=False)
    where = ["--network", chain.node.url, "--dev-accounts", "--deployments", str(tmp_path)]
    cases = {
        ("deploy", "NoSuchContract"): "no artifact",
        ("deploy", "Probe", '"not a number"'): "constructor arguments for Probe",
        ("deploy", "Probe", "1", "2"): "constructor arguments for Probe",
    }
    for args, expected in cases.items():
        result = CliRunner().invoke(cli.main, [*args, *where])
        assert result.exit_code == 1, (args, result.output)
        assert expected in result.stderr and "Traceback" not in result.output, (args, result.output)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    dead = CliRunner().invoke(cli.main, ["deploy", "Probe", "1", "--network", "http://127.0.0.1:9/key/SECRET"],
                              env={"RWA_PRIVATE_KEY": "0x" + "22" * 32})
    assert dead.exit_code == 1 and "SECRET" not in dead.output and "Traceback" not in dead.output
