"""Pure-Python parts: Merkle layout, reading parsing and recovery, store semantics, device models."""

from __future__ import annotations

import coincurve
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rwa_sdk.oracle import mmr
from rwa_sdk.oracle.merkle import (
    MerkleError,
    MerkleTree,
    hash_pair,
    leaf_of,
    process_proof,
)
from rwa_sdk.oracle.reading import (
    DeviceSigner,
    Reading,
    ReadingDomain,
    ReadingError,
    keccak256,
    key_address,
    recover,
    to_checksum,
)
from rwa_sdk.oracle.simulator import clear_sky_fraction, make_devices
from rwa_sdk.oracle.store import (
    BatchStatus,
    InsertOutcome,
    OracleBinding,
    SqliteStore,
    StoreError,
    open_store,
)

DOMAIN = ReadingDomain(31337, "0x" + "12" * 20)
ASSET = b"\x01" * 32


@given(digests=st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70, unique=True))
def test_every_proof_leads_to_the_root(digests):
    tree = MerkleTree.from_digests(digests)
    for d in digests:
        assert process_proof(leaf_of(d), tree.proof(d)) == tree.root


def test_tree_is_independent_of_input_order():
    digests = [keccak256(bytes([i])) for i in range(9)]
    assert MerkleTree.from_digests(digests).root == MerkleTree.from_digests(digests[::-1]).root


def test_single_leaf_tree_has_the_leaf_as_root_and_empty_proof():
    tree = MerkleTree.from_digests([b"\x07" * 32])
    assert tree.root == leaf_of(b"\x07" * 32) and tree.proof(b"\x07" * 32) == []


def test_two_leaf_root_is_the_sorted_pair_hash():
    a, b = leaf_of(b"\x01" * 32), leaf_of(b"\x02" * 32)
    assert MerkleTree.from_leaves([a, b]).root == keccak256(min(a, b) + max(a, b)) == hash_pair(b, a)


def test_empty_tree_duplicate_leaves_and_unknown_leaf_raise():
    with pytest.raises(MerkleError):
        MerkleTree.from_digests([])
    with pytest.raises(MerkleError):
        MerkleTree.from_digests([b"\x01" * 32, b"\x01" * 32])
    with pytest.raises(MerkleError):
        MerkleTree.from_digests([b"\x01" * 32]).proof(b"\x02" * 32)


def test_signer_address_matches_eth_account_derivation():
    from eth_account import Account
    secret = b"\x42" * 32
    assert to_checksum(DeviceSigner.from_secret(secret).address) == Account.from_key(secret).address
    assert key_address(coincurve.PrivateKey(secret)) == DeviceSigner.from_secret(secret).address


def test_recover_rejects_malformed_signatures():
    signer = DeviceSigner.from_secret(b"\x05" * 32)
    r = Reading(signer.address, ASSET, 1, 0, 10, 1, 1, 0)
    sig = DOMAIN.sign(r, signer.key)
    digest = DOMAIN.digest(r)
    assert recover(digest, sig) == signer.address
    assert recover(digest, sig[:64] + bytes((sig[64] - 27,))) is None  # v as 0/1: not the canonical form
    assert recover(digest, sig[:64]) is None
    assert recover(digest, sig[:64] + b"\x1d") is None  # v = 29
    assert recover(digest, bytes(65)) is None


@pytest.mark.parametrize("data", [
    None, [], {}, {"device": 1},
    {"device": "0x" + "11" * 20, "assetId": "0x" + "22" * 32, "seq": -1, "periodStart": 0, "periodEnd": 1,
     "energyWh": 0, "meterWh": 0},
    {"device": "0x" + "11" * 20, "assetId": "0x" + "22" * 32, "seq": True, "periodStart": 0, "periodEnd": 1,
     "energyWh": 0, "meterWh": 0},
    {"device": "0x" + "11" * 20, "assetId": "0x" + "22" * 31, "seq": 1, "periodStart": 0, "periodEnd": 1,
     "energyWh": 0, "meterWh": 0},
    {"device": "0x" + "11" * 20, "assetId": "0x" + "22" * 32, "seq": 1, "periodStart": 0, "periodEnd": 2**64,
     "energyWh": 0, "meterWh": 0},
    {"device": "0x" + "zz" * 20, "assetId": "0x" + "22" * 32, "seq": 1, "periodStart": 0, "periodEnd": 1,
     "energyWh": 0, "meterWh": 0},
])
def test_from_json_rejects_malformed_readings(data):
    with pytest.raises(ReadingError):
        Reading.from_json(data)


