"""Revenue distribution: metered energy × tariff → stablecoin, paid to token holders pro rata.

The operator deposits a period's revenue with the oracle's anchored energy total and evidence
(batch root), so every payout traces back to metered production. Holders (or an agent, e.g.
after a wallet recovery) claim; claimable amounts are maintained by an accumulator the token
updates on every balance change, so a deposit or a claim costs the same for any number of holders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from web3.contract import Contract

from ..chain import Chain, Sent
from ..deploy import Deployments, deploy
from .stablecoin import DECIMALS

SCALE = 10**36


@dataclass(frozen=True)
class Tariff:
    """A price per kWh in currency units (e.g. ``Decimal("0.12")`` USD/kWh) for a coin of ``decimals``."""

    price_per_kwh: Decimal
    decimals: int = DECIMALS


def revenue_from_energy(energy_wh: int, tariff: Tariff) -> int:
    """Revenue in stablecoin base units for ``energy_wh`` at ``tariff``, rounded down (never overpay)."""
    if energy_wh < 0:
        raise ValueError("energy_wh must not be negative")
    value = Decimal(energy_wh) / 1000 * tariff.price_per_kwh * (10**tariff.decimals)
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True)
class PeriodRevenue:
    """One period's revenue as deposited: the energy and evidence it is traceable to."""

    asset_id: bytes
    period_start: int
    period_end: int
    energy_wh: int
    evidence: bytes
    amount: int


@dataclass(frozen=True)
class RecordedDeposit:
    """A deposit as the distributor stored it (``supply`` = token supply at deposit time)."""

    deposit_id: int
    asset_id: bytes
    evidence: bytes
    period_start: int
    period_end: int
    timestamp: int
    energy_wh: int
    amount: int
    supply: int


@dataclass(frozen=True)
class HolderRevenue:
    """A holder's claimable revenue and fractional remainder (in 1e36 units)."""

    holder: str
    claimable: int
    remainder: int
    frozen: bool


class RevenueDistributor:
    """A deployed RevenueDistributor; ``sender`` arguments take an account, an address or an index."""

    def __init__(self, chain: Chain, address: str):
        self.chain = chain
        self.contract: Contract = chain.contract("RevenueDistributor", address)
        self.address = self.contract.address

    def __repr__(self) -> str:
        return f"RevenueDistributor at {self.address}"

    def _send(self, fn: Any, sender: Any) -> Sent:
        return self.chain.transact(fn, sender=sender)

    # -- operator -----------------------------------------------------------------------
    def period_revenue(self, asset_id: bytes, period_start: int, period_end: int, energy_wh: int,
                       tariff: Tariff, evidence: bytes) -> PeriodRevenue:
        """The deposit for a period from the oracle's anchored energy total and a tariff."""
        return PeriodRevenue(asset_id, period_start, period_end, energy_wh, evidence,
                             revenue_from_energy(energy_wh, tariff))

    def deposit(self, revenue: PeriodRevenue, sender: Any = None) -> Sent:
        """Operator: deposit a period's revenue (approve the distributor for ``revenue.amount`` first)."""
        fn = self.contract.functions.deposit(revenue.asset_id, revenue.period_start, revenue.period_end,
                                             revenue.energy_wh, revenue.evidence, revenue.amount)
        return self._send(fn, sender)

    def set_energy_oracle(self, oracle: str, sender: Any = None) -> Sent:
        return self._send(self.contract.functions.setEnergyOracle(oracle), sender)

    def grant(self, role: str, account: str, sender: Any = None) -> Sent:
        """Admin: grant ``"OPERATOR_ROLE"`` or ``"AGENT_ROLE"``."""
        role_id = getattr(self.contract.functions, role)().call()
        return self._send(self.contract.functions.grantRole(role_id, account), sender)

    # -- holders and agents -------------------------------------------------------------
    def claim(self, sender: Any = None) -> Sent:
        return self._send(self.contract.functions.claim(), sender)

    def claim_for(self, holder: str, to: str, sender: Any = None) -> Sent:
        """Agent: pay ``holder``'s revenue to ``to`` (e.g. its recovered wallet)."""
        return self._send(self.contract.functions.claimFor(holder, to), sender)

    def transfer_accrued(self, lost: str, new_wallet: str, sender: Any = None) -> Sent:
        """Agent: after a wallet recovery, move the lost wallet's accrued revenue to the new one."""
        return self._send(self.contract.functions.transferAccrued(lost, new_wallet), sender)

    # -- reads --------------------------------------------------------------------------
    def claimable(self, holder: str) -> int:
        return self.contract.functions.claimable(holder).call()

    def remainder(self, holder: str) -> int:
        return self.contract.functions.remainderOf(holder).call()

    def totals(self) -> dict[str, int]:
        """Deposited, claimed and the undistributed carry (in 1e36 units)."""
        f = self.contract.functions
        return {"deposited": f.totalDeposited().call(), "claimed": f.totalClaimed().call(),
                "carry": f.carry().call()}

    def deposits(self) -> list[RecordedDeposit]:
        count = self.contract.functions.depositCount().call()
        return [RecordedDeposit(i, *self.contract.functions.getDeposit(i).call()) for i in range(count)]

    def holders(self, token: Contract, from_block: int = 0) -> list[str]:
        """Every address that ever received the token (from its Transfer logs), first seen first."""
        seen: dict[str, None] = {}
        for log in token.events.Transfer.get_logs(from_block=from_block):
            to = log["args"]["to"]
            if int(to, 16) != 0:
                seen.setdefault(to, None)
        return list(seen)

    def accrued(self, holders: Iterable[str], token: Contract | None = None) -> list[HolderRevenue]:
        """Per-holder claimable revenue (and frozen flag if the token contract is given)."""
        rows = []
        for holder in holders:
            frozen = bool(token.functions.isFrozen(holder).call()) if token is not None else False
            rows.append(HolderRevenue(holder, self.claimable(holder), self.remainder(holder), frozen))
        return rows


def deploy_distributor(chain: Chain, token: str, stablecoin: str, *, admin: str | None = None,
                       sender: Any = None, deployments: Deployments | None = None,
                       record_name: str = "RevenueDistributor", force: bool = False) -> RevenueDistributor:
    """Deploy a distributor for ``token``; the token must then call it as its revenue hook."""
    admin = admin or chain.account(sender).address
    result = deploy(chain, "RevenueDistributor", token, stablecoin, admin, name=record_name, sender=sender,
                    deployments=deployments, force=force)
    return RevenueDistributor(chain, result.contract.address)
