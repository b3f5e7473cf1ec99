"""Compliance modules, one rule each: behaviour, configuration errors, permissions, and the SDK's explanation."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from rwa_sdk import errors
from rwa_sdk.compliance import MODULE_ARTIFACTS
from rwa_sdk.identity import ClaimTopic, Investor, professional_data, risk_tier_data
from tests.token.world import FRANCE, GERMANY, MAX_BALANCE

DAY = 86_400


def add_module(world, name):
    contract, _ = world.chain.deploy(MODULE_ARTIFACTS[name])
    world.compliance.add_module(contract.address, sender=world.owner)
    return contract


def explain(world, sender, receiver, amount):
    return world.token.can_transfer(sender, receiver, amount)


def second_wallet_of(world, account):
    """Register a funded spare account as a second wallet of ``account``'s identity."""
    wallet = world.chain.accounts[6]
    world.registry.register(Investor(wallet.address, world.identity(account).address, GERMANY), sender=world.agent)
    return wallet


# -- country allow-list ----------------------------------------------------------------------------

def test_country_allow_list(world):
    module = world.compliance.module("CountryAllowModule")
    mc = world.compliance.address
    assert world.chain.call(module.functions.isCountryAllowed(mc, GERMANY))
    world.token.mint(world.alice.address, 10, sender=world.agent)
    world.compliance.disallow_countries([FRANCE], sender=world.owner)
    check = explain(world, world.alice.address, world.bob.address, 1)
    assert not check.allowed and "CountryAllowModule" in check.rule and "country (250)" in check.rule
    with pytest.raises(errors.TokenTransferNotCompliant):
        world.token.transfer(world.bob.address, 1, sender=world.alice)
    world.compliance.allow_countries([FRANCE], sender=world.owner)
    assert explain(world, world.alice.address, world.bob.address, 1).allowed


def test_country_allow_list_errors(world):
    module = world.compliance.module("CountryAllowModule")
    with pytest.raises(errors.CountryAlreadyAllowed):
        world.compliance.call_module(module, "addAllowedCountry", GERMANY, sender=world.owner)
    with pytest.raises(errors.CountryNotAllowed):
        world.compliance.call_module(module, "removeAllowedCountry", 4, sender=world.owner)
    world.compliance.call_module(module, "removeAllowedCountry", GERMANY, sender=world.owner)
    world.compliance.call_module(module, "addAllowedCountry", GERMANY, sender=world.owner)


# -- country block-list ----------------------------------------------------------------------------

def test_country_block_list(world):
    module = add_module(world, "CountryRestrictModule")
    world.token.mint(world.alice.address, 10, sender=world.agent)
    world.compliance.block_countries([FRANCE], sender=world.owner)
    assert world.chain.call(module.functions.isCountryRestricted(world.compliance.address, FRANCE))
    check = explain(world, world.alice.address, world.bob.address, 1)
    assert check.rule.startswith("CountryRestrictModule") and "blocked" in check.rule
    with pytest.raises(errors.CountryAlreadyRestricted):
        world.compliance.call_module(module, "addCountryRestriction", FRANCE, sender=world.owner)
    world.compliance.call_module(module, "removeCountryRestriction", FRANCE, sender=world.owner)
    with pytest.raises(errors.CountryNotRestricted):
        world.compliance.call_module(module, "removeCountryRestriction", FRANCE, sender=world.owner)
    world.token.transfer(world.bob.address, 1, sender=world.alice)
    world.compliance.call_module(module, "batchRestrictCountries", [GERMANY, FRANCE], sender=world.owner)
    world.compliance.call_module(module, "batchUnrestrictCountries", [GERMANY, FRANCE], sender=world.owner)


# -- max balance per investor --------------------------------------------------------------------------

def test_max_balance_counts_every_wallet_of_an_identity(world):
    module = world.compliance.module("MaxBalanceModule")
    second = second_wallet_of(world, world.alice)
    world.token.mint(world.alice.address, MAX_BALANCE - 10, sender=world.agent)
    with pytest.raises(errors.TokenTransferNotCompliant):
        world.token.mint(second.address, 11, sender=world.agent)
    world.token.mint(second.address, 10, sender=world.agent)
    alice_id = world.identity(world.alice).address
    assert world.chain.call(module.functions.identityBalance(world.compliance.address, alice_id)) == MAX_BALANCE
    # moving between one's own wallets is fine even at the cap
    world.token.transfer(second.address, 5, sender=world.alice)
    assert world.chain.call(module.functions.identityBalance(world.compliance.address, alice_id)) == MAX_BALANCE
    world.token.burn(second.address, 15, sender=world.agent)
    assert world.chain.call(module.functions.identityBalance(world.compliance.address, alice_id)) == MAX_BALANCE - 15


