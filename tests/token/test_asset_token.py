"""AssetToken (ERC-3643): every operation's success path, its reverts, and its permissions."""

from __future__ import annotations

import pytest
from eth_account import Account

from rwa_sdk import errors
from rwa_sdk.identity import Investor, KeyPurpose
from tests.token.world import MAX_BALANCE, SUPPLY_LIMIT, USA, standard_claims

ZERO = "0x" + "00" * 20
TOKEN = "contracts/token/AssetToken.sol:AssetToken"


@pytest.fixture
def funded(world):
    """Alice holds 1000, Bob 500."""
    world.token.batch_mint({world.alice.address: 1000, world.bob.address: 500}, sender=world.agent)
    return world


@pytest.fixture
def full(world):
    """The token with its full ABI (agent role, ERC-20 errors...)."""
    return world.chain.contract(TOKEN, world.suite.token)


def onboard(world, country: int) -> Account:
    """A new registered, verified wallet living in ``country``."""
    wallet = Account.create()
    identity = world.factory.create_identity(wallet.address, claim_key=world.agent.address, sender=world.agent)
    for topic, data in standard_claims(country).items():
        identity.add_claim(world.issuer.sign(world.signer, identity.address, topic, data), sender=world.agent)
    world.registry.register(Investor(wallet.address, identity.address, country), sender=world.agent)
    return wallet


# -- metadata and owner settings -----------------------------------------------------------------

def test_metadata(world, full):
    call = world.chain.call
    assert call(full.functions.name()) == "Solar Park Brandenburg I"
    assert call(full.functions.symbol()) == "SPB1"
    assert call(full.functions.decimals()) == 0
    assert call(full.functions.version()) == "1.0.0"
    assert call(full.functions.identityRegistry()) == world.suite.identity_registry
    assert call(full.functions.compliance()) == world.suite.compliance
    assert call(full.functions.onchainID()) == ZERO


def test_owner_updates_name_symbol_and_onchain_id(world, full):
    sent = world.chain.transact(full.functions.setName("Solar Park II"), sender=world.owner)
    assert sent.events(full, "UpdatedTokenInformation")[0]["newDecimals"] == 0
    world.chain.transact(full.functions.setSymbol("SP2"), sender=world.owner)
    world.chain.transact(full.functions.setOnchainID(world.identity(world.alice).address), sender=world.owner)
    assert world.chain.call(full.functions.name()) == "Solar Park II"
    assert world.chain.call(full.functions.symbol()) == "SP2"
    assert world.chain.call(full.functions.onchainID()) == world.identity(world.alice).address


def test_empty_name_or_symbol_reverts(world, full):
    with pytest.raises(errors.TokenEmptyString):
        world.chain.transact(full.functions.setName(""), sender=world.owner)
    with pytest.raises(errors.TokenEmptyString):
        world.chain.transact(full.functions.setSymbol(""), sender=world.owner)


def test_set_compliance_unbinds_the_old_and_fails_closed_until_the_owner_binds_the_new(world, full):
    world.token.mint(world.alice.address, 10, sender=world.agent)
    fresh, _ = world.chain.deploy("contracts/compliance/ModularCompliance.sol:ModularCompliance", world.owner.address)
    sent = world.chain.transact(full.functions.setCompliance(fresh.address), sender=world.owner)
    assert sent.events(full, "ComplianceAdded")[0]["compliance"] == fresh.address
    old = world.chain.contract("contracts/compliance/ModularCompliance.sol:ModularCompliance", world.suite.compliance)
    assert world.chain.call(old.functions.getTokenBound()) == ZERO
    assert world.chain.call(fresh.functions.getTokenBound()) == ZERO
    with pytest.raises(errors.ComplianceOnlyToken):  # an unbound compliance refuses the token's hooks
        world.token.transfer(world.bob.address, 1, sender=world.alice)
    world.chain.transact(fresh.functions.bindToken(full.address), sender=world.owner)
    world.token.transfer(world.bob.address, 1, sender=world.alice)
    assert world.token.balance_of(world.bob.address) == 1


