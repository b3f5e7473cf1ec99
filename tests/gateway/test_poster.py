"""The poster against a real ingest API behind a front that answers 503 + Retry-After, and with final refusals."""

from __future__ import annotations

import email.utils
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from hypothesis import given
from hypothesis import strategies as st

from rwa_sdk.gateway.meter import Sample
from rwa_sdk.gateway.poster import MAX_RETRY_AFTER_S, Poster, retry_after_s
from rwa_sdk.gateway.spool import Spool

from .conftest import ASSET, device_signer


class BusyFront:
    """Answers the first ``busy`` POSTs with 503 and ``Retry-After``, then forwards to ``upstream``."""

    def __init__(self, upstream: str, busy: int, retry_after: str):
        self.times: list[float] = []
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                front.times.append(time.monotonic())
                if len(front.times) <= busy:
                    data, status, headers = b"overloaded", 503, {"Retry-After": retry_after}
                else:
                    request = urllib.request.Request(upstream + self.path, body, {"Content-Type": "application/json"})
                    with urllib.request.urlopen(request) as response:
                        data, status, headers = response.read(), response.status, {}
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _fill(spool, signer, n, domain, start=1_000_000):
    samples = [Sample(start + 60 * i, 10 * i) for i in range(n + 1)]
    return spool.record(signer.address, ASSET, 22_000, samples, lambda r: domain.sign(r, signer.key))


def test_503_with_retry_after_is_honoured_then_everything_is_acknowledged(tmp_path, ingest):
    signer = device_signer(9)
    ingest.register(signer)
    spool = Spool(tmp_path / "spool.db")
    made = _fill(spool, signer, 30, ingest.domain)
    front = BusyFront(ingest.url, busy=2, retry_after="1")
    try:
        poster = Poster(spool, front.url, chunk=10, backoff_initial_s=0.01)
        assert poster.drain(timeout_s=20)
    finally:
        front.close()
    assert poster.stats.retry_after_waits == 2 and front.times[2] - front.times[0] >= 1.9
    assert spool.counts() == {"pending": 0, "sent": 30, "rejected": 0}
    assert [s.reading for s in ingest.readings(signer)] == made


def test_outage_keeps_readings_and_final_refusals_are_not_resent(tmp_path, ingest):
    known, unknown = device_signer(10), device_signer(11)
    ingest.register(known)
    spool = Spool(tmp_path / "spool.db")
    _fill(spool, known, 5, ingest.domain)
    _fill(spool, unknown, 3, ingest.domain)
    url = ingest.url
    ingest.stop()
    poster = Poster(spool, url, backoff_initial_s=0.01, backoff_max_s=0.05)
    assert poster.post_once() > 0 and spool.counts()["pending"] == 8  # ingest down: nothing lost
    ingest.start()
    assert poster.drain(timeout_s=10)
    assert spool.counts() == {"pending": 0, "sent": 5, "rejected": 3}
    assert {reason for _, _, reason in spool.rejections()} == {"unknown_device"}
    posts = poster.stats.posts
    assert poster.post_once() is None and poster.stats.posts == posts


@given(seconds=st.integers(-10**6, 10**6))
def test_property_retry_after_is_bounded(seconds):
    assert 0 <= retry_after_s(str(seconds)) <= MAX_RETRY_AFTER_S


def test_retry_after_forms():
    later = email.utils.formatdate(time.time() + 5, usegmt=True)
    assert 3 <= retry_after_s(later) <= 5
    assert retry_after_s("soon") is None and retry_after_s(None) is None and retry_after_s("nan") is None
