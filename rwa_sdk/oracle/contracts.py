"""Deploy and address the oracle contracts (DeviceRegistry + ReadingOracle) through a Chain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3.contract import Contract

from .. import spec
from ..chain import Chain
from .reading import DeviceSigner, ReadingDomain

# DeviceRegistry.DeviceType, in the order the contract's enum declares them (the spec lists the same names).
DEVICE_TYPES = {name: index for index, name in enumerate(spec.DEVICE_TYPES)}
DEFAULT_EPOCH_S = 86_400
DEFAULT_SKEW_S = 300


@dataclass(frozen=True)
class OracleContracts:
    """A deployed registry + oracle pair on one chain."""

    registry: Contract
    oracle: Contract
    chain_id: int

    @property
    def domain(self) -> ReadingDomain:
        return ReadingDomain(self.chain_id, self.oracle.address)

    @classmethod
    def at(cls, chain: Chain, registry: str, oracle: str) -> OracleContracts:
        return cls(chain.contract("DeviceRegistry", registry), chain.contract("ReadingOracle", oracle), chain.chain_id)


def deploy_oracle(
    chain: Chain,
    admin: Any = None,
    *,
    epoch_length_s: int = DEFAULT_EPOCH_S,
    max_clock_skew_s: int = DEFAULT_SKEW_S,
) -> OracleContracts:
    """Deploy a DeviceRegistry and a ReadingOracle administered by ``admin`` (default: deployer)."""
    account = chain.account(admin)
    registry, _ = chain.deploy("DeviceRegistry", account.address, sender=account)
    oracle, _ = chain.deploy(
        "ReadingOracle", account.address, registry.address, epoch_length_s, max_clock_skew_s, sender=account
    )
    return OracleContracts(registry, oracle, chain.chain_id)


def grant_relayer(chain: Chain, contracts: OracleContracts, relayer: str, admin: Any = None) -> None:
    role = contracts.oracle.functions.RELAYER_ROLE().call()
    chain.transact(contracts.oracle.functions.grantRole(role, relayer), sender=admin)


def register_device(
    chain: Chain,
    contracts: OracleContracts,
    device: DeviceSigner,
    asset_id: bytes,
    device_type: str,
    capacity_w: int,
    metadata_hash: bytes = bytes(32),
    operator: Any = None,
    activate: bool = True,
) -> None:
    """Register (and by default activate) ``device`` for ``asset_id``; ``operator`` signs."""
    fns = contracts.registry.functions
    chain.transact(
        fns.registerDevice(device.checksum, asset_id, DEVICE_TYPES[device_type], capacity_w, metadata_hash),
        sender=operator,
    )
    if activate:
        chain.transact(fns.activateDevice(device.checksum), sender=operator)


def enable_direct_reporting(chain: Chain, contracts: OracleContracts, device: str, operator: Any = None) -> None:
    """Switch ``device`` (address) to direct reporting for good: ``submitReading`` counts its readings whose
    periods start from now on, and batches must no longer carry them. ``operator`` is its asset's operator."""
    chain.transact(contracts.oracle.functions.enableDirectReporting(device), sender=operator)
