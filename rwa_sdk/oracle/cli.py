"""``rwa oracle run|simulate|proof|dispute``: the device oracle daemon and its tools."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

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
    except (StoreError, RelayerError, ChainError) as error:
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


def resolve_asset(value: str, rpc: str | None = None) -> bytes:
    """An asset id from ``0x`` + 64 hex digits, or from the symbol of an asset recorded on the chain at ``rpc``."""
    body = value[2:] if value[:2] in ("0x", "0X") else None
    if body is not None:
        try:
            raw = bytes.fromhex(body)
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise click.BadParameter(f"{value!r} is neither a 32-byte asset id (0x + 64 hex digits) nor a symbol")
        return raw
    if rpc is None:
        raise click.BadParameter(f"the asset symbol {value!r} needs --rpc to be looked up")
    from ..asset import Asset
    from ..chain import connect

    chain = connect(rpc)
    try:
        records = Asset.list(chain)
    finally:
        chain.close()
    if value not in records:
        known = ", ".join(sorted(records)) or "none recorded"
        raise click.BadParameter(f"no asset {value!r} recorded on this chain (known: {known})")
    return bytes.fromhex(records[value]["asset_id"][2:])


@oracle_cli.command("simulate")
@click.option("--url", default="http://127.0.0.1:8787", show_default=True, help="Ingest API of `rwa oracle run`.")
@click.option("--rpc", required=True, envvar="RWA_RPC_URL", help="[env RWA_RPC_URL]")
@click.option("--oracle", "oracle_address", required=True, envvar="RWA_ORACLE", help="[env RWA_ORACLE]")
@click.option("--devices", default=10, show_default=True, type=int)
@click.option("--rate", default=1.0, show_default=True, type=float, help="Readings per second, all devices together.")
@click.option("--asset", default="0x" + "5e" * 32, show_default=True,
              help="Asset symbol (as `rwa asset create` recorded it) or id (bytes32 hex).")
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--duration", default=None, type=float, help="Seconds to run (default: until Ctrl-C).")
@click.option("--give-up-after", default=120.0, show_default=True, type=float,
              help="Seconds without an answer from ingest before giving up (it is retried with backoff until then).")
@click.option("--no-register", is_flag=True, help="Devices are already registered.")
def simulate_cmd(url: str, rpc: str, oracle_address: str, devices: int, rate: float, asset: str, seed: int,
                 duration: float | None, give_up_after: float, no_register: bool) -> None:
    """Simulated PV inverters that sign readings and post them to the ingest API."""
    from .simulator import IngestUnreachable

    logging.basicConfig(level="WARNING", format="%(asctime)s %(levelname)s %(message)s")
    try:
        stats = simulate(url, rpc, oracle_address, devices=devices, rate=rate, asset_id=resolve_asset(asset, rpc),
                         seed=seed, duration_s=duration, register=not no_register, give_up_after_s=give_up_after)
    except (IngestUnreachable, ChainError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(json.dumps({"sent": stats.sent, "accepted": stats.accepted, "duplicate": stats.duplicate,
                           "rejected": stats.rejected, "reasons": stats.reasons}))


@oracle_cli.command("load")
@click.option("--url", "urls", multiple=True, default=["http://127.0.0.1:8787"], show_default=True,
              help="Ingest API of `rwa oracle run` (repeat for several workers).")
@click.option("--rpc", required=True, envvar="RWA_RPC_URL", help="[env RWA_RPC_URL]")
@click.option("--oracle", "oracle_address", required=True, envvar="RWA_ORACLE", help="[env RWA_ORACLE]")
@click.option("--asset", default="0x" + "5e" * 32, show_default=True, help="Asset symbol or id (bytes32 hex).")
@click.option("--devices", default=200, show_default=True, type=int)
@click.option("--readings", default=20_000, show_default=True, type=int, help="Readings to post at most.")
@click.option("--per-request", default=1_000, show_default=True, type=int)
@click.option("--clients", default=4, show_default=True, type=int)
@click.option("--max-seconds", default=60.0, show_default=True, type=float, help="Stop posting after this long.")
@click.option("--seed", default=1, show_default=True, type=int, help="Device keys derive from it.")
@click.option("--register", is_flag=True, help="Register and activate the devices first (operator key).")
@click.option("--allow-remote", is_flag=True, help="Allow a target that is not this machine.")
def load_cmd(urls: tuple[str, ...], rpc: str, oracle_address: str, asset: str, devices: int, readings: int,
             per_request: int, clients: int, max_seconds: float, seed: int, register: bool, allow_remote: bool) -> None:
    """Pre-signed readings from N devices over real HTTP to a running daemon (bounded in count and time);
    prints readings/s, p50/p99 latency, errors, and the in-process reference rate of the same readings.

    Periods start now, one second each: runs on the same devices must be readings/devices seconds apart."""
    import time as _time

    from ..chain import connect
    from .load import LoadError, check_loopback, load_devices, post_load, reference_rate, sign_readings
    from .reading import ReadingDomain

    try:
        if not allow_remote:
            for url in urls:
                check_loopback(url)
        asset_id = resolve_asset(asset, rpc)
        chain = connect(rpc)
        try:
            oracle = chain.contract("ReadingOracle", oracle_address)
            domain = ReadingDomain(chain.chain_id, oracle.address)
            devs = load_devices(devices, seed=seed, start=max(int(_time.time()), chain.timestamp()))
            if register:
                from .simulator import SimDevice
                from .daemon import _register_simulated

                registry = chain.contract("DeviceRegistry", oracle.functions.registry().call())
                _register_simulated(chain, registry, [SimDevice(d.signer, "pv-inverter", asset_id, 10**9) for d in devs])
                start = max(int(_time.time()), chain.timestamp()) + 1
                for d in devs:
                    d.next_start = start
        finally:
            chain.close()
        seq0 = int(_time.time())  # seqs above any earlier run's
        for d in devs:
            d.seq = seq0
        items = sign_readings(devs, readings, domain, asset_id)
        reference = reference_rate(items, domain, asset_id, per_request=per_request)
        result = post_load(list(urls), items, per_request=per_request, clients=clients, max_s=max_seconds,
                           allow_remote=allow_remote)
    except (LoadError, ChainError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    summary = result.summary()
    summary["reference_readings_per_s"] = round(reference, 1)
    summary["ratio"] = round(result.rate / reference, 3) if reference else None
    click.echo(json.dumps(summary))


@oracle_cli.command("status")
@click.option("--db", default=".rwa/oracle.db", show_default=True, envvar="RWA_ORACLE_DB",
              help="The daemon's store: an SQLite file or a postgresql:// URL [env RWA_ORACLE_DB].")
@click.option("--device", default=None, help="Only this device (address).")
@click.option("--limit", default=50, show_default=True, type=int, help="Devices listed at most.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status_cmd(db: str, device: str | None, limit: int, as_json: bool) -> None:
    """Devices (last seq; readings pending, batched, anchored, dropped), queue and batches of a store.

    The device and seq printed here are what `rwa oracle proof DEVICE SEQ` takes."""
    from .reading import ReadingError, address_bytes, to_checksum
    from .store import is_postgres, open_store

    if not is_postgres(db) and not Path(db).is_file():
        click.echo(f"error: no oracle store at {db} (start `rwa oracle run`, or pass --db / RWA_ORACLE_DB)", err=True)
        sys.exit(1)
    try:
        wanted = address_bytes(device) if device else None
    except ReadingError as error:
        click.echo(f"error: --device: {error}", err=True)
        sys.exit(1)
    try:
        store = open_store(db)
    except StoreError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    try:
        counts = store.counts()
        binding = store.binding()
        devices = store.device_summary(limit, wanted)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({
            "store": store.path, "oracle": binding.oracle if binding else None,
            "chainId": binding.chain_id if binding else None, **counts,
            "devices": [{**d, "device": to_checksum(d["device"])} for d in devices]}, indent=2))
        return
    click.echo(f"store    {store.path}")
    click.echo(f"anchors  {binding.describe() if binding else 'nothing anchored yet'}")
    click.echo("readings " + ", ".join(f"{counts[f'readings_{k}']:,} {k}" for k in ("pending", "batched", "anchored", "dropped")))
    click.echo("batches  " + ", ".join(f"{counts[f'batches_{k}']:,} {k}" for k in ("built", "sent", "anchored")))
    if not devices:
        click.echo("no device has sent a reading yet" if wanted is None else f"no reading from {device}")
        return
    click.echo(f"{'device':<42} {'last seq':>10} {'pending':>8} {'batched':>8} {'anchored':>9} {'dropped':>8}  revoked")
    for d in devices:
        click.echo(f"{to_checksum(d['device']):<42} {d['last_seq'] if d['last_seq'] is not None else '-':>10} "
                   f"{d['pending']:>8,} {d['batched']:>8,} {d['anchored']:>9,} {d['dropped']:>8,}  "
                   f"{d['revoked_at'] if d['revoked_at'] is not None else '-'}")


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
    except (ProofNotFound, StoreError, ChainError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)


@oracle_cli.command("dispute")
@click.argument("proof_a", type=click.File("r"))
@click.argument("proof_b", type=click.File("r"), required=False)
@click.option("--rpc", required=True, envvar="RWA_RPC_URL", help="RPC URL of the ReadingOracle's chain [env RWA_RPC_URL].")
@click.option("--oracle", "oracle_address", required=True, envvar="RWA_ORACLE", help="ReadingOracle address [env RWA_ORACLE].")
@click.option("--asset-a", default=None, help="Asset whose batch holds PROOF_A's reading (default: the reading's).")
@click.option("--asset-b", default=None, help="Asset whose batch holds PROOF_B's reading (default: the reading's).")
@click.option("--from-block", default=0, show_default=True, type=int, help="First block with BatchAnchored logs.")
def dispute_cmd(proof_a, proof_b, rpc: str, oracle_address: str, asset_a: str | None, asset_b: str | None,
                from_block: int) -> None:
    """Dispute a double count (two proofs) or an uncountable reading (one proof), as `rwa oracle proof` printed them.

    Key from RWA_PRIVATE_KEY or RWA_KEYSTORE. Prints the ReadingDisputed events."""
    from ..chain import ChainError, connect
    from ..errors import ContractError
    from .dispute import DisputeError, Inclusion, disputed, double_count_call, inclusion_call

    def asset(text: str | None) -> bytes | None:
        return None if text is None else bytes.fromhex(text.removeprefix("0x"))

    try:
        a = Inclusion.from_proof_json(json.load(proof_a), asset(asset_a))
        b = Inclusion.from_proof_json(json.load(proof_b), asset(asset_b)) if proof_b else None
        with connect(rpc) as chain:
            oracle = chain.contract("ReadingOracle", oracle_address)
            call = double_count_call(oracle, a, b, from_block=from_block) if b else inclusion_call(oracle, a, from_block=from_block)
            sent = chain.transact(call)
            click.echo(json.dumps(disputed(sent, oracle), default=lambda v: "0x" + v.hex() if isinstance(v, bytes) else str(v)))
    except (DisputeError, ContractError, ChainError, json.JSONDecodeError) as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
