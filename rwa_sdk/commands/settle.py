"""``rwa settle subscribe|accept|redeem|order|fill``: primary subscriptions and DvP trades in stablecoin."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import click

from .common import CommandError, Target, asset_option, emit, handle_errors, investor_account, json_option, \
    network_options, open_asset, parse_usd, tx, usdc

SIDES = {"sell": 0, "buy": 1}


@click.group("settle")
def settle_cli() -> None:
    """Subscribe and redeem through the vault; sign and fill delivery-versus-payment orders."""


@settle_cli.command("subscribe")
@click.option("--amount", "amount_usd", required=True, help="Dollars to invest, e.g. 5000 or 1250.50.")
@click.option("--accept", is_flag=True, help="Also accept the request as the issuer (local networks).")
@asset_option
@network_options
@json_option
@handle_errors
def subscribe_cmd(amount_usd: str, accept: bool, symbol: str, target: Target, as_json: bool) -> None:
    """Pay --amount USD into the subscription vault by permit (investor key: RWA_INVESTOR_KEY)."""
    amount = parse_usd(amount_usd)
    investor = investor_account(target)
    with open_asset(target, symbol) as asset:
        check_payment(asset, investor.address, amount)
        request_id = asset.subscribe(investor, amount)
        result: dict[str, Any] = {"investor": investor.address, "amount_usd": str(amount), "request_id": request_id,
                                  "status": asset.vault.status(request_id).name.lower()}
        if accept:
            asset.accept_subscriptions([request_id])
            result.update(status=asset.vault.status(request_id).name.lower(),
                          balance=asset.token.balance_of(investor.address))
    emit(result, as_json, "subscription")


@settle_cli.command("accept")
@click.argument("request_ids", nargs=-1, type=int)
@asset_option
@network_options
@json_option
@handle_errors
def accept_cmd(request_ids: tuple[int, ...], symbol: str, target: Target, as_json: bool) -> None:
    """Issuer: accept REQUEST_IDS (default: every pending request): mint for subscriptions, pay redemptions."""
    from ..settlement.subscription import Status

    with open_asset(target, symbol) as asset:
        ids = list(request_ids) or [r.request_id for r in asset.vault.requests(Status.PENDING)]
        if not ids:
            raise CommandError("no pending requests")
        sent = asset.accept_subscriptions(ids)
        failed = asset.vault.failures(sent)  # the batch goes on past a failing request; report it
    emit({"accepted": [i for i in ids if i not in failed], "failed": {i: str(e) for i, e in failed.items()},
          **tx(sent)}, as_json, "accepted")


@settle_cli.command("redeem")
@click.option("--shares", required=True, type=click.IntRange(min=1), help="Tokens to redeem at the period price.")
@asset_option
@network_options
@json_option
@handle_errors
def redeem_cmd(shares: int, symbol: str, target: Target, as_json: bool) -> None:
    """Request the redemption of --shares tokens (locked until the issuer accepts; key: RWA_INVESTOR_KEY)."""
    investor = investor_account(target)
    with open_asset(target, symbol) as asset:
        request_id = asset.vault.redeem(shares, sender=investor)
        status = asset.vault.status(request_id).name.lower()
    emit({"investor": investor.address, "shares": shares, "request_id": request_id, "status": status}, as_json,
         "redemption")


@settle_cli.command("order")
@click.option("--side", type=click.Choice(sorted(SIDES)), required=True, help="sell or buy tokens.")
@click.option("--amount", type=click.IntRange(min=1), required=True, help="Tokens.")
@click.option("--price", "price_usd", required=True, help="Dollars per token.")
@click.option("--nonce", type=int, default=None, help="Order nonce (default: random); `cancel` works by nonce.")
@click.option("--ttl", type=click.IntRange(min=1), default=3600, show_default=True, help="Seconds until expiry.")
@click.option("--approve", is_flag=True, help="Also approve the DvP for the maker's leg (a transaction).")
@asset_option
@network_options
@handle_errors
def order_cmd(side: str, amount: int, price_usd: str, nonce: int | None, ttl: int, approve: bool, symbol: str,
              target: Target) -> None:
    """Sign an EIP-712 DvP order as the maker (RWA_INVESTOR_KEY) and print it as JSON for a taker."""
    from ..asset import usd_units

    maker = investor_account(target)
    with open_asset(target, symbol) as asset:
        expiry = chain_deadline(asset, ttl)
        signed = asset.dvp.sign_order(maker, token=asset.addresses.token, stablecoin=asset.addresses.stablecoin,
                                      side=SIDES[side], amount=amount, price=usd_units(parse_usd(price_usd)),
                                      nonce=secrets.randbits(63) if nonce is None else nonce, expiry=expiry)
        if approve:
            _approve_leg(asset, maker, signed.order.side == SIDES["sell"], amount, signed.order)
        document = {"dvp": asset.dvp.address, "chain_id": asset.chain.chain_id, "order": signed.order.message(),
                    "signature": "0x" + signed.signature.raw.hex()}
    click.echo(json.dumps(document, indent=2))


@settle_cli.command("fill")
@click.argument("order_json")
@click.option("--amount", type=click.IntRange(min=1), default=None, help="Tokens to fill (default: all remaining).")
@asset_option
@network_options
@json_option
@handle_errors
def fill_cmd(order_json: str, amount: int | None, symbol: str, target: Target, as_json: bool) -> None:
    """Fill ORDER_JSON (a file or the JSON text of `settle order`) as the taker (RWA_INVESTOR_KEY)."""
    taker = investor_account(target)
    document = _read_order(order_json)
    with open_asset(target, symbol) as asset:
        signed = _signed_order(document)
        venue = (document.get("chain_id", asset.chain.chain_id), str(document.get("dvp", asset.dvp.address)).lower())
        if signed.order.token != asset.addresses.token or venue != (asset.chain.chain_id, asset.dvp.address.lower()):
            raise CommandError(f"the order is not for {symbol} on this network's DvP")
        amount = amount or asset.dvp.remaining(signed.order)
        if not amount:
            raise CommandError("nothing left to fill (filled, cancelled or expired)")
        if signed.order.side == SIDES["sell"]:  # the taker buys: pay by permit, no approve transaction
            permit = asset.dvp.buyer_permit(asset.stablecoin, taker, signed, amount, deadline=chain_deadline(asset))
            sent = asset.dvp.fill_with_permit(signed, amount, permit, sender=taker)
        else:  # the taker sells tokens to the maker
            _approve_leg(asset, taker, True, amount, signed.order)
            sent = asset.dvp.fill(signed, amount, sender=taker)
        result = {"filled": amount, "remaining": asset.dvp.remaining(signed.order), **tx(sent)}
    emit(result, as_json, "fill")


def check_payment(asset: Any, wallet: str, amount: Any) -> None:
    """Refuse in dollars, before signing, what the vault would refuse in base units."""
    from ..asset import usd_units

    units = usd_units(amount)
    minimum = usd_units(asset.spec.offering.min_ticket_usd)
    if units < minimum:
        raise CommandError(f"{usdc(units)} is below the minimum ticket of {usdc(minimum)}")
    balance = asset.stablecoin.balance_of(wallet)
    if balance < units:
        raise CommandError(f"{wallet} holds {usdc(balance)}, less than {usdc(units)}; on a development chain "
                           f"`rwa dev fund {wallet} --usdc {amount}` gives it some")
    if asset.chain.w3.eth.get_balance(wallet) == 0:
        raise CommandError(f"{wallet} has no ETH to pay for gas; on a development chain `rwa dev fund {wallet}` "
                           "gives it some")


def chain_deadline(asset: Any, seconds: int = 3600) -> int:
    """A signature deadline on the chain's clock (a local node's clock may run ahead of ours)."""
    return asset.chain.timestamp() + seconds


def _approve_leg(asset: Any, account: Any, tokens: bool, amount: int, order: Any) -> None:
    """Approve the DvP for a seller's tokens or a buyer's payment."""
    if tokens:
        asset.chain.transact(asset.token.contract.functions.approve(asset.dvp.address, amount), sender=account)
    else:
        asset.stablecoin.approve(asset.dvp.address, asset.dvp.quote(order, amount), sender=account)


def _read_order(text: str) -> dict[str, Any]:
    path = Path(text)
    try:
        raw = path.read_text() if not text.lstrip().startswith("{") and path.is_file() else text
        document = json.loads(raw)
    except (OSError, json.JSONDecodeError) as error:
        raise CommandError(f"ORDER_JSON is neither a file nor JSON: {error}") from None
    if not isinstance(document, dict) or not {"order", "signature"} <= set(document):
        raise CommandError("ORDER_JSON needs 'order' and 'signature' (the output of `rwa settle order`)")
    return document


def _signed_order(document: dict[str, Any]) -> Any:
    from web3 import Web3

    from ..settlement.dvp import Order, SignedOrder
    from ..settlement.stablecoin import Signature

    fields = document["order"]
    try:
        order = Order(Web3.to_checksum_address(fields["maker"]), Web3.to_checksum_address(fields["token"]),
                      Web3.to_checksum_address(fields["stablecoin"]), int(fields["side"]), int(fields["amount"]),
                      int(fields["price"]), int(fields["nonce"]), int(fields["expiry"]),
                      int(fields.get("maxFeeBps", 0)))
        signature = bytes.fromhex(str(document["signature"]).removeprefix("0x"))
    except (KeyError, TypeError, ValueError) as error:
        raise CommandError(f"malformed order: {error}") from None
    if len(signature) != 65:
        raise CommandError("malformed order: the signature must be 65 bytes")
    return SignedOrder(order, Signature(signature))
