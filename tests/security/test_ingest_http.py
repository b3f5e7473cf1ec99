"""Attacks on the ingest HTTP layer: no request may stop the server, hold it, or grow its memory,
and nothing malformed is ever stored."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rwa_sdk.oracle.reading import Reading, ReadingError
from rwa_sdk.oracle.store import SqliteStore

from .ingest_world import DEVICES, healthy, post_readings, read_response, request, running_server, signed_item


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("http"), header_timeout_s=1.0, body_timeout_s=1.0,
                        max_body_bytes=8 * 1024 * 1024) as s:  # room for a million-deep object
        yield s


def _stored(server) -> int:
    return server.ingestor.store.counts()["readings_pending"]


@pytest.mark.parametrize("depth", [1_000, 10_000, 70_000, 1_000_000])
@pytest.mark.parametrize("shape", ["array", "object", "reading"])
def test_deeply_nested_json_is_refused_and_the_server_keeps_serving(server, depth, shape):
    """Issue 11 item 2: a 140 KB body nested 60k deep used to overflow the C stack (segfault)."""
    if shape == "array":
        body = b"[" * depth + b"]" * depth
    elif shape == "object":
        body = b'{"a":' * depth + b"1" + b"}" * depth
    else:  # a reading whose seq is deeply nested
        body = b'[{"seq":' + b"[" * depth + b"]" * depth + b"}]"
    status, _, answer = request(server, "POST", "/v1/readings", body)
    if depth < 1_024:  # parsed (orjson's limit), then refused as a whole or item by item
        assert status == 400 or all(r["reason"] == "malformed" for r in json.loads(answer)["results"])
    else:
        assert status == 400 and b"nesting" in answer
    assert healthy(server) and _stored(server) == 0


def test_a_body_over_the_limit_is_refused_before_it_is_read(server):
    """Issue 11 item 6: a 16 MiB body used to be read and parsed whole (RSS 78 -> 474 MB)."""
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(b"POST /v1/readings HTTP/1.1\r\nHost: x\r\nContent-Length: 16777216\r\n\r\n" + b"[" * 1024)
        status, headers, _ = read_response(s)
    assert status == 413 and headers.get("connection") == "close"
    assert request(server, "POST", "/v1/readings", b"[]", headers={"Transfer-Encoding": "chunked"})[0] == 411
    assert healthy(server)


def test_slow_clients_are_cut_off_and_do_not_hold_the_server(tmp_path):
    """Slowloris: clients that trickle headers or bodies are closed at the deadline; others are served."""
    with running_server(tmp_path, header_timeout_s=0.5, body_timeout_s=0.5, max_connections=40) as server:
        host, port = server.server_address[:2]
        slow = []
        for i in range(40):
            s = socket.create_connection((host, port), timeout=5)
            s.sendall(b"POST /v1/readings HTTP/1.1\r\nHost: x\r\n" if i % 2 else
                      b"POST /v1/readings HTTP/1.1\r\nContent-Length: 1000\r\n\r\n[")
            slow.append(s)
        time.sleep(0.2)
        assert server.connections == 40
        extra = socket.create_connection((host, port), timeout=5)  # over the cap: closed at once
        assert extra.recv(10) == b""
        extra.close()
        time.sleep(1.0)  # past both deadlines
        assert server.connections == 0
        answers = [s.recv(4096) for s in slow]
        assert all(a == b"" or a.startswith(b"HTTP/1.1 408") for a in answers)
        assert sum(a.startswith(b"HTTP/1.1 408") for a in answers) == 20  # the slow bodies are told why
        for s in slow:
            s.close()
        assert healthy(server)


def test_many_concurrent_slow_connections_do_not_delay_healthz(tmp_path):
    with running_server(tmp_path, header_timeout_s=30.0) as server:
        host, port = server.server_address[:2]
        slow = [socket.create_connection((host, port), timeout=5) for _ in range(200)]
        for s in slow:
            s.sendall(b"GET /healthz HTTP/1.1\r\n")
        t0 = time.perf_counter()
        assert healthy(server)
        assert time.perf_counter() - t0 < 1.0
        for s in slow:
            s.close()


class SlowStore(SqliteStore):
    """A store whose commits take ``delay`` seconds (a saturated disk)."""

    delay = 0.0

    def insert_readings(self, items):
        time.sleep(self.delay)
        return super().insert_readings(items)


def test_backlog_above_the_limit_answers_503_with_retry_after_and_loses_nothing(tmp_path):
    store = SlowStore(tmp_path / "slow.db")
    store.delay = 0.4
    with running_server(tmp_path, store=store, max_backlog_readings=20) as server:
        answers: list = [None] * 12
        items = [[signed_item(DEVICES[i], 1 + k) for k in range(5)] for i in range(12)]

        def send(i):
            host, port = server.server_address[:2]
            answers[i] = request(server, "POST", "/v1/readings", json.dumps(items[i]).encode(), timeout=30)

        threads = [threading.Thread(target=send, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        busy = [a for a in answers if a[0] == 503]
        ok = [a for a in answers if a[0] == 200]
        assert busy and ok and len(busy) + len(ok) == 12
        assert all(a[1].get("retry-after") == "1" for a in busy)
        accepted = sum(json.loads(a[2])["accepted"] for a in ok)
        assert accepted == 5 * len(ok) == _stored(server)
        assert server.metrics.value("http_backpressure_total") == len(busy)


def test_one_reading_requests_arriving_together_share_a_commit_and_are_acked_only_after_it(tmp_path):
    """Group commit: 32 clients, one reading each; fewer transactions than requests; each reading
    is in the store when its client reads `accepted`."""
    with running_server(tmp_path) as server:
        store = server.ingestor.store
        seen_stored: list[bool] = []
        lock = threading.Lock()

        def client(c):
            for k in range(10):
                item = signed_item(DEVICES[c], 1 + k)
                status, answer = post_readings(server, [item])
                assert status == 200 and answer["accepted"] == 1
                stored = store.existing_reading(DEVICES[c].address, 1 + k) is not None
                with lock:
                    seen_stored.append(stored)

        threads = [threading.Thread(target=client, args=(c,)) for c in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(seen_stored) == 320 and all(seen_stored)
        transactions, readings = server.metrics.histogram("group_readings")
        assert readings == 320 and transactions < 320
        text = request(server, "GET", "/metrics")[2].decode()
        assert "rwa_oracle_commit_seconds_bucket" in text and "rwa_oracle_group_readings_count" in text
        assert 'rwa_oracle_http{kind="backlog_readings"}' in text


def test_uint_fields_accept_numbers_decimal_and_hex_strings_and_nothing_looser(server):
    dev = DEVICES[7]
    t = int(time.time()) - 20_000
    items = [signed_item(dev, seq, end=t + 10 * seq) for seq in (901, 902, 903)]  # periods end to end
    items[1] = {**items[1], "seq": "902", "periodEnd": str(items[1]["periodEnd"]), "flags": "0"}
    items[2] = {**items[2], "seq": "0x387", "energyWh": "0x5", "meterWh": hex(items[2]["meterWh"]).upper()
                .replace("0X", "0x")}
    loose = [{**signed_item(dev, 904, end=t + 9_040), "seq": v} for v in ("+904", " 904", "904.0", "9_04", "0x", "", "0x" + "f" * 65,
                                                         "٩٠٤", 904.0, True)]
    status, answer = post_readings(server, items + loose)
    assert status == 200
    assert [r["status"] for r in answer["results"][:3]] == ["accepted"] * 3, answer["results"][:3]
    assert all(r["reason"] == "malformed" for r in answer["results"][3:])


# -- fuzzing: structure-aware bad bodies --------------------------------------------------------------

def _nest(depth: int, inner: bytes, kind: str) -> bytes:
    return (b"[" * depth + inner + b"]" * depth) if kind == "a" else (b'{"k":' * depth + inner + b"}" * depth)


scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=12)
bad_values = scalars | st.lists(scalars, max_size=3) | st.dictionaries(st.text(max_size=5), scalars, max_size=3)
FIELDS = ["device", "assetId", "seq", "periodStart", "periodEnd", "energyWh", "meterWh", "flags", "signature"]


def _same(value, original) -> bool:
    """Whether ``value`` says what ``original`` says (e.g. "0x5" for 5): then the reading is not bad."""
    if value == original:
        return True
    if isinstance(original, int) and isinstance(value, str):
        try:
            return Reading.from_json({**_TEMPLATE, "seq": value}).seq == original
        except ReadingError:
            return False
    return False


_TEMPLATE = {"device": "0x" + "11" * 20, "assetId": "0x" + "22" * 32, "seq": 0, "periodStart": 0, "periodEnd": 1,
             "energyWh": 0, "meterWh": 0}


@st.composite
def bad_bodies(draw) -> bytes:
    kind = draw(st.sampled_from(["nest", "field", "encoding", "size", "bytes", "unsigned"]))
    good = signed_item(DEVICES[draw(st.integers(0, 7))], draw(st.integers(10_000, 20_000)), end=int(time.time()) - 60)
    if kind == "nest":
        return _nest(draw(st.integers(500, 300_000)), draw(st.sampled_from([b"", b"1", b'"x"'])),
                     draw(st.sampled_from("ao")))
    if kind == "field":  # a signed reading with one field replaced by a wrong type or value
        name = draw(st.sampled_from(FIELDS))
        value = draw(bad_values.filter(lambda v: not _same(v, good[name])))
        return json.dumps([{**good, name: value}], allow_nan=True).encode()
    if kind == "encoding":
        text = json.dumps([good])
        return draw(st.sampled_from([text.encode("utf-16"), text.encode("utf-32"), b"\xef\xbb\xbf" + text.encode(),
                                     text.encode()[:-3] + b"\xff\xfe]", text.replace('"', "'").encode()]))
    if kind == "size":
        n = draw(st.integers(10_001, 12_000))
        return b"[" + b",".join([b"{}"] * n) + b"]"
    if kind == "unsigned":
        item = {**good, "signature": "0x" + draw(st.binary(min_size=65, max_size=65)).hex()}
        return json.dumps({"readings": [item]}).encode()
    return draw(st.binary(max_size=200))


@given(body=bad_bodies(), chunk=st.sampled_from([0, 1, 7, 4096]))
@settings(deadline=None)  # examples from the profile: 25 in "ci", more under `make fuzz`
def test_fuzz_bad_bodies_never_stop_the_server_nor_store_anything(server, body, chunk):
    before = _stored(server)
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(f"POST /v1/readings HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        if chunk:  # a slow body in small pieces, within the deadline
            for i in range(0, min(len(body), 20 * chunk), chunk):
                s.sendall(body[i:i + chunk])
                time.sleep(0.002)
            s.sendall(body[min(len(body), 20 * chunk):])
        else:
            s.sendall(body)
        status, _, answer = read_response(s)
    assert status in (200, 400, 413)
    if status == 200:
        assert all(r["status"] == "rejected" and r["reason"] for r in json.loads(answer)["results"])
    assert _stored(server) == before
    assert healthy(server)


def test_the_next_group_is_verified_while_the_previous_one_commits_and_each_is_acked_after_its_own(tmp_path):
    """Pipelined group commit: checks of a request that arrives during a (slow) commit run during it; its
    answer still waits for the transaction that holds its reading."""
    store = SlowStore(tmp_path / "slow.db")
    store.delay = 0.5
    with running_server(tmp_path, store=store) as server:
        events: list[tuple[str, float]] = []
        verify, commit = server.ingestor.verify, server.ingestor.commit

        def timed_verify(items):
            events.append(("verified", time.monotonic()))
            return verify(items)

        def timed_commit(checked):
            results = commit(checked)
            events.append(("committed", time.monotonic()))
            return results

        server.ingestor.verify, server.ingestor.commit = timed_verify, timed_commit
        answers: dict[int, tuple[int, dict, float]] = {}

        def send(i: int) -> None:
            status, answer = post_readings(server, [signed_item(DEVICES[i], 1)])
            answers[i] = (status, answer, time.monotonic())

        first = threading.Thread(target=send, args=(0,))
        first.start()
        time.sleep(0.2)  # the first group is in its commit now
        second = threading.Thread(target=send, args=(1,))
        second.start()
        first.join(10)
        second.join(10)
        kinds = [kind for kind, _ in events]
        assert kinds == ["verified", "verified", "committed", "committed"], kinds
        first_commit, second_commit = events[2][1], events[3][1]
        assert events[1][1] < first_commit  # verified during the first commit
        assert answers[0][0] == answers[1][0] == 200 and answers[0][1]["accepted"] == answers[1][1]["accepted"] == 1
        assert answers[0][2] >= first_commit and answers[1][2] >= second_commit
        assert _stored(server) == 2


def test_a_failing_check_answers_its_group_retryable_and_the_server_goes_on(tmp_path):
    """A bug or fault in verification must not lose an answer nor store anything of that group."""
    with running_server(tmp_path) as server:
        verify = server.ingestor.verify
        calls = []

        def failing_once(items):
            calls.append(len(items))
            if len(calls) == 1:
                raise RuntimeError("checks broke")
            return verify(items)

        server.ingestor.verify = failing_once
        status, answer = post_readings(server, [signed_item(DEVICES[2], 1), signed_item(DEVICES[3], 1)])
        assert status == 503 and [r["reason"] for r in answer["results"]] == ["store_unavailable"] * 2
        assert _stored(server) == 0
        status, answer = post_readings(server, [signed_item(DEVICES[2], 1)])
        assert status == 200 and answer["accepted"] == 1 and _stored(server) == 1