def test_set_identity_registry(world, full):
    sent = world.chain.transact(full.functions.setIdentityRegistry(world.outsider.address), sender=world.owner)
    assert sent.events(full, "IdentityRegistryAdded")[0]["identityRegistry"] == world.outsider.address
    with pytest.raises(errors.TokenInvalidAddress):
        world.chain.transact(full.functions.setIdentityRegistry(ZERO), sender=world.owner)
    with pytest.raises(errors.TokenInvalidAddress):
        world.chain.transact(full.functions.setCompliance(ZERO), sender=world.owner)


# -- mint and burn -------------------------------------------------------------------------------

def test_mint_credits_a_verified_investor(world):
    sent = world.token.mint(world.alice.address, 700, sender=world.agent)
    assert sent.events(world.token.contract, "Transfer")[0]["value"] == 700
    assert world.token.balance_of(world.alice.address) == 700 and world.token.total_supply() == 700


def test_mint_to_unverified_wallet_reverts(world):
    with pytest.raises(errors.TokenRecipientNotVerified):
        world.token.mint(world.outsider.address, 1, sender=world.agent)


def test_mint_to_zero_address_reverts(world):
    with pytest.raises(errors.ERC20InvalidReceiver):
        world.token.mint(ZERO, 1, sender=world.agent)


def test_mint_to_disallowed_country_reverts(world):
    american = onboard(world, USA)
    with pytest.raises(errors.TokenTransferNotCompliant):
        world.token.mint(american.address, 1, sender=world.agent)


def test_mint_above_supply_limit_reverts(world):
    world.token.mint(world.alice.address, 100, sender=world.agent)
    world.compliance.set_supply_limit(100, sender=world.owner)
    with pytest.raises(errors.TokenTransferNotCompliant):
        world.token.mint(world.bob.address, 1, sender=world.agent)
    world.compliance.set_supply_limit(SUPPLY_LIMIT, sender=world.owner)
    world.token.mint(world.bob.address, 1, sender=world.agent)


def test_supply_beyond_128_bits_reverts(world):
    for name in ("SupplyLimitModule", "MaxBalanceModule"):
        world.compliance.remove_module(world.suite.modules[name], sender=world.owner)
    world.token.mint(world.alice.address, 2**128 - 1, sender=world.agent)
    with pytest.raises(errors.TokenSupplyOverflow):
        world.token.mint(world.bob.address, 1, sender=world.agent)


def test_burn_debits_and_reduces_supply(funded):
    world = funded
    sent = world.token.burn(world.alice.address, 300, sender=world.agent)
    assert sent.events(world.token.contract, "Transfer")[0]["to"] == ZERO
    assert world.token.balance_of(world.alice.address) == 700 and world.token.total_supply() == 1200


def test_burn_more_than_balance_reverts(funded):
    with pytest.raises(errors.ERC20InsufficientBalance):
        funded.token.burn(funded.bob.address, 501, sender=funded.agent)


def test_burn_takes_frozen_tokens_last_and_unfreezes_them(funded):
    world = funded
    world.token.freeze_tokens(world.alice.address, 800, sender=world.agent)
    sent = world.token.burn(world.alice.address, 500, sender=world.agent)
    assert sent.events(world.token.contract, "TokensUnfrozen")[0]["amount"] == 300
    assert world.token.frozen_tokens(world.alice.address) == 500 and world.token.balance_of(world.alice.address) == 500


# -- transfers -----------------------------------------------------------------------------------

def test_transfer_between_verified_investors(funded):
    world = funded
    sent = world.token.transfer(world.bob.address, 250, sender=world.alice)
    assert sent.events(world.token.contract, "Transfer")[0]["value"] == 250
    assert world.token.balance_of(world.alice.address) == 750 and world.token.balance_of(world.bob.address) == 750


def test_transfer_to_unverified_investor_reverts(funded):
    with pytest.raises(errors.TokenRecipientNotVerified):
        funded.token.transfer(funded.outsider.address, 1, sender=funded.alice)


