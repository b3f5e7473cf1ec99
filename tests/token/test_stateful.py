"""Random sequences of agent and investor operations keep the token's books consistent.

After every step: total supply = sum of balances, frozen tokens <= balance for every holder, every holder is
verified unless it was frozen in place (expelled), the max-holders module counts exactly the wallets holding
tokens, and the chain agrees with a plain Python model (an operation either applies fully or not at all).
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from rwa_sdk import errors
from rwa_sdk.identity import Identity, KeyPurpose
from tests.token.world import World

AMOUNTS = st.integers(min_value=0, max_value=400_000)
SHARES = st.integers(min_value=0, max_value=120)  # percent of what the wallet has; above 100 must be refused
SPARE_ACCOUNTS = (6, 7, 8)


def _settings() -> settings:
    """Modest by default (each step is several transactions on a real node); larger under the fuzz profile."""
    current = settings()
    if current.max_examples <= 25:
        return settings(current, max_examples=10, stateful_step_count=20)
    return settings(current, stateful_step_count=50)


class TokenMachine(RuleBasedStateMachine):
    world: World  # set by the test

    @initialize()
    def start(self):
        w = self.world
        self.snapshot = w.chain.snapshot()
        self.wallets = [w.alice, w.bob, w.carol]
        self.spares = [w.chain.accounts[i] for i in SPARE_ACCOUNTS]
        self.identity_of = {a.address: w.identity(a).address for a in self.wallets}
        self.balance = {a.address: 0 for a in self.wallets + self.spares}
        self.expelled: set[str] = set()
        self.holders_module = w.compliance.module("MaxHoldersModule")

    def teardown(self):
        if hasattr(self, "snapshot"):
            self.world.chain.revert(self.snapshot)

    # -- helpers -------------------------------------------------------------------------------
    def attempt(self, action) -> bool:
        """Run ``action``; a contract refusal must leave every balance as it was."""
        before = {a: self.world.token.balance_of(a) for a in self.balance}
        try:
            action()
            return True
        except errors.ContractError:
            assert {a: self.world.token.balance_of(a) for a in self.balance} == before
            return False

    def pick(self, index: int):
        return self.wallets[index % len(self.wallets)]

    # -- rules ---------------------------------------------------------------------------------
    @rule(index=st.integers(0, 9), amount=AMOUNTS)
    def mint(self, index, amount):
        to = self.pick(index).address
        if self.attempt(lambda: self.world.token.mint(to, amount, sender=self.world.agent)):
            self.balance[to] += amount

    def share_of(self, wallet: str, share: int) -> int:
        return self.balance[wallet] * share // 100

    @rule(a=st.integers(0, 9), b=st.integers(0, 9), share=SHARES)
    def transfer(self, a, b, share):
        sender, to = self.pick(a), self.pick(b).address
        amount = self.share_of(sender.address, share)
        if self.attempt(lambda: self.world.token.transfer(to, amount, sender=sender)):
            self.balance[sender.address] -= amount
            self.balance[to] += amount

    @rule(a=st.integers(0, 9), b=st.integers(0, 9), share=SHARES)
    def forced_transfer(self, a, b, share):
        source, to = self.pick(a).address, self.pick(b).address
        amount = self.share_of(source, share)
        if self.attempt(lambda: self.world.token.forced_transfer(source, to, amount, sender=self.world.agent)):
            self.balance[source] -= amount
            self.balance[to] += amount

    @rule(index=st.integers(0, 9), share=SHARES)
    def freeze_tokens(self, index, share):
        wallet = self.pick(index).address
        amount = self.share_of(wallet, share) // 2
        self.attempt(lambda: self.world.token.freeze_tokens(wallet, amount, sender=self.world.agent))

    @rule(index=st.integers(0, 9), share=SHARES)
    def unfreeze_tokens(self, index, share):
        wallet = self.pick(index).address
        amount = self.world.token.frozen_tokens(wallet) * share // 100
        self.attempt(lambda: self.world.token.unfreeze_tokens(wallet, amount, sender=self.world.agent))

    @rule(index=st.integers(0, 9), frozen=st.booleans())
    def set_frozen(self, index, frozen):
        wallet = self.pick(index).address
        if wallet in self.expelled and not frozen:
            return  # an expelled holder stays frozen in place
        self.attempt(lambda: self.world.token.set_frozen(wallet, frozen, sender=self.world.agent))

    @precondition(lambda self: self.spares)
    @rule(index=st.integers(0, 9))
    def recover(self, index):
        w = self.world
        lost = self.pick(index)
        new = self.spares[0]
        identity = self.identity_of[lost.address]
        keys = Identity(w.chain, identity)
        if not keys.has_purpose(new.address, KeyPurpose.MANAGEMENT):
            keys.add_key(new.address, KeyPurpose.MANAGEMENT, sender=lost)  # every pool wallet manages its identity
        if self.attempt(lambda: w.token.recover(lost.address, new.address, identity, sender=w.agent)):
            self.spares.pop(0)
            self.balance[new.address] += self.balance[lost.address]
            self.balance[lost.address] = 0
            self.identity_of[new.address] = identity
            self.wallets = [a for a in self.wallets if a.address != lost.address] + [new]
            if lost.address in self.expelled:
                self.expelled.discard(lost.address)
                self.expelled.add(new.address)

    @rule(index=st.integers(0, 9))
    def expel(self, index):
        """The issuer removes an investor: its wallet is frozen in place, then unregistered."""
        w = self.world
        wallet = self.pick(index).address
        if wallet in self.expelled:
            return
        w.token.set_frozen(wallet, True, sender=w.agent)
        w.registry.delete(wallet, sender=w.agent)
        self.expelled.add(wallet)

    # -- invariants ----------------------------------------------------------------------------
    @invariant()
    def books_balance(self):
        if not hasattr(self, "balance"):
            return
        w = self.world
        chain_balances = {a: w.token.balance_of(a) for a in self.balance}
        assert chain_balances == self.balance
        assert w.token.total_supply() == sum(chain_balances.values())
        holders = 0
        for wallet, balance in chain_balances.items():
            assert w.token.frozen_tokens(wallet) <= balance
            if balance:
                holders += 1
                assert w.registry.is_verified(wallet) or (wallet in self.expelled and w.token.is_frozen(wallet))
        assert w.chain.call(self.holders_module.functions.holderCount(w.compliance.address)) == holders


def test_token_books_stay_consistent(world):
    TokenMachine.world = world
    TokenMachine.TestCase.settings = _settings()
    TokenMachine.TestCase("runTest").runTest()
