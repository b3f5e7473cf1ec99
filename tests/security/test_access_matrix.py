"""Access-control matrix, generated from the compiled ABIs: an outsider is refused everywhere it should be.

Every compiled contract with code must have an instance in a fully wired asset (or be listed in
``NOT_DEPLOYED`` with the reason). Every state-changing function of every instance is called (``eth_call``)
from an account that holds no role, with several argument sets; each call must revert with an
authorization error of the contract's own (a custom error, never a string or a bare revert). Functions that
anyone may call are listed in ``PUBLIC`` with the reason; a new function that is neither refused nor listed
fails this test, which is the point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import function_abi_to_4byte_selector, keccak, to_checksum_address
from eth_utils.abi import abi_to_signature

from rwa_sdk.artifacts import Artifact, artifact_paths
from rwa_sdk.asset import Asset, InvestorProfile
from rwa_sdk.errors import revert_data
from rwa_sdk.settlement.stablecoin import UNIT

from ..conftest import ROOT

SPEC = ROOT / "examples" / "solar-5mw.toml"

# Errors that mean "you may not": OpenZeppelin's and ours. Anything else (a bad argument, a missing record)
# does not show the caller was refused, so it does not count.
AUTHORIZATION_ERROR = re.compile(
    r"Unauthori[sz]ed|OnlyCompliance|OnlyToken|CallerNotToken|CallerNotAgent|NotMinter|NotMasterMinter|NotPauser"
    r"|NotBlacklister|NotRescuer|NotRequestOwner|InvalidInitialization|AlreadyInitialized|BadConfirmation"
    r"|NotAuthori[sz]ed|ModuleComplianceNotBound|CallerNot[A-Z]\w*"
)

# Contracts compiled but not part of a deployed asset.
NOT_DEPLOYED = {
    "SecurityTokenMock": "test double of the token for the settlement tests",
    "SmartWalletMock": "test double of an ERC-1271 wallet",
}

# (contract or "*", function) -> why anyone may call it. Each still runs its own checks (signatures,
# balances, ownership of a request): the matrix only says these are not role-gated.
PUBLIC = {
    ("*", "renounceRole"): "AccessControl: an account gives up its own roles only (callerConfirmation)",
    ("*", "acceptOwnership"): "Ownable2Step: only the pending owner completes (checked below as refused)",
    ("AssetToken", "approve"): "ERC-20 allowance of the caller's own tokens",
    ("AssetToken", "transfer"): "holders move their own tokens; compliance decides",
    ("AssetToken", "transferFrom"): "spends the caller's allowance; compliance decides",
    ("AssetToken", "batchTransfer"): "several transfers of the caller's own tokens",
    ("Stablecoin", "approve"): "ERC-20 allowance of the caller's own coins",
    ("Stablecoin", "transfer"): "holders move their own coins",
    ("Stablecoin", "transferFrom"): "spends the caller's allowance",
    ("Stablecoin", "permit"): "EIP-2612: the owner's signature authorizes",
    ("Stablecoin", "transferWithAuthorization"): "EIP-3009: the payer's signature authorizes",
    ("Stablecoin", "receiveWithAuthorization"): "EIP-3009: the payer's signature authorizes, payee must call",
    ("Stablecoin", "cancelAuthorization"): "EIP-3009: the authorizer's signature cancels its own nonce",
    ("DvPSettlement", "fill"): "the taker fills a maker's signed order",
    ("DvPSettlement", "fillWithAuthorization"): "the taker fills, paying by EIP-3009",
    ("DvPSettlement", "fillWithPermit"): "the taker fills, paying by EIP-2612",
    ("DvPSettlement", "cancel"): "a maker cancels its own order (order.maker must be the caller)",
    ("SubscriptionVault", "requestSubscription"): "investors subscribe with their own coins",
    ("SubscriptionVault", "requestSubscriptionWithPermit"): "investors subscribe, paying by permit",
    ("SubscriptionVault", "requestSubscriptionWithAuthorization"): "investors subscribe, paying by EIP-3009",
    ("SubscriptionVault", "requestRedemption"): "holders redeem their own tokens",
    ("SubscriptionVault", "withdraw"): "an investor takes back its own refunded coins",
    ("RevenueDistributor", "claim"): "a holder claims its own revenue",
    ("RevenueDistributor", "claimFor"): "pays a holder's revenue to that holder, never to the caller",
    ("ReadingOracle", "submitReading"): "the device's signature is what counts, not the caller",
    ("ReadingOracle", "disputeDoubleCount"): "anyone may prove a double count with two inclusion proofs",
    ("ReadingOracle", "disputeInclusion"): "anyone may prove, with its inclusion proof, a reading that must not count",
    ("ReadingOracle", "markRevocation"): "anyone may start the late-reading rule once a revocation's grace has passed",
    ("*", "bindCompliance"): "a compliance binds itself (the caller must be the compliance); a module keeps each "
                             "compliance's settings under that compliance's address, so no other rule is touched",
    ("ClaimEpochs", "claimsChanged"): "a tracked identity reports its own change; a no-op for anyone else",
    ("ClaimEpochs", "trustChanged"): "a tracked trust source reports its own change; a no-op for anyone else",
    ("IdentityRegistry", "verify"): "refreshes the verification cache from the claims; changes no rule",
    ("Identity", "execute"): "ERC-734: anyone may propose; only keys with the purpose approve",
    ("ClaimIssuer", "execute"): "ERC-734: anyone may propose; only keys with the purpose approve",
}

# Functions checked as refused although they are in PUBLIC's "*" rows.
CHECKED_ANYWAY = {"acceptOwnership"}


@dataclass(frozen=True)
class Instance:
    name: str
    address: str
    artifact: Artifact


def compiled_contracts() -> dict[str, Artifact]:
    contracts = {}
    for path in artifact_paths(ROOT):
        if path.name.endswith(".dbg.json"):
            continue
        artifact = Artifact.from_json(__import__("json").loads(path.read_text()))
        if artifact.bytecode not in ("", "0x"):
            contracts[artifact.name] = artifact
    return contracts


def error_names(contracts: dict[str, Artifact]) -> dict[bytes, str]:
    names = {}
    for artifact in contracts.values():
        for item in artifact.abi:
            if item["type"] == "error":
                names[keccak(text=abi_to_signature(item))[:4]] = item["name"]
    return names


def _value(abi_type: str, components: list | None, addresses: list[str], variant: int) -> Any:
    if abi_type.endswith("]"):
        inner = abi_type[: abi_type.rindex("[")]
        size = abi_type[abi_type.rindex("[") + 1 : -1]
        count = int(size) if size else 1
        return [_value(inner, components, addresses, variant) for _ in range(count)]
    if abi_type == "tuple":
        return tuple(_value(c["type"], c.get("components"), addresses, variant) for c in components or [])
    if abi_type == "address":
        return addresses[variant % len(addresses)]
    if abi_type.startswith("uint") or abi_type.startswith("int"):
        return (1, 100, 0)[variant % 3]
    if abi_type == "bool":
        return variant % 2 == 0
    if abi_type.startswith("bytes") and abi_type != "bytes":
        return bytes(int(abi_type[5:]))
    if abi_type == "bytes":
        return bytes(65)
    if abi_type == "string":
        return "x"
    raise AssertionError(f"no sample value for {abi_type}")


def _type_string(item: dict) -> str:
    if item["type"].startswith("tuple"):
        inner = ",".join(_type_string(c) for c in item["components"])
        return f"({inner})" + item["type"][len("tuple"):]
    return item["type"]


def calldata(fn: dict, addresses: list[str], variant: int) -> bytes:
    types = [_type_string(i) for i in fn["inputs"]]
    values = [_value(i["type"], i.get("components"), addresses, variant + n) for n, i in enumerate(fn["inputs"])]
    return function_abi_to_4byte_selector(fn) + encode(types, values)


def is_public(contract: str, function: str) -> bool:
    if function in CHECKED_ANYWAY:
        return False
    return (contract, function) in PUBLIC or ("*", function) in PUBLIC


@pytest.fixture(scope="module")
def wired_asset(session_chain, tmp_path_factory):
    """A fully wired asset with real records for the arguments to point at: a verified holder with a pending
    subscription (request 0 or 1), a registered device and a pending execution on the holder's identity."""
    chain = session_chain
    snapshot = chain.snapshot()
    asset = Asset.create(chain, SPEC, deployments_dir=tmp_path_factory.mktemp("access-matrix"))
    holder = Account.create()
    asset.onboard([InvestorProfile(holder.address, "ES", risk_tier=4)])
    chain.send_value(holder.address, 10**18)
    treasury = asset.roles.treasury
    asset.stablecoin.configure_minter(treasury.address, 10**15, sender=asset.roles.owner)
    asset.stablecoin.mint(holder.address, 10_000 * UNIT, sender=treasury)
    asset.subscribe(holder, 2_000)
    device = Account.create()
    chain.transact(asset.oracle.registry.functions.registerDevice(device.address, asset.asset_id, 0, 10_000,
                                                                  bytes(32)), sender=asset.roles.operator)
    for instance in instances(asset, holder.address, compiled_contracts()):
        if instance.name in ("Identity", "ClaimIssuer"):  # executions 0 and 1 wait for an ACTION key's approval
            for _ in range(2):
                chain.transact(chain.contract("Identity", instance.address).functions.execute(holder.address, 0, b""),
                               sender=asset.roles.agent)
    yield asset, holder.address, device.address
    chain.revert(snapshot)