def test_transfer_to_zero_address_reverts(funded):
    with pytest.raises(errors.ERC20InvalidReceiver):
        funded.token.transfer(ZERO, 1, sender=funded.alice)


def test_transfer_more_than_balance_reverts(funded):
    with pytest.raises(errors.ERC20InsufficientBalance) as caught:
        funded.token.transfer(funded.bob.address, 1001, sender=funded.alice)
    assert caught.value.balance == 1000 and caught.value.needed == 1001


def test_transfer_beyond_free_balance_reverts(funded):
    world = funded
    world.token.freeze_tokens(world.alice.address, 400, sender=world.agent)
    with pytest.raises(errors.TokenInsufficientFreeBalance) as caught:
        world.token.transfer(world.bob.address, 601, sender=world.alice)
    assert caught.value.free == 600
    world.token.transfer(world.bob.address, 600, sender=world.alice)


def test_frozen_sender_or_receiver_cannot_transfer(funded):
    world = funded
    world.token.set_frozen(world.alice.address, True, sender=world.agent)
    with pytest.raises(errors.TokenWalletFrozen):
        world.token.transfer(world.bob.address, 1, sender=world.alice)
    with pytest.raises(errors.TokenWalletFrozen):
        world.token.transfer(world.alice.address, 1, sender=world.bob)
    world.token.set_frozen(world.alice.address, False, sender=world.agent)
    world.token.transfer(world.bob.address, 1, sender=world.alice)


def test_paused_token_blocks_transfers_until_unpaused(funded):
    world = funded
    sent = world.token.pause(sender=world.agent)
    assert sent.events(world.token.contract, "Paused")[0]["userAddress"] == world.agent.address
    assert world.token.paused()
    with pytest.raises(errors.EnforcedPause):
        world.token.transfer(world.bob.address, 1, sender=world.alice)
    with pytest.raises(errors.EnforcedPause):
        world.token.pause(sender=world.agent)
    world.token.unpause(sender=world.agent)
    with pytest.raises(errors.ExpectedPause):
        world.token.unpause(sender=world.agent)
    world.token.transfer(world.bob.address, 1, sender=world.alice)


def test_transfer_breaking_max_balance_reverts(world):
    world.token.batch_mint({world.alice.address: MAX_BALANCE, world.bob.address: 1}, sender=world.agent)
    with pytest.raises(errors.TokenTransferNotCompliant):
        world.token.transfer(world.alice.address, 1, sender=world.bob)


def test_transfer_from_spends_allowance(funded, full):
    world = funded
    world.chain.transact(full.functions.approve(world.carol.address, 300), sender=world.alice)
    world.chain.transact(full.functions.transferFrom(world.alice.address, world.bob.address, 200), sender=world.carol)
    assert world.chain.call(full.functions.allowance(world.alice.address, world.carol.address)) == 100
    with pytest.raises(errors.ERC20InsufficientAllowance):
        world.chain.transact(full.functions.transferFrom(world.alice.address, world.bob.address, 101), sender=world.carol)


def test_infinite_allowance_is_not_spent(funded, full):
    world = funded
    world.chain.transact(full.functions.approve(world.carol.address, 2**256 - 1), sender=world.alice)
    world.chain.transact(full.functions.transferFrom(world.alice.address, world.bob.address, 10), sender=world.carol)
    assert world.chain.call(full.functions.allowance(world.alice.address, world.carol.address)) == 2**256 - 1


def test_approve_zero_spender_reverts(world, full):
    with pytest.raises(errors.ERC20InvalidSpender):
        world.chain.transact(full.functions.approve(ZERO, 1), sender=world.alice)


# -- freezing --------------------------------------------------------------------------------------

def test_freeze_and_unfreeze_tokens(funded):
    world = funded
    sent = world.token.freeze_tokens(world.alice.address, 600, sender=world.agent)
    assert sent.events(world.token.contract, "TokensFrozen")[0]["amount"] == 600
    assert world.token.frozen_tokens(world.alice.address) == 600 and world.token.free_balance_of(world.alice.address) == 400
    sent = world.token.unfreeze_tokens(world.alice.address, 100, sender=world.agent)
    assert sent.events(world.token.contract, "TokensUnfrozen")[0]["amount"] == 100
    assert world.token.frozen_tokens(world.alice.address) == 500


