"""Issuer operations on an ERC-3643 asset token, and the deployment of a whole suite for one asset.

:class:`AssetToken` speaks only the standard ``IToken`` / ``IIdentityRegistry`` / ``IModularCompliance``
interfaces, so it drives any ERC-3643 token (T-REX included). :meth:`AssetToken.can_transfer` answers
"would this transfer go through, and if not, which rule stops it?" from view calls alone.
:func:`deploy_suite` deploys this project's contracts in dependency order and wires them together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount
from eth_utils import to_checksum_address
from web3.contract import Contract

from . import errors
from .chain import Chain, Sent
from .compliance import MODULE_ARTIFACTS, Compliance
from .identity import (
    ClaimIssuer,
    ClaimTopic,
    Identity,
    IdentityFactory,
    IdentityRegistry,
    Investor,
    KeyPurpose,
    Sender,
)

TOKEN_ABI = "contracts/interfaces/IToken.sol:IToken"
AGENT_ABI = "contracts/interfaces/IAgentRole.sol:IAgentRole"
ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class TransferCheck:
    """The answer of :meth:`AssetToken.can_transfer`: allowed, or the rules that refuse, in words."""

    allowed: bool
    reasons: tuple[str, ...] = ()

    @property
    def rule(self) -> str | None:
        """The first failing rule, or None."""
        return self.reasons[0] if self.reasons else None

    def __bool__(self) -> bool:
        return self.allowed


class AssetToken:
    """An ERC-3643 token seen by its issuer: agent operations, owner settings and transfer explanations."""

    def __init__(self, chain: Chain, address: str):
        self.chain = chain
        self.contract: Contract = chain.contract(TOKEN_ABI, address)
        self.address = self.contract.address
        self._agents = chain.contract(AGENT_ABI, address)

    # -- wiring ---------------------------------------------------------------------------------
    @property
    def registry(self) -> IdentityRegistry:
        return IdentityRegistry(self.chain, self.chain.call(self.contract.functions.identityRegistry()))

    @property
    def compliance(self) -> Compliance:
        return Compliance(self.chain, self.chain.call(self.contract.functions.compliance()))

    # -- reads ----------------------------------------------------------------------------------
    def balance_of(self, wallet: str) -> int:
        return self.chain.call(self.contract.functions.balanceOf(to_checksum_address(wallet)))

    def frozen_tokens(self, wallet: str) -> int:
        return self.chain.call(self.contract.functions.getFrozenTokens(to_checksum_address(wallet)))

    def free_balance_of(self, wallet: str) -> int:
        """Balance minus frozen tokens: what the holder may transfer."""
        return self.balance_of(wallet) - self.frozen_tokens(wallet)

    def is_frozen(self, wallet: str) -> bool:
        return self.chain.call(self.contract.functions.isFrozen(to_checksum_address(wallet)))

    def total_supply(self) -> int:
        return self.chain.call(self.contract.functions.totalSupply())

    def paused(self) -> bool:
        return self.chain.call(self.contract.functions.paused())

    def is_agent(self, account: str) -> bool:
        return self.chain.call(self._agents.functions.isAgent(to_checksum_address(account)))

    # -- investor and agent operations ----------------------------------------------------------
    def transfer(self, to: str, amount: int, sender: Sender = None) -> Sent:
        return self.chain.transact(self.contract.functions.transfer(to_checksum_address(to), amount), sender=sender)

    def mint(self, to: str, amount: int, sender: Sender = None) -> Sent:
        return self.chain.transact(self.contract.functions.mint(to_checksum_address(to), amount), sender=sender)

    def batch_mint(self, amounts: Mapping[str, int], sender: Sender = None) -> Sent:
        wallets = [to_checksum_address(w) for w in amounts]
        return self.chain.transact(self.contract.functions.batchMint(wallets, list(amounts.values())), sender=sender)

    def burn(self, wallet: str, amount: int, sender: Sender = None) -> Sent:
        return self.chain.transact(self.contract.functions.burn(to_checksum_address(wallet), amount), sender=sender)

    def forced_transfer(self, source: str, to: str, amount: int, sender: Sender = None) -> Sent:
        fn = self.contract.functions.forcedTransfer(to_checksum_address(source), to_checksum_address(to), amount)
        return self.chain.transact(fn, sender=sender)

    def set_frozen(self, wallet: str, frozen: bool, sender: Sender = None) -> Sent:
        return self.chain.transact(self.contract.functions.setAddressFrozen(to_checksum_address(wallet), frozen), sender=sender)

    def freeze_tokens(self, wallet: str, amount: int, sender: Sender = None) -> Sent:
        return self.chain.transact(self.contract.functions.freezePartialTokens(to_checksum_address(wallet), amount), sender=sender)

    def unfreeze_tokens(self, wallet: str, amount: int, sender: Sender = None) -> Sent:
        return self.chain.transact(self.contract.functions.unfreezePartialTokens(to_checksum_address(wallet), amount), sender=sender)

    def pause(self, sender: Sender = None) -> Sent:
        return self.chain.transact(self.contract.functions.pause(), sender=sender)

    def unpause(self, sender: Sender = None) -> Sent:
        return self.chain.transact(self.contract.functions.unpause(), sender=sender)

    def recover(self, lost_wallet: str, new_wallet: str, identity: str, sender: Sender = None) -> Sent:
        """Move everything of ``lost_wallet`` (frozen state included) to ``new_wallet`` of the same identity.

        ``new_wallet`` must already be a management key of ``identity``.
        """
        fn = self.contract.functions.recoveryAddress(to_checksum_address(lost_wallet), to_checksum_address(new_wallet), identity)
        return self.chain.transact(fn, sender=sender)

    def add_agent(self, agent: str, sender: Sender = None) -> Sent:
        return self.chain.transact(self._agents.functions.addAgent(to_checksum_address(agent)), sender=sender)

    # -- explanation ----------------------------------------------------------------------------
    def can_transfer(self, sender: str, receiver: str, amount: int) -> TransferCheck:
        """Would ``sender`` be able to transfer ``amount`` to ``receiver`` now? If not, every reason, in words.

        Mirrors the ERC-3643 transfer checks (pause, frozen wallets, free balance, receiver verification,
        compliance) with view calls only; nothing is sent.
        """
        sender, receiver = to_checksum_address(sender), to_checksum_address(receiver)
        reasons: list[str] = []
        if self.paused():
            reasons.append("the token is paused")
        if self.is_frozen(sender):
            reasons.append(f"the sender {sender} is frozen")
        if self.is_frozen(receiver):
            reasons.append(f"the receiver {receiver} is frozen")
        balance, frozen = self.balance_of(sender), self.frozen_tokens(sender)
        if amount > balance:
            reasons.append(f"the sender holds {balance}, less than {amount}")
        elif amount > balance - frozen:
            reasons.append(f"only {balance - frozen} of the sender's {balance} tokens are free ({frozen} frozen), less than {amount}")
        reasons += self._receiver_reasons(sender, receiver, amount)
        return TransferCheck(not reasons, tuple(reasons))

    def can_mint(self, receiver: str, amount: int) -> TransferCheck:
        """Could ``amount`` new tokens be issued to ``receiver`` now (verification and compliance)?"""
        reasons = self._receiver_reasons(ZERO_ADDRESS, to_checksum_address(receiver), amount)
        return TransferCheck(not reasons, tuple(reasons))

    def _receiver_reasons(self, sender: str, receiver: str, amount: int) -> list[str]:
        """The receiver's verification and every compliance rule refusing the move, in words."""
        reasons: list[str] = []
        registry = self.registry
        for gap in registry.why_not_verified(receiver):
            reasons.append(f"the receiver is not a verified investor: {gap}")
        compliance = self.compliance
        try:
            compliant = compliance.can_transfer(sender, receiver, amount)
        except errors.ContractError:  # a rule reverted (e.g. it cannot look up an unregistered receiver)
            compliant = False
        if not compliant:
            refusals = compliance.refusals(registry.contract, self.contract, sender, receiver, amount)
            reasons.extend(f"{r.rule}: {r.reason}" for r in refusals)
            if not refusals:
                reasons.append("the compliance refuses the transfer")
        return reasons


