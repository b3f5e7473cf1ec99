"""Brownie-style scripts run as plain Python too."""

from __future__ import annotations

import importlib.util

from rwa_sdk.anvil import DEV_PRIVATE_KEYS

from .conftest import ROOT


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_deploy_script_main_deploys_a_working_stablecoin(compiled, session_chain, monkeypatch, tmp_path):
    monkeypatch.setenv("RWA_NETWORK", session_chain.node.url)
    monkeypatch.setenv("RWA_PRIVATE_KEY", DEV_PRIVATE_KEYS[0])
    monkeypatch.chdir(tmp_path)
    snapshot = session_chain.snapshot()
    try:
        deployed = _load("deploy").main()
        coin = session_chain.contract("Stablecoin", deployed["Stablecoin"])
        assert coin.functions.decimals().call() == 6
        assert coin.functions.owner().call() == session_chain.accounts[0].address
    finally:
        session_chain.revert(snapshot)


def test_deploy_script_under_brownie_deploys_to_brownies_network(compiled, session_chain, monkeypatch, tmp_path):
    """`brownie run scripts/deploy.py --network X` deploys on X, not on RWA_NETWORK's node."""
    import sys
    from types import SimpleNamespace

    url = session_chain.node.url
    fake = SimpleNamespace(network=SimpleNamespace(is_connected=lambda: True),
                           web3=SimpleNamespace(provider=SimpleNamespace(endpoint_uri=url)))
    monkeypatch.setitem(sys.modules, "brownie", fake)
    monkeypatch.setenv("RWA_NETWORK", "http://127.0.0.1:9")  # would fail: nothing listens there
    monkeypatch.delenv("RWA_PRIVATE_KEY", raising=False)
    monkeypatch.delenv("RWA_KEYSTORE", raising=False)
    monkeypatch.chdir(tmp_path)
    snapshot = session_chain.snapshot()
    try:
        deployed = _load("deploy").main()
        coin = session_chain.contract("Stablecoin", deployed["Stablecoin"])
        assert coin.functions.owner().call() == session_chain.accounts[0].address  # development account 0
    finally:
        session_chain.revert(snapshot)
    assert list(tmp_path.iterdir()) == []  # nothing left in the working directory