def test_json_round_trip():
    r = Reading(b"\x11" * 20, ASSET, 2**64 - 1, 5, 6, 7, 8, 2**32 - 1)
    assert Reading.from_json(r.to_json()) == r


def test_store_keeps_first_content_and_flags_duplicates_and_conflicts(store_location):
    store = open_store(store_location)
    r = Reading(b"\x11" * 20, ASSET, 2**64 - 1, 5, 6, 2**64 - 1, 8, 0)  # uint64 extremes survive SQLite
    assert store.insert_readings([(r, b"s" * 65, b"d" * 32)]) == [InsertOutcome.INSERTED]
    assert store.insert_readings([(r, b"s" * 65, b"d" * 32)]) == [InsertOutcome.DUPLICATE]
    for other in (r.with_(energy_wh=7), r.with_(asset_id=b"\x33" * 32), r.with_(period_end=7), r.with_(flags=1)):
        assert store.insert_readings([(other, b"s" * 65, b"e" * 32)]) == [InsertOutcome.CONFLICT]
        assert store.existing_reading(r.device, r.seq) == r
    assert store.find_reading(r.device, r.seq).reading == r
    assert store.last_seqs() == {r.device: 2**64 - 1}
    store.close()


def test_store_batches_assign_each_reading_once_and_survive_reopen(store_location):
    store = open_store(store_location)
    rs = [Reading(b"\x11" * 20, ASSET, i, 100 + i, 101 + i, 1, i, 0) for i in range(1, 6)]
    store.insert_readings([(r, b"s" * 65, keccak256(bytes([r.seq]))) for r in rs])
    pending = store.pending_readings(ASSET, 0, 86_400, 3)
    batch = store.create_batch(ASSET, b"r" * 32, [p.id for p in pending], 3, 101, 104, 5)
    with pytest.raises(Exception):
        store.create_batch(ASSET, b"q" * 32, [pending[0].id], 1, 101, 102, 5)
    store.mark_sent([batch], 7, b"h" * 32)
    store.mark_sent([batch], 7, b"g" * 32)
    store.close()
    store = open_store(store_location)
    (sent,) = store.batches(BatchStatus.SENT)
    assert (sent.nonce, sent.tx_hashes, sent.count) == (7, (b"h" * 32, b"g" * 32), 3)
    assert store.counts()["readings_pending"] == 2 and store.counts()["readings_batched"] == 3
    store.release_batch(batch)
    assert store.counts()["readings_pending"] == 5
    store.close()


