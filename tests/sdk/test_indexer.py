"""The event indexer resumes after a restart and repairs itself after a reorg."""

from __future__ import annotations

from rwa_sdk.indexer import EventIndexer
from rwa_sdk.settlement.stablecoin import UNIT


def _transfers(indexer: EventIndexer) -> list[tuple[str, str, int]]:
    return [(e.args["from"], e.args["to"], e.args["value"]) for e in indexer.events("Transfer")]


def test_indexes_events_and_resumes_after_restart(chain, usd, roles, tmp_path):
    db = tmp_path / "events.sqlite"
    start = chain.w3.eth.block_number + 1
    indexer = EventIndexer(chain, usd.contract, db, start_block=start)
    usd.transfer(roles.carol.address, 1 * UNIT, sender=roles.alice)
    new = indexer.sync()
    assert [(e.name, e.args["value"]) for e in new] == [("Transfer", 1 * UNIT)]
    indexer.close()

    usd.transfer(roles.carol.address, 2 * UNIT, sender=roles.bob)
    restarted = EventIndexer(chain, usd.contract, db, start_block=start)
    assert [e.args["value"] for e in restarted.sync()] == [2 * UNIT]  # nothing read twice
    assert _transfers(restarted) == [
        (roles.alice.address, roles.carol.address, 1 * UNIT),
        (roles.bob.address, roles.carol.address, 2 * UNIT),
    ]
    assert restarted.last_block == chain.w3.eth.block_number


def test_reorg_replaces_orphaned_events(chain, usd, roles, tmp_path):
    indexer = EventIndexer(chain, usd.contract, tmp_path / "events.sqlite", start_block=chain.w3.eth.block_number + 1)
    usd.transfer(roles.carol.address, 1 * UNIT, sender=roles.alice)
    fork = chain.snapshot()
    usd.transfer(roles.carol.address, 5 * UNIT, sender=roles.alice)
    usd.transfer(roles.carol.address, 6 * UNIT, sender=roles.alice)
    indexer.sync()
    assert [v for _, _, v in _transfers(indexer)] == [1 * UNIT, 5 * UNIT, 6 * UNIT]

    chain.revert(fork)  # the last two blocks are orphaned; a competing branch grows taller
    chain.mine()
    usd.transfer(roles.carol.address, 7 * UNIT, sender=roles.bob)
    usd.transfer(roles.carol.address, 8 * UNIT, sender=roles.bob)
    indexer.sync()
    assert _transfers(indexer) == [
        (roles.alice.address, roles.carol.address, 1 * UNIT),
        (roles.bob.address, roles.carol.address, 7 * UNIT),
        (roles.bob.address, roles.carol.address, 8 * UNIT),
    ]
    indexed_hashes = {e.tx_hash for e in indexer.events()}
    for event in indexer.events():
        assert chain.w3.eth.get_transaction_receipt(event.tx_hash)["blockNumber"] == event.block_number
    assert len(indexed_hashes) == 3


def test_events_filter_by_name(chain, usd, roles, tmp_path):
    indexer = EventIndexer(chain, usd.contract, tmp_path / "e.sqlite", start_block=chain.w3.eth.block_number + 1)
    usd.approve(roles.carol.address, 3, sender=roles.alice)
    usd.transfer(roles.carol.address, 4, sender=roles.alice)
    indexer.sync()
    assert [e.name for e in indexer.events()] == ["Approval", "Transfer"]
    assert [e.args["value"] for e in indexer.events("Approval")] == [3]