# -- deployment -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class SuiteConfig:
    """What one asset's suite enforces. ``None`` leaves a rule out."""

    name: str
    symbol: str
    decimals: int = 0
    required_topics: tuple[int, ...] = (ClaimTopic.KYC, ClaimTopic.COUNTRY)
    allowed_countries: tuple[int, ...] | None = None
    blocked_countries: tuple[int, ...] | None = None
    max_balance: int | None = None
    max_holders: int | None = None
    supply_limit: int | None = None
    lock_period_s: int | None = None
    risk_level: int | None = None
    professional_only: tuple[int, ...] = ()


@dataclass(frozen=True)
class Suite:
    """Addresses of a deployed suite; typed clients on demand."""

    chain: Chain = field(repr=False)
    token: str
    identity_registry: str
    identity_storage: str
    topics_registry: str
    issuers_registry: str
    compliance: str
    claim_epochs: str
    identity_factory: str
    claim_issuer: str
    modules: Mapping[str, str]

    def token_client(self) -> AssetToken:
        return AssetToken(self.chain, self.token)

    def registry_client(self) -> IdentityRegistry:
        return IdentityRegistry(self.chain, self.identity_registry)

    def compliance_client(self) -> Compliance:
        return Compliance(self.chain, self.compliance)

    def factory_client(self) -> IdentityFactory:
        return IdentityFactory(self.chain, self.identity_factory)

    def issuer_client(self) -> ClaimIssuer:
        return ClaimIssuer(self.chain, self.claim_issuer)