def test_freezing_more_than_balance_reverts(funded):
    with pytest.raises(errors.TokenFreezeExceedsBalance):
        funded.token.freeze_tokens(funded.alice.address, 1001, sender=funded.agent)


def test_unfreezing_more_than_frozen_reverts(funded):
    funded.token.freeze_tokens(funded.alice.address, 10, sender=funded.agent)
    with pytest.raises(errors.TokenUnfreezeExceedsFrozen):
        funded.token.unfreeze_tokens(funded.alice.address, 11, sender=funded.agent)


def test_set_address_frozen_emits_and_reads_back(world):
    sent = world.token.set_frozen(world.bob.address, True, sender=world.agent)
    (event,) = sent.events(world.token.contract, "AddressFrozen")
    assert event["isFrozen"] and event["owner"] == world.agent.address
    assert world.token.is_frozen(world.bob.address)


# -- forced transfer -------------------------------------------------------------------------------

def test_forced_transfer_ignores_pause_freeze_and_compliance_but_unfreezes(funded):
    world = funded
    world.token.freeze_tokens(world.alice.address, 900, sender=world.agent)
    world.token.set_frozen(world.alice.address, True, sender=world.agent)
    world.token.pause(sender=world.agent)
    sent = world.token.forced_transfer(world.alice.address, world.bob.address, 300, sender=world.agent)
    assert sent.events(world.token.contract, "TokensUnfrozen")[0]["amount"] == 200
    assert world.token.balance_of(world.bob.address) == 800 and world.token.frozen_tokens(world.alice.address) == 700


def test_forced_transfer_to_unverified_wallet_reverts(funded):
    with pytest.raises(errors.TokenRecipientNotVerified):
        funded.token.forced_transfer(funded.alice.address, funded.outsider.address, 1, sender=funded.agent)


def test_forced_transfer_beyond_balance_reverts(funded):
    with pytest.raises(errors.ERC20InsufficientBalance):
        funded.token.forced_transfer(funded.bob.address, funded.alice.address, 501, sender=funded.agent)


def test_forced_transfer_to_zero_reverts(funded):
    with pytest.raises(errors.ERC20InvalidReceiver):
        funded.token.forced_transfer(funded.bob.address, ZERO, 1, sender=funded.agent)


# -- recovery ----------------------------------------------------------------------------------------

@pytest.fixture
def lost(funded):
    """Alice lost her wallet; her identity (managed by the issuer's process) adds a new key."""
    world = funded
    new = Account.create()
    world.identity(world.alice).add_key(new.address, KeyPurpose.MANAGEMENT, sender=world.alice)
    world.token.freeze_tokens(world.alice.address, 250, sender=world.agent)
    world.token.set_frozen(world.alice.address, True, sender=world.agent)
    return world, new


def test_recovery_moves_balance_and_keeps_frozen_state(lost):
    world, new = lost
    identity = world.identity(world.alice).address
    sent = world.token.recover(world.alice.address, new.address, identity, sender=world.agent)
    assert sent.events(world.token.contract, "RecoverySuccess")[0]["newWallet"] == new.address
    assert world.token.balance_of(new.address) == 1000 and world.token.balance_of(world.alice.address) == 0
    assert world.token.frozen_tokens(new.address) == 250 and world.token.is_frozen(new.address)
    assert world.token.frozen_tokens(world.alice.address) == 0 and not world.token.is_frozen(world.alice.address)
    assert world.registry.identity_of(new.address) == identity and world.registry.country_of(new.address) == 276
    assert not world.registry.contains(world.alice.address)
    assert world.token.total_supply() == 1500


def test_recovery_to_a_wallet_already_registered_to_the_identity(lost):
    world, new = lost
    identity = world.identity(world.alice).address
    world.registry.register(Investor(new.address, identity, 276), sender=world.agent)
    world.token.recover(world.alice.address, new.address, identity, sender=world.agent)
    assert world.token.balance_of(new.address) == 1000


