"""The ``rwa`` command: the toolkit from a shell.

Every subcommand takes ``--network`` (``anvil`` starts a private node for the command's lifetime,
so a workflow of several commands runs against ``rwa node`` with ``--network localhost``) and
``--json`` for machine-readable output where it prints results. Asset commands take ``--asset
SYMBOL``; how each network chooses its signing keys is described in :mod:`rwa_sdk.commands.common`.
"""

from __future__ import annotations

import importlib
import json
import signal
import sys
import time
from typing import Any

import click
from rich.console import Console

from . import toolchain
from .commands.common import emit
from .compiler import CompilationError, compile_project
from .errors import ContractError

console = Console(stderr=True)


class LazyGroup(click.Group):
    """Subcommand groups whose modules (pandas, pvlib, ...) load only when they are used."""

    lazy = {
        "asset": "rwa_sdk.commands.asset:asset_cli",
        "device": "rwa_sdk.commands.device:device_cli",
        "gateway": "rwa_sdk.commands.gateway:gateway_cli",
        "investor": "rwa_sdk.commands.investor:investor_cli",
        "oracle": "rwa_sdk.oracle.cli:oracle_cli",
        "revenue": "rwa_sdk.commands.revenue:revenue_cli",
        "serve": "rwa_sdk.commands.serve:serve_cmd",
        "settle": "rwa_sdk.commands.settle:settle_cli",
        "token": "rwa_sdk.commands.token:token_cli",
        "twin": "rwa_sdk.twin.report:twin_cli",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            module, attribute = self.lazy[name].split(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup)
@click.version_option(package_name="rwa-sdk")
def main() -> None:
    """rwa-sdk: tokenize new-energy assets as ERC-3643 security tokens."""


@main.command("toolchain")
@click.option("--register", is_flag=True, help="Also make the compiler visible to py-solc-x/Brownie (~/.solcx).")
@click.option("--json", "as_json", is_flag=True)
def toolchain_cmd(register: bool, as_json: bool) -> None:
    """Show which solc, node and anvil are used, and where they are."""
    report = toolchain.describe()
    if register:
        report["registered"] = str(toolchain.register_with_solcx(toolchain.find_solc()))
    emit(report, as_json, "toolchain")
    if any(str(v).startswith("missing") for v in report.values()):
        sys.exit(1)


@main.command("compile")
@click.option("--force", is_flag=True, help="Compile even if nothing changed.")
@click.option("--json", "as_json", is_flag=True)
def compile_cmd(force: bool, as_json: bool) -> None:
    """Compile contracts/ into Hardhat-format artifacts/ (cached by content hash)."""
    try:
        with console.status("resolving sources") as status:
            result = compile_project(force=force, on_progress=status.update)
    except CompilationError as error:
        for diagnostic in error.diagnostics:
            console.print(f"[red]{diagnostic}[/red]", highlight=False)
        sys.exit(1)
    for warning in result.warnings:
        console.print(f"[yellow]{warning}[/yellow]", highlight=False)
    summary = {
        "artifacts": len(result.artifacts),
        "cached": result.cached,
        "seconds": round(result.seconds, 3),
    }
    emit(summary, as_json, "compile")


@main.command("node")
@click.option("--port", type=int, default=8545, show_default=True)
@click.option("--block-time", type=float, default=None, help="Seconds between blocks (default: mine on demand).")
def node_cmd(port: int, block_time: float | None) -> None:
    """Start a local Anvil and keep it running until Ctrl-C."""
    from .anvil import AnvilNode

    node = AnvilNode(port, block_time=block_time).start()
    console.print(f"anvil listening on {node.url} (chain id {node.chain_id}); Ctrl-C to stop")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while node.process and node.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()


@main.command("demo")
@click.option("--spec", "spec_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Asset spec to tokenize (default: examples/solar-5mw.toml).")
@click.option("--json", "as_json", is_flag=True, help="Also print the closing report as JSON.")
def demo_cmd(spec_path: str | None, as_json: bool) -> None:
    """The end-to-end scenario on a private Anvil: plant to payout (what `make demo` runs)."""
    from pathlib import Path

    from .demo import main as run_demo

    report = run_demo(Path(spec_path) if spec_path else None)
    if as_json:
        click.echo(json.dumps(report))


@main.command("deploy")
@click.argument("artifact")
@click.argument("args", nargs=-1)
@click.option("--network", default="anvil", show_default=True, help="anvil, hardhat, localhost or an RPC URL.")
@click.option("--name", default=None, help="Record name in deployments/<chainId>.json.")
@click.option("--force", is_flag=True, help="Deploy even if an identical deployment exists.")
@click.option("--keystore", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--json", "as_json", is_flag=True)
def deploy_cmd(artifact: str, args: tuple[str, ...], network: str, name: str | None, force: bool,
               keystore: str | None, as_json: bool) -> None:
    """Deploy ARTIFACT with constructor ARGS (JSON values, e.g. '"USD Coin"' 6 '["0x.."]')."""
    from .chain import connect
    from .deploy import deploy

    compile_project()
    values = [_parse_arg(a) for a in args]
    with connect(network, keystore=keystore) as chain:
        try:
            result = deploy(chain, artifact, *values, name=name, force=force)
        except ContractError as error:
            console.print(f"[red]reverted: {error}[/red]", highlight=False)
            sys.exit(1)
        record = dict(result.record.__dict__, skipped=result.skipped, chain_id=chain.chain_id)
        emit(record, as_json, "deployment")


def _parse_arg(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


if __name__ == "__main__":  # pragma: no cover
    main()
