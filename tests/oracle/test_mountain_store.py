"""The store's copy of an asset's mountain range: nodes appended as batches come, proofs from one mountain."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from rwa_sdk.oracle import mmr
from rwa_sdk.oracle.reading import keccak256
from rwa_sdk.oracle.store import SqliteStore

ASSET = bytes.fromhex("cd" * 32)


@given(chunks=st.lists(st.integers(1, 9), min_size=1, max_size=12), data=st.data())
def test_property_stored_nodes_give_the_peaks_and_paths_of_the_full_range(tmp_path_factory, chunks, data):
    store = SqliteStore(tmp_path_factory.mktemp("m") / f"{uuid.uuid4().hex}.db", synchronous="OFF")
    try:
        leaves: list[bytes] = []
        for n in chunks:  # appended as logs arrive, a few at a time
            new = [keccak256(len(leaves).to_bytes(4, "big") + bytes([i])) for i in range(n)]
            store.add_chain_leaves(ASSET, len(leaves), new, len(leaves))
            leaves += new
        size = len(leaves)
        assert store.chain_size(ASSET)[0] == size and store.chain_leaves(ASSET)[0] == leaves
        tops = [(h, first >> h) for first, h in mmr.mountains(size)]
        nodes = store.mmr_nodes(ASSET, tops)
        assert [nodes[t] for t in tops] == mmr.peaks(leaves)
        index = data.draw(st.integers(0, size - 1))
        height, offset = mmr.position(size, index)
        path_positions = [(k, (index >> k) ^ 1) for k in range(height)]
        path = [store.mmr_nodes(ASSET, [p])[p] for p in path_positions]
        assert path == mmr.proof(leaves, index)
        assert mmr.climb(leaves[index], path, offset) in mmr.peaks(leaves)
    finally:
        store.close()


def test_appending_roots_out_of_order_is_refused(tmp_path):
    import pytest

    from rwa_sdk.oracle.store import StoreError

    store = SqliteStore(tmp_path / "m.db")
    store.add_chain_leaves(ASSET, 0, [b"\x01" * 32], 5)
    with pytest.raises(StoreError):
        store.add_chain_leaves(ASSET, 3, [b"\x02" * 32], 6)
    store.close()
