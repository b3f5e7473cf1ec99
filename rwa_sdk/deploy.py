"""Deploy contracts by artifact name and remember them in ``deployments/<chainId>.json``.

A record holds the address, transaction, block, the artifact's hash, a hash of the constructor
arguments and the hash of the code found on chain. Deploying again is a no-op while all of them
still match (the same build, the same arguments, the same code still at the address), so scripts
can be re-run safely; ``force=True`` deploys anew.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak
from web3.contract import Contract

from . import toolchain
from .artifacts import Artifact, load_artifact
from .chain import Chain


@dataclass(frozen=True)
class DeploymentRecord:
    name: str
    artifact: str
    address: str
    tx_hash: str
    block: int
    artifact_hash: str
    args_hash: str
    code_hash: str


@dataclass(frozen=True)
class Deployed:
    """The outcome of :func:`deploy`: the contract and whether it was already there."""

    contract: Contract
    record: DeploymentRecord
    skipped: bool
    gas_used: int = 0


class Deployments:
    """The deployments file of one chain; written atomically after every deployment."""

    def __init__(self, chain_id: int, folder: Path | None = None):
        """``folder`` defaults to the project's deployments/ (a throw-away chain passes its ``records_dir``)."""
        self.path = (folder or toolchain.project_root() / "deployments") / f"{chain_id}.json"

    def load(self) -> dict[str, DeploymentRecord]:
        if not self.path.is_file():
            return {}
        raw = json.loads(self.path.read_text())
        return {name: DeploymentRecord(**record) for name, record in raw.items()}

    def get(self, name: str) -> DeploymentRecord | None:
        return self.load().get(name)

    def save(self, record: DeploymentRecord) -> None:
        records = self.load()
        records[record.name] = record
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({k: asdict(v) for k, v in sorted(records.items())}, indent=2) + "\n")
        tmp.replace(self.path)


def constructor_args_hash(artifact: Artifact, args: tuple) -> str:
    """keccak of the ABI-encoded constructor arguments (same args, same hash)."""
    constructor = next((e for e in artifact.abi if e.get("type") == "constructor"), None)
    types = [_abi_type(i) for i in constructor["inputs"]] if constructor else []
    return "0x" + keccak(abi_encode(types, list(args))).hex()


def _abi_type(param: dict) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return param["type"]


def code_hash(chain: Chain, address: str) -> str:
    return "0x" + keccak(bytes(chain.w3.eth.get_code(address))).hex()


def deploy(
    chain: Chain,
    artifact_name: str,
    *args: Any,
    name: str | None = None,
    force: bool = False,
    sender: Any = None,
    deployments: Deployments | None = None,
) -> Deployed:
    """Deploy ``artifact_name`` with constructor ``args`` under record ``name`` (default: the
    artifact's name), unless an identical deployment is already on chain."""
    artifact = load_artifact(artifact_name)
    name = name or artifact.name
    deployments = deployments or Deployments(chain.chain_id, chain.records_dir)
    args_hash = constructor_args_hash(artifact, args)
    existing = deployments.get(name)
    if (
        not force
        and existing is not None
        and existing.artifact_hash == artifact.hash
        and existing.args_hash == args_hash
        and existing.code_hash == code_hash(chain, existing.address)
    ):
        return Deployed(chain.contract(artifact, existing.address), existing, skipped=True)

    contract, sent = chain.deploy(artifact, *args, sender=sender)
    record = DeploymentRecord(
        name=name,
        artifact=artifact.fully_qualified_name,
        address=contract.address,
        tx_hash=sent.tx_hash,
        block=sent.receipt["blockNumber"],
        artifact_hash=artifact.hash,
        args_hash=args_hash,
        code_hash=code_hash(chain, contract.address),
    )
    deployments.save(record)
    return Deployed(contract, record, skipped=False, gas_used=sent.gas_used)


def deployed(chain: Chain, name: str, deployments: Deployments | None = None) -> Contract:
    """A contract recorded under ``name`` on this chain."""
    deployments = deployments or Deployments(chain.chain_id, chain.records_dir)
    record = deployments.get(name)
    if record is None:
        raise LookupError(f"nothing named {name!r} in {deployments.path}")
    return chain.contract(load_artifact(record.artifact), record.address)
