"""Gas of the asset token against Tokeny's T-REX 4.1.6 reference, under the same rules.

Both suites require two claim topics (KYC, country) signed by one trusted claim issuer and run two compliance
modules the reference also ships: a country allow-list and a maximum balance per investor. Measured: mint to a
new holder, a transfer between two verified investors to a receiver that already holds tokens, a forced
transfer, and a batch mint to 100 new investors. The reference is deployed from the compiled Hardhat artifacts
in ``node_modules/@tokenysolutions/t-rex`` (token and registries behind their T-REX proxies, ONCHAINID
identities and claim issuer, modules behind ``ModuleProxy``), driven through the same SDK classes.

Run by hand: ``python bench/gas.py``. Last line: ``transfer_gas=… reference_transfer_gas=… ratio=…``
(goal: ratio <= 0.5).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount

from rwa_sdk import toolchain
from rwa_sdk.artifacts import Artifact
from rwa_sdk.chain import Chain, connect
from rwa_sdk.compiler import compile_project
from rwa_sdk.identity import ClaimTopic, Identity, IdentityRegistry, Investor, KeyPurpose, country_data, key_of, kyc_data, sign_claim
from rwa_sdk.token import AssetToken, Onboarding, SuiteConfig, deploy_suite, onboard_investors

GERMANY = 276
MAX_BALANCE = 10**24
BATCH = 100
TOPICS = (ClaimTopic.KYC, ClaimTopic.COUNTRY)
ZERO = "0x" + "00" * 20
TREX_VERSION = (4, 1, 6)


@dataclass(frozen=True)
class Figures:
    mint: int
    transfer: int
    forced_transfer: int
    batch_mint: int


def claims_for(country: int) -> dict[int, bytes]:
    return {ClaimTopic.KYC: kyc_data("bench"), ClaimTopic.COUNTRY: country_data(country)}


def measure(chain: Chain, token: AssetToken, agent: LocalAccount, alice: LocalAccount, bob: LocalAccount, batch: list[str]) -> Figures:
    """The four figures on one token: both investors verified, Bob already a holder when Alice pays him."""
    token.mint(bob.address, 1_000, sender=agent)
    mint = token.mint(alice.address, 1_000, sender=agent).gas_used
    transfer = token.transfer(bob.address, 10, sender=alice).gas_used
    forced = token.forced_transfer(bob.address, alice.address, 10, sender=agent).gas_used
    batch_mint = chain.transact(token.contract.functions.batchMint(batch, [1] * len(batch)), sender=agent).gas_used if batch else 0
    return Figures(mint, transfer, forced, batch_mint)


# -- this project -----------------------------------------------------------------------------------

def ours(chain: Chain, owner: LocalAccount, agent: LocalAccount, signer: LocalAccount, alice, bob, batch) -> Figures:
    config = SuiteConfig(name="Solar Bench", symbol="SBN", allowed_countries=(GERMANY,), max_balance=MAX_BALANCE)
    suite = deploy_suite(chain, config, owner, agent, signer)
    investors = [Onboarding(w, GERMANY, claims_for(GERMANY)) for w in [alice.address, bob.address, *batch]]
    onboard_investors(suite, investors, agent, signer)
    return measure(chain, suite.token_client(), agent, alice, bob, batch)


# -- the reference ----------------------------------------------------------------------------------

class Reference:
    """Loads T-REX 4.1.6 artifacts (Hardhat format, bytecode included) by contract name."""

    def __init__(self, package: Path):
        self.folder = package / "artifacts"
        if not self.folder.is_dir():
            raise SystemExit(f"T-REX artifacts not found in {package}: add @tokenysolutions/t-rex@4.1.6 to devDependencies")
        self._paths = {p.stem: p for p in self.folder.rglob("*.json") if not p.name.endswith(".dbg.json")}

    def artifact(self, name: str) -> Artifact:
        return Artifact.from_json(json.loads(self._paths[name].read_text()))


@dataclass(frozen=True)
class ReferenceSuite:
    """A deployed T-REX suite: the addresses the SDK needs."""

    token: str
    identity_registry: str
    compliance: str
    claim_issuer: str
    identities: dict


def deploy_reference(
    chain: Chain, package: Path, owner: LocalAccount, agent, signer, wallets: list[str], proxies: bool = True
) -> ReferenceSuite:
    """T-REX 4.1.6 with the bench's rules and ``wallets`` onboarded (ONCHAINID identities managed by ``agent``).

    ``proxies=False`` initializes the implementations themselves (no proxy hops, the cheapest reference).
    """
    ref = Reference(package)

    def deploy(name: str, *args):
        contract, _ = chain.deploy(ref.artifact(name), *args, sender=owner)
        return contract

    def send(fn, sender=owner):
        return chain.transact(fn, sender=sender)

    def at(name: str, address: str):
        artifact = ref.artifact(name)
        chain.errors.add_abi(artifact.abi)
        return chain.w3.eth.contract(address=address, abi=artifact.abi)

    if proxies:
        implementations = [
            deploy(n) for n in ("Token", "ClaimTopicsRegistry", "IdentityRegistry", "IdentityRegistryStorage", "TrustedIssuersRegistry", "ModularCompliance")
        ]
        authority = deploy("TREXImplementationAuthority", True, ZERO, ZERO)
        send(authority.functions.addAndUseTREXVersion(TREX_VERSION, tuple(c.address for c in implementations)))
        ctr = at("ClaimTopicsRegistry", deploy("ClaimTopicsRegistryProxy", authority.address).address)
        tir = at("TrustedIssuersRegistry", deploy("TrustedIssuersRegistryProxy", authority.address).address)
        irs = at("IdentityRegistryStorage", deploy("IdentityRegistryStorageProxy", authority.address).address)
        ir = at("IdentityRegistry", deploy("IdentityRegistryProxy", authority.address, tir.address, ctr.address, irs.address).address)
        mc = at("ModularCompliance", deploy("ModularComplianceProxy", authority.address).address)
        token = at("Token", deploy("TokenProxy", authority.address, ir.address, mc.address, "Solar Bench", "SBN", 0, ZERO).address)
    else:
        ctr, tir, irs, mc = (deploy(n) for n in ("ClaimTopicsRegistry", "TrustedIssuersRegistry", "IdentityRegistryStorage", "ModularCompliance"))
        for contract in (ctr, tir, irs, mc):
            send(contract.functions.init())
        ir = deploy("IdentityRegistry")
        send(ir.functions.init(tir.address, ctr.address, irs.address))
        token = deploy("Token")
        send(token.functions.init(ir.address, mc.address, "Solar Bench", "SBN", 0, ZERO))
    send(irs.functions.bindIdentityRegistry(ir.address))
    send(ir.functions.addAgent(agent.address))
    send(ir.functions.addAgent(token.address))  # as TREXFactory does: recovery registers the new wallet
    send(token.functions.addAgent(agent.address))
    send(token.functions.unpause(), sender=agent)  # T-REX tokens start paused

    issuer = deploy("ClaimIssuer", owner.address)
    send(issuer.functions.addKey(key_of(signer.address), int(KeyPurpose.CLAIM), 1))
    for topic in TOPICS:
        send(ctr.functions.addClaimTopic(int(topic)))
    send(tir.functions.addTrustedIssuer(issuer.address, [int(t) for t in TOPICS]))

    for name, configure in (
        ("CountryAllowModule", lambda m: m.encode_abi("batchAllowCountries", args=[[GERMANY]])),
        ("MaxBalanceModule", lambda m: m.encode_abi("setMaxBalance", args=[MAX_BALANCE])),
    ):
        implementation = deploy(name)
        if proxies:
            module = at(name, deploy("ModuleProxy", implementation.address, implementation.encode_abi("initialize", args=[])).address)
        else:
            module = implementation
            send(module.functions.initialize())
        send(mc.functions.addModule(module.address))
        send(mc.functions.callModuleFunction(configure(module), module.address))

    registry = IdentityRegistry(chain, ir.address)
    investors, identities = [], {}
    for wallet in wallets:
        identity = Identity(chain, deploy("Identity", agent.address, False).address)  # the agent manages the claims
        for topic, data in claims_for(GERMANY).items():
            identity.add_claim(sign_claim(signer, issuer.address, identity.address, topic, data), sender=agent)
        investors.append(Investor(wallet, identity.address, GERMANY))
        identities[wallet] = identity.address
    for start in range(0, len(investors), 50):
        registry.batch_register(investors[start : start + 50], sender=agent)
    return ReferenceSuite(token.address, ir.address, mc.address, issuer.address, identities)


def reference(chain: Chain, package: Path, owner: LocalAccount, agent, signer, alice, bob, batch, proxies: bool = True) -> Figures:
    suite = deploy_reference(chain, package, owner, agent, signer, [alice.address, bob.address, *batch], proxies)
    return measure(chain, AssetToken(chain, suite.token), agent, alice, bob, batch)


def trex_package(root: Path) -> Path:
    """``node_modules/@tokenysolutions/t-rex``; ``RWA_TREX_PACKAGE`` may point at an unpacked tarball instead."""
    return Path(os.environ.get("RWA_TREX_PACKAGE") or root / "node_modules" / "@tokenysolutions" / "t-rex")


def main() -> None:
    root = toolchain.project_root()
    compile_project(root)
    package = trex_package(root)
    with connect("anvil", anvil_args=["--gas-limit", "60000000"]) as chain:
        owner, agent, signer, alice, bob = chain.accounts[:5]
        batch = [Account.create().address for _ in range(BATCH)]
        start = chain.snapshot()
        mine = ours(chain, owner, agent, signer, alice, bob, batch)
        chain.revert(start)
        start = chain.snapshot()
        bare = reference(chain, package, owner, agent, signer, alice, bob, batch, proxies=False)
        chain.revert(start)
        proxied = reference(chain, package, owner, agent, signer, alice, bob, batch, proxies=True)

    print("Rules: topics KYC + country from one trusted issuer; country allow-list; max balance per investor.")
    print("T-REX bare = implementations initialized directly (the cheapest reference, used for the ratio);")
    print("T-REX proxied = behind its implementation-authority proxies, as TREXFactory deploys it.")
    print(f"{'operation':<34}{'rwa-sdk':>12}{'T-REX bare':>13}{'ratio':>7}{'T-REX proxied':>15}{'ratio':>7}")
    for label, field in (
        ("mint (new holder)", "mint"),
        ("transfer (receiver holds tokens)", "transfer"),
        ("forcedTransfer", "forced_transfer"),
        (f"batchMint of {BATCH} new holders", "batch_mint"),
    ):
        a, b, c = getattr(mine, field), getattr(bare, field), getattr(proxied, field)
        print(f"{label:<34}{a:>12,}{b:>13,}{a / b:>7.3f}{c:>15,}{a / c:>7.3f}")
    print(f"transfer_gas={mine.transfer} reference_transfer_gas={bare.transfer} ratio={mine.transfer / bare.transfer:.3f}")


if __name__ == "__main__":
    main()
