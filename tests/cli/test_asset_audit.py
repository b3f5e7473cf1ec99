"""``rwa asset audit``: a correct asset passes; each misconfiguration made on purpose is found, in words."""

from __future__ import annotations

import json

import pytest
from eth_account import Account

from rwa_sdk.audit import audit_asset
from rwa_sdk.identity import ClaimTopic

ZERO = "0x0000000000000000000000000000000000000000"


def failing(report) -> dict[str, str]:
    return {c.name: c.detail for c in report.failures}


def test_the_asset_as_deployed_passes_every_check(rwa, sun5):
    result = rwa("asset", "audit", "SUN5", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["failures"] == 0 and report["warnings"] == 0
    areas = {c["area"] for c in report["checks"]}
    assert areas >= {"links", "claims", "identity", "compliance", "roles", "wiring", "token"}
    assert len(report["checks"]) > 40


def test_table_output_and_exit_code_one_on_failure(rwa, sun5):
    topics = sun5.chain.contract("ClaimTopicsRegistry", sun5.addresses.topics_registry)
    sun5.chain.transact(topics.functions.removeClaimTopic(int(ClaimTopic.COUNTRY)), sender=sun5.roles.owner)
    result = rwa("asset", "audit", "SUN5")
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "claim topics required" in result.stdout
    assert "1 failure(s)" in result.stderr


def test_a_stray_trusted_issuer_fails(sun5):
    chain, owner = sun5.chain, sun5.roles.owner
    issuers = chain.contract("TrustedIssuersRegistry", sun5.addresses.issuers_registry)
    stray = sun5.suite.factory_client().create_claim_issuer(owner.address, sender=owner)
    chain.transact(issuers.functions.addTrustedIssuer(stray.address, [int(ClaimTopic.KYC)]), sender=owner)
    fails = failing(audit_asset(chain, sun5))
    assert "expected only" in fails["trusted issuers"]


def test_a_missing_module_and_a_changed_rule_fail(sun5):
    chain, owner = sun5.chain, sun5.roles.owner
    compliance = sun5.suite.compliance_client()
    compliance.remove_module(sun5.addresses.modules["MaxHoldersModule"], sender=owner)
    compliance.set_lock_period(0, sender=owner)
    compliance.allow_countries([840], sender=owner)  # the US, which the spec blocks
    fails = failing(audit_asset(chain, sun5))
    assert "no such module" in fails["MaxHoldersModule"]
    assert "the spec says 7776000" in fails["LockUpModule: lock-up (s)"]
    assert "US" in fails["CountryAllowModule: allowed countries"]


def test_storage_not_bound_to_the_registry_fails(sun5):
    chain, owner = sun5.chain, sun5.roles.owner
    storage = chain.contract("IdentityRegistryStorage", sun5.addresses.identity_storage)
    chain.transact(storage.functions.unbindIdentityRegistry(sun5.addresses.identity_registry), sender=owner)
    assert "does not list" in failing(audit_asset(chain, sun5))["storage binds the registry"]


def test_no_relayer_and_an_unwired_revenue_hook_fail(sun5):
    chain, owner = sun5.chain, sun5.roles.owner
    oracle = chain.contract("ReadingOracle", sun5.addresses.reading_oracle)
    role = oracle.functions.RELAYER_ROLE().call()
    chain.transact(oracle.functions.revokeRole(role, sun5.roles.relayer.address), sender=owner)
    token = chain.contract("AssetToken", sun5.addresses.token)
    chain.transact(token.functions.setRevenueHook(ZERO), sender=owner)
    fails = failing(audit_asset(chain, sun5))
    assert "no RELAYER_ROLE" in fails["oracle has a relayer"]
    assert "the deploy records say" in fails["token -> distributor"]


def test_a_vault_that_is_not_an_agent_fails(sun5):
    sun5.chain.transact(sun5.chain.contract("AssetToken", sun5.addresses.token).functions
                        .removeAgent(sun5.addresses.vault), sender=sun5.roles.owner)
    assert "cannot be issued" in failing(audit_asset(sun5.chain, sun5))["vault may issue tokens"]


def test_a_paused_token_is_a_warning_exit_code_two(rwa, sun5):
    sun5.token.pause(sender=sun5.roles.agent)
    result = rwa("asset", "audit", "SUN5", "--json")
    assert result.exit_code == 2, result.output
    report = json.loads(result.stdout)
    assert report["failures"] == 0
    assert [c["name"] for c in report["checks"] if c["status"] == "warn"] == ["pause state"]


def test_public_network_warns_about_the_deploying_key_and_one_key_for_everything(sun5):
    report = audit_asset(sun5.chain, sun5, public=True)
    warned = {c.name: c.detail for c in report.warnings}
    assert sun5.roles.owner.address in warned["roles on the deploying key"]
    assert "one key holds every role" not in warned  # the development roles are six different keys
    assert not report.failures


def test_roles_handed_over_clear_the_deploying_key_warning(sun5):
    """After ownership and admin roles move to a multisig-like key, the warning names nothing."""
    chain, owner = sun5.chain, sun5.roles.owner
    safe = Account.create().address
    report_before = audit_asset(chain, sun5, public=True)
    contract = chain.contract("DeviceRegistry", sun5.addresses.device_registry)
    admin = contract.functions.DEFAULT_ADMIN_ROLE().call()
    chain.transact(contract.functions.grantRole(admin, safe), sender=owner)
    chain.transact(contract.functions.renounceRole(admin, owner.address), sender=owner)
    report_after = audit_asset(chain, sun5, public=True)
    before = next(c.detail for c in report_before.warnings if c.name == "roles on the deploying key")
    after = next(c.detail for c in report_after.warnings if c.name == "roles on the deploying key")
    assert "DeviceRegistry DEFAULT_ADMIN_ROLE" in before and "DeviceRegistry DEFAULT_ADMIN_ROLE" not in after
    holders = {c.name: c.detail for c in report_after.checks}
    assert holders["DeviceRegistry DEFAULT_ADMIN_ROLE"] == safe


def test_records_that_disagree_with_the_chain_fail(sun5):
    """The audit trusts the chain, not the records: a token pointed at another compliance is found."""
    chain, owner = sun5.chain, sun5.roles.owner
    other, _ = chain.deploy("ModularCompliance", owner.address, sender=owner)
    token = chain.contract("AssetToken", sun5.addresses.token)
    chain.transact(token.functions.setCompliance(other.address), sender=owner)
    fails = failing(audit_asset(chain, sun5))
    assert "the deploy records say" in fails["token -> compliance"]


@pytest.mark.parametrize("symbol", ["NOPE"])
def test_unknown_symbol_is_one_clear_line(rwa, sun5, symbol):
    result = rwa("asset", "audit", symbol)
    assert result.exit_code == 1
    assert "no asset 'NOPE'" in result.stderr and "Traceback" not in result.output