def test_max_balance_explains_the_cap(world):
    world.token.batch_mint({world.alice.address: MAX_BALANCE, world.bob.address: 5}, sender=world.agent)
    check = explain(world, world.bob.address, world.alice.address, 5)
    assert check.reasons == (
        f"MaxBalanceModule: the receiving investor would hold {MAX_BALANCE + 5}, above the maximum balance per investor of {MAX_BALANCE}",
    )


# -- max holders -----------------------------------------------------------------------------------------

def test_max_holders_counts_wallets_in_and_out(world):
    module = world.compliance.module("MaxHoldersModule")
    mc = world.compliance.address
    count = lambda: world.chain.call(module.functions.holderCount(mc))  # noqa: E731
    world.token.batch_mint({world.alice.address: 10, world.bob.address: 10}, sender=world.agent)
    assert count() == 2
    world.token.transfer(world.carol.address, 10, sender=world.bob)  # bob leaves, carol joins
    assert count() == 2
    world.token.burn(world.carol.address, 10, sender=world.agent)
    assert count() == 1
    world.token.transfer(world.alice.address, 0, sender=world.bob)  # zero-value moves change nothing
    assert count() == 1


def test_max_holders_refuses_a_new_holder_at_the_cap(world):
    world.compliance.set_max_holders(2, sender=world.owner)
    world.token.batch_mint({world.alice.address: 10, world.bob.address: 10}, sender=world.agent)
    check = explain(world, world.alice.address, world.carol.address, 1)
    assert check.rule == "MaxHoldersModule: the receiver would be a new holder but the token already has 2 of at most 2 holders"
    with pytest.raises(errors.TokenTransferNotCompliant):
        world.token.mint(world.carol.address, 1, sender=world.agent)
    # a sender leaving makes room
    world.token.transfer(world.carol.address, 10, sender=world.alice)
    module = world.compliance.module("MaxHoldersModule")
    assert world.chain.call(module.functions.holderCount(world.compliance.address)) == 2


# -- supply cap ---------------------------------------------------------------------------------------------

def test_supply_limit_explains_the_cap(world):
    module = world.compliance.module("SupplyLimitModule")
    world.compliance.set_supply_limit(100, sender=world.owner)
    assert world.chain.call(module.functions.getSupplyLimit(world.compliance.address)) == 100
    world.token.mint(world.alice.address, 100, sender=world.agent)
    assert not world.compliance.can_transfer("0x" + "00" * 20, world.bob.address, 1)
    refusals = world.compliance.refusals(world.registry.contract, world.token.contract, "0x" + "00" * 20, world.bob.address, 1)
    assert [r.reason for r in refusals] == ["minting 1 would take the supply to 101, above the cap of 100"]
    # transfers are not mints
    world.token.transfer(world.bob.address, 50, sender=world.alice)


# -- lock-up after subscription --------------------------------------------------------------------------------

def test_lock_up_after_subscription(world):
    module = add_module(world, "LockUpModule")
    mc = world.compliance.address
    world.compliance.set_lock_period(30 * DAY, sender=world.owner)
    assert world.chain.call(module.functions.lockPeriod(mc)) == 30 * DAY
    world.token.mint(world.alice.address, 100, sender=world.agent)
    locked, until = world.chain.call(module.functions.lockOf(mc, world.alice.address))
    assert locked == 100 and until > 0
    check = explain(world, world.alice.address, world.bob.address, 1)
    assert check.rule.startswith("LockUpModule: 100 of the sender's tokens are locked after subscription until")
    with pytest.raises(errors.TokenTransferNotCompliant):
        world.token.transfer(world.bob.address, 1, sender=world.alice)
    world.chain.mine(30 * DAY + 1)
    world.token.transfer(world.bob.address, 1, sender=world.alice)


