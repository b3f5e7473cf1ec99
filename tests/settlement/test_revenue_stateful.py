"""Stateful property test of the revenue accumulator against a model built from the balance history.

Random mints, DvP trades, transfers, burns, wallet recoveries, freezes, deposits and claims. After every step:
- conservation: sum claimed + sum claimable + dust == sum deposited, where dust = (carry + sum of holder
  remainders) / 1e36 is read from the contract and must be a whole number of stablecoin units;
- each holder's claimable amount and remainder equal the model's: its balance at each deposit times that
  deposit's revenue per token (computed here in Python), so the claim is its exact pro-rata share;
- each holder's lifetime revenue (in 1e36 units) equals the rational pro-rata share sum(amount * b / S) up
  to the carried division remainders (< 1e-24 here), and its whole units are that share rounded down.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from rwa_sdk import errors
from rwa_sdk.settlement.dvp import SELL
from rwa_sdk.settlement.revenue import SCALE, PeriodRevenue
from rwa_sdk.settlement.stablecoin import UNIT

HOLDERS = 4
TINY = Fraction(1, 10**24)
ASSET = b"\x02" * 32


class RevenueModel(RuleBasedStateMachine):
    """Bound to a world by the test; the chain is snapshotted per example and rolled back at teardown."""

    world = None
    roles = None

    def __init__(self):
        super().__init__()
        w = self.world
        self.chain, self.token, self.dist = w.chain, w.token, w.distributor
        self.snapshot = self.chain.snapshot()
        self.holders = [self.roles.alice, self.roles.bob, self.roles.carol, self.roles.relayer][:HOLDERS]
        usd, dvp = w.usd, w.dvp
        for h in self.holders:
            self._agent(self.token.functions.setVerified(h.address, True))
            usd.mint(h.address, 10_000 * UNIT, sender=self.roles.minter)
            usd.approve(dvp.address, 2**256 - 1, sender=h)
            self.chain.transact(self.token.functions.approve(dvp.address, 2**256 - 1), sender=h)
        self.orders = 0
        self.balance = {h.address: self.token.functions.balanceOf(h.address).call() for h in self.holders}
        self.frozen = {h.address: False for h in self.holders}
        self.owed_scaled = {h.address: 0 for h in self.holders}  # model: unclaimed revenue x SCALE
        self.exact = {h.address: Fraction(0) for h in self.holders}  # rational share, lifetime
        self.claimed = {h.address: 0 for h in self.holders}
        self.carry = 0
        self.deposited = 0
        self.periods = 0

    def teardown(self):
        self.chain.revert(self.snapshot)

    def _agent(self, fn):
        return self.chain.transact(fn, sender=self.world.issuer)

    def _supply(self) -> int:
        return sum(self.balance.values())

    # -- token activity ------------------------------------------------------------------------------
    @rule(i=st.integers(0, HOLDERS - 1), amount=st.integers(1, 500))
    def mint(self, i, amount):
        h = self.holders[i].address
        if self.frozen[h]:
            return
        self._agent(self.token.functions.mint(h, amount))
        self.balance[h] += amount

    @rule(i=st.integers(0, HOLDERS - 1), j=st.integers(0, HOLDERS - 1), share=st.floats(0.01, 1.0))
    def transfer(self, i, j, share):
        a, b = self.holders[i], self.holders[j].address
        amount = int(self.balance[a.address] * share)
        if i == j or amount == 0 or self.frozen[a.address] or self.frozen[b]:
            return
        self.chain.transact(self.token.functions.transfer(b, amount), sender=a)
        self.balance[a.address] -= amount
        self.balance[b] += amount

    @rule(i=st.integers(0, HOLDERS - 1), j=st.integers(0, HOLDERS - 1), share=st.floats(0.01, 1.0))
    def trade(self, i, j, share):
        """A DvP fill: holder i sells to holder j at 1 USDC per token (the hook settles both)."""
        seller, buyer = self.holders[i], self.holders[j]
        amount = int(self.balance[seller.address] * share)
        if i == j or amount == 0:
            return
        self.orders += 1
        expiry = self.chain.timestamp() + 3600
        signed = self.world.dvp.sign_order(seller, token=self.token.address, stablecoin=self.world.usd.address,
                                           side=SELL, amount=amount, price=UNIT, nonce=self.orders, expiry=expiry)
        frozen = [a for a in (seller.address, buyer.address) if self.frozen[a]]
        if frozen:
            try:
                self.world.dvp.fill(signed, amount, sender=buyer)
            except errors.WalletFrozen as e:
                assert e.account == frozen[0]
                return
            raise AssertionError("a frozen wallet traded")
        self.world.dvp.fill(signed, amount, sender=buyer)
        self.balance[seller.address] -= amount
        self.balance[buyer.address] += amount

    @rule(i=st.integers(0, HOLDERS - 1), share=st.floats(0.01, 1.0))
    def burn(self, i, share):
        h = self.holders[i].address
        amount = int(self.balance[h] * share)
        if amount == 0:
            return
        self._agent(self.token.functions.burn(h, amount))
        self.balance[h] -= amount

    @rule(i=st.integers(0, HOLDERS - 1), j=st.integers(0, HOLDERS - 1))
    def recover(self, i, j):
        """The token moves a lost wallet's whole balance, then an agent moves its accrual."""
        lost, new = self.holders[i].address, self.holders[j].address
        if i == j:
            return
        if self.balance[lost]:
            self._agent(self.token.functions.forcedTransfer(lost, new, self.balance[lost]))
        self._agent(self.dist.contract.functions.transferAccrued(lost, new))
        self.balance[new] += self.balance[lost]
        self.balance[lost] = 0
        self.owed_scaled[new] += self.owed_scaled[lost]
        self.owed_scaled[lost] = 0
        self.exact[new] += self.exact[lost] - self.claimed[lost]  # only the unclaimed part moves
        self.exact[lost] = Fraction(self.claimed[lost])

    @rule(i=st.integers(0, HOLDERS - 1))
    def toggle_freeze(self, i):
        h = self.holders[i].address
        self.frozen[h] = not self.frozen[h]
        self._agent(self.token.functions.setAddressFrozen(h, self.frozen[h]))

    # -- revenue ----------------------------------------------------------------------------------
    @rule(amount=st.one_of(st.integers(1, 20), st.integers(1, 5_000 * UNIT)))
    def deposit(self, amount):
        supply = self._supply()
        self.periods += 1
        rev = PeriodRevenue(ASSET, self.periods, self.periods + 1, amount, b"\x00" * 32, amount)
        if supply == 0:
            try:
                self.dist.deposit(rev, sender=self.world.issuer)
            except errors.NoSupply:
                return
            raise AssertionError("deposit with no supply must revert")
        self.dist.deposit(rev, sender=self.world.issuer)
        scaled = amount * SCALE + self.carry
        increment, self.carry = divmod(scaled, supply)
        for h, bal in self.balance.items():
            self.owed_scaled[h] += bal * increment
            self.exact[h] += Fraction(amount * bal, supply)
        self.deposited += amount

    @rule(i=st.integers(0, HOLDERS - 1))
    def claim(self, i):
        account = self.holders[i]
        h = account.address
        due = self.owed_scaled[h] // SCALE
        if self.frozen[h]:
            try:
                self.dist.claim(sender=account)
            except errors.HolderFrozen:
                return
            raise AssertionError("a frozen holder claimed")
        if due == 0:
            try:
                self.dist.claim(sender=account)
            except errors.NothingToClaim:
                return
            raise AssertionError("claimed nothing without reverting")
        sent = self.dist.claim(sender=account)
        assert sent.events(self.dist.contract, "RevenueClaimed")[0]["amount"] == due
        self.owed_scaled[h] -= due * SCALE
        self.claimed[h] += due

    # -- invariants -----------------------------------------------------------------------------------
    @invariant()
    def accounting_is_exact(self):
        f = self.dist.contract.functions
        claimable = {h: f.claimable(h).call() for h in self.balance}
        remainders = {h: f.remainderOf(h).call() for h in self.balance}
        carry = f.carry().call()
        dust_scaled = carry + sum(remainders.values())
        assert dust_scaled % SCALE == 0
        dust = dust_scaled // SCALE
        claimed = f.totalClaimed().call()
        assert claimed == sum(self.claimed.values())
        assert f.totalDeposited().call() == self.deposited
        assert claimed + sum(claimable.values()) + dust == self.deposited
        assert carry == self.carry
        for h in self.balance:
            assert (claimable[h], remainders[h]) == divmod(self.owed_scaled[h], SCALE), h
            # the contract's value in 1e36 units is the rational pro-rata share up to the carried
            # remainders (< supply / 1e36 per deposit); whole units are that, rounded down
            scaled = (self.claimed[h] + claimable[h]) * SCALE + remainders[h]
            assert abs(Fraction(scaled, SCALE) - self.exact[h]) < TINY, h
            assert -TINY <= self.exact[h] - (self.claimed[h] + claimable[h]) < 1 + TINY, h

    @invariant()
    def distributor_holds_what_it_owes(self):
        owed = self.deposited - sum(self.claimed.values())
        assert self.world.usd.balance_of(self.dist.address) == owed


def test_revenue_accounting_holds_under_random_activity(world, roles):
    RevenueModel.world, RevenueModel.roles = world, roles
    thorough = settings.default.max_examples > 25  # the "fuzz" profile
    run_state_machine_as_test(
        RevenueModel,
        settings=settings(max_examples=200 if thorough else 8, stateful_step_count=40 if thorough else 15,
                          deadline=None),
    )
