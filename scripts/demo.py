"""End-to-end scenario on a private Anvil (Brownie-style: `python scripts/demo.py`).

Compiles the contracts, deploys the settlement stablecoin with separate role holders, and shows an
investor paying without an approve transaction: an EIP-2612 permit and an EIP-3009 authorization,
both signed off-chain in Python and submitted by someone else. Ends with a blacklisted account
failing with the contract's own decoded error.
"""

from __future__ import annotations

import time

from rwa_sdk import errors
from rwa_sdk.chain import connect
from rwa_sdk.compiler import compile_project
from rwa_sdk.settlement.stablecoin import UNIT, deploy_stablecoin


def usd(amount: int) -> str:
    return f"{amount / UNIT:,.2f} USDC"


def main() -> None:
    started = time.perf_counter()
    result = compile_project(on_progress=lambda message: print(f"  {message}"))
    print(f"compiled {len(result.artifacts)} contracts ({'cached' if result.cached else f'{result.seconds:.1f} s'})")
    with connect("anvil") as chain:
        issuer, treasury, investor, vault, relayer, compliance = chain.accounts[:6]
        print(f"anvil started at {chain.node.url} (chain id {chain.chain_id})")

        coin = deploy_stablecoin(chain, master_minter=treasury.address, blacklister=compliance.address, force=True)
        print(f"Stablecoin {coin.symbol} deployed at {coin.address}")
        coin.configure_minter(treasury.address, 10_000_000 * UNIT, sender=treasury)
        coin.mint(investor.address, 50_000 * UNIT, sender=treasury)
        print(f"treasury minted {usd(coin.balance_of(investor.address))} to investor {investor.address}")

        now = chain.w3.eth.get_block("latest")["timestamp"]
        permit = coin.sign_permit(investor, vault.address, 20_000 * UNIT, deadline=now + 3600)
        sent = coin.permit(permit, sender=relayer)
        coin.transfer_from(investor.address, vault.address, 20_000 * UNIT, sender=vault)
        print(f"permit signed off-chain, submitted by the relayer ({sent.gas_used} gas): "
              f"vault pulled {usd(coin.balance_of(vault.address))} without an approve transaction")

        authorization = coin.sign_authorization(investor, vault.address, 5_000 * UNIT, valid_before=now + 3600)
        sent = coin.execute_authorization(authorization, sender=relayer)
        print(f"EIP-3009 transfer of {usd(authorization.value)} executed by the relayer ({sent.gas_used} gas)")
        try:
            coin.execute_authorization(authorization, sender=relayer)
        except errors.AuthorizationAlreadyUsed as error:
            print(f"replaying it fails: {error}")

        coin.blacklist(investor.address, sender=compliance)
        try:
            coin.transfer(vault.address, UNIT, sender=investor)
        except errors.StablecoinBlacklisted as error:
            print(f"blacklisted investor cannot pay: {error}")

        print(f"balances: investor {usd(coin.balance_of(investor.address))}, vault {usd(coin.balance_of(vault.address))}, "
              f"supply {usd(coin.total_supply())}")
    print(f"demo finished in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
