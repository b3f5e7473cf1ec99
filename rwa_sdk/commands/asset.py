"""``rwa asset create|show|list``: deploy an asset from its spec and look at what is deployed."""

from __future__ import annotations

import contextlib
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from .common import CommandError, Target, asset_option, emit, emit_rows, handle_errors, json_option, network_options, \
    open_asset, open_chain, report_signers, stderr


@click.group("asset")
def asset_cli() -> None:
    """Deploy a tokenized asset from its spec; show and list deployed assets."""


@asset_cli.command("create")
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--stablecoin", default=None, help="Use this stablecoin instead of deploying a test one.")
@click.option("--dry-run", is_flag=True, help="Only say what would be deployed: every contract and rule, in words.")
@click.option("--replace", is_flag=True, help="Deploy anew even if the symbol is already deployed on this chain.")
@network_options
@json_option
@handle_errors
def create_cmd(spec_path: Path, stablecoin: str | None, dry_run: bool, replace: bool, target: Target,
               as_json: bool) -> None:
    """Deploy and wire the token suite, oracle, vault, distributor and DvP that SPEC describes."""
    from ..spec import read_spec_file, parse_spec

    raw = read_spec_file(spec_path)
    spec = parse_spec(raw)  # a bad spec fails here, before any node starts
    if dry_run:
        from ..asset import deployment_plan

        rows = [{"contract": contract, "what it does": words} for contract, words in deployment_plan(spec, stablecoin)]
        emit_rows(rows, as_json, f"{spec.symbol} ({spec.name}): what `rwa asset create` would deploy",
                  columns=("contract", "what it does"))
        return
    from ..asset import Asset
    from ..compiler import compile_project

    if target.network == "anvil":
        stderr.print("[yellow]--network anvil: this node and the deployment vanish when the command ends; "
                     "for a lasting one run `rwa node` and use --network localhost[/yellow]", highlight=False)
    with contextlib.ExitStack() as stack:
        status = stack.enter_context(stderr.status(f"compiling contracts for {spec.symbol} (cached after the first time)"))
        compile_project(on_progress=status.update)
        chain = stack.enter_context(open_chain(target))
        if not chain.accounts:
            raise CommandError("no signing key: set RWA_PRIVATE_KEY or RWA_KEYSTORE (or --keystore FILE)")
        status.update(f"deploying {spec.symbol} ({spec.name}) on chain {chain.chain_id}")
        asset = Asset.create(chain, raw, stablecoin=stablecoin, deployments_dir=target.deployments, replace=replace)
        status.stop()
        report_signers(chain, asset.roles)
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

    from ..asset import stale_reason

    with open_chain(target) as chain:
        records = Asset.list(chain, target.deployments)
        rows = [{"symbol": symbol, "name": record["spec"]["asset"]["name"], "kind": record["spec"]["asset"]["kind"],
                 "token": record["addresses"]["token"], "stale": stale_reason(chain, record) or ""}
                for symbol, record in sorted(records.items())]
    for row in rows:
        if row["stale"]:
            stderr.print(f"[yellow]{row['symbol']}: stale record: {row['stale']}[/yellow]", highlight=False)
    emit_rows(rows, as_json, "assets", columns=("symbol", "name", "kind", "token", "stale"))


def _addresses(asset: Any) -> dict[str, Any]:
    addresses = asdict(asset.addresses)
    modules = addresses.pop("modules")
    return {**addresses, **modules}


def _register_audit() -> None:
    from .audit import audit_cmd

    asset_cli.add_command(audit_cmd)


_register_audit()
