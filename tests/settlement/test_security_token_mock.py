"""The security-token test double enforces its agent/owner roles, like the real token will."""

from __future__ import annotations

import pytest

from rwa_sdk import errors


def test_agent_only_functions_reject_others(world, roles):
    f, a, b = world.token.functions, roles.alice.address, roles.bob.address
    for fn in (f.mint(a, 1), f.burn(a, 1), f.forcedTransfer(a, b, 1), f.setVerified(a, True),
               f.setAddressFrozen(a, True), f.setFrozenTokens(a, 1)):
        with pytest.raises(errors.CallerNotAgent) as caught:
            world.chain.transact(fn, sender=roles.bob)
        assert caught.value.caller == b


def test_owner_only_functions_reject_others(world, roles):
    f = world.token.functions
    for fn in (f.setAgent(roles.bob.address, True), f.setRevenueHook(roles.bob.address)):
        with pytest.raises(errors.OwnableUnauthorizedAccount):
            world.chain.transact(fn, sender=roles.bob)
