"""Oracle fixtures: one registry + oracle per session, devices registered for two assets, and reading
stores on both backends (an SQLite file; a fresh database on a PostgreSQL server started for the session)."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import pytest

from rwa_sdk.chain import Chain
from rwa_sdk.oracle.contracts import (
    OracleContracts,
    deploy_oracle,
    grant_relayer,
    register_device,
)
from rwa_sdk.oracle.reading import DeviceSigner, Reading, ReadingDomain

ASSET_A = bytes.fromhex("aa" * 32)
ASSET_B = bytes.fromhex("bb" * 32)
CAPACITY_W = 10_000


@dataclass
class OracleWorld:
    contracts: OracleContracts
    domain: ReadingDomain
    operator_a: object
    operator_b: object
    relayer: object
    outsider: object
    devices_a: list
    devices_b: list

    @property
    def oracle(self):
        return self.contracts.oracle

    @property
    def registry(self):
        return self.contracts.registry


@pytest.fixture(scope="session")
def oracle_world(session_chain: Chain) -> OracleWorld:
    chain = session_chain
    admin, op_a, op_b, relayer, outsider = chain.accounts[:5]
    contracts = deploy_oracle(chain, admin)
    grant_relayer(chain, contracts, relayer.address, admin)
    for asset, op in ((ASSET_A, op_a), (ASSET_B, op_b)):
        chain.transact(contracts.registry.functions.setAssetOperator(asset, op.address), sender=admin)
    devices_a = [DeviceSigner.from_secret(bytes([1] * 31 + [i + 1])) for i in range(3)]
    devices_b = [DeviceSigner.from_secret(bytes([2] * 31 + [i + 1])) for i in range(2)]
    for dev in devices_a:
        register_device(chain, contracts, dev, ASSET_A, "pv-inverter", CAPACITY_W, operator=op_a)
    for dev in devices_b:
        register_device(chain, contracts, dev, ASSET_B, "battery", CAPACITY_W, operator=op_b)
    chain.mine(3_600)  # readings start after activation
    return OracleWorld(contracts, contracts.domain, op_a, op_b, relayer, outsider, devices_a, devices_b)


def make_reading(device: DeviceSigner, asset: bytes, seq: int, end: int, energy_wh: int = 500, length: int = 300) -> Reading:
    return Reading(device.address, asset, seq, end - length, end, energy_wh, 1_000_000 + seq * energy_wh, 0)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A PostgreSQL server of the session's own (pgserver: binaries from PyPI, a Unix socket, no port)."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(tmp_path_factory.mktemp("run")))  # where pgserver keeps its locks
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    yield server
    server.cleanup()


@pytest.fixture(params=["sqlite", "postgres"])
def store_location(request, tmp_path) -> str:
    """Where a fresh, empty reading store lives: an SQLite file or a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "oracle.db")
    server = request.getfixturevalue("postgres_server")
    name = "t" + uuid.uuid4().hex[:16]
    server.psql(f"CREATE DATABASE {name};")
    return server.get_uri(name)
