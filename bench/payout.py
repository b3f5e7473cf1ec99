"""Gas of a revenue deposit and a claim with 10, 1,000 and 10,000 token holders, and of a DvP fill.

Run by hand: `python bench/payout.py` (about a minute: it mints to 10,000 real holders on a private
Anvil). Holders are added between measurements (10 -> 1,000 -> 10,000); at each size the benchmark
deposits once and claims once to warm up, then measures one deposit and one claim by the same holder.
Last line: `deposit_gas_10=… deposit_gas_10000=… claim_gas=… dvp_fill_gas=…`; goal: deposit and claim
gas flat in the holder count (within 5 %).
"""

from __future__ import annotations

import time
from typing import Any

from eth_account import Account

from rwa_sdk.chain import Chain, connect
from rwa_sdk.compiler import compile_project
from rwa_sdk.settlement.dvp import SELL, DvP
from rwa_sdk.settlement.revenue import PeriodRevenue, RevenueDistributor
from rwa_sdk.settlement.stablecoin import UNIT, Stablecoin
from rwa_sdk.toolchain import project_root

SIZES = (10, 1_000, 10_000)
ASSET = b"\x42" * 32


def send_many(chain: Chain, calls: list[Any], sender: Any, gas: int = 200_000) -> None:
    """Sign and queue many transactions, then mine them in a few large blocks (setup only)."""
    account = chain.account(sender)
    nonce = chain.w3.eth.get_transaction_count(account.address, "pending")
    fees = chain.fee_params()
    fees["maxFeePerGas"] *= 4  # headroom if the base fee rises over the big blocks
    hashes = []
    chain.rpc("evm_setAutomine", False)
    try:
        for offset, fn in enumerate(calls):
            tx = fn.build_transaction({"from": account.address, "nonce": nonce + offset, "gas": gas,
                                       "chainId": chain.chain_id, **fees})
            hashes.append(chain.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction))
        while chain.w3.eth.get_transaction_count(account.address, "latest") < nonce + len(calls):
            chain.rpc("evm_mine")
    finally:
        chain.rpc("evm_setAutomine", True)
    for tx_hash in (hashes[0], hashes[-1]) if hashes else ():
        receipt = chain.w3.eth.get_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            raise RuntimeError(f"setup transaction failed: {bytes(receipt['transactionHash']).hex()}")


def add_holders(chain: Chain, token: Any, issuer: Any, count: int, start: int, chunk: int = 500) -> None:
    """Verify and mint one token to ``count`` new addresses (chunked: Anvil's pool is bounded)."""
    addresses = [Account.from_key((start + i + 1).to_bytes(32, "big")).address for i in range(count)]
    for i in range(0, count, chunk):
        part = addresses[i:i + chunk]
        send_many(chain, [token.functions.setVerified(a, True) for a in part], issuer)
        send_many(chain, [token.functions.mint(a, 1) for a in part], issuer)


def main() -> None:
    compile_project(project_root())
    with connect("anvil") as chain:
        issuer, holder, seller = chain.accounts[0], chain.accounts[1], chain.accounts[2]
        chain.rpc("evm_setBlockGasLimit", hex(1_000_000_000))
        usd = _stablecoin(chain, issuer)
        token, _ = chain.deploy("SecurityTokenMock", issuer.address, 0, sender=issuer)
        dist_contract, _ = chain.deploy("RevenueDistributor", token.address, usd.address, issuer.address,
                                        sender=issuer)
        dist = RevenueDistributor(chain, dist_contract.address)
        chain.transact(token.functions.setRevenueHook(dist.address), sender=issuer)
        dist.grant("OPERATOR_ROLE", issuer.address, sender=issuer)
        usd.approve(dist.address, 2**256 - 1, sender=issuer)

        for who in (holder, seller):
            chain.transact(token.functions.setVerified(who.address, True), sender=issuer)
            chain.transact(token.functions.mint(who.address, 100), sender=issuer)

        period = 0
        results: dict[int, tuple[int, int]] = {}
        have = 2
        for size in SIZES:
            started = time.perf_counter()
            add_holders(chain, token, issuer, size - have, have)
            have = size
            holders = token.functions.totalSupply().call()  # sanity: one token per extra holder
            gas = []
            for _ in range(2):  # warm-up round, then the measured round
                period += 1
                revenue = PeriodRevenue(ASSET, period, period + 1, 1_000_000, b"\x00" * 32, 1_000 * UNIT)
                deposit = dist.deposit(revenue, sender=issuer).gas_used
                claim = dist.claim(sender=holder).gas_used
                gas.append((deposit, claim))
            results[size] = gas[-1]
            print(f"holders={size:>6} supply={holders:>6} deposit_gas={gas[-1][0]} claim_gas={gas[-1][1]} "
                  f"setup_s={time.perf_counter() - started:.1f}")

        dvp = _dvp(chain, issuer)
        chain.transact(token.functions.approve(dvp.address, 2**256 - 1), sender=seller)
        usd.approve(dvp.address, 2**256 - 1, sender=holder)
        expiry = chain.timestamp() + 3600
        order = dvp.sign_order(seller, token=token.address, stablecoin=usd.address, side=SELL, amount=10,
                               price=100 * UNIT, nonce=1, expiry=expiry)
        dvp_gas = dvp.fill(order, 5, sender=holder).gas_used  # hook settles both parties, as in production

        # what the hook adds to a token transfer: settling both holders after a deposit, a no-op otherwise
        transfer = token.functions.transfer(seller.address, 1)
        period += 1
        dist.deposit(PeriodRevenue(ASSET, period, period + 1, 1, b"\x00" * 32, 1_000 * UNIT), sender=issuer)
        settling = chain.transact(transfer, sender=holder).gas_used
        settled = chain.transact(transfer, sender=holder).gas_used
        chain.transact(token.functions.setRevenueHook("0x" + "00" * 20), sender=issuer)
        without_hook = chain.transact(transfer, sender=holder).gas_used
        print(f"transfer_gas_hook_settling={settling} transfer_gas_hook_noop={settled} "
              f"transfer_gas_no_hook={without_hook}")

        deposits = [results[s][0] for s in SIZES]
        claims = [results[s][1] for s in SIZES]
        spread = lambda xs: (max(xs) - min(xs)) / min(xs) * 100  # noqa: E731
        print(f"deposit spread {spread(deposits):.2f} %, claim spread {spread(claims):.2f} % (goal: within 5 %)")
        print(f"deposit_gas_10={results[10][0]} deposit_gas_1000={results[1_000][0]} "
              f"deposit_gas_10000={results[10_000][0]} claim_gas={results[10_000][1]} dvp_fill_gas={dvp_gas}")


def _stablecoin(chain: Chain, issuer: Any) -> Stablecoin:
    """A fresh USDC-style coin (no deployments file: the benchmark chain is thrown away)."""
    contract, _ = chain.deploy("Stablecoin", "USD Coin", "USDC", *[issuer.address] * 5, sender=issuer)
    usd = Stablecoin(chain, contract.address)
    usd.configure_minter(issuer.address, 10**9 * UNIT, sender=issuer)
    usd.mint(issuer.address, 10**8 * UNIT, sender=issuer)
    usd.mint(chain.accounts[1].address, 10**6 * UNIT, sender=issuer)
    return usd


def _dvp(chain: Chain, issuer: Any) -> DvP:
    contract, _ = chain.deploy("DvPSettlement", issuer.address, sender=issuer)
    return DvP(chain, contract.address)


if __name__ == "__main__":
    main()
