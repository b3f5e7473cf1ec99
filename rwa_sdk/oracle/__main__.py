"""``python -m rwa_sdk.oracle run|simulate|proof``: the oracle daemon and its tools from a shell."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .daemon import DaemonConfig, proof, run, simulate
from .relayer import ProofNotFound, RelayerConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rwa_sdk.oracle")
    sub = parser.add_subparsers(dest="command", required=True)

    p_run = sub.add_parser("run", help="ingest API + relayer (key from RWA_PRIVATE_KEY or RWA_KEYSTORE)")
    p_run.add_argument("--rpc", required=True)
    p_run.add_argument("--oracle", required=True, help="ReadingOracle address")
    p_run.add_argument("--db", default=".rwa/oracle.db")
    p_run.add_argument("--host", default="127.0.0.1")
    p_run.add_argument("--port", type=int, default=8787)
    p_run.add_argument("--batch-size", type=int, default=1_000)
    p_run.add_argument("--batch-age", type=float, default=30.0, help="seconds before a partial batch is cut")
    p_run.add_argument("--batches-per-tx", type=int, default=8)
    p_run.add_argument("--confirmations", type=int, default=1)
    p_run.add_argument("--stuck-after", type=float, default=60.0)
    p_run.add_argument("--poll", type=float, default=0.5)
    p_run.add_argument("--registry-ttl", type=float, default=30.0)
    p_run.add_argument("--grace", type=float, default=30.0, help="seconds to finish the batch in flight on SIGTERM")
    p_run.add_argument("--log-level", default="INFO")

    p_sim = sub.add_parser("simulate", help="simulated devices posting signed readings")
    p_sim.add_argument("--url", default="http://127.0.0.1:8787")
    p_sim.add_argument("--rpc", required=True)
    p_sim.add_argument("--oracle", required=True)
    p_sim.add_argument("--devices", type=int, default=10)
    p_sim.add_argument("--rate", type=float, default=1.0, help="readings per second, all devices together")
    p_sim.add_argument("--asset", default="0x" + "5e" * 32)
    p_sim.add_argument("--seed", type=int, default=1)
    p_sim.add_argument("--duration", type=float, default=None)
    p_sim.add_argument("--no-register", action="store_true")

    p_proof = sub.add_parser("proof", help="print the verifyReading arguments of a stored reading")
    p_proof.add_argument("device")
    p_proof.add_argument("seq", type=int)
    p_proof.add_argument("--db", default=".rwa/oracle.db")

    args = parser.parse_args(argv)
    if args.command == "run":
        logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        relayer = RelayerConfig(max_batch_size=args.batch_size, max_batch_age_s=args.batch_age,
                                max_batches_per_tx=args.batches_per_tx, confirmations=args.confirmations,
                                stuck_after_s=args.stuck_after, poll_interval_s=args.poll)
        run(DaemonConfig(args.rpc, args.oracle, args.db, args.host, args.port, relayer, args.registry_ttl,
                         shutdown_grace_s=args.grace))
        return 0
    if args.command == "simulate":
        logging.basicConfig(level="INFO")
        stats = simulate(args.url, args.rpc, args.oracle, devices=args.devices, rate=args.rate,
                         asset_id=bytes.fromhex(args.asset.removeprefix("0x")), seed=args.seed,
                         duration_s=args.duration, register=not args.no_register)
        print(json.dumps({"sent": stats.sent, "accepted": stats.accepted, "duplicate": stats.duplicate,
                          "rejected": stats.rejected, "reasons": stats.reasons}))
        return 0
    try:
        print(json.dumps(proof(args.db, args.device, args.seq).to_json(), indent=2))
    except ProofNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