def test_two_connections_racing_for_the_same_readings_batch_them_once(store_location):
    """Two relayer processes on one store: one batch wins, the other is rolled back whole."""
    import threading

    first = open_store(store_location)
    second = open_store(store_location)
    try:
        for round_ in range(5):
            rs = [Reading(b"\x22" * 20, ASSET, 10 * round_ + i, 10 * round_ + 100 + i, 10 * round_ + 101 + i, 1, i, 0)
                  for i in range(1, 4)]
            first.insert_readings([(r, b"s" * 65, keccak256(bytes([round_, r.seq]))) for r in rs])
            ids = [p.id for p in first.pending_readings(ASSET, 0, 86_400, 10)]
            start, outcomes = threading.Barrier(2), []

            def cut(store, root):
                start.wait()
                try:
                    outcomes.append(store.create_batch(ASSET, root, ids, 3, 101, 104, 1))
                except StoreError:
                    outcomes.append(None)

            threads = [threading.Thread(target=cut, args=(s, bytes([round_, n]) * 16)) for n, s in ((1, first), (2, second))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert sorted(outcomes, key=lambda o: o is None)[1] is None and outcomes.count(None) == 1
            assert first.counts()["readings_pending"] == 0
        assert len(second.batches(BatchStatus.BUILT)) == 5
    finally:
        first.close()
        second.close()


def test_store_records_the_batch_index_the_chain_gave(store_location):
    store = open_store(store_location)
    r = Reading(b"\x11" * 20, ASSET, 1, 100, 101, 1, 1, 0)
    store.insert_readings([(r, b"s" * 65, b"d" * 32)])
    batch = store.create_batch(ASSET, b"r" * 32, [store.find_reading(r.device, 1).id], 1, 100, 101, 7)
    assert store.batch(batch).batch_index is None
    store.mark_anchored({batch: 41}, 9)
    store.close()
    store = open_store(store_location)
    anchored = store.batch(batch)
    assert (anchored.status, anchored.batch_index, anchored.block_number, anchored.built_block) == (
        BatchStatus.ANCHORED, 41, 9, 7)
    store.close()


def test_store_stays_bound_to_the_first_oracle_it_anchors_to(store_location):
    first = OracleBinding(31337, b"\x01" * 32, "0x" + "ab" * 20)
    store = open_store(store_location)
    assert store.binding() is None
    store.bind(first)
    store.close()
    store = open_store(store_location)
    store.bind(first)
    assert store.binding() == first
    for other in (OracleBinding(31337, b"\x02" * 32, first.oracle), OracleBinding(1, first.genesis, first.oracle),
                  OracleBinding(31337, first.genesis, "0x" + "cd" * 20)):
        with pytest.raises(StoreError, match="use another store"):
            store.bind(other)
    assert store.binding() == first
    store.close()


def test_store_refuses_a_database_of_another_layout(store_location):
    """A store written before layout 2 (no batch index) is refused with a message, not misread."""
    if store_location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(store_location, autocommit=True) as db:
            db.execute("CREATE TABLE batches (id BIGINT PRIMARY KEY, batch_id BYTEA NOT NULL UNIQUE)")
    else:
        import sqlite3

        db = sqlite3.connect(store_location)
        db.execute("CREATE TABLE batches (id INTEGER PRIMARY KEY, batch_id BLOB NOT NULL UNIQUE)")
        db.commit()
        db.close()
    with pytest.raises(StoreError, match="layout 0"):
        open_store(store_location)


def test_pv_model_is_dark_at_night_and_bright_at_noon():
    midnight, noon = 1_700_006_400, 1_700_006_400 + 12 * 3600  # 00:00 and 12:00 UTC
    assert clear_sky_fraction(midnight) == 0
    assert 0.8 < clear_sky_fraction(noon) <= 0.9


def test_simulated_readings_are_consecutive_and_within_capacity():
    for dev in make_devices(3, ASSET, seed=3, start=1_700_000_000):
        previous = None
        for _ in range(300):
            r = dev.next_reading(300)
            assert r.energy_wh * 3600 <= dev.capacity_w * 300
            if previous is not None:
                assert (r.seq, r.period_start, r.meter_wh) == (previous.seq + 1, previous.period_end, previous.meter_wh + r.energy_wh)
            previous = r


def _appended_peaks(leaves):
    """Peaks by height, appended one leaf at a time the way MerkleMountainRange.sol does."""
    peaks = {}
    for size, leaf in enumerate(leaves):
        height = 0
        while size >> height & 1:
            leaf = keccak256(peaks[height] + leaf)
            height += 1
        peaks[height] = leaf
    return [peaks[h] for h in range(len(leaves).bit_length() - 1, -1, -1) if len(leaves) >> h & 1]


@given(st.integers(min_value=1, max_value=70), st.data())
def test_mountain_range_proofs_climb_to_the_peaks_the_contract_keeps(size, data):
    leaves = [keccak256(i.to_bytes(4, "big")) for i in range(size)]
    peaks = mmr.peaks(leaves)
    assert peaks == _appended_peaks(leaves)
    assert len(peaks) == bin(size).count("1")
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    height, offset = mmr.position(size, index)
    path = mmr.proof(leaves, index)
    assert len(path) == height
    peak = mmr.climb(leaves[index], path, offset)
    assert peak in peaks and peak == peaks[[h for _, h in mmr.mountains(size)].index(height)]
    if height:
        assert mmr.climb(leaves[index], path, offset ^ 1) != peak  # the path pins the leaf's place


def test_mountain_range_rejects_an_index_outside_it():
    with pytest.raises(mmr.MountainRangeError):
        mmr.proof([b"\x01" * 32], 1)


def test_proof_command_explains_a_store_that_anchored_nothing(tmp_path):
    from click.testing import CliRunner

    from rwa_sdk.oracle.cli import oracle_cli

    db = tmp_path / "empty.db"
    SqliteStore(db).close()
    result = CliRunner().invoke(oracle_cli, ["proof", "0x" + "11" * 20, "1", "--db", str(db), "--rpc", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "anchored nothing yet: name the oracle" in result.output


def test_uint_fields_parse_from_numbers_decimal_and_hex_strings_exactly():
    base = {"device": "0x" + "11" * 20, "assetId": "0x" + "22" * 32, "seq": 1, "periodStart": 0, "periodEnd": 1,
            "energyWh": 0, "meterWh": 0}
    big = 2**64 - 1
    for text in (str(big), hex(big), "0X" + "F" * 16):
        assert Reading.from_json({**base, "meterWh": text}).meter_wh == big
    assert Reading.from_json({**base, "flags": "0xffffffff"}).flags == 2**32 - 1
    for bad in (str(big + 1), "0x1" + "0" * 16, "-1", "1e3", "0x", "", " 1", "1 ", "0b1", "١"):
        with pytest.raises(ReadingError):
            Reading.from_json({**base, "meterWh": bad})
    with pytest.raises(ReadingError):
        Reading.from_json({**base, "flags": "0x100000000"})


def test_domain_name_and_version_change_the_digest_and_the_typed_data():
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    signer = DeviceSigner.from_secret(b"\x09" * 32)
    r = Reading(signer.address, ASSET, 1, 0, 10, 1, 1, 0)
    v2 = ReadingDomain(31337, DOMAIN.verifying_contract, "RWA ReadingOracle", "2")
    assert v2.digest(r) != DOMAIN.digest(r)
    sig = v2.sign(r, signer.key)
    assert Account.recover_message(encode_typed_data(full_message=v2.typed_data(r)), signature=sig) == signer.checksum


def test_metrics_histograms_render_cumulative_buckets():
    from rwa_sdk.oracle.metrics import Metrics

    m = Metrics()
    for value in (0.0004, 0.003, 0.003, 7.0, 99.0):
        m.observe("commit_seconds", value, help_text="verify + store")
    text = m.render()
    assert 'rwa_oracle_commit_seconds_bucket{le="0.0005"} 1' in text
    assert 'rwa_oracle_commit_seconds_bucket{le="0.005"} 3' in text
    assert 'rwa_oracle_commit_seconds_bucket{le="10"} 4' in text
    assert 'rwa_oracle_commit_seconds_bucket{le="+Inf"} 5' in text and "rwa_oracle_commit_seconds_count 5" in text
    assert m.histogram("commit_seconds") == (5, pytest.approx(106.0064))


def test_redact_removes_rpc_credentials_in_every_form_they_appear():
    from rwa_sdk.oracle.daemon import redact

    url = "https://user:pw123456@eth.example.com:8545/v3/0123456789abcdef?apikey=secretvalue"
    texts = [
        f"ConnectionError: {url}",
        "Max retries exceeded with url: /v3/0123456789abcdef?apikey=secretvalue (Caused by ...)",
        "HTTPError 401 for https://other.example.org/key/zzzzzzzzzzzz, retrying",
    ]
    out = [redact(t, url) for t in texts]
    for secret in ("0123456789abcdef", "secretvalue", "pw123456", "zzzzzzzzzzzz"):
        assert all(secret not in o for o in out)
    assert "https://eth.example.com:8545/…" in out[0] and "https://other.example.org/…, retrying" in out[2]


def test_metrics_include_text_rendered_elsewhere_and_a_failing_source_never_breaks_the_scrape():
    from rwa_sdk.oracle.metrics import Metrics

    m = Metrics()
    m.inc("readings_total", 3, status="accepted")
    other = Metrics()
    other.inc("relayer_errors_total", 2)
    m.include(other.render)  # e.g. the relayer process's counters

    def broken() -> str:
        raise RuntimeError("child gone")

    m.include(broken)
    m.include(lambda: "")
    text = m.render()
    assert 'rwa_oracle_readings_total{status="accepted"} 3' in text
    assert "rwa_oracle_relayer_errors_total 2" in text
    assert text.endswith("\n") and "\n\n" not in text
