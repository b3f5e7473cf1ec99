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

from .commands.common import CommandError, LazyConsole, emit, handle_errors, network_options

console = LazyConsole(stderr=True)
CONTEXT = {"help_option_names": ["-h", "--help"]}


class LazyGroup(click.Group):
    """Subcommand groups whose modules (pandas, pvlib, ...) load only when they are used."""

    lazy = {
        "asset": "rwa_sdk.commands.asset:asset_cli",
        "dev": "rwa_sdk.commands.dev:dev_cli",
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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list without importing any lazy module (``rwa --help`` stays instant)."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy:
                rows.append((name, _lazy_summary(self.lazy[name])))
            else:
                command = super().get_command(ctx, name)
                if command is not None and not command.hidden:
                    rows.append((name, command.get_short_help_str(formatter.width - 6 - max(map(len, self.lazy)))))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        """Every subcommand's failures (``rwa oracle`` included) as one line; RWA_DEBUG=1 keeps tracebacks."""
        import os

        from .commands.common import _without_urls, is_transport_error, one_line, translate

        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # click would say "Aborted!" and exit 1
            console.print("interrupted", highlight=False)
            raise click.exceptions.Exit(130) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except Exception as error:
            if os.environ.get("RWA_DEBUG"):
                raise
            translated = translate(error)
            if translated is None and not is_transport_error(error):
                translated = CommandError(f"unexpected {type(error).__name__}: "
                                          f"{one_line(_without_urls(str(error)), 200)} "
                                          "(RWA_DEBUG=1 shows the traceback)")
            raise translated from None


def _lazy_summary(target: str) -> str:
    """First docstring line of a lazy command's function, read from its source (not imported)."""
    import re
    from pathlib import Path

    module, attribute = target.split(":")
    # the file, found without importing its package (rwa_sdk.twin's __init__ alone loads pandas and scipy)
    base = Path(__file__).resolve().parent.joinpath(*module.split(".")[1:])
    source = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
    try:
        text = source.read_text(encoding="utf-8")
    except OSError:
        return ""
    # a regex, not ast: parsing every command module would cost more than the rest of `rwa --help`
    match = re.search(rf"^def {re.escape(attribute)}\(.*?\).*?:\s*\n\s+[rRuU]?(?:\"\"\"|''')\s*([^\n]*)", text,
                      re.MULTILINE | re.DOTALL)
    return match.group(1).strip().removesuffix('"""').rstrip(".") if match else ""


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.version_option(package_name="rwa-sdk")
@click.pass_context
def main(ctx: click.Context) -> None:
    """rwa-sdk: tokenize new-energy assets as ERC-3643 security tokens.

    A first session: `rwa node &`, then `rwa asset create examples/solar-5mw.toml --network localhost`
    (README.md walks through the rest)."""
    from .toolchain import project_root

    # the oracle's store belongs to the project, not to whichever folder the command runs in
    # (--db and RWA_ORACLE_DB still win; a default map ranks below both)
    store = str(project_root() / ".rwa" / "oracle.db")
    oracle = {name: {"db": store} for name in ("run", "proof", "status", "simulate", "export")}
    ctx.default_map = {**(ctx.default_map or {}), "oracle": {**oracle, **(ctx.default_map or {}).get("oracle", {})}}


@main.command("toolchain")
@click.option("--register", is_flag=True, help="Also make the compiler visible to py-solc-x/Brownie (~/.solcx).")
@click.option("--json", "as_json", is_flag=True)
def toolchain_cmd(register: bool, as_json: bool) -> None:
    """Show which solc, node and anvil are used, and where they are."""
    from . import toolchain

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
    from rich.markup import escape

    from .compiler import CompilationError, compile_project

    try:
        with console.status("resolving sources") as status:
            result = compile_project(force=force, on_progress=status.update)
    except CompilationError as error:
        for diagnostic in error.diagnostics:
            console.print(f"[red]{escape(str(diagnostic))}[/red]", highlight=False)
        sys.exit(1)
    for warning in result.warnings:
        console.print(f"[yellow]{escape(str(warning))}[/yellow]", highlight=False)
    summary = {
        "artifacts": len(result.artifacts),
        "cached": result.cached,
        "seconds": round(result.seconds, 3),
    }
    emit(summary, as_json, "compile")


@main.command("node")
@click.option("--port", type=int, default=None,
              help="Default 8545, or the port of RWA_LOCALHOST_URL (where --network localhost points).")
@click.option("--block-time", type=float, default=None, help="Seconds between blocks (default: mine on demand).")
def node_cmd(port: int | None, block_time: float | None) -> None:
    """Start a local Anvil and keep it running until Ctrl-C (--network localhost talks to it)."""
    import socket
    from urllib.parse import urlsplit

    from .anvil import AnvilError, AnvilNode
    from .chain import local_url

    port = port or urlsplit(local_url()).port or 8545
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise CommandError(f"port {port} on 127.0.0.1 is already in use (another `rwa node`?): stop it, "
                               "or pick another with --port") from None
    try:
        node = AnvilNode(port, block_time=block_time).start()
    except AnvilError as error:
        raise CommandError(str(error)) from None
    console.print(f"anvil listening on {node.url} (chain id {node.chain_id}); Ctrl-C to stop", highlight=False)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    code = None
    try:
        while node.process and (code := node.process.poll()) is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        node.stop()
    if code:
        raise CommandError(f"anvil exited with code {code}")


@main.command("demo")
@click.option("--spec", "spec_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Asset spec to tokenize (default: examples/solar-5mw.toml).")
@click.option("--site", type=click.Choice(["plant", "charging"]), default="plant", show_default=True,
              help="plant: a PV plant from spec to payout; charging: a charger with a certified (OCMF) meter "
                   "through the edge gateway to the chain.")
@click.option("--json", "as_json", is_flag=True, help="Also print the closing report as JSON.")
def demo_cmd(spec_path: str | None, site: str, as_json: bool) -> None:
    """The end-to-end scenario on a private Anvil: plant to payout (what `make demo` runs)."""
    from pathlib import Path

    import contextlib

    from .demo import charging_main
    from .demo import main as run_demo

    if site == "charging" and spec_path:
        raise CommandError("--spec is for the plant scenario; the charging site has its own set-up")
    story = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    with story:  # --json: stdout carries the JSON only, the story goes to stderr
        report = charging_main() if site == "charging" else run_demo(Path(spec_path) if spec_path else None)
    if as_json:
        click.echo(json.dumps(report))


@main.command("deploy")
@click.argument("artifact")
@click.argument("args", nargs=-1)
@click.option("--name", default=None, help="Record name in deployments/<chainId>.json.")
@click.option("--force", is_flag=True, help="Deploy even if an identical deployment exists.")
@network_options
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def deploy_cmd(artifact: str, args: tuple[str, ...], name: str | None, force: bool, target: Any,
               as_json: bool) -> None:
    """Deploy ARTIFACT with constructor ARGS (JSON values, e.g. '"USD Coin"' 6 '["0x.."]')."""
    from eth_abi.exceptions import EncodingError
    from web3.exceptions import Web3ValidationError

    from .artifacts import ArtifactNotFound
    from .commands.common import open_chain
    from .deploy import Deployments, deploy

    values = [_parse_arg(a) for a in args]
    compile_with_status()
    with open_chain(target) as chain:
        if not chain.accounts:
            raise CommandError("no signing key: set RWA_PRIVATE_KEY or RWA_KEYSTORE (or --keystore FILE)")
        records = Deployments(chain.chain_id, target.deployments or chain.records_dir)
        try:
            result = deploy(chain, artifact, *values, name=name, force=force, deployments=records)
        except ArtifactNotFound as error:
            raise CommandError(str(error)) from None
        except (TypeError, ValueError, OverflowError, EncodingError, Web3ValidationError) as error:  # bad ARGS
            raise CommandError(f"constructor arguments for {artifact}: {str(error).splitlines()[0][:300]}") from None
        record = dict(result.record.__dict__, skipped=result.skipped, chain_id=chain.chain_id)
    emit(record, as_json, "deployment")


def compile_with_status() -> Any:
    """Compile (cached) with a progress line on stderr: a cold compile takes tens of seconds."""
    from .compiler import compile_project

    with console.status("compiling contracts (cached after the first time)") as status:
        return compile_project(on_progress=status.update)


def _parse_arg(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


if __name__ == "__main__":  # pragma: no cover
    main()
