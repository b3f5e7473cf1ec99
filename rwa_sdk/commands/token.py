"""``rwa token mint|burn|transfer|can-transfer``: move the security token, or ask whether it could move."""

from __future__ import annotations

import sys
from typing import Any

import click

from .common import CommandError, Target, asset_option, checksum, emit, handle_errors, investor_account, json_option, \
    network_options, open_asset, tx

amount_argument = click.argument("amount", type=click.IntRange(min=1))


def refuse_unless(check: Any, what: str) -> None:
    """Say why the compliance rules refuse a move (the token itself would only say "not compliant")."""
    if not check.allowed:
        from ..spec import with_country_names

        raise CommandError(f"refused: {what}: " + "; ".join(with_country_names(r) for r in check.reasons))


@click.group("token")
def token_cli() -> None:
    """Issue, burn and transfer the asset token; explain why a transfer would be refused."""


@token_cli.command("mint")
@click.argument("to")
@amount_argument
@asset_option
@network_options
@json_option
@handle_errors
def mint_cmd(to: str, amount: int, symbol: str, target: Target, as_json: bool) -> None:
    """Issue AMOUNT new tokens to TO (a verified investor) as the token agent."""
    to = checksum(to)
    with open_asset(target, symbol) as asset:
        refuse_unless(asset.token.can_mint(to, amount), f"{amount} {symbol} may not be issued to {to}")
        sent = asset.token.mint(to, amount, sender=asset.roles.agent)
        emit({"to": to, "minted": amount, "balance": asset.token.balance_of(to), **tx(sent)}, as_json, "mint")


@token_cli.command("burn")
@click.argument("wallet")
@amount_argument
@asset_option
@network_options
@json_option
@handle_errors
def burn_cmd(wallet: str, amount: int, symbol: str, target: Target, as_json: bool) -> None:
    """Burn AMOUNT tokens of WALLET as the token agent."""
    wallet = checksum(wallet)
    with open_asset(target, symbol) as asset:
        sent = asset.token.burn(wallet, amount, sender=asset.roles.agent)
        emit({"wallet": wallet, "burned": amount, "balance": asset.token.balance_of(wallet), **tx(sent)}, as_json,
             "burn")


@token_cli.command("transfer")
@click.argument("to")
@amount_argument
@click.option("--from", "source", default=None,
              help="Forced transfer from this wallet by the agent (default: the holder in RWA_INVESTOR_KEY sends).")
@asset_option
@network_options
@json_option
@handle_errors
def transfer_cmd(to: str, amount: int, source: str | None, symbol: str, target: Target, as_json: bool) -> None:
    """Transfer AMOUNT tokens to TO: the holder's own transfer, or an agent's forced transfer (--from)."""
    to, forced = checksum(to), source is not None
    with open_asset(target, symbol) as asset:
        if not forced:
            holder = investor_account(target)
            source = holder.address
            refuse_unless(asset.token.can_transfer(source, to, amount), f"{source} may not transfer {amount} "
                                                                          f"{symbol} to {to}")
            sent = asset.token.transfer(to, amount, sender=holder)
        else:
            source = checksum(source)
            sent = asset.token.forced_transfer(source, to, amount, sender=asset.roles.agent)
        emit({"from": source, "to": to, "amount": amount, "forced": forced, **tx(sent)}, as_json, "transfer")


@token_cli.command("can-transfer")
@click.argument("source", metavar="FROM")
@click.argument("to")
@amount_argument
@asset_option
@network_options
@json_option
@handle_errors
def can_transfer_cmd(source: str, to: str, amount: int, symbol: str, target: Target, as_json: bool) -> None:
    """Would FROM be able to send AMOUNT to TO now? Exit code 0 if so, 1 with every failing rule if not.

    FROM = the zero address asks whether AMOUNT could be issued (minted) to TO."""
    source, to = checksum(source), checksum(to)
    with open_asset(target, symbol, read_only=True) as asset:
        issuing = int(source, 16) == 0
        check = asset.token.can_mint(to, amount) if issuing else asset.token.can_transfer(source, to, amount)
    from ..spec import with_country_names

    reasons = [with_country_names(r) for r in check.reasons]
    if as_json:
        emit({"allowed": check.allowed, "reasons": reasons}, True)
    elif check.allowed:
        click.echo(f"allowed: {source} may transfer {amount} {symbol} to {to}")
    else:
        click.echo(f"refused: {source} may not transfer {amount} {symbol} to {to}")
        for reason in reasons:
            click.echo(f"  - {reason}")
    sys.exit(0 if check.allowed else 1)
