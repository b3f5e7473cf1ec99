"""``rwa asset create|show|list``: deploy an asset from its spec and look at what is deployed."""

from __future__ import annotations

import contextlib
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from .common import CommandError, Target, asset_option, emit, emit_rows, handle_errors, json_option, network_options, open_asset, \
    open_chain, stderr


@click.group("asset")
def asset_cli() -> None:
    """Deploy a tokenized asset from its spec; show and list deployed assets."""


@asset_cli.command("create")
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--stablecoin", default=None, help="Use this stablecoin instead of deploying a test one.")
@network_options
@json_option
@handle_errors
def create_cmd(spec_path: Path, stablecoin: str | None, target: Target, as_json: bool) -> None:
    """Deploy and wire the token suite, oracle, vault, distributor and DvP that SPEC describes."""
    from ..asset import Asset
    from ..compiler import compile_project
    from ..spec import parse_spec, read_spec_file

    raw = read_spec_file(spec_path)
    spec = parse_spec(raw)  # a bad spec fails here, before any node starts
    with contextlib.ExitStack() as stack:
        records = target.deployments
        if target.network == "anvil":
            stderr.print("[yellow]--network anvil: this node and the deployment vanish when the command ends; "
                         "for a lasting one run `rwa node` and use --network localhost[/yellow]", highlight=False)
            if records is None:  # never overwrite a lasting node's record of the same chain id
                records = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rwa-anvil-")))
        status = stack.enter_context(stderr.status(f"compiling contracts for {spec.symbol}"))
        compile_project()
        chain = stack.enter_context(open_chain(target))
        if not chain.accounts:
            raise CommandError("no signing key: set RWA_PRIVATE_KEY or RWA_KEYSTORE")
        status.update(f"deploying {spec.symbol} ({spec.name}) on chain {chain.chain_id}")
        asset = Asset.create(chain, raw, stablecoin=stablecoin, deployments_dir=records)
        result = {"symbol": spec.symbol, "chain_id": chain.chain_id, **_addresses(asset)}
    emit(result, as_json, f"{spec.symbol} deployed")


@asset_cli.command("show")
@asset_option
@network_options
@json_option
@handle_errors
def show_cmd(symbol: str, target: Target, as_json: bool) -> None:
    """Spec summary, contract addresses, supply and number of holders."""
    with open_asset(target, symbol, read_only=True) as asset:
        spec = asset.spec
        summary: dict[str, Any] = {
            "name": spec.name, "symbol": spec.symbol, "kind": spec.kind, "capacity_kw": spec.capacity_kw,
            "risk_level": spec.risk_level, "country": spec.location.country, "devices": spec.device_count,
            "supply_cap": spec.offering.supply_cap, "price_usd": str(spec.offering.price_usd),
            "tariff_usd_per_kwh": str(spec.revenue.tariff_usd_per_kwh),
            "total_supply": asset.token.total_supply(), "holders": len(asset.cap_table()),
            "chain_id": asset.chain.chain_id, **_addresses(asset),
        }
    emit(summary, as_json, f"{spec.symbol}: {spec.name}")


@asset_cli.command("list")
@network_options
@json_option
@handle_errors
def list_cmd(target: Target, as_json: bool) -> None:
    """Every asset recorded for the network's chain."""
    from ..asset import Asset

    with open_chain(target) as chain:
        records = Asset.list(chain, target.deployments)
    rows = [{"symbol": symbol, "name": record["spec"]["asset"]["name"], "kind": record["spec"]["asset"]["kind"],
             "token": record["addresses"]["token"]} for symbol, record in sorted(records.items())]
    emit_rows(rows, as_json, "assets", columns=("symbol", "name", "kind", "token"))


def _addresses(asset: Any) -> dict[str, Any]:
    addresses = asdict(asset.addresses)
    modules = addresses.pop("modules")
    return {**addresses, **modules}


def _register_audit() -> None:
    from .audit import audit_cmd

    asset_cli.add_command(audit_cmd)


_register_audit()
