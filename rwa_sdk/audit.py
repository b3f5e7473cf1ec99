"""Launch checker: is a deployed asset configured as its spec says? Everything is read from the chain.

The security of an ERC-3643 suite is as much configuration as code: a topic missing from the claim topics
registry, a stray trusted issuer, a module bound to another compliance or a role left on the deploying key
each undo what the contracts enforce. ``audit_asset`` starts from the token address, follows the links the
contracts themselves hold (token -> registry -> storage, token -> compliance -> modules, token -> revenue hook
-> energy oracle -> device registry), compares what it finds with the spec and with the deploy records, and
lists who holds every role and ownership (from the contracts' own events, replayed).

Each check is ``ok``, ``warn`` (legal but worth a look, e.g. a role on the deploying key of a public network) or
``fail`` (the asset does not do what its spec says). ``exit_code`` is 1 on any failure, 2 on warnings only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from eth_utils import to_checksum_address

from .chain import Chain
from .identity import ClaimTopic, KeyPurpose

OK, WARN, FAIL = "ok", "warn", "fail"
DEVELOPMENT_CHAINS = {31337, 1337}
LOG_RANGE = 10_000  # public RPC providers cap eth_getLogs ranges
ZERO = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class Check:
    area: str
    name: str
    status: str
    detail: str


@dataclass
class AuditReport:
    symbol: str
    chain_id: int
    checks: list[Check] = field(default_factory=list)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status == FAIL]

    @property
    def warnings(self) -> list[Check]:
        return [c for c in self.checks if c.status == WARN]

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 2 if self.warnings else 0

    def to_json(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "chain_id": self.chain_id, "exit_code": self.exit_code,
                "failures": len(self.failures), "warnings": len(self.warnings),
                "checks": [asdict(c) for c in self.checks]}


class _Auditor:
    """Collects checks; one method per area."""

    def __init__(self, chain: Chain, asset: Any, public: bool, from_block: int):
        self.chain, self.asset, self.public, self.from_block = chain, asset, public, from_block
        self.report = AuditReport(asset.spec.symbol, chain.chain_id)
        self.latest = chain.w3.eth.block_number
        self.holders: dict[str, set[str]] = {}  # "Contract ROLE" -> accounts

    # -- helpers --------------------------------------------------------------------------------
    def add(self, area: str, name: str, ok: bool, detail: str, *, warn_only: bool = False) -> bool:
        self.report.checks.append(Check(area, name, OK if ok else WARN if warn_only else FAIL, detail))
        return ok

    def contract(self, artifact: str, address: str):
        return self.chain.contract(artifact, address)

    def logs(self, contract, event: str, **filters: Any) -> list[dict]:
        found: list[dict] = []
        start = self.from_block
        while start <= self.latest:
            end = min(start + LOG_RANGE - 1, self.latest)
            found += getattr(contract.events, event)().get_logs(from_block=start, to_block=end,
                                                                argument_filters=filters or None)
            start = end + 1
        return sorted(found, key=lambda e: (e["blockNumber"], e["logIndex"]))

    def replay_set(self, contract, added: str, removed: str, key: Callable[[dict], Any], **filters: Any) -> set:
        """The set an add/remove pair of events leaves (events in chain order)."""
        events = [(e, True) for e in self.logs(contract, added, **filters)]
        events += [(e, False) for e in self.logs(contract, removed, **filters)]
        result: set = set()
        for event, is_add in sorted(events, key=lambda p: (p[0]["blockNumber"], p[0]["logIndex"])):
            (result.add if is_add else result.discard)(key(event))
        return result

    def same_address(self, area: str, name: str, on_chain: str, recorded: str) -> bool:
        return self.add(area, name, on_chain.lower() == recorded.lower(),
                        f"chain: {on_chain}" if on_chain.lower() == recorded.lower()
                        else f"chain says {on_chain}, the deploy records say {recorded}")

    # -- areas ----------------------------------------------------------------------------------
    def links(self) -> dict[str, str]:
        """Follow the contracts' own links from the token; compare with the records."""
        a = self.asset.addresses
        token = self.contract("AssetToken", a.token).functions
        registry_address = token.identityRegistry().call()
        registry = self.contract("IdentityRegistry", registry_address).functions
        hook = token.revenueHook().call()
        found = {
            "identity_registry": registry_address,
            "compliance": token.compliance().call(),
            "identity_storage": registry.identityStorage().call(),
            "topics_registry": registry.topicsRegistry().call(),
            "issuers_registry": registry.issuersRegistry().call(),
            "distributor": hook,
        }
        if hook != ZERO:
            found["reading_oracle"] = self.contract("RevenueDistributor", hook).functions.energyOracle().call()
            if found["reading_oracle"] != ZERO:
                found["device_registry"] = self.contract("ReadingOracle",
                                                         found["reading_oracle"]).functions.registry().call()
        for name, address in found.items():
            self.same_address("links", f"token -> {name.replace('_', ' ')}", address, getattr(a, name))
        return found

    def claims(self, links: dict[str, str]) -> None:
        from .asset import suite_config

        config = suite_config(self.asset.spec)
        topics = self.contract("ClaimTopicsRegistry", links["topics_registry"]).functions
        required = sorted(int(t) for t in topics.getClaimTopics().call())
        wanted = sorted(int(t) for t in config.required_topics)
        self.add("claims", "claim topics required", bool(required) and required == wanted,
                 f"{_topics(required) or 'none'}" + ("" if required == wanted else f"; the spec needs {_topics(wanted)}"))
        issuers_registry = self.contract("TrustedIssuersRegistry", links["issuers_registry"]).functions
        issuers = issuers_registry.getTrustedIssuers().call()
        expected = self.asset.addresses.claim_issuer
        self.add("claims", "trusted issuers", [i.lower() for i in issuers] == [expected.lower()],
                 f"{', '.join(issuers) or 'none'}" + ("" if [i.lower() for i in issuers] == [expected.lower()]
                                                      else f"; expected only {expected}"))
        wanted_topics = sorted(set(wanted) | {int(ClaimTopic.RISK_TIER), int(ClaimTopic.PROFESSIONAL_INVESTOR)})
        for issuer in issuers:
            held = sorted(int(t) for t in issuers_registry.getTrustedIssuerClaimTopics(issuer).call())
            self.add("claims", f"topics of issuer {issuer[:10]}…", held == wanted_topics,
                     _topics(held) + ("" if held == wanted_topics else f"; expected {_topics(wanted_topics)}"))
            keys = self.contract("ClaimIssuer", issuer).functions.getKeysByPurpose(int(KeyPurpose.CLAIM)).call()
            self.add("claims", f"claim keys of issuer {issuer[:10]}…", bool(keys),
                     f"{len(keys)} claim signing key(s)" if keys else "no CLAIM key: no claim can be signed")

    def identity(self, links: dict[str, str]) -> None:
        storage = self.contract("IdentityRegistryStorage", links["identity_storage"]).functions
        linked = [r.lower() for r in storage.linkedIdentityRegistries().call()]
        ours = links["identity_registry"].lower()
        self.add("identity", "storage binds the registry", ours in linked,
                 f"{len(linked)} registr{'y' if len(linked) == 1 else 'ies'} bound" if ours in linked
                 else "the storage does not list the token's identity registry")
        if len(linked) > 1:
            self.add("identity", "storage shared", False, f"{len(linked)} registries write the same investor storage",
                     warn_only=True)

    def compliance(self, links: dict[str, str]) -> None:
        from .asset import suite_config
        from .token import wanted_modules

        config = suite_config(self.asset.spec)
        compliance = self.contract("ModularCompliance", links["compliance"])
        bound = compliance.functions.getTokenBound().call()
        self.add("compliance", "compliance bound to the token", bound.lower() == self.asset.addresses.token.lower(),
                 f"bound to {bound}")
        modules = {self.contract("CountryAllowModule", m).functions.name().call(): m
                   for m in compliance.functions.getModules().call()}
        wanted = wanted_modules(config)
        for name, needed in wanted.items():
            if needed and name not in modules:
                self.add("compliance", name, False, "the spec asks for this rule; the compliance has no such module")
            if not needed and name in modules:
                self.add("compliance", name, False, "a rule the spec does not name is enforced")
        for name in sorted(set(modules) - set(wanted)):
            self.add("compliance", name, False, "an unknown module is bound: review it by hand")
        for name, address in sorted(modules.items()):
            module = self.contract(f"contracts/compliance/modules/{name}.sol:{name}", address) \
                if name in wanted else None
            if module is None:
                continue
            self._module(name, module, links["compliance"], config)

    def _module(self, name: str, module, compliance: str, config) -> None:
        f = module.functions
        ours = compliance.lower()
        bound = self.replay_set(module, "ComplianceBound", "ComplianceUnbound", lambda e: e["args"]["compliance"].lower())
        self.add("compliance", f"{name} bound", f.isComplianceBound(compliance).call() and ours in bound,
                 "bound to this compliance" + (f" and {len(bound) - 1} other(s)" if len(bound) > 1 else ""))
        if len(bound - {ours}) > 0:
            self.add("compliance", f"{name} shared", False,
                     f"also bound to {', '.join(sorted(bound - {ours}))}: check that is intended", warn_only=True)
        if name == "CountryAllowModule":
            have = self.replay_set(module, "CountryAllowed", "CountryUnallowed", lambda e: e["args"]["country"],
                                   compliance=compliance)
            self._same_set(name, "allowed countries", have, set(config.allowed_countries or ()))
        elif name == "CountryRestrictModule":
            have = self.replay_set(module, "AddedRestrictedCountry", "RemovedRestrictedCountry",
                                   lambda e: e["args"]["country"], compliance=compliance)
            self._same_set(name, "blocked countries", have, set(config.blocked_countries or ()))
        elif name == "MaxBalanceModule":
            self._same_value(name, "maximum balance per investor", f.maxBalance(compliance).call(), config.max_balance)
        elif name == "MaxHoldersModule":
            self._same_value(name, "maximum holders", f.maxHolders(compliance).call(), config.max_holders)
        elif name == "SupplyLimitModule":
            self._same_value(name, "supply limit", f.getSupplyLimit(compliance).call(), config.supply_limit)
        elif name == "LockUpModule":
            self._same_value(name, "lock-up (s)", f.lockPeriod(compliance).call(), config.lock_period_s)
        elif name == "InvestorSuitabilityModule":
            risk, tier_topic, pro_topic = f.configOf(compliance).call()
            self._same_value(name, "risk level", risk, config.risk_level)
            self._same_value(name, "claim topics (risk tier, professional)", (tier_topic, pro_topic),
                             (int(ClaimTopic.RISK_TIER), int(ClaimTopic.PROFESSIONAL_INVESTOR)))
            events = self.logs(module, "ProfessionalOnlySet", compliance=compliance)
            have = {c for c in {e["args"]["country"] for e in events} if f.isProfessionalOnly(compliance, c).call()}
            self._same_set(name, "professional-only countries", have, set(config.professional_only or ()))

    def _same_set(self, module: str, what: str, have: set, want: set) -> None:
        detail = _countries(have) or "none"
        if have != want:
            detail += f"; the spec says {_countries(want) or 'none'}"
        self.add("compliance", f"{module}: {what}", have == want, detail)

    def _same_value(self, module: str, what: str, have: Any, want: Any) -> None:
        have = tuple(have) if isinstance(have, (list, tuple)) else have
        self.add("compliance", f"{module}: {what}", have == want,
                 f"{have}" if have == want else f"{have}; the spec says {want}")

    def roles(self, links: dict[str, str]) -> None:
        a = self.asset.addresses
        owned = {"AssetToken": a.token, "IdentityRegistry": links["identity_registry"],
                 "IdentityRegistryStorage": links["identity_storage"], "ClaimTopicsRegistry": links["topics_registry"],
                 "TrustedIssuersRegistry": links["issuers_registry"], "ModularCompliance": links["compliance"],
                 "ClaimEpochs": a.claim_epochs, "IdentityFactory": a.identity_factory, "Stablecoin": a.stablecoin,
                 "DvPSettlement": a.dvp}
        for name, address in owned.items():
            f = self.contract(name, address).functions
            owner = f.owner().call()
            self.holders.setdefault(f"{name} owner", set()).add(owner)
            self.add("roles", f"{name} owner", owner != ZERO, owner if owner != ZERO else "renounced: no one can "
                     "change its settings")
            if hasattr(f, "pendingOwner"):
                pending = f.pendingOwner().call()
                if pending != ZERO:
                    self.add("roles", f"{name} pending owner", False, f"{pending} has not accepted yet", warn_only=True)
        for name, address in (("AssetToken", a.token), ("IdentityRegistry", links["identity_registry"]),
                              ("IdentityRegistryStorage", links["identity_storage"]),
                              ("IdentityFactory", a.identity_factory)):
            contract = self.contract(name, address)
            agents = {x for x in self.replay_set(contract, "AgentAdded", "AgentRemoved", lambda e: e["args"]["agent"])
                      if contract.functions.isAgent(x).call()}
            self.holders[f"{name} agents"] = agents
            self.add("roles", f"{name} agents", bool(agents), ", ".join(sorted(agents)) or "no agent")
        token_agents = {x.lower() for x in self.holders["AssetToken agents"]}
        self.add("wiring", "vault may issue tokens", a.vault.lower() in token_agents,
                 "the vault is a token agent" if a.vault.lower() in token_agents
                 else "the vault is not a token agent: accepted subscriptions cannot be issued")
        for name, address in (("DeviceRegistry", links.get("device_registry", a.device_registry)),
                              ("ReadingOracle", links.get("reading_oracle", a.reading_oracle)),
                              ("RevenueDistributor", a.distributor), ("SubscriptionVault", a.vault)):
            self._access_roles(name, address)
        operator = self.contract("DeviceRegistry", links.get("device_registry", a.device_registry)) \
            .functions.operatorOf(self.asset.asset_id).call()
        self.holders["DeviceRegistry asset operator"] = {operator}
        self.add("roles", "DeviceRegistry asset operator", operator != ZERO,
                 operator if operator != ZERO else "no operator: no device can be registered")
        relayers = self.holders.get("ReadingOracle RELAYER_ROLE", set())
        self.add("wiring", "oracle has a relayer", bool(relayers),
                 ", ".join(sorted(relayers)) if relayers else "no RELAYER_ROLE: no batch can be anchored")
        self._key_concentration()

    def _access_roles(self, name: str, address: str) -> None:
        contract = self.contract(name, address)
        role_names = {}
        for item in contract.abi:
            if item["type"] == "function" and item["name"].endswith("_ROLE") and not item["inputs"]:
                role_names[bytes(getattr(contract.functions, item["name"])().call())] = item["name"]
        members: dict[str, set[str]] = {}
        for role, label in role_names.items():
            held = self.replay_set(contract, "RoleGranted", "RoleRevoked", lambda e: e["args"]["account"], role=role)
            held = {x for x in held if contract.functions.hasRole(role, x).call()}
            members[label] = held
            self.holders[f"{name} {label}"] = held
            self.add("roles", f"{name} {label}", bool(held) or label != "DEFAULT_ADMIN_ROLE",
                     ", ".join(sorted(held)) or "no holder")

    def _key_concentration(self) -> None:
        if not self.public:
            return
        deployer = self._deployer()
        holding = sorted(label for label, members in self.holders.items()
                         if deployer and deployer.lower() in {m.lower() for m in members})
        if holding:
            self.add("roles", "roles on the deploying key", False,
                     f"{deployer} still holds {len(holding)} role(s): {', '.join(holding)}", warn_only=True)
        keys = {m.lower() for members in self.holders.values() for m in members} - {ZERO}
        for key in keys:
            labels = [label for label, members in self.holders.items() if members]
            if all(key in {m.lower() for m in members} for label, members in self.holders.items() if members) \
                    and len(labels) > 1:
                self.add("roles", "one key holds every role", False, f"{to_checksum_address(key)} holds all "
                         f"{len(labels)} roles: one stolen key is the whole asset", warn_only=True)

    def _deployer(self) -> str | None:
        token = self.contract("AssetToken", self.asset.addresses.token)
        first = self.logs(token, "OwnershipTransferred")
        if not first:
            return None
        return self.chain.w3.eth.get_transaction(first[0]["transactionHash"])["from"]

    def token_state(self, links: dict[str, str]) -> None:
        a = self.asset.addresses
        token = self.contract("AssetToken", a.token).functions
        paused = token.paused().call()
        self.add("token", "pause state", not paused, "paused: no transfer, issuance or redemption" if paused
                 else "not paused", warn_only=True)
        distributor = self.contract("RevenueDistributor", a.distributor).functions
        self.same_address("wiring", "distributor pays this token's holders", distributor.token().call(), a.token)
        vault = self.contract("SubscriptionVault", a.vault).functions
        self.same_address("wiring", "vault issues this token", vault.token().call(), a.token)
        self.same_address("wiring", "vault and distributor share the stablecoin", vault.stablecoin().call(),
                          distributor.stablecoin().call())
        self.same_address("wiring", "the recorded stablecoin", vault.stablecoin().call(), a.stablecoin)


def audit_asset(chain: Chain, asset: Any, *, public: bool | None = None, from_block: int = 0) -> AuditReport:
    """Check ``asset`` (an :class:`rwa_sdk.asset.Asset`) against its spec, reading everything from the chain.

    ``public`` (default: any chain id but Anvil's/Hardhat's) adds the key-custody warnings."""
    public = chain.chain_id not in DEVELOPMENT_CHAINS if public is None else public
    auditor = _Auditor(chain, asset, public, from_block)
    links = auditor.links()
    auditor.claims(links)
    auditor.identity(links)
    auditor.compliance(links)
    auditor.roles(links)
    auditor.token_state(links)
    return auditor.report


def _topics(topics: Iterable[int]) -> str:
    names = {int(t): t.name for t in ClaimTopic}
    return ", ".join(f"{names.get(t, t)}" for t in topics)


def _countries(codes: Iterable[int]) -> str:
    from iso3166 import countries_by_numeric

    def alpha2(code: int) -> str:
        country = countries_by_numeric.get(str(code).zfill(3))
        return country.alpha2 if country else str(code)

    return ", ".join(sorted(alpha2(c) for c in codes))
