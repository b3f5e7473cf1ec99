"""An anchor that a reorg takes back disappears from the portal too (the indexer drops it, the view is rebuilt)."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated")


def wait_for(client, batches: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get("/api/assets/SUN5/devices").json()
        if body["anchors"]["batches"] == batches:
            return body
        time.sleep(0.2)
    raise AssertionError(f"the portal still shows {body['anchors']['batches']} batches, not {batches}")


def test_a_reorged_anchor_leaves_the_portal(client, world):
    before = len(world.asset.anchored_batches())
    days_before = len(client.get("/api/assets/SUN5/energy").json()["points"])
    wait_for(client, before)
    snapshot = world.chain.snapshot()
    day = world.held_back.pop()
    assert world.asset.relay(day, world.oracle_db).batches == 1
    wait_for(client, before + 1)
    assert len(client.get("/api/assets/SUN5/energy").json()["points"]) == days_before + 1
    world.chain.revert(snapshot)  # the node forgets the anchor's blocks
    world.chain.mine()
    wait_for(client, before)
    assert {p["period"]: p["energy_wh"] for p in client.get("/api/assets/SUN5/energy").json()["points"]} == \
        world.asset.energy_by_day()
