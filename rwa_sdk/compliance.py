"""Compliance rules of an ERC-3643 token: add and configure modules, and say in words why a rule refuses a move.

Modules are configured through ``ModularCompliance.callModuleFunction`` (a module keys its settings by the
calling compliance). Explanations use ``moduleCheck`` and ``name`` of the standard module interface, then the
module's own getters when it is one of the known rules, so they work on any ERC-3643 modular compliance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from eth_utils import to_checksum_address
from web3.contract import Contract
from web3.exceptions import Web3Exception

from . import errors
from .chain import Chain, Sent
from .identity import Sender

COMPLIANCE_ABI = "contracts/interfaces/IModularCompliance.sol:IModularCompliance"
MODULE_ABI = "contracts/interfaces/IModule.sol:IModule"
MODULE_ARTIFACTS = {
    name: f"contracts/compliance/modules/{name}.sol:{name}"
    for name in (
        "CountryAllowModule",
        "CountryRestrictModule",
        "MaxBalanceModule",
        "MaxHoldersModule",
        "SupplyLimitModule",
        "LockUpModule",
        "InvestorSuitabilityModule",
    )
}


@dataclass(frozen=True)
class ModuleInfo:
    address: str
    name: str


@dataclass(frozen=True)
class Refusal:
    """One rule refusing a move: the module and the reason in words."""

    module: str
    rule: str
    reason: str


class Compliance:
    """A token's modular compliance: its modules, their settings, and explanations of refusals."""

    def __init__(self, chain: Chain, address: str):
        self.chain = chain
        self.contract: Contract = chain.contract(COMPLIANCE_ABI, address)
        self.address = self.contract.address

    # -- modules ------------------------------------------------------------------------------
    def modules(self) -> list[ModuleInfo]:
        result = []
        for address in self.chain.call(self.contract.functions.getModules()):
            module = self.chain.contract(MODULE_ABI, address)
            result.append(ModuleInfo(to_checksum_address(address), self.chain.call(module.functions.name())))
        return result

    def module(self, name: str) -> Contract:
        """The bound module called ``name`` (e.g. ``"MaxBalanceModule"``), with its full ABI when known."""
        for info in self.modules():
            if info.name == name:
                return self.chain.contract(MODULE_ARTIFACTS.get(name, MODULE_ABI), info.address)
        raise LookupError(f"no module named {name!r} is bound to compliance {self.address}")

    def add_module(self, module: str, sender: Sender = None) -> Sent:
        return self.chain.transact(self.contract.functions.addModule(to_checksum_address(module)), sender=sender)

    def remove_module(self, module: str, sender: Sender = None) -> Sent:
        return self.chain.transact(self.contract.functions.removeModule(to_checksum_address(module)), sender=sender)

    def call_module(self, module: Contract, function: str, *args: Any, sender: Sender = None) -> Sent:
        """Run a configuration function of ``module`` as this compliance (compliance owner only)."""
        data = module.encode_abi(function, args=list(args))
        return self.chain.transact(self.contract.functions.callModuleFunction(data, module.address), sender=sender)

    # -- rule configuration ---------------------------------------------------------------------
    def allow_countries(self, countries: Iterable[int], sender: Sender = None) -> Sent:
        return self.call_module(self.module("CountryAllowModule"), "batchAllowCountries", list(countries), sender=sender)

    def disallow_countries(self, countries: Iterable[int], sender: Sender = None) -> Sent:
        return self.call_module(self.module("CountryAllowModule"), "batchDisallowCountries", list(countries), sender=sender)

    def block_countries(self, countries: Iterable[int], sender: Sender = None) -> Sent:
        return self.call_module(self.module("CountryRestrictModule"), "batchRestrictCountries", list(countries), sender=sender)

    def set_max_balance(self, amount: int, sender: Sender = None) -> Sent:
        return self.call_module(self.module("MaxBalanceModule"), "setMaxBalance", amount, sender=sender)

    def set_max_holders(self, count: int, sender: Sender = None) -> Sent:
        return self.call_module(self.module("MaxHoldersModule"), "setMaxHolders", count, sender=sender)

    def set_supply_limit(self, amount: int, sender: Sender = None) -> Sent:
        return self.call_module(self.module("SupplyLimitModule"), "setSupplyLimit", amount, sender=sender)

    def set_lock_period(self, seconds: int, sender: Sender = None) -> Sent:
        return self.call_module(self.module("LockUpModule"), "setLockPeriod", seconds, sender=sender)

    def set_suitability(
        self, risk_level: int, risk_tier_topic: int, professional_topic: int, professional_only: Iterable[int] = (), sender: Sender = None
    ) -> None:
        """Token risk level 1-5, the claim topics it reads, and the countries that require professional investors."""
        module = self.module("InvestorSuitabilityModule")
        self.call_module(module, "setClaimTopics", risk_tier_topic, professional_topic, sender=sender)
        self.call_module(module, "setRiskLevel", risk_level, sender=sender)
        for country in professional_only:
            self.call_module(module, "setProfessionalOnly", country, True, sender=sender)

    # -- explanations ---------------------------------------------------------------------------
    def can_transfer(self, sender: str, receiver: str, amount: int) -> bool:
        return self.chain.call(self.contract.functions.canTransfer(sender, receiver, amount))

    def refusals(self, registry: Contract, token: Contract, sender: str, receiver: str, amount: int) -> list[Refusal]:
        """Every module refusing the move, each with a reason in words (empty when all agree)."""
        found = []
        for info in self.modules():
            module = self.chain.contract(MODULE_ABI, info.address)
            try:
                if self.chain.call(module.functions.moduleCheck(sender, receiver, amount, self.address)):
                    continue
            except errors.ContractError as exc:  # some modules revert instead of answering false
                found.append(Refusal(info.address, info.name, f"{info.name} reverts: {exc}"))
                continue
            explain = _EXPLAINERS.get(info.name)
            reason = f"{info.name} refuses the transfer"
            if explain is not None:
                full = self.chain.contract(MODULE_ARTIFACTS[info.name], info.address)
                ctx = _Context(self.chain, full, self.address, registry, token, sender, receiver, amount)
                try:
                    reason = explain(ctx)
                except (errors.ContractError, Web3Exception, ValueError):  # a look-alike module without our getters
                    pass
            found.append(Refusal(info.address, info.name, reason))
        return found


