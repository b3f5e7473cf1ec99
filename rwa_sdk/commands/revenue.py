"""``rwa revenue deposit|claim|energy``: pay holders the metered revenue, and collect it."""

from __future__ import annotations

import datetime as dt

import click

from .common import Target, asset_option, emit, emit_rows, handle_errors, investor_account, json_option, \
    network_options, open_asset, tx, usd

DAY = dt.timedelta(days=1)


@click.group("revenue")
def revenue_cli() -> None:
    """Deposit revenue for metered energy; holders claim their share."""


@revenue_cli.command("deposit")
@click.option("--from", "first_day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First UTC day.")
@click.option("--to", "last_day", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last UTC day (included).")
@asset_option
@network_options
@json_option
@handle_errors
def deposit_cmd(first_day: dt.datetime, last_day: dt.datetime, symbol: str, target: Target, as_json: bool) -> None:
    """Pay holders the anchored energy of whole days --from..--to at the spec's tariff (operator + treasury)."""
    if last_day < first_day:
        raise click.BadParameter("--to is before --from", param_hint="--to")
    start, end = day_start(first_day), day_start(last_day + DAY)
    with open_asset(target, symbol) as asset:
        revenue = asset.deposit_revenue(start, end)
    emit({"from": first_day.date().isoformat(), "to": last_day.date().isoformat(), "energy_wh": revenue.energy_wh,
          "amount_usd": usd(revenue.amount), "evidence": "0x" + bytes(revenue.evidence).hex()}, as_json,
         "revenue deposited")


@revenue_cli.command("claim")
@asset_option
@network_options
@json_option
@handle_errors
def claim_cmd(symbol: str, target: Target, as_json: bool) -> None:
    """Collect the holder's accrued revenue in stablecoin (key: RWA_INVESTOR_KEY)."""
    holder = investor_account(target)
    with open_asset(target, symbol) as asset:
        before = asset.stablecoin.balance_of(holder.address)
        sent = asset.distributor.claim(sender=holder)
        claimed = asset.stablecoin.balance_of(holder.address) - before
    emit({"holder": holder.address, "claimed_usd": usd(claimed), **tx(sent)}, as_json, "claimed")


@revenue_cli.command("energy")
@asset_option
@network_options
@json_option
@handle_errors
def energy_cmd(symbol: str, target: Target, as_json: bool) -> None:
    """Anchored energy per UTC day (what a deposit would pay for)."""
    with open_asset(target, symbol, read_only=True) as asset:
        days = asset.energy_by_day()
    emit_rows([{"day": day, "energy_wh": wh} for day, wh in days.items()], as_json, f"{symbol} anchored energy")


def day_start(day: dt.datetime) -> int:
    """Unix seconds of midnight UTC of ``day``."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp())
