"""``rwa dev fund|accounts``: what a session on a local development chain needs and no real chain offers.

A fresh investor wallet has neither ETH for gas nor stablecoin to subscribe with; on a development
chain (chain id 31337, signed with its public development keys) ``rwa dev fund`` gives it both. It
refuses any other chain: there the stablecoin is real money and its minters are real people.
"""

from __future__ import annotations

from decimal import Decimal

import click
from eth_account import Account

from .common import DEV_CHAIN_ID, CommandError, Target, checksum, emit, emit_rows, handle_errors, json_option, \
    network_options, open_asset, open_chain, parse_usd, report_signers, tx, usdc

ROLE_OF_DEV_ACCOUNT = ("owner (deployer)", "agent", "claim signer (KYC provider)", "operator", "relayer", "treasury")


@click.group("dev")
def dev_cli() -> None:
    """Development chains only: fund wallets with ETH and test USDC, list the development accounts."""


def _require_dev_chain(chain, target: Target) -> None:
    from ..anvil import DEV_PRIVATE_KEYS

    dev_addresses = {Account.from_key(k).address for k in DEV_PRIVATE_KEYS}
    if chain.chain_id != DEV_CHAIN_ID or not chain.accounts or chain.accounts[0].address not in dev_addresses:
        raise CommandError(f"`rwa dev` works on development chains only (chain id {DEV_CHAIN_ID}, signed with the "
                           f"development accounts: --network localhost, hardhat or --dev-accounts); "
                           f"this is chain {chain.chain_id}")


@dev_cli.command("fund")
@click.argument("wallet")
@click.option("--eth", "eth", default="10", show_default=True, help="Ether to send for gas.")
@click.option("--usdc", "usdc_amount", default=None,
              help="Also mint this many dollars of the asset's test stablecoin (needs --asset).")
@click.option("--asset", "symbol", default=None, envvar="RWA_ASSET", help="Asset whose stablecoin to mint.")
@network_options
@json_option
@handle_errors
def fund_cmd(wallet: str, eth: str, usdc_amount: str | None, symbol: str | None, target: Target,
             as_json: bool) -> None:
    """Give WALLET ether for gas and, with --usdc and --asset, test USDC to subscribe with."""
    from ..settlement.stablecoin import UNIT

    wallet = checksum(wallet)
    try:
        wei = int(Decimal(eth) * 10**18)
    except ArithmeticError:
        raise click.BadParameter(f"{eth!r} is not an amount of ether", param_hint="--eth") from None
    if wei < 0:
        raise click.BadParameter("must not be negative", param_hint="--eth")
    units = int(parse_usd(usdc_amount) * UNIT) if usdc_amount is not None else 0
    if units and not symbol:
        raise click.UsageError("--usdc needs --asset SYMBOL (whose stablecoin to mint)")
    result: dict = {"wallet": wallet}
    if symbol:
        with open_asset(target, symbol) as asset:
            _require_dev_chain(asset.chain, target)
            if wei:
                asset.chain.send_value(wallet, wei, sender=asset.roles.owner)
            if units:
                coin, minter = asset.stablecoin, asset.roles.owner  # the test coin's master minter
                coin.configure_minter(minter.address, units, sender=minter)
                sent = coin.mint(wallet, units, sender=minter)
                result.update(tx(sent))
            result.update(eth=str(Decimal(asset.chain.w3.eth.get_balance(wallet)) / 10**18),
                          usdc=usdc(asset.stablecoin.balance_of(wallet)))
    else:
        with open_chain(target) as chain:
            _require_dev_chain(chain, target)
            if wei:
                chain.send_value(wallet, wei)
            result.update(eth=str(Decimal(chain.w3.eth.get_balance(wallet)) / 10**18))
            report_signers(chain)
    emit(result, as_json, "funded")


@dev_cli.command("accounts")
@network_options
@json_option
@handle_errors
def accounts_cmd(target: Target, as_json: bool) -> None:
    """The development accounts, the asset role each plays, and their public keys (never use them elsewhere)."""
    with open_chain(target) as chain:
        _require_dev_chain(chain, target)
        from ..anvil import DEV_PRIVATE_KEYS

        public = {Account.from_key(key).address for key in DEV_PRIVATE_KEYS}
        rows = []
        for index, account in enumerate(a for a in chain.accounts if a.address in public):  # never a real key
            rows.append({"index": index, "address": account.address,
                         "role": ROLE_OF_DEV_ACCOUNT[index] if index < len(ROLE_OF_DEV_ACCOUNT) else "free (investor)",
                         "private_key": "0x" + account.key.hex().removeprefix("0x")})
    emit_rows(rows, as_json, "development accounts (public keys: chain 31337 only)",
              columns=("index", "address", "role", "private_key"))
