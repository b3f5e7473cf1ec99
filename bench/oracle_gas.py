"""Gas per reading: one by one through submitReading vs anchored in Merkle batches.

Run by hand: PYTHONPATH=$PWD python bench/oracle_gas.py [--single N] [--batches N]
The single readings come from devices switched to direct reporting (the only ones submitReading counts);
`dispute_gas` is what taking one reading of a 1,000-reading batch anchored twice off the totals costs.
`gas_per_reading_batched` is the mean over every one of N consecutive 1,000-reading anchors (the cost
varies with the batch count, see below); `_max` is the dearest of them.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from rwa_sdk.chain import connect
from rwa_sdk.compiler import compile_project
from rwa_sdk.oracle import mmr
from rwa_sdk.oracle.contracts import deploy_oracle, enable_direct_reporting, grant_relayer, register_device
from rwa_sdk.oracle.dispute import Inclusion, double_count_call
from rwa_sdk.oracle.merkle import MerkleTree
from rwa_sdk.oracle.reading import DeviceSigner, Reading

ASSET = bytes.fromhex("ab" * 32)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--single", type=int, default=50, help="readings submitted one by one")
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--batches", type=int, default=300, help="consecutive 1,000-reading batches measured")
    args = parser.parse_args()
    compile_project(Path(__file__).resolve().parent.parent)
    with connect("anvil") as chain:
        admin, operator, relayer, submitter = chain.accounts[:4]
        contracts = deploy_oracle(chain, admin)
        grant_relayer(chain, contracts, relayer.address, admin)
        chain.transact(contracts.registry.functions.setAssetOperator(ASSET, operator.address), sender=admin)
        devices = [DeviceSigner.from_secret(i.to_bytes(32, "big")) for i in range(1, args.devices + 1)]
        for dev in devices:
            register_device(chain, contracts, dev, ASSET, "pv-inverter", 10_000, operator=operator)
        for dev in devices[:20]:
            enable_direct_reporting(chain, contracts, dev.checksum, operator)
        chain.mine(86_400)
        t0 = chain.timestamp() - 80_000
        domain = contracts.domain

        def reading(i: int, pool: int = len(devices)) -> tuple[Reading, DeviceSigner]:
            dev = devices[i % pool]
            seq = 1 + i // pool
            end = t0 + 5 * seq
            return Reading(dev.address, ASSET, seq, end - 5, end, 3 + i % 10, 1_000_000 + 13 * seq, 0), dev

        single = []
        for i in range(args.single):  # from 20 devices: 20 first readings, then updates of their slots
            r, dev = reading(i, pool=20)
            sent = chain.transact(contracts.oracle.functions.submitReading(r.as_tuple(), domain.sign(r, dev.key)), sender=submitter)
            single.append(sent.gas_used)
        per_single, steady = statistics.mean(single), statistics.mean(single[20:])
        print(f"submitReading: {args.single} readings, {per_single:.0f} gas each; {steady:.0f} after each device's first")

        def batch(size: int) -> tuple:
            nonlocal offset
            readings = [reading(offset + i)[0] for i in range(size)]
            offset += size
            tree = MerkleTree.from_digests([domain.digest(r) for r in readings])
            return (ASSET, tree.root, size, sum(r.energy_wh for r in readings),
                    min(r.period_start for r in readings), max(r.period_end for r in readings))

        def anchor(header: tuple) -> int:
            return chain.transact(contracts.oracle.functions.anchorBatch(*header), sender=relayer).gas_used

        offset = 100_000
        print(f"anchorBatch: first batch of the asset and period, {anchor(batch(1))} gas")
        # An anchor appends the root to the asset's mountain range: it rewrites one peak slot and reads one
        # per trailing 1-bit of the batch count, and writes a new slot only when the range reaches a new
        # height (at 2^k batches). So measure a long run of 1,000-reading batches, every one of them.
        gas = [anchor(batch(1_000)) for _ in range(args.batches)]
        mean, median = statistics.mean(gas), statistics.median(gas)
        print(f"anchorBatch: {args.batches} consecutive batches of 1000 readings (indexes 1..{args.batches}): "
              f"mean {mean:.0f}, median {median:.0f}, min {min(gas)}, max {max(gas)} gas")
        ten_thousand = anchor(batch(10_000))
        print(f"anchorBatch: 10000 readings, {ten_thousand} gas, {ten_thousand / 10_000:.2f} gas/reading")
        per_tx = 10
        headers = [batch(1_000) for _ in range(per_tx)]
        sent = chain.transact(contracts.oracle.functions.anchorBatches(headers), sender=relayer)
        multi = sent.gas_used / (per_tx * 1_000)
        print(f"anchorBatches: {per_tx} x 1000 readings, {sent.gas_used} gas, {multi:.2f} gas/reading")
        readings = [reading(offset + i)[0] for i in range(1_000)]
        tree = MerkleTree.from_digests([domain.digest(r) for r in readings])
        header = (ASSET, tree.root, 1_000, sum(r.energy_wh for r in readings),
                  min(r.period_start for r in readings), max(r.period_end for r in readings))
        anchor(header)
        count = contracts.oracle.functions.batchCount(ASSET).call()
        anchor(header)  # the same batch again: disputable
        path = tuple(tree.proof(domain.digest(readings[7]))) + (mmr.span_word(*header[4:]),)
        a, b = (Inclusion(readings[7], ASSET, index, path) for index in (count - 1, count))
        dispute_gas = chain.transact(double_count_call(contracts.oracle, a, b), sender=submitter).gas_used
        print(f"disputeDoubleCount: one reading of a 1000-reading batch anchored twice, {dispute_gas} gas")
        print(
            f"gas_per_reading_single={per_single:.0f} gas_per_reading_single_steady={steady:.0f} "
            f"gas_per_reading_batched={mean / 1_000:.2f} "
            f"gas_per_reading_batched_max={max(gas) / 1_000:.2f} "
            f"gas_per_reading_batched_10000={ten_thousand / 10_000:.2f} "
            f"gas_per_reading_batched_multi={multi:.2f} dispute_gas={dispute_gas}"
        )


if __name__ == "__main__":
    main()