def deploy_suite(chain: Chain, config: SuiteConfig, owner: LocalAccount, agent: LocalAccount, claim_signer: LocalAccount) -> Suite:
    """Deploy and wire a complete suite: change counters, identity and issuer factory, a claim issuer whose
    claim key is ``claim_signer``, registries, compliance with the configured modules, and the token.

    ``owner`` owns everything; ``agent`` operates the token, the registry and the factory.
    """

    def deploy(name: str, *args) -> Contract:
        contract, _ = chain.deploy(name, *args, sender=owner)
        return contract

    def send(fn) -> Sent:
        return chain.transact(fn, sender=owner)

    epochs = deploy("contracts/identity/ClaimEpochs.sol:ClaimEpochs", owner.address)
    identity_impl = deploy("contracts/identity/Identity.sol:Identity", ZERO_ADDRESS, epochs.address)
    issuer_impl = deploy("contracts/identity/ClaimIssuer.sol:ClaimIssuer", ZERO_ADDRESS, epochs.address)
    factory = deploy(
        "contracts/identity/IdentityFactory.sol:IdentityFactory", identity_impl.address, issuer_impl.address, epochs.address, owner.address
    )
    send(epochs.functions.setRegistrar(factory.address, True))
    send(factory.functions.addAgent(agent.address))
    issuer = IdentityFactory(chain, factory.address).create_claim_issuer(owner.address, sender=owner)
    issuer.add_key(claim_signer.address, KeyPurpose.CLAIM, sender=owner)

    topics = deploy("contracts/identity/ClaimTopicsRegistry.sol:ClaimTopicsRegistry", owner.address, epochs.address)
    issuers = deploy("contracts/identity/TrustedIssuersRegistry.sol:TrustedIssuersRegistry", owner.address, epochs.address)
    send(epochs.functions.track(topics.address, 2))
    send(epochs.functions.track(issuers.address, 2))
    for topic in config.required_topics:
        send(topics.functions.addClaimTopic(int(topic)))
    trusted_for = sorted({int(t) for t in config.required_topics} | {int(ClaimTopic.RISK_TIER), int(ClaimTopic.PROFESSIONAL_INVESTOR)})
    send(issuers.functions.addTrustedIssuer(issuer.address, trusted_for))

    storage = deploy("contracts/identity/IdentityRegistryStorage.sol:IdentityRegistryStorage", owner.address)
    registry = deploy(
        "contracts/identity/IdentityRegistry.sol:IdentityRegistry",
        owner.address,
        issuers.address,
        topics.address,
        storage.address,
        epochs.address,
    )
    send(storage.functions.bindIdentityRegistry(registry.address))
    send(registry.functions.addAgent(agent.address))

    compliance = deploy("contracts/compliance/ModularCompliance.sol:ModularCompliance", owner.address)
    token = deploy(
        "contracts/token/AssetToken.sol:AssetToken",
        config.name,
        config.symbol,
        config.decimals,
        registry.address,
        compliance.address,
        ZERO_ADDRESS,
        owner.address,
    )
    send(compliance.functions.bindToken(token.address))  # owner-gated: no one else can claim the compliance
    send(token.functions.addAgent(agent.address))
    send(registry.functions.addAgent(token.address))  # recovery registers the new wallet

    modules = _deploy_modules(chain, config, Compliance(chain, compliance.address), owner)
    return Suite(
        chain=chain,
        token=token.address,
        identity_registry=registry.address,
        identity_storage=storage.address,
        topics_registry=topics.address,
        issuers_registry=issuers.address,
        compliance=compliance.address,
        claim_epochs=epochs.address,
        identity_factory=factory.address,
        claim_issuer=issuer.address,
        modules=modules,
    )