def test_recovery_of_empty_wallet_reverts(lost):
    world, new = lost
    with pytest.raises(errors.TokenNothingToRecover):
        world.token.recover(world.carol.address, new.address, world.identity(world.carol).address, sender=world.agent)


def test_recovery_to_a_wallet_that_is_not_a_key_reverts(lost):
    world, _ = lost
    with pytest.raises(errors.TokenRecoveryNotAuthorized):
        world.token.recover(world.alice.address, world.outsider.address, world.identity(world.alice).address, sender=world.agent)


def test_recovery_with_another_identity_reverts(lost):
    world, new = lost
    bob_identity = world.identity(world.bob)
    bob_identity.add_key(new.address, KeyPurpose.MANAGEMENT, sender=world.bob)
    with pytest.raises(errors.TokenRecoveryIdentityMismatch):
        world.token.recover(world.alice.address, new.address, bob_identity.address, sender=world.agent)


def test_recovery_to_a_wallet_of_another_identity_reverts(lost):
    world, new = lost
    world.identity(world.alice).add_key(world.bob.address, KeyPurpose.MANAGEMENT, sender=world.alice)
    with pytest.raises(errors.TokenRecoveryIdentityMismatch):
        world.token.recover(world.alice.address, world.bob.address, world.identity(world.alice).address, sender=world.agent)


def test_recovery_onto_the_lost_wallet_itself_is_refused(lost):
    """Attack (issue 12, item 1): the lost wallet is a management key of its identity, so recovering onto itself
    passed every check, credited the balance and then deleted the account: balance 0, supply unchanged, the
    wallet deregistered, its revenue share stuck."""
    world, _ = lost
    identity = world.identity(world.alice).address
    supply, balance = world.token.total_supply(), world.token.balance_of(world.alice.address)
    with pytest.raises(errors.TokenRecoverySameWallet) as caught:
        world.token.recover(world.alice.address, world.alice.address, identity, sender=world.agent)
    assert caught.value.wallet == world.alice.address
    assert (world.token.total_supply(), world.token.balance_of(world.alice.address)) == (supply, balance)
    assert world.registry.contains(world.alice.address)


def test_recovery_to_zero_reverts(lost):
    world, _ = lost
    with pytest.raises(errors.TokenInvalidAddress):
        world.token.recover(world.alice.address, ZERO, world.identity(world.alice).address, sender=world.agent)


# -- batches ------------------------------------------------------------------------------------------

def test_batch_operations_apply_every_item(funded, full):
    world = funded
    send = world.chain.transact
    a, b, c = world.alice.address, world.bob.address, world.carol.address
    send(full.functions.batchTransfer([b, c], [100, 50]), sender=world.alice)
    assert [world.token.balance_of(w) for w in (a, b, c)] == [850, 600, 50]
    send(full.functions.batchForcedTransfer([a, b], [c, c], [50, 50]), sender=world.agent)
    assert world.token.balance_of(c) == 150
    send(full.functions.batchBurn([a, c], [50, 50]), sender=world.agent)
    assert [world.token.balance_of(w) for w in (a, c)] == [750, 100]
    send(full.functions.batchFreezePartialTokens([a, b], [10, 20]), sender=world.agent)
    assert [world.token.frozen_tokens(w) for w in (a, b)] == [10, 20]
    send(full.functions.batchUnfreezePartialTokens([a, b], [5, 20]), sender=world.agent)
    assert [world.token.frozen_tokens(w) for w in (a, b)] == [5, 0]
    send(full.functions.batchSetAddressFrozen([a, b], [True, False]), sender=world.agent)
    assert [world.token.is_frozen(w) for w in (a, b)] == [True, False]