def instances(asset: Asset, holder: str, contracts: dict[str, Artifact]) -> list[Instance]:
    by_address: dict[str, str] = {}
    a = asset.addresses
    for address in (a.token, a.identity_registry, a.identity_storage, a.topics_registry, a.issuers_registry,
                    a.claim_epochs, a.compliance, a.identity_factory, a.claim_issuer, a.device_registry,
                    a.reading_oracle, a.stablecoin, a.vault, a.distributor, a.dvp, *a.modules.values()):
        by_address[address] = ""
    chain = asset.chain
    by_address[chain.contract("IdentityRegistry", a.identity_registry).functions.identity(holder).call()] = ""
    factory = chain.contract("IdentityFactory", a.identity_factory).functions
    # the clones' implementations too: an implementation anyone could initialize would be a finding
    by_address[factory.identityImplementation().call()] = ""
    by_address[factory.claimIssuerImplementation().call()] = ""
    found = []
    for address in by_address:
        code = _code(chain, address)
        if code.startswith(EIP1167_PREFIX) and len(code) == 2 + 45 * 2:  # a clone runs its implementation
            code = _code(chain, to_checksum_address("0x" + code[len(EIP1167_PREFIX):len(EIP1167_PREFIX) + 40]))
        name = _match(code, contracts)
        assert name, f"no artifact matches the code at {address}"
        found.append(Instance(name, address, contracts[name]))
    return found


