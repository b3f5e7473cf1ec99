"""Transfer-path matrix: every path that moves tokens against every check, on the real contracts.

Rows are the paths (transfer, transferFrom, batchTransfer, forcedTransfer, recoveryAddress, mint, burn, vault
issuance, vault redemption, DvP fill); columns are the checks. A cell is one of:
- ``Refused(error)``: with the condition set up, the path reverts with that custom error (for the vault's
  batches: the request fails with it and stays pending);
- ``Bypass(reason)``: the path deliberately goes through under the condition (the reason is the documented
  one: agents act above investor rules, as in ERC-3643);
- ``NA(reason)``: the condition has no meaning for the path (e.g. a mint has no sender).
The last three columns run the path successfully and check its effects: every stateful module's books equal
what the balances imply, the revenue hook settled both parties, and the events were emitted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from eth_account import Account

from rwa_sdk import errors
from rwa_sdk.identity import KeyPurpose
from rwa_sdk.settlement.dvp import SELL
from rwa_sdk.settlement.subscription import Status
from tests.token.security_world import PRICE, SecurityWorld, security_world, security_world_session  # noqa: F401

AMOUNT = 10


@dataclass(frozen=True)
class Refused:
    error: str


@dataclass(frozen=True)
class Bypass:
    reason: str


@dataclass(frozen=True)
class NA:
    reason: str


class PathFailed(Exception):
    """A vault batch reported the request as failed (the batch itself does not revert)."""

    def __init__(self, error: Exception):
        super().__init__(repr(error))
        self.error = error


# -- the paths ---------------------------------------------------------------------------------------
# Each runs with `sender` giving up tokens and `receiver` getting them and returns the transaction(s).

def _transfer(w: SecurityWorld, sender, receiver):
    return [w.token.transfer(receiver.address, AMOUNT, sender=sender)]


def _transfer_from(w: SecurityWorld, sender, receiver):
    spender = w.outsider
    w.send(w.raw.functions.approve(spender.address, AMOUNT), sender)
    return [w.send(w.raw.functions.transferFrom(sender.address, receiver.address, AMOUNT), spender)]


def _batch_transfer(w: SecurityWorld, sender, receiver):
    return [w.send(w.raw.functions.batchTransfer([receiver.address], [AMOUNT]), sender)]


def _forced_transfer(w: SecurityWorld, sender, receiver):
    return [w.token.forced_transfer(sender.address, receiver.address, AMOUNT, sender=w.agent)]


def _recovery(w: SecurityWorld, sender, receiver):
    """`receiver` is ignored: a recovery goes to a new key of the sender's own identity."""
    new = Account.create()
    identity = w.identities[sender.address]
    identity.add_key(new.address, KeyPurpose.MANAGEMENT, sender=sender)
    RECOVERED.append(new.address)
    return [w.token.recover(sender.address, new.address, identity.address, sender=w.agent)]


RECOVERED: list[str] = []


def _mint(w: SecurityWorld, sender, receiver):
    return [w.token.mint(receiver.address, AMOUNT, sender=w.agent)]


def _burn(w: SecurityWorld, sender, receiver):
    return [w.token.burn(sender.address, AMOUNT, sender=w.agent)]


def _vault_issuance(w: SecurityWorld, sender, receiver):
    rid = w.vault.subscribe(AMOUNT * PRICE, sender=receiver)
    sent = w.vault.accept([rid], sender=w.owner)
    failed = w.vault.failures(sent)
    if failed:
        assert w.vault.status(rid) == Status.PENDING
        raise PathFailed(failed[rid])
    return [sent]


def _vault_redemption(w: SecurityWorld, sender, receiver):
    rid = w.vault.redeem(AMOUNT, sender=sender)
    sent = w.vault.accept([rid], sender=w.owner)
    failed = w.vault.failures(sent)
    if failed:
        raise PathFailed(failed[rid])
    return [sent]


def _dvp_fill(w: SecurityWorld, sender, receiver):
    w.send(w.raw.functions.approve(w.dvp.address, AMOUNT), sender)
    signed = w.dvp.sign_order(sender, token=w.token.address, stablecoin=w.usd.address, side=SELL, amount=AMOUNT,
                              price=PRICE, nonce=1)
    return [w.dvp.fill(signed, AMOUNT, sender=receiver)]


PATHS: dict[str, Callable] = {
    "transfer": _transfer,
    "transferFrom": _transfer_from,
    "batchTransfer": _batch_transfer,
    "forcedTransfer": _forced_transfer,
    "recoveryAddress": _recovery,
    "mint": _mint,
    "burn": _burn,
    "vault issuance": _vault_issuance,
    "vault redemption": _vault_redemption,
    "DvP fill": _dvp_fill,
}

# -- the conditions ----------------------------------------------------------------------------------
# Each sets the world up so that the check must bite, and returns (sender, receiver).

def _paused(w):
    w.token.pause(sender=w.agent)
    return w.alice, w.bob


def _sender_frozen(w):
    w.token.set_frozen(w.alice.address, True, sender=w.agent)
    return w.alice, w.bob


