"""A registry + oracle of their own for the on-chain attack tests, and a relayer that anchors whatever it
is told to (duplicates included), so that every dishonest batch can be built and disputed."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from rwa_sdk.chain import Chain
from rwa_sdk.oracle import mmr
from rwa_sdk.oracle.contracts import OracleContracts, deploy_oracle, enable_direct_reporting, grant_relayer, register_device
from rwa_sdk.oracle.dispute import Inclusion, double_count_call, inclusion_call
from rwa_sdk.oracle.merkle import hash_pair, leaf_of
from rwa_sdk.oracle.reading import DeviceSigner, Reading

ASSET = bytes.fromhex("a1" * 32)
OTHER_ASSET = bytes.fromhex("b2" * 32)
CAPACITY_W = 27  # 27 Wh per hour at most
DAY = 86_400


class RawTree:
    """A tree laid out like StandardMerkleTree's, over leaves as given: no sorting, no deduplication."""

    def __init__(self, leaves: list[bytes]):
        size = 2 * len(leaves) - 1
        self.nodes = [b""] * size
        for i, leaf in enumerate(leaves):
            self.nodes[size - 1 - i] = leaf
        for i in range(size - 1 - len(leaves), -1, -1):
            self.nodes[i] = hash_pair(self.nodes[2 * i + 1], self.nodes[2 * i + 2])
        self.size = size

    @property
    def root(self) -> bytes:
        return self.nodes[0]

    def path(self, position: int) -> tuple[bytes, ...]:
        i, out = self.size - 1 - position, []
        while i > 0:
            out.append(self.nodes[i + 1 if i % 2 else i - 1])
            i = (i - 1) // 2
        return tuple(out)


@dataclass
class World:
    chain: Chain
    contracts: OracleContracts
    admin: object
    operator: object
    relayer: object
    outsiders: list
    devices: list
    roots: dict = field(default_factory=dict)

    @property
    def oracle(self):
        return self.contracts.oracle

    def reading(self, device: DeviceSigner, seq: int, start: int, length: int = 3_600, energy_wh: int = 20,
                asset: bytes = ASSET) -> Reading:
        return Reading(device.address, asset, seq, start, start + length, energy_wh, 1_000 * seq, 0)

    def sign(self, device: DeviceSigner, reading: Reading) -> bytes:
        return self.contracts.domain.sign(reading, device.key)

    def anchor(self, readings: list[Reading], asset: bytes = ASSET) -> list[Inclusion]:
        """Anchor ``readings`` as one batch exactly as given (the relayer's word for count and energy)."""
        start, end = min(r.period_start for r in readings), max(r.period_end for r in readings)
        return self.anchor_as(readings, start, end, asset)

    def anchor_as(self, readings: list[Reading], from_time: int, to_time: int, asset: bytes = ASSET) -> list[Inclusion]:
        """Anchor ``readings`` as one batch under the time span the relayer states (true or not)."""
        tree = RawTree([leaf_of(self.contracts.domain.digest(r)) for r in readings])
        fn = self.oracle.functions.anchorBatch(
            asset, tree.root, len(readings), sum(r.energy_wh for r in readings), from_time, to_time)
        index = self.chain.transact(fn, sender=self.relayer).events(self.oracle, "BatchAnchored")[0]["batchIndex"]
        span = (mmr.span_word(from_time, to_time),)
        return [Inclusion(r, asset, index, tree.path(i) + span) for i, r in enumerate(readings)]

    def resume(self) -> None:
        self.chain.transact(self.oracle.functions.resumeRelaying(), sender=self.admin)

    def submit(self, device: DeviceSigner, reading: Reading, sender=None):
        fn = self.oracle.functions.submitReading(reading.as_tuple(), self.sign(device, reading))
        return self.chain.transact(fn, sender=sender or self.outsiders[0])

    def direct(self, device: DeviceSigner) -> None:
        enable_direct_reporting(self.chain, self.contracts, device.checksum, self.operator)

    def dispute_pair(self, a: Inclusion, b: Inclusion, sender=None):
        return self.chain.transact(double_count_call(self.oracle, a, b), sender=sender or self.outsiders[-1])

    def dispute_one(self, x: Inclusion, sender=None):
        return self.chain.transact(inclusion_call(self.oracle, x), sender=sender or self.outsiders[-1])

    def energy(self, asset: bytes = ASSET) -> int:
        """All energy counted for ``asset`` in the days around now."""
        today = self.chain.timestamp() // DAY
        return self.oracle.functions.periodEnergyWh(asset, (today - 40) * DAY, (today + 2) * DAY).call()

    def day_energy(self, day: int, asset: bytes = ASSET) -> int:
        """The energy counted for ``asset`` in day ``day`` (a period: the oracle's epochs are days here)."""
        return self.oracle.functions.periodEnergyWh(asset, day * DAY, (day + 1) * DAY).call()

    def proof_json(self, x: Inclusion) -> dict:
        """What ``rwa oracle proof --json`` prints for an inclusion (its mountain path at today's count)."""
        count = self.oracle.functions.batchCount(x.asset_id).call()
        from rwa_sdk.oracle.dispute import mountain_leaves
        path = list(x.tree_path) + mmr.proof(mountain_leaves(self.oracle, x.asset_id), x.batch_index)
        return {"reading": x.reading.to_json(), "signature": "0x", "proof": ["0x" + p.hex() for p in path],
                "batchIndex": x.batch_index, "batchCount": count}


@pytest.fixture(scope="module")
def world(session_chain: Chain) -> World:
    chain = session_chain
    admin, operator, relayer = chain.accounts[:3]
    contracts = deploy_oracle(chain, admin)
    grant_relayer(chain, contracts, relayer.address, admin)
    for asset in (ASSET, OTHER_ASSET):
        chain.transact(contracts.registry.functions.setAssetOperator(asset, operator.address), sender=admin)
    devices = [DeviceSigner.from_secret(bytes([0x5C] * 31 + [i + 1])) for i in range(4)]
    for dev in devices:
        register_device(chain, contracts, dev, ASSET, "pv-inverter", CAPACITY_W, operator=operator)
    chain.mine(2 * DAY)
    return World(chain, contracts, admin, operator, relayer, list(chain.accounts[3:8]), devices)
