"""Proof cost as the chain grows: one reading's proof at N anchored batches of its asset.

Run by hand: PYTHONPATH=$PWD python bench/proof.py [--batches 1000000] [--readings 1000] [--samples 50]
The store is filled as the relayer and ``sync_leaves`` fill it (the batch with its leaf ranks and tree top,
``add_chain_leaves`` in chunks, as logs arrive); the chain's two answers a proof needs (``batchCount``, ``batchPeaks``) come from the same
leaves computed in Python, so only the store and the hashing are timed. Every proof is checked: the
reading's path reaches its batch root and the batch root's path reaches the chain's peak.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from rwa_sdk.oracle import batch_tree, mmr
from rwa_sdk.oracle.merkle import MerkleTree
from rwa_sdk.oracle.proof import climb_path, reading_proof
from rwa_sdk.oracle.reading import Reading, ReadingDomain, keccak256
from rwa_sdk.oracle.store import SqliteStore

ASSET = bytes.fromhex("ab" * 32)
DOMAIN = ReadingDomain(31337, "0x" + "cd" * 20)


class FakeOracle:
    """The two views ``sync_leaves`` asks the chain for, answered from the leaves (synced: no logs needed)."""

    def __init__(self, count: int, peaks: list[bytes], block: int):
        self.w3 = SimpleNamespace(eth=SimpleNamespace(block_number=block))
        call = lambda value: SimpleNamespace(call=lambda block_identifier=None: value)  # noqa: E731
        self.functions = SimpleNamespace(batchCount=lambda asset: call(count), batchPeaks=lambda asset: call(peaks))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=1_000_000)
    parser.add_argument("--readings", type=int, default=1_000, help="readings in the proven batch")
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--chunk", type=int, default=10_000, help="leaves appended per transaction")
    args = parser.parse_args()
    n = args.batches
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "proof.db", synchronous="NORMAL")
        leaves = [keccak256(i.to_bytes(8, "big")) for i in range(n)]
        # one real batch of readings, anchored as batch index `target`
        target = n - 3 if n > 3 else 0
        readings = [Reading(bytes([1 + i % 200]) + i.to_bytes(19, "big"), ASSET, 1, 100, 101, 1, 1, 0)
                    for i in range(args.readings)]
        digests = [DOMAIN.digest(r) for r in readings]
        store.insert_readings([(r, b"s" * 65, d) for r, d in zip(readings, digests)])
        pending = store.pending_readings(ASSET, 0, 2**40, args.readings)
        batch_digests = [DOMAIN.digest(p.reading) for p in pending]  # as the relayer cuts it
        tree = MerkleTree.from_digests(batch_digests)
        leaves[target] = mmr.leaf(tree.root, 100, 101)  # the batch's span as create_batch below records it
        batch = store.create_batch(ASSET, tree.root, [p.id for p in pending], args.readings, 100, 101, 1,
                                   leaf_ranks=batch_tree.ranks(tree, batch_digests), tree_top=batch_tree.top(tree))
        store.mark_anchored({batch: target}, 1)
        t0 = time.perf_counter()
        for start in range(0, n, args.chunk):
            store.add_chain_leaves(ASSET, start, leaves[start:start + args.chunk], 1)
        fill_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        peaks = mmr.peaks(leaves)
        full_rebuild_s = time.perf_counter() - t0  # what every proof cost before: the whole range, hashed again
        oracle = FakeOracle(n, peaks, 1)
        times = []
        for k in range(args.samples):
            r = readings[(k * 7919) % len(readings)]
            t0 = time.perf_counter()
            proof = reading_proof(store, oracle, r.device, r.seq, domain=DOMAIN)
            times.append(time.perf_counter() - t0)
            climbed = climb_path(digests[(k * 7919) % len(readings)], proof.proof, target, n)
            assert climbed.batch_root == tree.root and climbed.peak in peaks, "proof does not verify"
        store.close()
    ms = sorted(t * 1000 for t in times)
    print(f"batches={n} readings_in_batch={args.readings} fill_s={fill_s:.1f} "
          f"full_range_rebuild_s={full_rebuild_s:.2f}")
    print(f"batches={n} proof_ms_p50={statistics.median(ms):.2f} proof_ms_max={ms[-1]:.2f} "
          f"full_rebuild_ms={full_rebuild_s * 1000:.0f}")


if __name__ == "__main__":
    main()