def wanted_modules(config: SuiteConfig) -> dict[str, bool]:
    """Module name -> whether ``config`` needs it (deploy and the launch checker agree on this one list)."""
    return {
        "CountryAllowModule": config.allowed_countries is not None,
        "CountryRestrictModule": config.blocked_countries is not None,
        "MaxBalanceModule": config.max_balance is not None,
        "MaxHoldersModule": config.max_holders is not None,
        "SupplyLimitModule": config.supply_limit is not None,
        "LockUpModule": config.lock_period_s is not None,
        "InvestorSuitabilityModule": config.risk_level is not None,
    }


def _deploy_modules(chain: Chain, config: SuiteConfig, compliance: Compliance, owner: LocalAccount) -> dict[str, str]:
    wanted = wanted_modules(config)
    modules = {}
    for name, needed in wanted.items():
        if needed:
            contract, _ = chain.deploy(MODULE_ARTIFACTS[name], sender=owner)
            compliance.add_module(contract.address, sender=owner)
            modules[name] = contract.address
    if config.allowed_countries:
        compliance.allow_countries(config.allowed_countries, sender=owner)
    if config.blocked_countries:
        compliance.block_countries(config.blocked_countries, sender=owner)
    if config.max_balance is not None:
        compliance.set_max_balance(config.max_balance, sender=owner)
    if config.max_holders is not None:
        compliance.set_max_holders(config.max_holders, sender=owner)
    if config.supply_limit is not None:
        compliance.set_supply_limit(config.supply_limit, sender=owner)
    if config.lock_period_s is not None:
        compliance.set_lock_period(config.lock_period_s, sender=owner)
    if config.risk_level is not None:
        compliance.set_suitability(
            config.risk_level, ClaimTopic.RISK_TIER, ClaimTopic.PROFESSIONAL_INVESTOR, config.professional_only, sender=owner
        )
    return modules


# -- onboarding -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Onboarding:
    """One investor to onboard: wallet, country and the claims (topic -> data) the issuer vouches for."""

    wallet: str
    country: int
    claims: Mapping[int, bytes]


def onboard_investors(
    suite: Suite, investors: Sequence[Onboarding], agent: LocalAccount, claim_signer: LocalAccount
) -> list[Identity]:
    """Create identities (one batch), sign and add each claim with the issuer's claim key, then register every
    wallet in one batch. ``agent`` is a claim key of the new identities and an agent of factory and registry."""
    factory, issuer = suite.factory_client(), suite.issuer_client()
    identities = factory.batch_create_identities([i.wallet for i in investors], claim_key=agent.address, sender=agent)
    for investor, identity in zip(investors, identities):
        for topic, data in investor.claims.items():
            identity.add_claim(issuer.sign(claim_signer, identity.address, int(topic), data), sender=agent)
    registry = suite.registry_client()
    registry.batch_register(
        [Investor(i.wallet, identity.address, i.country) for i, identity in zip(investors, identities)], sender=agent
    )
    return identities


__all__ = [
    "AssetToken",
    "Onboarding",
    "Suite",
    "SuiteConfig",
    "TransferCheck",
    "deploy_suite",
    "onboard_investors",
]
