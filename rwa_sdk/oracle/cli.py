"""``rwa oracle run|simulate|proof``: the device oracle daemon and its tools."""

from __future__ import annotations

import json
import logging
import sys

import click

from .daemon import DaemonConfig, proof, run, simulate
from .proof import ProofNotFound
from ..chain import ChainError
from .relayer import RelayerConfig, RelayerError
from .store import StoreError


@click.group("oracle")
def oracle_cli() -> None:
    """Device readings: ingest + relayer daemon, simulated devices, inclusion proofs."""


@oracle_cli.command("run")
@click.option("--rpc", required=True, envvar="RWA_RPC_URL", help="RPC URL of the ReadingOracle's chain [env RWA_RPC_URL].")
@click.option("--oracle", "oracle_address", required=True, envvar="RWA_ORACLE", help="ReadingOracle address [env RWA_ORACLE].")
@click.option("--db", default=".rwa/oracle.db", show_default=True, envvar="RWA_ORACLE_DB",
              help="Store of readings and batches: an SQLite file or a postgresql:// URL [env RWA_ORACLE_DB].")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8787, show_default=True, type=int)
@click.option("--batch-size", default=1_000, show_default=True, type=int)
@click.option("--batch-age", default=30.0, show_default=True, type=float, help="Seconds before a partial batch is cut.")
@click.option("--batches-per-tx", default=8, show_default=True, type=int)
@click.option("--confirmations", default=1, show_default=True, type=int)
@click.option("--reorg-window", default=64, show_default=True, type=int,
              help="Blocks during which an anchor is checked again (a reorg may undo it).")
@click.option("--stuck-after", default=60.0, show_default=True, type=float, help="Seconds before a pending tx is replaced.")
@click.option("--poll", default=0.5, show_default=True, type=float, help="Seconds between relayer steps.")
@click.option("--registry-ttl", default=30.0, show_default=True, type=float,
              help="Seconds a device lookup is cached at most (registry events drop changed devices sooner).")
@click.option("--grace", default=30.0, show_default=True, type=float, help="Seconds to finish the batch in flight on SIGTERM.")
@click.option("--log-level", default="INFO", show_default=True)
def run_cmd(rpc: str, oracle_address: str, db: str, host: str, port: int, batch_size: int, batch_age: float,
            batches_per_tx: int, confirmations: int, reorg_window: int, stuck_after: float, poll: float, registry_ttl: float,
            grace: float, log_level: str) -> None:
    """Serve POST /v1/readings and anchor verified readings (key from RWA_PRIVATE_KEY or RWA_KEYSTORE)."""
    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    relayer = RelayerConfig(max_batch_size=batch_size, max_batch_age_s=batch_age,
                            max_batches_per_tx=batches_per_tx, confirmations=confirmations,
                            reorg_window_blocks=reorg_window,
                            stuck_after_s=stuck_after, poll_interval_s=poll)
    try:
        run(DaemonConfig(rpc, oracle_address, db, host, port, relayer, registry_ttl, shutdown_grace_s=grace))
    except StoreError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


@oracle_cli.command("relay")
@click.option("--rpc", required=True, envvar="RWA_RPC_URL", help="RPC URL of the ReadingOracle's chain [env RWA_RPC_URL].")
@click.option("--oracle", "oracle_address", required=True, envvar="RWA_ORACLE", help="ReadingOracle address [env RWA_ORACLE].")
@click.option("--db", default=".rwa/oracle.db", show_default=True, envvar="RWA_ORACLE_DB",
              help="The store ingest workers write to: an SQLite file or a postgresql:// URL [env RWA_ORACLE_DB].")
@click.option("--batch-size", default=1_000, show_default=True, type=int)
@click.option("--batch-age", default=30.0, show_default=True, type=float, help="Seconds before a partial batch is cut.")
@click.option("--batches-per-tx", default=8, show_default=True, type=int)
@click.option("--confirmations", default=1, show_default=True, type=int)
@click.option("--stuck-after", default=60.0, show_default=True, type=float, help="Seconds before a pending tx is replaced.")
@click.option("--poll", default=0.5, show_default=True, type=float, help="Seconds between relayer steps.")
@click.option("--log-level", default="INFO", show_default=True)
def relay_cmd(rpc: str, oracle_address: str, db: str, batch_size: int, batch_age: float, batches_per_tx: int,
              confirmations: int, stuck_after: float, poll: float, log_level: str) -> None:
    """Only the relayer (no ingest): leads if no other relayer of the store does, else stands by and takes
    over when the leader dies (key from RWA_PRIVATE_KEY)."""
    from .relay import relay

    logging.basicConfig(level=log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = RelayerConfig(max_batch_size=batch_size, max_batch_age_s=batch_age, max_batches_per_tx=batches_per_tx,
                           confirmations=confirmations, stuck_after_s=stuck_after, poll_interval_s=poll)
    try:
        relay(rpc, oracle_address, db, config)
    except (StoreError, RelayerError, ChainError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


@oracle_cli.command("simulate")
@click.option("--url", default="http://127.0.0.1:8787", show_default=True, help="Ingest API of `rwa oracle run`.")
@click.option("--rpc", required=True, envvar="RWA_RPC_URL", help="[env RWA_RPC_URL]")
@click.option("--oracle", "oracle_address", required=True, envvar="RWA_ORACLE", help="[env RWA_ORACLE]")
@click.option("--devices", default=10, show_default=True, type=int)
@click.option("--rate", default=1.0, show_default=True, type=float, help="Readings per second, all devices together.")
@click.option("--asset", default="0x" + "5e" * 32, show_default=True, help="Asset id (bytes32 hex).")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--duration", default=None, type=float, help="Seconds to run (default: until Ctrl-C).")
@click.option("--no-register", is_flag=True, help="Devices are already registered.")
def simulate_cmd(url: str, rpc: str, oracle_address: str, devices: int, rate: float, asset: str, seed: int,
                 duration: float | None, no_register: bool) -> None:
    """Simulated PV inverters that sign readings and post them to the ingest API."""
    stats = simulate(url, rpc, oracle_address, devices=devices, rate=rate,
                     asset_id=bytes.fromhex(asset.removeprefix("0x")), seed=seed, duration_s=duration,
                     register=not no_register)
    click.echo(json.dumps({"sent": stats.sent, "accepted": stats.accepted, "duplicate": stats.duplicate,
                           "rejected": stats.rejected, "reasons": stats.reasons}))


@oracle_cli.command("proof")
@click.argument("device")
@click.argument("seq", type=int)
@click.option("--db", default=".rwa/oracle.db", show_default=True, envvar="RWA_ORACLE_DB",
              help="The daemon's store: an SQLite file or a postgresql:// URL [env RWA_ORACLE_DB].")
@click.option("--rpc", required=True, envvar="RWA_RPC_URL", help="RPC URL of the ReadingOracle's chain [env RWA_RPC_URL].")
@click.option("--oracle", "oracle_address", default=None, envvar="RWA_ORACLE",
              help="ReadingOracle address [env RWA_ORACLE; default: the one the store anchors to].")
def proof_cmd(device: str, seq: int, db: str, rpc: str, oracle_address: str | None) -> None:
    """Print the verifyReading(reading, signature, proof, batchIndex) arguments of a stored reading.

    The proof holds for the asset's batch count it prints; once later batches merge the reading's
    mountain, print it again."""
    try:
        click.echo(json.dumps(proof(db, device, seq, rpc, oracle_address).to_json(), indent=2))
    except (ProofNotFound, StoreError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
