"""Gas per reading: one by one through submitReading vs anchored in Merkle batches.

Run by hand: PYTHONPATH=$PWD python bench/oracle_gas.py [--single N]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rwa_sdk.chain import connect
from rwa_sdk.compiler import compile_project
from rwa_sdk.oracle.contracts import deploy_oracle, grant_relayer, register_device
from rwa_sdk.oracle.merkle import MerkleTree
from rwa_sdk.oracle.reading import DeviceSigner, Reading

ASSET = bytes.fromhex("ab" * 32)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--single", type=int, default=50, help="readings submitted one by one")
    parser.add_argument("--devices", type=int, default=20)
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
        chain.mine(86_400)
        t0 = chain.timestamp() - 80_000
        domain = contracts.domain

        def reading(i: int) -> tuple[Reading, DeviceSigner]:
            dev = devices[i % len(devices)]
            seq = 1 + i // len(devices)
            end = t0 + 5 * seq
            return Reading(dev.address, ASSET, seq, end - 5, end, 3 + i % 10, 1_000_000 + 13 * seq, 0), dev

        single_gas = 0
        for i in range(args.single):
            r, dev = reading(i)
            sent = chain.transact(contracts.oracle.functions.submitReading(r.as_tuple(), domain.sign(r, dev.key)), sender=submitter)
            single_gas += sent.gas_used
        per_single = single_gas / args.single
        print(f"submitReading: {args.single} readings, {per_single:.0f} gas each")

        results = {}
        offset = 100_000
        for size in (1, 1_000, 10_000):  # the first opens the period's totals slot (one extra 20k SSTORE)
            readings = [reading(offset + i)[0] for i in range(size)]
            offset += size
            tree = MerkleTree.from_digests([domain.digest(r) for r in readings])
            fn = contracts.oracle.functions.anchorBatch(
                ASSET, tree.root, size, sum(r.energy_wh for r in readings),
                min(r.period_start for r in readings), max(r.period_end for r in readings),
            )
            sent = chain.transact(fn, sender=relayer)
            results[size] = sent.gas_used / size
            if size == 1:
                print(f"anchorBatch: first batch of the period, {sent.gas_used} gas")
                continue
            print(f"anchorBatch: {size} readings, {sent.gas_used} gas, {results[size]:.2f} gas/reading")
        per_tx = 10
        headers = []
        for _ in range(per_tx):
            readings = [reading(offset + i)[0] for i in range(1_000)]
            offset += 1_000
            tree = MerkleTree.from_digests([domain.digest(r) for r in readings])
            headers.append((ASSET, tree.root, 1_000, sum(r.energy_wh for r in readings),
                            min(r.period_start for r in readings), max(r.period_end for r in readings)))
        sent = chain.transact(contracts.oracle.functions.anchorBatches(headers), sender=relayer)
        multi = sent.gas_used / (per_tx * 1_000)
        print(f"anchorBatches: {per_tx} x 1000 readings, {sent.gas_used} gas, {multi:.2f} gas/reading")
        print(
            f"gas_per_reading_single={per_single:.0f} gas_per_reading_batched={results[1_000]:.2f} "
            f"gas_per_reading_batched_10000={results[10_000]:.2f} "
            f"gas_per_reading_batched_multi={multi:.2f}"
        )


if __name__ == "__main__":
    main()