def _receiver_frozen(w):
    w.token.set_frozen(w.bob.address, True, sender=w.agent)
    return w.alice, w.bob


def _no_free_balance(w):
    w.token.freeze_tokens(w.alice.address, w.token.balance_of(w.alice.address) - AMOUNT + 1, sender=w.agent)
    return w.alice, w.bob


def _receiver_unverified(w):
    return w.alice, w.outsider


def _not_compliant(w):
    """dave is verified but lives outside the allowed countries; the vault redemption meets a lock-up instead."""
    return w.alice, w.dave


CONDITIONS = {
    "paused": _paused,
    "sender frozen": _sender_frozen,
    "receiver frozen": _receiver_frozen,
    "free balance": _no_free_balance,
    "receiver verified": _receiver_unverified,
    "compliance": _not_compliant,
}

AGENT = "agents act above investor rules (ERC-3643/T-REX semantics), documented in docs/compliance.md"
MATRIX: dict[str, dict[str, object]] = {
    "transfer": {
        "paused": Refused("EnforcedPause"), "sender frozen": Refused("TokenWalletFrozen"),
        "receiver frozen": Refused("TokenWalletFrozen"), "free balance": Refused("TokenInsufficientFreeBalance"),
        "receiver verified": Refused("TokenRecipientNotVerified"), "compliance": Refused("TokenTransferNotCompliant"),
    },
    "transferFrom": {
        "paused": Refused("EnforcedPause"), "sender frozen": Refused("TokenWalletFrozen"),
        "receiver frozen": Refused("TokenWalletFrozen"), "free balance": Refused("TokenInsufficientFreeBalance"),
        "receiver verified": Refused("TokenRecipientNotVerified"), "compliance": Refused("TokenTransferNotCompliant"),
    },
    "batchTransfer": {
        "paused": Refused("EnforcedPause"), "sender frozen": Refused("TokenWalletFrozen"),
        "receiver frozen": Refused("TokenWalletFrozen"), "free balance": Refused("TokenInsufficientFreeBalance"),
        "receiver verified": Refused("TokenRecipientNotVerified"), "compliance": Refused("TokenTransferNotCompliant"),
    },
    "forcedTransfer": {
        "paused": Bypass(AGENT), "sender frozen": Bypass(AGENT), "receiver frozen": Bypass(AGENT),
        "free balance": Bypass("an agent may take frozen tokens: they are unfrozen first (TokensUnfrozen)"),
        "receiver verified": Refused("TokenRecipientNotVerified"), "compliance": Bypass(AGENT + "; modules still book it"),
    },
    "recoveryAddress": {
        "paused": Bypass(AGENT), "sender frozen": Bypass("the frozen flag moves to the new wallet"),
        "receiver frozen": NA("the receiver is a new key of the lost wallet's identity"),
        "free balance": Bypass("the whole balance moves, frozen tokens stay frozen on the new wallet"),
        "receiver verified": NA("the new wallet must be a management key of the identity and is registered by the token"),
        "compliance": NA("the holding stays with the same identity"),
    },
    "mint": {
        "paused": Bypass(AGENT), "sender frozen": NA("a mint has no sender"),
        "receiver frozen": Bypass(AGENT + "; the frozen wallet cannot move what it receives"),
        "free balance": NA("a mint has no sender"),
        "receiver verified": Refused("TokenRecipientNotVerified"), "compliance": Refused("TokenTransferNotCompliant"),
    },
    "burn": {
        "paused": Bypass(AGENT), "sender frozen": Bypass(AGENT),
        "receiver frozen": NA("a burn has no receiver"),
        "free balance": Bypass("an agent may burn frozen tokens: they are unfrozen first (TokensUnfrozen)"),
        "receiver verified": NA("a burn has no receiver"), "compliance": NA("a burn has no receiver; modules book it"),
    },
    "vault issuance": {
        "paused": Bypass("issuance is an agent mint (the vault is a token agent), as in T-REX"),
        "sender frozen": NA("issuance has no token sender"),
        "receiver frozen": Bypass("issuance is an agent mint; the frozen investor cannot move what it receives"),
        "free balance": NA("issuance has no token sender"),
        "receiver verified": Refused("TokenRecipientNotVerified"), "compliance": Refused("TokenTransferNotCompliant"),
    },
    "vault redemption": {
        "paused": Refused("TokenPaused"), "sender frozen": Refused("InvestorFrozen"),
        "receiver frozen": NA("redeemed tokens are burned"),
        "free balance": Refused("RedemptionExceedsFreeTokens"),
        "receiver verified": NA("redeemed tokens are burned"), "compliance": Refused("RedemptionNotCompliant"),
    },
    "DvP fill": {
        "paused": Refused("EnforcedPause"), "sender frozen": Refused("TokenWalletFrozen"),
        "receiver frozen": Refused("TokenWalletFrozen"), "free balance": Refused("TokenInsufficientFreeBalance"),
        "receiver verified": Refused("TokenRecipientNotVerified"), "compliance": Refused("TokenTransferNotCompliant"),
    },
}

