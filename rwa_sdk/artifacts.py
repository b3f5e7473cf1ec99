"""Read the Hardhat-format artifacts that :mod:`rwa_sdk.compiler` writes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from . import toolchain


class ArtifactNotFound(LookupError):
    """No artifact (or more than one) answers to the name asked for."""


@dataclass(frozen=True)
class Artifact:
    """A compiled contract: what deploying and calling it needs."""

    name: str
    source: str
    abi: list = field(repr=False)
    bytecode: str = field(repr=False)
    deployed_bytecode: str = field(repr=False)
    link_references: dict = field(repr=False, default_factory=dict)

    @property
    def fully_qualified_name(self) -> str:
        return f"{self.source}:{self.name}"

    @property
    def hash(self) -> str:
        """Identifies this exact build (creation code and ABI) in deployment records."""
        payload = json.dumps([self.bytecode, self.abi], sort_keys=True).encode()
        return "0x" + hashlib.sha256(payload).hexdigest()

    @classmethod
    def from_json(cls, data: dict) -> Artifact:
        return cls(
            name=data["contractName"],
            source=data["sourceName"],
            abi=data["abi"],
            bytecode=data["bytecode"],
            deployed_bytecode=data["deployedBytecode"],
            link_references=data.get("linkReferences", {}),
        )


def artifact_paths(root: Path | None = None) -> list[Path]:
    folder = (root or toolchain.project_root()) / "artifacts" / "contracts"
    return sorted(folder.rglob("*.json")) if folder.is_dir() else []


def load_artifact(name: str, root: Path | None = None) -> Artifact:
    """Load by contract name (``Stablecoin``) or fully qualified name (``contracts/x.sol:Name``)."""
    root = root or toolchain.project_root()
    if ":" in name:
        source, contract = name.rsplit(":", 1)
        path = root / "artifacts" / source / f"{contract}.json"
        if not path.is_file():
            raise ArtifactNotFound(f"no artifact {name!r} in {root / 'artifacts'}: run `rwa compile`")
        return Artifact.from_json(json.loads(path.read_text()))
    matches = [p for p in artifact_paths(root) if p.stem == name]
    if not matches:
        raise ArtifactNotFound(f"no artifact named {name!r} in {root / 'artifacts'}: run `rwa compile`")
    if len(matches) > 1:
        options = ", ".join(f"{p.parent.relative_to(root / 'artifacts').as_posix()}:{name}" for p in matches)
        raise ArtifactNotFound(f"{name!r} is ambiguous; use one of: {options}")
    return Artifact.from_json(json.loads(matches[0].read_text()))


def all_abis(root: Path | None = None) -> list[list]:
    """Every ABI in the project's artifacts (used to decode errors of any contract)."""
    return [json.loads(p.read_text())["abi"] for p in artifact_paths(root)]
