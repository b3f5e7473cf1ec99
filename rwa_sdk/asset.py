"""One tokenized plant: its token suite, devices, oracle, stablecoin, vault, distributor and DvP.

``Asset.create(chain, spec)`` deploys and wires everything a spec describes, in dependency order,
and records the addresses in ``deployments/<chainId>.assets.json``; ``Asset.load(chain, symbol)``
finds it again. The object then offers what an issuer's backend does day to day: onboard investors,
check eligibility, take subscriptions, register devices, read metered energy and pay revenue.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address

from . import toolchain
from .chain import Chain, Sent
from .identity import (
    ClaimTopic,
    country_data,
    kyc_data,
    professional_data,
    risk_tier_data,
)
from .indexer import EventIndexer
from .oracle.contracts import (
    DEVICE_TYPES,
    OracleContracts,
    deploy_oracle,
    grant_relayer,
    register_device,
)
from .oracle.ingest import Ingestor, RegistryDirectory, reading_item
from .oracle.reading import DeviceSigner, Reading
from .oracle.relayer import Relayer, RelayerConfig
from .oracle.store import open_store
from .settlement.dvp import DvP
from .settlement.revenue import (
    PeriodRevenue,
    RevenueDistributor,
    Tariff,
    revenue_from_energy,
)
from .settlement.stablecoin import UNIT, Stablecoin, deploy_stablecoin
from .settlement.subscription import SubscriptionVault
from .spec import AssetSpec, country_code, parse_spec, read_spec_file, with_country_names
from .token import (
    AssetToken,
    Onboarding,
    Suite,
    SuiteConfig,
    deploy_suite,
    onboard_investors,
)

SECONDS_PER_DAY = 86_400
ASSET_TOKEN_ARTIFACT = "contracts/token/AssetToken.sol:AssetToken"


class AssetError(RuntimeError):
    """An asset operation that cannot proceed; the message says why."""


class NotEligible(AssetError):
    """The investor may not receive the token; ``reasons`` lists each failing rule in words."""

    def __init__(self, wallet: str, reasons: Sequence[str]):
        self.wallet = wallet
        self.reasons = tuple(reasons)
        super().__init__(f"{wallet} may not hold the token: " + "; ".join(self.reasons))


@dataclass(frozen=True)
class AssetRoles:
    """Who does what. On a local chain each role is a different development account."""

    owner: LocalAccount  # deploys and owns every contract
    agent: LocalAccount  # token/registry agent: onboarding, freezes, recoveries
    claim_signer: LocalAccount  # the KYC provider's claim key
    operator: LocalAccount  # registers devices, deposits revenue
    relayer: LocalAccount  # anchors reading batches
    treasury: LocalAccount  # receives subscriptions, funds revenue

    @classmethod
    def from_chain(cls, chain: Chain) -> AssetRoles:
        accounts = chain.accounts
        if len(accounts) >= 6:
            return cls(*accounts[:6])
        return cls(*[chain.deployer] * 6)


@dataclass(frozen=True)
class AssetAddresses:
    token: str
    identity_registry: str
    identity_storage: str
    topics_registry: str
    issuers_registry: str
    claim_epochs: str
    compliance: str
    identity_factory: str
    claim_issuer: str
    device_registry: str
    reading_oracle: str
    stablecoin: str
    vault: str
    distributor: str
    dvp: str
    modules: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InvestorProfile:
    """What the KYC provider attests about one investor."""

    wallet: str
    country: str | int
    risk_tier: int = 1
    professional: bool = False
    kyc_reference: str = ""

    def onboarding(self) -> Onboarding:
        country = country_code(self.country, "country")
        claims = {
            ClaimTopic.KYC: kyc_data(self.kyc_reference),
            ClaimTopic.COUNTRY: country_data(country),
            ClaimTopic.RISK_TIER: risk_tier_data(self.risk_tier),
        }
        if self.professional:
            claims[ClaimTopic.PROFESSIONAL_INVESTOR] = professional_data()
        return Onboarding(to_checksum_address(self.wallet), country, claims)


@dataclass(frozen=True)
class Holder:
    wallet: str
    balance: int
    frozen: bool
    frozen_tokens: int
    country: int


@dataclass(frozen=True)
class RelayOutcome:
    acknowledged: int
    rejected: dict[str, int]
    batches: int


def asset_id_of(token: str) -> bytes:
    """The oracle's asset id: the token address, left-padded to 32 bytes."""
    return bytes(12) + bytes.fromhex(to_checksum_address(token)[2:])