CELLS = [(path, check) for path in PATHS for check in CONDITIONS]


def test_the_matrix_covers_every_path_and_check():
    assert set(MATRIX) == set(PATHS)
    for path, row in MATRIX.items():
        assert set(row) == set(CONDITIONS), path
        for cell in row.values():
            assert isinstance(cell, (Refused, Bypass, NA)) and (not isinstance(cell, (Bypass, NA)) or cell.reason)


@pytest.mark.parametrize(("path", "check"), [c for c in CELLS if not isinstance(MATRIX[c[0]][c[1]], NA)],
                         ids=lambda v: v.replace(" ", "-"))
def test_cell(security_world, path, check):
    w, cell = security_world, MATRIX[path][check]
    if path == "vault redemption" and check == "compliance":
        w.compliance.set_lock_period(3600, sender=w.owner)  # alice's next tokens are locked up
        w.token.mint(w.alice.address, AMOUNT, sender=w.agent)
        w.token.burn(w.alice.address, w.token.balance_of(w.alice.address) - AMOUNT, sender=w.agent)
    sender, receiver = CONDITIONS[check](w)
    if isinstance(cell, Refused):
        with pytest.raises((errors.ContractError, PathFailed)) as caught:
            PATHS[path](w, sender, receiver)
        error = caught.value.error if isinstance(caught.value, PathFailed) else caught.value
        assert type(error).__name__ == cell.error
    else:
        PATHS[path](w, sender, receiver)


def _balances_by_identity(w: SecurityWorld, wallets) -> dict[str, int]:
    totals: dict[str, int] = {}
    for wallet in wallets:
        identity = w.suite.registry_client().identity_of(wallet)
        totals[identity] = totals.get(identity, 0) + w.token.balance_of(wallet)
    return totals


@pytest.mark.parametrize("path", list(PATHS))
def test_effects_books_hook_and_events(security_world, path):
    """Module books, revenue hook and events, after each path succeeds."""
    w = security_world
    sent = PATHS[path](w, w.alice, w.bob)
    parties = {"recoveryAddress": (w.alice.address, RECOVERED[-1] if RECOVERED else None),
               "mint": (w.bob.address,), "burn": (w.alice.address,), "vault issuance": (w.bob.address,),
               "vault redemption": (w.alice.address,)}.get(path, (w.alice.address, w.bob.address))
    # books: the max-balance module per identity, the max-holders module's count
    wallets = {a.address for a in w.investors} | set(parties)
    max_balance = w.module("MaxBalanceModule")
    for identity, held in _balances_by_identity(w, wallets).items():
        if int(identity, 16):
            assert w.chain.call(max_balance.functions.identityBalance(w.suite.compliance, identity)) == held
    holders = sum(1 for wallet in wallets if w.token.balance_of(wallet))
    assert w.chain.call(w.module("MaxHoldersModule").functions.holderCount(w.suite.compliance)) == holders
    # the hook: every party was settled at the current accumulator before its balance changed
    rpt = w.distributor.contract.functions.revenuePerToken().call()
    for party in parties:
        assert w.distributor.contract.functions.paidPerToken(party).call() == rpt, party
    # events: the token reports each move
    transfers = [e for s in sent for e in s.events(w.raw, "Transfer")]
    assert transfers and all(e["value"] for e in transfers)
    if path == "recoveryAddress":
        assert sent[0].events(w.raw, "RecoverySuccess")


def test_redemption_escrow_moves_no_balance_and_keeps_accruing(security_world):
    """The one path step that changes no balance: a redemption request freezes the shares in place."""
    w = security_world
    before = w.token.balance_of(w.alice.address)
    rid = w.vault.redeem(AMOUNT, sender=w.alice)
    assert (w.token.balance_of(w.alice.address), w.token.frozen_tokens(w.alice.address)) == (before, AMOUNT)
    with pytest.raises(errors.TokenInsufficientFreeBalance):
        w.token.transfer(w.bob.address, before - AMOUNT + 1, sender=w.alice)
    w.vault.cancel(rid, sender=w.alice)
    assert w.token.frozen_tokens(w.alice.address) == 0


def test_escrowed_tokens_do_not_cover_a_lock_up(security_world):
    """Escrow freezes tokens in place; the lock-up counts only free tokens, so a second request (or a transfer)
    cannot reach the locked ones while the first request waits."""
    w = security_world
    w.compliance.set_lock_period(3600, sender=w.owner)
    w.token.mint(w.alice.address, 500, sender=w.agent)  # alice: 1,000 free of lock, 500 locked
    w.vault.redeem(1_000, sender=w.alice)
    with pytest.raises(errors.RedemptionNotCompliant):
        w.vault.redeem(500, sender=w.alice)
    with pytest.raises(errors.TokenTransferNotCompliant):
        w.token.transfer(w.bob.address, 1, sender=w.alice)
    w.chain.mine(3601)
    w.token.transfer(w.bob.address, 1, sender=w.alice)
