"""``rwa asset audit SYMBOL``: the launch checker, every rule and role read back from the chain."""

from __future__ import annotations

import json
import time

import click

from .common import Target, emit_rows, handle_errors, json_option, network_options, open_asset, stderr

STATUS_STYLE = {"ok": "OK", "warn": "WARN", "fail": "FAIL"}


@click.command("audit")
@click.argument("symbol")
@click.option("--from-block", type=int, default=0, show_default=True,
              help="First block to read role and rule events from (the asset's deploy block on a long chain).")
@click.option("--public/--development", "public", default=None,
              help="Apply the key-custody warnings of a public network (default: any chain id but 31337/1337).")
@network_options
@json_option
@handle_errors
def audit_cmd(symbol: str, from_block: int, public: bool | None, target: Target, as_json: bool) -> None:
    """Check SYMBOL's claim topics, trusted issuers, compliance rules, bindings, roles and wiring against its
    spec. Exit code 1 on any failure, 2 on warnings only."""
    from ..audit import audit_asset

    with open_asset(target, symbol, read_only=True) as asset:
        report = audit_asset(asset.chain, asset, public=public, from_block=from_block)
        _save(report, asset, target)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        rows = [{"status": STATUS_STYLE[c.status], "area": c.area, "check": c.name, "detail": c.detail}
                for c in report.checks]
        emit_rows(rows, False, f"{symbol} on chain {report.chain_id}", columns=("status", "area", "check", "detail"))
        verdict = (f"{len(report.failures)} failure(s)" if report.failures else
                   f"{len(report.warnings)} warning(s)" if report.warnings else "every check passed")
        stderr.print(f"{symbol}: {verdict}", highlight=False)
    raise SystemExit(report.exit_code)


def _save(report, asset, target: Target) -> None:
    """Keep the last result beside the asset records (the portal's issuer view shows it)."""
    from .. import toolchain

    folder = target.deployments or toolchain.project_root() / "deployments"
    path = folder / f"{report.chain_id}.audit.json"
    try:
        saved = json.loads(path.read_text()) if path.is_file() else {}
        saved[report.symbol] = {**report.to_json(), "checked_at": int(time.time()),
                                "token": asset.addresses.token}
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(saved, indent=2) + "\n")
    except (OSError, ValueError):
        pass  # a read-only checkout still gets the report on stdout