def test_batches_are_atomic(funded, full):
    world = funded
    send = world.chain.transact
    a, b, o = world.alice.address, world.bob.address, world.outsider.address
    before = [world.token.balance_of(w) for w in (a, b)]
    with pytest.raises(errors.TokenRecipientNotVerified):
        send(full.functions.batchMint([a, o], [1, 1]), sender=world.agent)
    with pytest.raises(errors.TokenRecipientNotVerified):
        send(full.functions.batchTransfer([b, o], [1, 1]), sender=world.alice)
    with pytest.raises(errors.ERC20InsufficientBalance):
        send(full.functions.batchBurn([a, b], [1, 501]), sender=world.agent)
    with pytest.raises(errors.ERC20InsufficientBalance):
        send(full.functions.batchForcedTransfer([a, b], [b, a], [1, 502]), sender=world.agent)
    with pytest.raises(errors.TokenFreezeExceedsBalance):
        send(full.functions.batchFreezePartialTokens([a, b], [1, 501]), sender=world.agent)
    with pytest.raises(errors.TokenUnfreezeExceedsFrozen):
        send(full.functions.batchUnfreezePartialTokens([a], [1]), sender=world.agent)
    assert [world.token.balance_of(w) for w in (a, b)] == before
    assert world.token.frozen_tokens(a) == 0


def test_batch_length_mismatch_reverts(funded, full):
    world = funded
    a = world.alice.address
    calls = [
        (full.functions.batchTransfer([a], []), world.bob),
        (full.functions.batchMint([a], []), world.agent),
        (full.functions.batchBurn([a], []), world.agent),
        (full.functions.batchForcedTransfer([a], [a], []), world.agent),
        (full.functions.batchForcedTransfer([a], [], [1]), world.agent),
        (full.functions.batchSetAddressFrozen([a], []), world.agent),
        (full.functions.batchFreezePartialTokens([a], []), world.agent),
        (full.functions.batchUnfreezePartialTokens([a], []), world.agent),
    ]
    for fn, who in calls:
        with pytest.raises(errors.TokenLengthMismatch):
            world.chain.transact(fn, sender=who)


# -- permissions ---------------------------------------------------------------------------------------

def agent_calls(world, full):
    a, b = world.alice.address, world.bob.address
    return [
        full.functions.mint(a, 1),
        full.functions.batchMint([a], [1]),
        full.functions.burn(a, 1),
        full.functions.batchBurn([a], [1]),
        full.functions.forcedTransfer(a, b, 1),
        full.functions.batchForcedTransfer([a], [b], [1]),
        full.functions.setAddressFrozen(a, True),
        full.functions.batchSetAddressFrozen([a], [True]),
        full.functions.freezePartialTokens(a, 1),
        full.functions.batchFreezePartialTokens([a], [1]),
        full.functions.unfreezePartialTokens(a, 1),
        full.functions.batchUnfreezePartialTokens([a], [1]),
        full.functions.pause(),
        full.functions.unpause(),
        full.functions.recoveryAddress(a, b, world.identity(world.alice).address),
    ]


def owner_calls(world, full):
    return [
        full.functions.setName("x"),
        full.functions.setSymbol("x"),
        full.functions.setOnchainID(world.alice.address),
        full.functions.setIdentityRegistry(world.alice.address),
        full.functions.setCompliance(world.alice.address),
        full.functions.addAgent(world.alice.address),
        full.functions.removeAgent(world.agent.address),
    ]


def test_agent_functions_reject_owner_and_outsider(funded, full):
    for fn in agent_calls(funded, full):
        for who in (funded.outsider, funded.owner):
            with pytest.raises(errors.AgentRoleUnauthorized):
                funded.chain.transact(fn, sender=who)


def test_owner_functions_reject_agent_and_outsider(funded, full):
    for fn in owner_calls(funded, full):
        for who in (funded.outsider, funded.agent):
            with pytest.raises(errors.OwnableUnauthorizedAccount):
                funded.chain.transact(fn, sender=who)


def test_constructor_rejects_empty_name_and_zero_registry(world):
    args = (0, world.suite.identity_registry, world.outsider.address, ZERO, world.owner.address)
    with pytest.raises(errors.TokenEmptyString):
        world.chain.deploy(TOKEN, "", "X", *args)
    with pytest.raises(errors.TokenInvalidAddress):
        world.chain.deploy(TOKEN, "X", "X", 0, ZERO, world.outsider.address, ZERO, world.owner.address)