def suite_config(spec: AssetSpec) -> SuiteConfig:
    c = spec.compliance
    return SuiteConfig(
        name=spec.name,
        symbol=spec.symbol,
        decimals=0,
        allowed_countries=c.allowed_countries or None,
        blocked_countries=c.blocked_countries or None,
        max_balance=c.max_balance_per_investor or None,
        max_holders=c.max_holders or None,
        supply_limit=spec.offering.supply_cap,
        lock_period_s=c.lockup_days * SECONDS_PER_DAY if c.lockup_days else None,
        risk_level=spec.risk_level,
        professional_only=c.professional_only_countries,
    )


def deployment_plan(spec: AssetSpec, stablecoin: str | None = None) -> list[tuple[str, str]]:
    """What :meth:`Asset.create` deploys for ``spec``, contract by contract and rule by rule, in words."""
    o, sym = spec.offering, spec.symbol
    rules = compliance_rules(spec)
    plan = [
        ("ClaimEpochs, Identity, ClaimIssuer", "identity implementations and claim epochs (a revoked claim "
                                                "batch invalidates every claim signed in it)"),
        ("IdentityFactory", "one cheap identity clone per investor wallet"),
        ("ClaimIssuer (KYC provider)", "its key signs each investor's KYC, country, risk-tier and "
                                        "professional-investor claims"),
        ("ClaimTopicsRegistry", "every holder needs a valid KYC claim and a country claim"),
        ("TrustedIssuersRegistry", "the KYC provider's claim issuer is trusted for those topics"),
        ("IdentityRegistry, IdentityRegistryStorage", "wallet -> identity and country of every verified investor"),
        ("ModularCompliance", f"{len(rules)} rule module(s), every transfer and issuance must pass all"),
    ]
    plan += [(f"  {module}", words) for module, words in rules]
    plan += [
        ("AssetToken", f"ERC-3643 token {spec.name} ({sym}), whole tokens (0 decimals), only verified investors "
                       "may hold it; the agent can freeze, force-transfer and recover"),
        ("Stablecoin", f"uses {stablecoin}" if stablecoin else
         "a test USDC (6 decimals, EIP-2612 permits) owned by the asset owner; minters issue it"),
        ("DeviceRegistry", f"{spec.device_count or 'no'} device key(s) expected"
                           + "".join(f", {g.count} x {g.type} of {g.capacity_kw:,g} kW" for g in spec.devices)
                           + "; the operator registers them, each reading's energy is capped by its capacity"),
        ("ReadingOracle", "EIP-712 signed readings, anchored in Merkle batches by the relayer; any reading "
                          "provable on chain; energy totals per day"),
        ("SubscriptionVault", f"subscriptions in stablecoin at {o.price_usd:,} USD per token"
                              + (f", minimum ticket {o.min_ticket_usd:,} USD" if o.min_ticket_usd else "")
                              + (f", at most {o.period_cap_usd:,} USD per period" if o.period_cap_usd else "")
                              + "; the issuer accepts, tokens are minted then"),
        ("RevenueDistributor", f"pays holders pro rata: anchored energy x {spec.revenue.tariff_usd_per_kwh} USD/kWh"),
        ("DvPSettlement", "signed delivery-versus-payment orders: token against stablecoin in one transaction"),
    ]
    return plan


def compliance_rules(spec: AssetSpec) -> list[tuple[str, str]]:
    """One (module, rule in words) per compliance module the spec switches on, as :func:`suite_config` does."""
    from .spec import country_label

    c, sym = spec.compliance, spec.symbol
    names = lambda codes: ", ".join(country_label(code) for code in codes)  # noqa: E731
    rules = []
    if c.allowed_countries:
        rules.append(("CountryAllowModule", f"only investors from {names(c.allowed_countries)} may hold {sym}"))
    if c.blocked_countries:
        rules.append(("CountryRestrictModule", f"investors from {names(c.blocked_countries)} may not hold {sym}"))
    if c.max_balance_per_investor:
        rules.append(("MaxBalanceModule", f"no investor may hold more than {c.max_balance_per_investor:,} {sym}"))
    if c.max_holders:
        rules.append(("MaxHoldersModule", f"at most {c.max_holders:,} holders"))
    rules.append(("SupplyLimitModule", f"at most {spec.offering.supply_cap:,} {sym} ever in circulation"))
    if c.lockup_days:
        rules.append(("LockUpModule", f"subscribed tokens stay with the subscriber for {c.lockup_days} days "
                                      "after the last subscription"))
    pro = f"; investors from {names(c.professional_only_countries)} must be professional investors" \
        if c.professional_only_countries else ""
    rules.append(("InvestorSuitabilityModule", f"a holder needs a risk-tier claim of at least {spec.risk_level} "
                                               f"(the token's risk level){pro}"))
    return rules


