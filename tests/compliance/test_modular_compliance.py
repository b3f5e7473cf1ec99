"""ModularCompliance: token binding, module management, module calls, and who may do what."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from rwa_sdk import errors
from rwa_sdk.compliance import MODULE_ARTIFACTS

MC = "contracts/compliance/ModularCompliance.sol:ModularCompliance"
ZERO = "0x" + "00" * 20


@pytest.fixture
def mc(world):
    return world.chain.contract(MC, world.suite.compliance)


@pytest.fixture
def fresh(world):
    contract, _ = world.chain.deploy(MC, world.owner.address)
    return contract


def deploy_module(world, name):
    contract, _ = world.chain.deploy(MODULE_ARTIFACTS[name])
    return contract


def test_suite_compliance_is_bound_to_the_token_with_its_modules(world, mc):
    assert world.chain.call(mc.functions.getTokenBound()) == world.suite.token
    assert set(world.chain.call(mc.functions.getModules())) == set(world.suite.modules.values())
    assert [m.name for m in world.compliance.modules()] == list(world.suite.modules)
    for address in world.suite.modules.values():
        assert world.chain.call(mc.functions.isModuleBound(address))


def test_owner_binds_and_unbinds_a_token(world, fresh):
    sent = world.chain.transact(fresh.functions.bindToken(world.suite.token), sender=world.owner)
    assert sent.events(fresh, "TokenBound")[0]["token"] == world.suite.token
    sent = world.chain.transact(fresh.functions.unbindToken(world.suite.token), sender=world.owner)
    assert sent.events(fresh, "TokenUnbound")
    assert world.chain.call(fresh.functions.getTokenBound()) == ZERO


def test_first_caller_cannot_bind_an_unbound_compliance(world, fresh):
    """Attack (issue 12, item 6): before the owner binds the real token, anyone (an EOA or a contract calling
    for itself) used to be able to claim a fresh compliance."""
    for who in (world.alice, world.outsider, world.agent):
        with pytest.raises(errors.ComplianceUnauthorizedBinding):
            world.chain.transact(fresh.functions.bindToken(who.address), sender=who)
    assert world.chain.call(fresh.functions.getTokenBound()) == ZERO
    world.chain.transact(fresh.functions.bindToken(world.alice.address), sender=world.owner)
    world.chain.transact(fresh.functions.unbindToken(world.alice.address), sender=world.alice)  # the bound token leaves
    assert world.chain.call(fresh.functions.getTokenBound()) == ZERO


def test_binding_errors(world, fresh):
    with pytest.raises(errors.ComplianceInvalidAddress):
        world.chain.transact(fresh.functions.bindToken(ZERO), sender=world.owner)
    with pytest.raises(errors.ComplianceTokenNotBound):
        world.chain.transact(fresh.functions.unbindToken(world.alice.address), sender=world.owner)
    with pytest.raises(errors.ComplianceUnauthorizedBinding):
        world.chain.transact(fresh.functions.unbindToken(world.alice.address), sender=world.outsider)


def test_add_and_remove_modules(world, mc):
    module = deploy_module(world, "CountryRestrictModule")
    sent = world.compliance.add_module(module.address, sender=world.owner)
    assert sent.events(mc, "ModuleAdded")[0]["module"] == module.address
    assert world.chain.call(module.functions.isComplianceBound(mc.address))
    with pytest.raises(errors.ComplianceModuleAlreadyBound):
        world.compliance.add_module(module.address, sender=world.owner)
    first = world.suite.modules["CountryAllowModule"]
    world.compliance.remove_module(first, sender=world.owner)
    modules = world.chain.call(mc.functions.getModules())
    assert first not in modules and module.address in modules and len(modules) == len(world.suite.modules)
    assert not world.chain.call(world.chain.contract(MODULE_ARTIFACTS["CountryAllowModule"], first).functions.isComplianceBound(mc.address))
    with pytest.raises(errors.ComplianceModuleNotBound):
        world.compliance.remove_module(first, sender=world.owner)


def test_add_module_errors(world, mc):
    with pytest.raises(errors.ComplianceInvalidAddress):
        world.compliance.add_module(ZERO, sender=world.owner)
    world.token.mint(world.alice.address, 1, sender=world.agent)
    stateful = deploy_module(world, "MaxHoldersModule")
    with pytest.raises(errors.ComplianceModuleCannotBind):
        world.compliance.add_module(stateful.address, sender=world.owner)


def test_module_limit(world, fresh):
    for _ in range(25):
        module = deploy_module(world, "SupplyLimitModule")
        world.chain.transact(fresh.functions.addModule(module.address), sender=world.owner)
    with pytest.raises(errors.ComplianceModuleLimit):
        world.chain.transact(fresh.functions.addModule(deploy_module(world, "SupplyLimitModule").address), sender=world.owner)


def test_call_module_function_configures_and_reraises(world, mc):
    module = world.compliance.module("MaxBalanceModule")
    sent = world.compliance.call_module(module, "setMaxBalance", 42, sender=world.owner)
    assert sent.events(mc, "ModuleInteraction")[0]["selector"] == keccak(text="setMaxBalance(uint256)")[:4]
    assert world.chain.call(module.functions.maxBalance(mc.address)) == 42
    allow = world.compliance.module("CountryAllowModule")
    with pytest.raises(errors.CountryAlreadyAllowed):
        world.compliance.call_module(allow, "addAllowedCountry", 276, sender=world.owner)
    stray = deploy_module(world, "SupplyLimitModule")
    with pytest.raises(errors.ComplianceModuleNotBound):
        world.compliance.call_module(stray, "setSupplyLimit", 1, sender=world.owner)


def test_hooks_accept_only_the_bound_token(world, mc):
    for fn in (
        mc.functions.transferred(world.alice.address, world.bob.address, 1),
        mc.functions.created(world.alice.address, 1),
        mc.functions.destroyed(world.alice.address, 1),
    ):
        for who in (world.owner, world.agent, world.outsider):
            with pytest.raises(errors.ComplianceOnlyToken):
                world.chain.transact(fn, sender=who)


def test_owner_functions_reject_agent_and_outsider(world, mc):
    module = deploy_module(world, "SupplyLimitModule")
    calls = [
        mc.functions.addModule(module.address),
        mc.functions.removeModule(world.suite.modules["CountryAllowModule"]),
        mc.functions.callModuleFunction(b"\x00\x00\x00\x00", world.suite.modules["CountryAllowModule"]),
        mc.functions.transferOwnership(world.outsider.address),
    ]
    for fn in calls:
        for who in (world.agent, world.outsider):
            with pytest.raises(errors.OwnableUnauthorizedAccount):
                world.chain.transact(fn, sender=who)
    with pytest.raises(errors.ComplianceUnauthorizedBinding):
        world.chain.transact(mc.functions.bindToken(world.outsider.address), sender=world.outsider)


def test_can_transfer_reflects_every_module(world):
    assert world.compliance.can_transfer(world.alice.address, world.bob.address, 1)
    world.compliance.disallow_countries([250], sender=world.owner)  # Bob lives in France
    assert not world.compliance.can_transfer(world.alice.address, world.bob.address, 1)