@dataclass(frozen=True)
class _Context:
    chain: Chain
    module: Contract
    compliance: str
    registry: Contract
    token: Contract
    sender: str
    receiver: str
    amount: int

    def call(self, fn) -> Any:
        return self.chain.call(fn)


def _country_allow(c: _Context) -> str:
    country = c.call(c.registry.functions.investorCountry(c.receiver))
    return f"the receiver's country ({country}) is not on the token's country allow-list"


def _country_restrict(c: _Context) -> str:
    country = c.call(c.registry.functions.investorCountry(c.receiver))
    return f"the receiver's country ({country}) is blocked for this token"


def _max_balance(c: _Context) -> str:
    identity = c.call(c.registry.functions.identity(c.receiver))
    held = c.call(c.module.functions.identityBalance(c.compliance, identity))
    cap = c.call(c.module.functions.maxBalance(c.compliance))
    return f"the receiving investor would hold {held + c.amount}, above the maximum balance per investor of {cap}"


def _max_holders(c: _Context) -> str:
    count = c.call(c.module.functions.holderCount(c.compliance))
    cap = c.call(c.module.functions.maxHolders(c.compliance))
    return f"the receiver would be a new holder but the token already has {count} of at most {cap} holders"


def _supply_limit(c: _Context) -> str:
    supply = c.call(c.token.functions.totalSupply())
    cap = c.call(c.module.functions.getSupplyLimit(c.compliance))
    return f"minting {c.amount} would take the supply to {supply + c.amount}, above the cap of {cap}"


def _lock_up(c: _Context) -> str:
    locked, until = c.call(c.module.functions.lockOf(c.compliance, c.sender))
    when = datetime.fromtimestamp(until, tz=timezone.utc).isoformat()
    return f"{locked} of the sender's tokens are locked after subscription until {when}"


def _suitability(c: _Context) -> str:
    identity = c.call(c.registry.functions.identity(c.receiver))
    if int(identity, 16) == 0:
        return "the receiver has no identity, so its suitability cannot be assessed"
    level, _, _ = c.call(c.module.functions.configOf(c.compliance))
    tier = c.call(c.module.functions.riskTierOf(c.compliance, identity))
    if level and tier < level:
        held = f"risk tier {tier}" if tier else "no valid risk-tier claim"
        return f"the receiver holds {held}, below the token's risk level {level}"
    country = c.call(c.registry.functions.investorCountry(c.receiver))
    return f"receivers in country {country} must hold a valid professional-investor claim"


_EXPLAINERS: dict[str, Callable[[_Context], str]] = {
    "CountryAllowModule": _country_allow,
    "CountryRestrictModule": _country_restrict,
    "MaxBalanceModule": _max_balance,
    "MaxHoldersModule": _max_holders,
    "SupplyLimitModule": _supply_limit,
    "LockUpModule": _lock_up,
    "InvestorSuitabilityModule": _suitability,
}