def test_lock_up_lets_unlocked_tokens_move_and_shrinks_on_forced_transfer(world):
    module = add_module(world, "LockUpModule")
    mc = world.compliance.address
    world.token.mint(world.alice.address, 40, sender=world.agent)  # no period yet: free
    world.compliance.set_lock_period(DAY, sender=world.owner)
    world.token.mint(world.alice.address, 60, sender=world.agent)
    world.token.transfer(world.bob.address, 40, sender=world.alice)
    with pytest.raises(errors.TokenTransferNotCompliant):
        world.token.transfer(world.bob.address, 1, sender=world.alice)
    world.token.forced_transfer(world.alice.address, world.bob.address, 30, sender=world.agent)
    assert world.chain.call(module.functions.lockOf(mc, world.alice.address))[0] == 30
    world.token.burn(world.alice.address, 20, sender=world.agent)
    assert world.chain.call(module.functions.lockOf(mc, world.alice.address))[0] == 10


# -- investor suitability ------------------------------------------------------------------------------------------

@pytest.fixture
def suitability(world):
    module = add_module(world, "InvestorSuitabilityModule")
    world.compliance.set_suitability(3, ClaimTopic.RISK_TIER, ClaimTopic.PROFESSIONAL_INVESTOR, professional_only=[FRANCE], sender=world.owner)
    return module


def give(world, account, topic, data):
    identity = world.identity(account)
    claim = world.issuer.sign(world.signer, identity.address, topic, data)
    identity.add_claim(claim, sender=world.agent)
    return claim


def test_suitability_requires_a_sufficient_risk_tier(world, suitability):
    assert "no valid risk-tier claim" in explain(world, world.bob.address, world.alice.address, 0).rule
    give(world, world.alice, ClaimTopic.RISK_TIER, risk_tier_data(2))
    assert world.chain.call(suitability.functions.riskTierOf(world.compliance.address, world.identity(world.alice).address)) == 2
    with pytest.raises(errors.TokenTransferNotCompliant):
        world.token.mint(world.alice.address, 1, sender=world.agent)
    reasons = explain(world, world.bob.address, world.alice.address, 0).reasons
    assert "InvestorSuitabilityModule: the receiver holds risk tier 2, below the token's risk level 3" in reasons
    give(world, world.alice, ClaimTopic.RISK_TIER, risk_tier_data(4))
    world.token.mint(world.alice.address, 1, sender=world.agent)


def test_suitability_requires_professional_status_where_marked(world, suitability):
    give(world, world.bob, ClaimTopic.RISK_TIER, risk_tier_data(5))
    check = explain(world, world.alice.address, world.bob.address, 0)
    assert "receivers in country 250 must hold a valid professional-investor claim" in check.rule
    claim = give(world, world.bob, ClaimTopic.PROFESSIONAL_INVESTOR, professional_data())
    world.token.mint(world.bob.address, 1, sender=world.agent)
    world.issuer.revoke(claim.signature, sender=world.owner)
    with pytest.raises(errors.TokenTransferNotCompliant):
        world.token.mint(world.bob.address, 1, sender=world.agent)


def test_suitability_ignores_revoked_or_untrusted_tiers(world, suitability):
    claim = give(world, world.alice, ClaimTopic.RISK_TIER, risk_tier_data(5))
    world.token.mint(world.alice.address, 1, sender=world.agent)
    world.issuer.revoke(claim.signature, sender=world.owner)
    assert world.chain.call(suitability.functions.riskTierOf(world.compliance.address, world.identity(world.alice).address)) == 0


def test_suitability_configuration(world, suitability):
    mc = world.compliance.address
    assert world.chain.call(suitability.functions.configOf(mc)) == [3, ClaimTopic.RISK_TIER, ClaimTopic.PROFESSIONAL_INVESTOR]
    assert world.chain.call(suitability.functions.isProfessionalOnly(mc, FRANCE))
    for level in (0, 6):
        with pytest.raises(errors.SuitabilityInvalidRiskLevel):
            world.compliance.call_module(suitability, "setRiskLevel", level, sender=world.owner)


def test_risk_tier_data_rejects_out_of_range():
    with pytest.raises(ValueError):
        risk_tier_data(6)


# -- permissions of every module ------------------------------------------------------------------------------------

