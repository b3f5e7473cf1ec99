"""Invariants under random operation sequences on the real contracts (token, modules, vault, distributor, DvP).

After every step, whatever succeeded or was refused:
- sum of balances = total supply, and frozen tokens <= balance for every wallet;
- every module with storage agrees with the balances: the max-balance module's per-identity books, the
  max-holders count, and no lock-up above a wallet's balance;
- the vault's escrow is backed: an investor's pending redemptions <= its frozen tokens, and the vault holds
  exactly the pending subscriptions plus deferred payments;
- revenue is conserved, exactly in 1e36 units: deposited = claimed + sum(claimable + remainder) + carry, and the
  distributor holds deposited - claimed.
Modest under the default "ci" profile; `make fuzz` (HYPOTHESIS_PROFILE=fuzz) runs long sequences.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from rwa_sdk import errors
from rwa_sdk.settlement.dvp import SELL
from rwa_sdk.settlement.revenue import SCALE, PeriodRevenue
from rwa_sdk.settlement.stablecoin import UNIT
from rwa_sdk.settlement.subscription import Status
from tests.token.security_world import ASSET, PRICE, SecurityWorld, security_world, security_world_session  # noqa: F401

WHO = st.integers(min_value=0, max_value=3)  # alice, bob, carol, dave (dave may not receive: country)
AMOUNT = st.integers(min_value=0, max_value=1_200)


def _settings() -> settings:
    current = settings()
    if current.max_examples <= 25:
        return settings(current, max_examples=3, stateful_step_count=10)
    return settings(current, stateful_step_count=60)


class AssetMachine(RuleBasedStateMachine):
    world: SecurityWorld  # set by the test

    @initialize()
    def start(self):
        w = self.world
        self.snapshot = w.chain.snapshot()
        self.people = list(w.investors)
        self.wallets = {a.address for a in self.people} | {w.outsider.address}
        self.requests: list[int] = []
        self.period_end = 3600  # the world already funded [0, 3600)
        self.nonce = 0
        self.lock_set = False

    def teardown(self):
        if hasattr(self, "snapshot"):
            self.world.chain.revert(self.snapshot)

    def attempt(self, action) -> None:
        """A refusal is fine (the invariants still have to hold); anything but a contract error is not."""
        try:
            action()
        except errors.ContractError:
            pass

    # -- token operations ------------------------------------------------------------------------
    @rule(a=WHO, b=WHO, amount=AMOUNT)
    def transfer(self, a, b, amount):
        w = self.world
        self.attempt(lambda: w.token.transfer(self.people[b].address, amount, sender=self.people[a]))

    @rule(a=WHO, b=WHO, amount=AMOUNT)
    def forced_transfer(self, a, b, amount):
        w = self.world
        self.attempt(lambda: w.token.forced_transfer(self.people[a].address, self.people[b].address, amount,
                                                     sender=w.agent))

    @rule(b=WHO, amount=AMOUNT)
    def mint(self, b, amount):
        w = self.world
        self.attempt(lambda: w.token.mint(self.people[b].address, amount, sender=w.agent))

    @rule(a=WHO, amount=AMOUNT)
    def burn(self, a, amount):
        w = self.world
        self.attempt(lambda: w.token.burn(self.people[a].address, amount, sender=w.agent))

    @rule(a=WHO, amount=st.integers(0, 400), freeze=st.booleans())
    def partial_freeze(self, a, amount, freeze):
        w = self.world
        op = w.token.freeze_tokens if freeze else w.token.unfreeze_tokens
        self.attempt(lambda: op(self.people[a].address, amount, sender=w.agent))

    @rule(a=WHO, frozen=st.booleans())
    def wallet_freeze(self, a, frozen):
        w = self.world
        self.attempt(lambda: w.token.set_frozen(self.people[a].address, frozen, sender=w.agent))

    @rule(paused=st.booleans())
    def pause(self, paused):
        w = self.world
        self.attempt(lambda: (w.token.pause if paused else w.token.unpause)(sender=w.agent))

    @rule(seconds=st.sampled_from([0, 3600]))
    def lock_period(self, seconds):
        w = self.world
        w.compliance.set_lock_period(seconds, sender=w.owner)

    # -- settlement ------------------------------------------------------------------------------
    @rule(b=WHO, tokens=st.integers(1, 300))
    def subscribe(self, b, tokens):
        w = self.world
        self.attempt(lambda: self.requests.append(w.vault.subscribe(tokens * PRICE, sender=self.people[b])))

    @rule(a=WHO, amount=st.integers(1, 300))
    def request_redemption(self, a, amount):
        w = self.world
        self.attempt(lambda: self.requests.append(w.vault.redeem(amount, sender=self.people[a])))

    @rule(picks=st.lists(st.integers(0, 50), max_size=4), accept=st.booleans())
    def settle_batch(self, picks, accept):
        w = self.world
        if not self.requests:
            return
        ids = [self.requests[i % len(self.requests)] for i in picks]
        self.attempt(lambda: (w.vault.accept if accept else w.vault.reject)(ids, sender=w.owner))

    @rule(pick=st.integers(0, 50))
    def cancel(self, pick):
        w = self.world
        if not self.requests:
            return
        rid = self.requests[pick % len(self.requests)]
        request = w.vault.request(rid)
        investor = next(a for a in self.people if a.address == request.investor)
        self.attempt(lambda: w.vault.cancel(rid, sender=investor))

    @rule(a=WHO, b=WHO, amount=st.integers(1, 200))
    def dvp_fill(self, a, b, amount):
        w = self.world
        seller, buyer = self.people[a], self.people[b]
        self.nonce += 1

        def fill():
            w.send(w.raw.functions.approve(w.dvp.address, amount), seller)
            signed = w.dvp.sign_order(seller, token=w.token.address, stablecoin=w.usd.address, side=SELL,
                                      amount=amount, price=PRICE, nonce=self.nonce)
            w.dvp.fill(signed, amount, sender=buyer)
        self.attempt(fill)

    @rule(amount=st.one_of(st.integers(1, 50), st.integers(1, 10_000 * UNIT)), length=st.integers(1, 7200),
          overlap=st.booleans())
    def deposit(self, amount, length, overlap):
        w = self.world
        start = self.period_end - 1 if overlap else self.period_end  # an overlap must be refused
        try:
            w.distributor.deposit(PeriodRevenue(ASSET, start, start + length, 0, b"\x00" * 32, amount), sender=w.owner)
        except errors.PeriodOverlapsFunded:
            assert overlap
            return
        except errors.NoSupply:
            return
        assert not overlap
        self.period_end = start + length

    @rule(a=WHO)
    def claim(self, a):
        w = self.world
        self.attempt(lambda: w.distributor.claim(sender=self.people[a]))

    # -- invariants ------------------------------------------------------------------------------
    @invariant()
    def token_books(self):
        if not hasattr(self, "wallets"):
            return
        w = self.world
        balances = {a: w.token.balance_of(a) for a in self.wallets}
        assert sum(balances.values()) == w.token.total_supply()
        for wallet, balance in balances.items():
            assert w.token.frozen_tokens(wallet) <= balance
        compliance = w.suite.compliance
        per_identity: dict[str, int] = {}
        for wallet, balance in balances.items():
            identity = w.suite.registry_client().identity_of(wallet)
            per_identity[identity] = per_identity.get(identity, 0) + balance
        max_balance = w.module("MaxBalanceModule")
        for identity, held in per_identity.items():
            if int(identity, 16):
                assert w.chain.call(max_balance.functions.identityBalance(compliance, identity)) == held
        holders = sum(1 for b in balances.values() if b)
        assert w.chain.call(w.module("MaxHoldersModule").functions.holderCount(compliance)) == holders
        lock_up = w.module("LockUpModule")
        for wallet, balance in balances.items():
            locked, _ = w.chain.call(lock_up.functions.lockOf(compliance, wallet))
            assert locked <= balance

    @invariant()
    def vault_escrow(self):
        if not hasattr(self, "wallets"):
            return
        w = self.world
        pending_subscriptions = claimable = 0
        for wallet in self.wallets:
            position = w.vault.position(wallet)
            assert position.pending_redemption <= w.token.frozen_tokens(wallet)
            pending_subscriptions += position.pending_subscription
            claimable += position.claimable
        assert w.usd.balance_of(w.vault.address) == pending_subscriptions + claimable
        for rid in self.requests:
            assert w.vault.status(rid) in (Status.PENDING, Status.ACCEPTED, Status.REJECTED, Status.CANCELLED)

    @invariant()
    def revenue_conserved(self):
        if not hasattr(self, "wallets"):
            return
        w = self.world
        totals = w.distributor.totals()
        owed = sum(SCALE * w.distributor.claimable(a) + w.distributor.remainder(a) for a in self.wallets)
        assert SCALE * totals["deposited"] == SCALE * totals["claimed"] + owed + totals["carry"]
        assert w.usd.balance_of(w.distributor.address) == totals["deposited"] - totals["claimed"]


def test_asset_invariants_stateful(security_world):
    AssetMachine.world = security_world
    AssetMachine.TestCase.settings = _settings()
    AssetMachine.TestCase("runTest").runTest()
