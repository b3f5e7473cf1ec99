"""``rwa gateway init|run|spool``: the edge gateway for chargers (OCPP) and inverters (SunSpec Modbus)."""

from __future__ import annotations

import json
import logging

import click

from .common import CommandError, emit, json_option


@click.group("gateway")
def gateway_cli() -> None:
    """Edge gateway: OCPP central system + SunSpec poller -> signed readings -> ingest API."""


def _load(config_path: str):
    from ..gateway.config import ConfigError, load_config

    try:
        return load_config(config_path)
    except ConfigError as error:
        raise CommandError(str(error)) from None


@gateway_cli.command("init")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), help="Config file to create.")
@click.option("--ingest-url", required=True, help="Ingest API of `rwa oracle run`, e.g. http://127.0.0.1:8787.")
@click.option("--oracle", "oracle_address", required=True, help="ReadingOracle address (the readings' EIP-712 domain).")
@click.option("--chain-id", required=True, type=int)
@click.option("--ocpp-host", default="127.0.0.1", show_default=True)
@click.option("--ocpp-port", default=9000, show_default=True, type=int)
def init_cmd(config_path: str, ingest_url: str, oracle_address: str, chain_id: int, ocpp_host: str, ocpp_port: int) -> None:
    """Write a gateway config without devices (add them with `rwa device add`)."""
    from ..gateway.config import ConfigError, write_new_config

    try:
        write_new_config(config_path, ingest_url=ingest_url, chain_id=chain_id, oracle=oracle_address,
                         ocpp_host=ocpp_host, ocpp_port=ocpp_port)
    except ConfigError as error:
        raise CommandError(str(error)) from None
    click.echo(f"wrote {config_path}")


@gateway_cli.command("run")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), envvar="RWA_GATEWAY_CONFIG")
@click.option("--log-level", default="INFO", show_default=True)
def run_cmd(config_path: str, log_level: str) -> None:
    """Serve chargers and poll inverters until SIGTERM (device keystore password from the config's password_env)."""
    from ..gateway.keys import KeystoreError
    from ..gateway.service import run

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = _load(config_path)
    try:
        run(config)
    except (KeystoreError, OSError, ValueError) as error:
        raise CommandError(str(error)) from None


@gateway_cli.command("spool")
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False), envvar="RWA_GATEWAY_CONFIG")
@click.option("--ocmf", "show_ocmf", is_flag=True, help="List the OCMF records kept with the readings.")
@json_option
def spool_cmd(config_path: str, show_ocmf: bool, as_json: bool) -> None:
    """What the spool holds: readings pending/sent/rejected, OCMF records and their verdicts."""
    from ..gateway.spool import Spool

    config = _load(config_path)
    if not config.spool.exists():
        raise CommandError(f"no spool at {config.spool} (the gateway has not run yet)")
    spool = Spool(config.spool)
    try:
        if show_ocmf:
            records = spool.ocmf_records()
            if as_json:
                click.echo(json.dumps(records, indent=2))
            for r in [] if as_json else records:
                click.echo(f"{r['device']} seq={r['readingSeq']} {r['verdict']} {r['reason'] or ''} "
                           f"{r['algorithm'] or ''} onchain={r['onchain']} billableWh={r['billableWh']}")
        else:
            emit(spool.counts(), as_json, "spool")
    finally:
        spool.close()


@gateway_cli.command("demo")
def demo_cmd() -> None:
    """A charger with a certified meter through the gateway to the chain, on a private Anvil (osaka)."""
    import logging as _logging

    from ..demo import charging_main

    _logging.basicConfig(level=_logging.ERROR)
    charging_main()