EIP1167_PREFIX = "0x363d3d373d3d3d363d73"


def _code(chain, address: str) -> str:
    code = chain.w3.eth.get_code(address).hex()
    return code if code.startswith("0x") else "0x" + code


def _match(code: str, contracts: dict[str, Artifact]) -> str | None:
    """The artifact whose runtime code this is (immutables differ, so compare with them masked)."""
    best, best_score = None, 0.0
    for name, artifact in contracts.items():
        expected = artifact.deployed_bytecode.lower()
        if len(expected) != len(code):
            continue
        same = sum(x == y for x, y in zip(expected, code.lower()))
        score = same / len(code)
        if score > best_score:
            best, best_score = name, score
    return best if best_score > 0.8 else None


def test_every_compiled_contract_is_deployed_in_an_asset_or_excused(wired_asset):
    """Contracts with only views (e.g. OcmfVerifier) need no instance: they have nothing to refuse."""
    asset, holder, _ = wired_asset
    contracts = compiled_contracts()
    deployed = {i.name for i in instances(asset, holder, contracts)}
    stateful = {name for name, artifact in contracts.items() if any(
        item["type"] == "function" and item["stateMutability"] not in ("view", "pure") for item in artifact.abi)}
    missing = sorted(stateful - deployed - set(NOT_DEPLOYED))
    assert not missing, f"compiled contracts with no instance in an asset and no reason in NOT_DEPLOYED: {missing}"


def test_public_list_names_only_functions_that_exist():
    contracts = compiled_contracts()
    functions = {(name, item["name"]) for name, a in contracts.items() for item in a.abi if item["type"] == "function"}
    names = {f for _, f in functions}
    stale = [key for key in PUBLIC if (key[0] == "*" and key[1] not in names)
             or (key[0] != "*" and key not in functions)]
    assert not stale, f"PUBLIC lists functions that no contract has: {stale}"


def test_an_outsider_is_refused_by_every_privileged_function(wired_asset):
    asset, holder, device = wired_asset
    contracts = compiled_contracts()
    errors = error_names(contracts)
    outsider = Account.create().address
    a = asset.addresses
    candidates = [outsider, holder, device, a.token, a.compliance, a.vault, asset.roles.agent.address,
                  "0x0000000000000000000000000000000000000001"]
    w3 = asset.chain.w3
    failures, checked = [], 0
    for instance in instances(asset, holder, contracts):
        for fn in instance.artifact.abi:
            if fn["type"] != "function" or fn["stateMutability"] in ("view", "pure"):
                continue
            if is_public(instance.name, fn["name"]):
                continue
            checked += 1
            seen = []
            for variant in range(len(candidates)):
                data = calldata(fn, candidates, variant)
                try:
                    w3.eth.call({"from": outsider, "to": instance.address, "data": data})
                except Exception as exc:  # a revert: which error?
                    raw = revert_data(exc) or b""
                    seen.append(errors.get(raw[:4], f"0x{raw[:4].hex()}" if raw else "bare revert"))
                    if AUTHORIZATION_ERROR.search(seen[-1]):
                        break
                else:
                    seen.append("SUCCEEDED")
                    break
            own = {item["name"] for item in instance.artifact.abi if item["type"] == "error"}
            if not seen or not AUTHORIZATION_ERROR.search(seen[-1]) or seen[-1] not in own:
                failures.append(f"{instance.name}.{abi_to_signature(fn)}: {sorted(set(seen))}")
    assert checked > 150, f"only {checked} privileged functions found: is the world wired?"
    assert not failures, "outsider not refused with an authorization error:\n" + "\n".join(failures)