MODULE_SETTERS = {
    "CountryAllowModule": [("addAllowedCountry", 1), ("removeAllowedCountry", 1), ("batchAllowCountries", [1]), ("batchDisallowCountries", [1])],
    "CountryRestrictModule": [
        ("addCountryRestriction", 1),
        ("removeCountryRestriction", 1),
        ("batchRestrictCountries", [1]),
        ("batchUnrestrictCountries", [1]),
    ],
    "MaxBalanceModule": [("setMaxBalance", 1)],
    "MaxHoldersModule": [("setMaxHolders", 1)],
    "SupplyLimitModule": [("setSupplyLimit", 1)],
    "LockUpModule": [("setLockPeriod", 1)],
    "InvestorSuitabilityModule": [("setRiskLevel", 1), ("setClaimTopics", 1, 2), ("setProfessionalOnly", 1, True)],
}


@pytest.mark.parametrize("name", list(MODULE_ARTIFACTS))
def test_module_functions_reject_unbound_callers(world, name):
    contract, _ = world.chain.deploy(MODULE_ARTIFACTS[name])
    a = world.alice.address
    calls = [getattr(contract.functions, fn)(*args) for fn, *args in MODULE_SETTERS[name]]
    calls += [
        contract.functions.moduleTransferAction(a, a, 1),
        contract.functions.moduleMintAction(a, 1),
        contract.functions.moduleBurnAction(a, 1),
        contract.functions.unbindCompliance(world.compliance.address),
    ]
    for fn in calls:
        for who in (world.owner, world.agent, world.outsider):
            with pytest.raises(errors.ModuleComplianceNotBound):
                world.chain.transact(fn, sender=who)
    with pytest.raises(errors.ModuleOnlyCompliance):
        world.chain.transact(contract.functions.bindCompliance(world.compliance.address), sender=world.owner)


def test_module_binding_is_per_compliance(world):
    contract, _ = world.chain.deploy(MODULE_ARTIFACTS["SupplyLimitModule"])
    world.chain.transact(contract.functions.bindCompliance(world.outsider.address), sender=world.outsider)
    assert world.chain.call(contract.functions.isComplianceBound(world.outsider.address))
    with pytest.raises(errors.ModuleComplianceAlreadyBound):
        world.chain.transact(contract.functions.bindCompliance(world.outsider.address), sender=world.outsider)
    with pytest.raises(errors.ModuleOnlyCompliance):
        world.chain.transact(contract.functions.unbindCompliance(world.alice.address), sender=world.outsider)
    world.chain.transact(contract.functions.unbindCompliance(world.outsider.address), sender=world.outsider)
    assert not world.chain.call(contract.functions.isComplianceBound(world.outsider.address))


STATEFUL = ("MaxBalanceModule", "MaxHoldersModule")
KEEPS_BOOKS = ("MaxBalanceModule", "MaxHoldersModule", "LockUpModule")


@pytest.mark.parametrize("name", list(MODULE_ARTIFACTS))
def test_module_names_plug_and_play_and_hooks(world, name):
    contract, _ = world.chain.deploy(MODULE_ARTIFACTS[name])
    assert world.chain.call(contract.functions.name()) == name
    assert world.chain.call(contract.functions.isPlugAndPlay()) is (name not in STATEFUL)
    assert world.chain.call(contract.functions.needsHooks()) is (name in KEEPS_BOOKS)


def test_stateless_modules_are_not_called_after_moves(world):
    """The country allow-list keeps no books: transfers skip its empty hook (cheaper) and still obey it."""
    world.token.batch_mint({world.alice.address: 10, world.bob.address: 10}, sender=world.agent)
    sent = world.token.transfer(world.bob.address, 1, sender=world.alice)
    trace = world.chain.rpc("debug_traceTransaction", sent.tx_hash, {"tracer": "callTracer"})

    def called(node, address, selector):
        here = node["to"].lower() == address.lower() and node["input"].startswith(selector)
        return here or any(called(c, address, selector) for c in node.get("calls", []))

    hook = "0x" + keccak(text="moduleTransferAction(address,address,uint256)")[:4].hex()
    check = "0x" + keccak(text="moduleCheck(address,address,uint256,address)")[:4].hex()
    allow = world.suite.modules["CountryAllowModule"]
    assert called(trace, allow, check) and not called(trace, allow, hook)
    assert called(trace, world.suite.modules["MaxBalanceModule"], hook)