def _registry_path(chain: Chain, folder: Path | None) -> Path:
    folder = folder or chain.records_dir or toolchain.project_root() / "deployments"
    return folder / f"{chain.chain_id}.assets.json"


def stale_reason(chain: Chain, record: dict) -> str | None:
    """Why a record no longer describes this chain (``None``: it does).

    Records carry the chain's genesis hash: a restarted development node has the same chain id
    but is a new chain, and its addresses may hold another asset's contracts (or nothing)."""
    genesis = record.get("genesis")
    if genesis and genesis != chain.genesis_hash:
        return (f"it was made on another chain with id {chain.chain_id} (genesis {genesis[:12]}…, this node's is "
                f"{chain.genesis_hash[:12]}…: the node was restarted or replaced)")
    token = record.get("addresses", {}).get("token")
    if not token or not chain.w3.eth.get_code(to_checksum_address(token)):
        return f"its token {token} has no code on this node"
    return None


class Asset:
    """A deployed asset; every ``sender`` defaults to the role that the operation needs."""

    def __init__(self, chain: Chain, spec: AssetSpec, raw_spec: dict, addresses: AssetAddresses, roles: AssetRoles):
        self.chain = chain
        self.spec = spec
        self.raw_spec = raw_spec
        self.addresses = addresses
        self.roles = roles
        self.asset_id = asset_id_of(addresses.token)
        self.token = AssetToken(chain, addresses.token)
        self.stablecoin = Stablecoin(chain, addresses.stablecoin)
        self.vault = SubscriptionVault(chain, addresses.vault)
        self.distributor = RevenueDistributor(chain, addresses.distributor)
        self.dvp = DvP(chain, addresses.dvp)
        self.oracle = OracleContracts.at(chain, addresses.device_registry, addresses.reading_oracle)
        self.suite = Suite(chain, addresses.token, addresses.identity_registry, addresses.identity_storage,
                           addresses.topics_registry, addresses.issuers_registry, addresses.compliance,
                           addresses.claim_epochs, addresses.identity_factory, addresses.claim_issuer,
                           addresses.modules)

    def __repr__(self) -> str:
        return f"Asset({self.spec.symbol}: {self.spec.name}, token {self.addresses.token})"

    # -- creation and lookup --------------------------------------------------------------
    @classmethod
    def create(cls, chain: Chain, spec: str | Path | dict, *, roles: AssetRoles | None = None,
               stablecoin: str | None = None, deployments_dir: Path | None = None, replace: bool = False) -> Asset:
        """Deploy and wire everything ``spec`` (a spec file or its parsed dict) describes.

        A symbol already deployed on this chain is refused unless ``replace``; a stale record
        (another chain of the same id, or no code left) is replaced without asking."""
        raw = spec if isinstance(spec, dict) else read_spec_file(spec)
        spec = parse_spec(raw)
        existing = cls.list(chain, deployments_dir).get(spec.symbol)
        if existing is not None and not replace and stale_reason(chain, existing) is None:
            raise AssetError(
                f"{spec.symbol} is already deployed on chain {chain.chain_id} (token {existing['addresses']['token']}, "
                f"recorded in {_registry_path(chain, deployments_dir)}); replace it with --replace (replace=True): "
                "the old token and its holders stay on chain but are no longer recorded")
        roles = roles or AssetRoles.from_chain(chain)
        owner = roles.owner
        suite = deploy_suite(chain, suite_config(spec), owner, roles.agent, roles.claim_signer)
        if stablecoin is None:
            coin = deploy_stablecoin(chain, owner=owner.address, master_minter=owner.address, sender=owner,
                                     deployments=_deployments(chain, deployments_dir))
            stablecoin = coin.address
        oracle = deploy_oracle(chain, owner)
        asset_id = asset_id_of(suite.token)
        chain.transact(oracle.registry.functions.setAssetOperator(asset_id, roles.operator.address), sender=owner)
        grant_relayer(chain, oracle, roles.relayer.address, admin=owner)

        vault, _ = chain.deploy("SubscriptionVault", suite.token, stablecoin, owner.address, roles.treasury.address,
                                sender=owner)
        distributor, _ = chain.deploy("RevenueDistributor", suite.token, stablecoin, owner.address, sender=owner)
        dvp, _ = chain.deploy("DvPSettlement", owner.address, sender=owner)
        token = suite.token_client()
        token.add_agent(vault.address, sender=owner)
        own_token = chain.contract(ASSET_TOKEN_ARTIFACT, suite.token)  # the hook is our extension of ERC-3643
        chain.transact(own_token.functions.setRevenueHook(distributor.address), sender=owner)
        revenue = RevenueDistributor(chain, distributor.address)
        revenue.grant("OPERATOR_ROLE", roles.operator.address, sender=owner)
        revenue.grant("AGENT_ROLE", roles.agent.address, sender=owner)
        revenue.set_energy_oracle(oracle.oracle.address, sender=owner)
        SubscriptionVault(chain, vault.address).grant_issuer(roles.agent.address, sender=owner)

        addresses = AssetAddresses(
            token=suite.token, identity_registry=suite.identity_registry, identity_storage=suite.identity_storage,
            topics_registry=suite.topics_registry, issuers_registry=suite.issuers_registry,
            claim_epochs=suite.claim_epochs, compliance=suite.compliance,
            identity_factory=suite.identity_factory, claim_issuer=suite.claim_issuer,
            device_registry=oracle.registry.address, reading_oracle=oracle.oracle.address, stablecoin=stablecoin,
            vault=vault.address, distributor=distributor.address, dvp=dvp.address, modules=dict(suite.modules),
        )
        asset = cls(chain, spec, raw, addresses, roles)
        asset._open_first_period()
        asset._save(deployments_dir)
        return asset

    @classmethod
    def load(cls, chain: Chain, symbol: str, *, roles: AssetRoles | None = None,
             deployments_dir: Path | None = None) -> Asset:
        """The asset recorded under ``symbol`` on this chain."""
        records = cls.list(chain, deployments_dir)
        if symbol not in records:
            known = ", ".join(sorted(records)) or "none"
            raise AssetError(f"no asset {symbol!r} on chain {chain.chain_id} (known: {known})")
        record = records[symbol]
        stale = stale_reason(chain, record)
        if stale:
            raise AssetError(f"the record of {symbol} in {_registry_path(chain, deployments_dir)} is stale: {stale}; "
                             f"deploy it again with `rwa asset create SPEC --replace`")
        raw = record["spec"]
        return cls(chain, parse_spec(raw), raw, AssetAddresses(**record["addresses"]),
                   roles or AssetRoles.from_chain(chain))

    @staticmethod
    def list(chain: Chain, deployments_dir: Path | None = None) -> dict[str, dict]:
        """Every asset recorded on this chain: symbol -> {spec, addresses, asset_id}."""
        path = _registry_path(chain, deployments_dir)
        return json.loads(path.read_text()) if path.is_file() else {}

    def _save(self, deployments_dir: Path | None) -> None:
        path = _registry_path(self.chain, deployments_dir)
        records = self.list(self.chain, deployments_dir)
        records[self.spec.symbol] = {"spec": self.raw_spec, "addresses": asdict(self.addresses),
                                     "asset_id": "0x" + self.asset_id.hex(), "genesis": self.chain.genesis_hash}
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(records, indent=2, default=str) + "\n")
        tmp.replace(path)

    def _open_first_period(self) -> None:
        offering = self.spec.offering
        price = usd_units(offering.price_usd)
        cap = usd_units(offering.period_cap_usd) if offering.period_cap_usd else 2**255
        self.vault.open_period(price, cap, 2**255, sender=self.roles.agent)
        self.vault.set_minimums(usd_units(offering.min_ticket_usd), 1, sender=self.roles.owner)

    # -- investors ------------------------------------------------------------------------
    def onboard(self, investors: Sequence[InvestorProfile]) -> list[str]:
        """Create identities, add the KYC provider's claims and register every wallet (batched).

        Returns the identity addresses. A registered investor is not necessarily eligible: the
        compliance rules (country, risk tier, ...) are checked when tokens move; see :meth:`eligibility`.
        A wallet registered already is refused by name (the identity factory would only say
        ``FailedDeployment()``)."""
        wallets = [to_checksum_address(i.wallet) for i in investors]
        twice = sorted({w for w in wallets if wallets.count(w) > 1})
        if twice:
            raise AssetError(f"listed more than once: {', '.join(twice)}")
        registered = [w for w in wallets if self.token.registry.contains(w)]
        if registered:
            raise AssetError(f"already registered for {self.spec.symbol}: {', '.join(registered)} "
                             "(an investor is onboarded once; change claims with the identity's keys)")
        identities = onboard_investors(self.suite, [i.onboarding() for i in investors], self.roles.agent,
                                       self.roles.claim_signer)
        return [identity.address for identity in identities]

    def eligibility(self, wallet: str, amount: int = 1) -> tuple[str, ...]:
        """Why ``wallet`` could not receive ``amount`` newly issued tokens (empty: it can)."""
        return tuple(with_country_names(r) for r in self.token.can_mint(wallet, amount).reasons)

    def subscribe(self, investor: LocalAccount, amount_usd: Decimal | int) -> int:
        """Investor pays ``amount_usd`` by permit (no approve transaction); returns the request id.

        Eligibility is checked first so an ineligible investor's money never moves."""
        assets = usd_units(Decimal(amount_usd))
        shares = max(1, assets // max(1, self.vault.period().price))
        reasons = self.eligibility(investor.address, shares)
        if reasons:
            raise NotEligible(investor.address, reasons)
        return self.vault.subscribe_with_permit(self.stablecoin, investor, assets)

    def accept_subscriptions(self, request_ids: Sequence[int] | None = None) -> Sent:
        """Issuer: accept pending requests (all pending ones by default): tokens are minted."""
        from .settlement.subscription import Status

        ids = list(request_ids) if request_ids is not None else [r.id for r in self.vault.requests(Status.PENDING)]
        return self.vault.accept(ids, sender=self.roles.agent)

    def events(self, db_path: str | Path = ":memory:") -> EventIndexer:
        """An indexer of the token's events; with a file, it resumes where it stopped and survives reorgs."""
        return EventIndexer(self.chain, self.token.contract, db_path)

    def cap_table(self, index: EventIndexer | None = None) -> list[Holder]:
        """Current holders (balance, frozen state, country), found through the token's Transfer events."""
        index = index or self.events()
        index.sync()
        wallets = dict.fromkeys(
            who for event in index.events("Transfer") for who in (event.args["from"], event.args["to"]) if int(who, 16)
        )
        registry = self.token.registry
        holders = []
        for wallet in wallets:
            balance = self.token.balance_of(wallet)
            if balance:
                country = registry.country_of(wallet) if registry.contains(wallet) else 0
                holders.append(Holder(wallet, balance, self.token.is_frozen(wallet),
                                      self.token.frozen_tokens(wallet), country))
        return sorted(holders, key=lambda h: -h.balance)

    def cap_table_csv(self, path: str | Path) -> Path:
        import csv

        path = Path(path)
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["wallet", "balance", "frozen", "frozen_tokens", "country"])
            for h in self.cap_table():
                writer.writerow([h.wallet, h.balance, h.frozen, h.frozen_tokens, h.country])
        return path

    # -- devices and energy ---------------------------------------------------------------
    def register_devices(self, devices: Iterable[DeviceSigner], device_type: str | None = None,
                         capacity_w: int | None = None) -> int:
        """Register and activate device keys for this asset (operator)."""
        group = self.spec.devices[0] if self.spec.devices else None
        device_type = device_type or (group.type if group else "pv-inverter")
        if device_type not in DEVICE_TYPES:
            raise AssetError(f"unknown device type {device_type!r}")
        capacity_w = capacity_w or int((group.capacity_kw if group else self.spec.capacity_kw) * 1000)
        count = 0
        for device in devices:
            register_device(self.chain, self.oracle, device, self.asset_id, device_type, capacity_w,
                            operator=self.roles.operator)
            count += 1
        return count

    def anchored_batches(self) -> list[dict[str, Any]]:
        """The oracle's anchored batches of this asset (count, energy, time span)."""
        event = self.oracle.oracle.events.BatchAnchored()
        logs = event.get_logs(from_block=0, argument_filters={"assetId": self.asset_id})
        return [dict(log["args"]) for log in logs]

    def energy_wh(self, period_start: int, period_end: int) -> int:
        """Metered energy anchored for batches starting in [period_start, period_end)."""
        return sum(b["totalEnergyWh"] for b in self.anchored_batches() if period_start <= b["fromTime"] < period_end)

    def energy_by_day(self) -> dict[str, int]:
        """Anchored energy (Wh) per UTC day (``YYYY-MM-DD``)."""
        return self._energy_by(10)

    def energy_by_month(self) -> dict[str, int]:
        """Anchored energy (Wh) per UTC month (``YYYY-MM``)."""
        return self._energy_by(7)

    def _energy_by(self, date_chars: int) -> dict[str, int]:
        totals: dict[str, int] = {}
        for batch in self.anchored_batches():
            key = dt.datetime.fromtimestamp(batch["fromTime"], dt.timezone.utc).isoformat()[:date_chars]
            totals[key] = totals.get(key, 0) + batch["totalEnergyWh"]
        return dict(sorted(totals.items()))

    def relay(self, signed: Iterable[tuple[Reading, bytes]], db_path: str | Path,
              batch_size: int = 1_000) -> RelayOutcome:
        """Run signed readings through the oracle's ingest rules and relayer in this process.

        The same path as ``rwa oracle run`` without the HTTP layer: every reading is verified and
        stored, then anchored in Merkle batches (relayer role). Proofs can be read from ``db_path``."""
        store = open_store(db_path)
        try:
            ingestor = Ingestor(store, RegistryDirectory(self.oracle.registry, ttl_s=60), self.oracle.domain,
                                clock=self.chain.timestamp)
            results = ingestor.submit([reading_item(r, signature) for r, signature in signed])
            before = len(self.anchored_batches())
            relayer = Relayer(self.chain, self.oracle.oracle, store, self.roles.relayer,
                              RelayerConfig(max_batch_size=batch_size, max_batch_age_s=0, poll_interval_s=0.02))
            relayer.flush()
            rejected: dict[str, int] = {}
            for result in results:
                if not result.acknowledged:
                    rejected[result.reason.value] = rejected.get(result.reason.value, 0) + 1
            return RelayOutcome(sum(r.acknowledged for r in results), rejected,
                                len(self.anchored_batches()) - before)
        finally:
            store.close()

    # -- revenue --------------------------------------------------------------------------
    @property
    def period_length_s(self) -> int:
        """The oracle's accounting period (revenue is deposited for whole periods)."""
        return self.oracle.oracle.functions.epochLength().call()

    def deposit_revenue(self, period_start: int, period_end: int) -> PeriodRevenue:
        """Pay holders the revenue of whole oracle periods: anchored energy x the spec's tariff.

        The energy is the oracle's own on-chain total (the distributor checks it again), and the
        evidence is the hash of the anchored batch roots, so the payout is traceable to metered
        production. The treasury funds it; the operator deposits."""
        length = self.period_length_s
        if period_start % length or period_end % length or period_end <= period_start:
            raise AssetError(f"revenue periods must start and end on multiples of {length} s")
        energy = self.oracle.oracle.functions.periodEnergyWh(self.asset_id, period_start, period_end).call()
        if not energy:
            raise AssetError("no anchored energy in that period: nothing to pay")
        batches = [b for b in self.anchored_batches() if period_start <= b["fromTime"] < period_end]
        evidence = keccak(b"".join(bytes(b["merkleRoot"]) for b in batches))
        tariff = Tariff(self.spec.revenue.tariff_usd_per_kwh)
        revenue = PeriodRevenue(self.asset_id, period_start, period_end, energy, evidence,
                                revenue_from_energy(energy, tariff))
        treasury, operator = self.roles.treasury, self.roles.operator
        if treasury.address != operator.address:
            self.stablecoin.transfer(operator.address, revenue.amount, sender=treasury)
        self.stablecoin.approve(self.distributor.address, revenue.amount, sender=operator)
        self.distributor.deposit(revenue, sender=operator)
        return revenue


def usd_units(amount: Decimal | int) -> int:
    """Dollars to stablecoin base units (6 decimals)."""
    return int(Decimal(amount) * UNIT)


def _deployments(chain: Chain, folder: Path | None):
    from .deploy import Deployments

    return Deployments(chain.chain_id, folder or chain.records_dir)

