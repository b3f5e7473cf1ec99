"""Hostile frames on the OCPP socket: garbage, wrong shapes, odd values. The gateway answers or drops them,
never crashes, and keeps serving real chargers."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import websockets
from hypothesis import given
from hypothesis import strategies as st

from rwa_sdk.gateway.service import Gateway, GatewayThread

from .chargers import Charger201, connected
from .conftest import IngestWorld, device_signer, gateway_config, wait_until

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=16)
meter_value = st.fixed_dictionaries({"timestamp": st.text(max_size=30) | st.just("2026-01-01T00:00:00Z"),
                                     "sampledValue": st.lists(st.dictionaries(
                                         st.sampled_from(["value", "measurand", "unitOfMeasure", "phase", "signedMeterValue"]),
                                         json_values, max_size=5), max_size=3)})
frames = (
    st.binary(max_size=200).map(lambda b: b.decode("latin-1"))
    | json_values.map(json.dumps)
    | st.tuples(st.just(2), st.text(max_size=8), st.sampled_from(["MeterValues", "TransactionEvent", "Nope", "Heartbeat"]),
                st.fixed_dictionaries({"evseId": json_values | st.integers(0, 3), "meterValue": st.lists(meter_value, max_size=3)})
                | json_values).map(lambda t: json.dumps(list(t)))
)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fuzz")
    ingest = IngestWorld(tmp / "ingest.db").start()
    signer = device_signer(77)
    ingest.register(signer)
    config = gateway_config(tmp, ingest.url, [{"name": "f", "protocol": "ocpp", "ocpp_id": "CP-FUZZ", "evse": 1}])
    gw = GatewayThread(Gateway(config, signers={"f": signer})).start()
    yield gw
    gw.stop()
    gw.gateway.close()
    ingest.stop()


@given(batch=st.lists(frames, min_size=1, max_size=5))
def test_hostile_frames_never_take_the_central_system_down(gateway, batch):
    async def send():
        async with websockets.connect(f"{gateway.ocpp_url}/CP-FUZZ", subprotocols=["ocpp2.0.1"]) as ws:
            for frame in batch:
                await ws.send(frame)
            try:
                await asyncio.wait_for(ws.recv(), 0.05)  # a CallError or nothing
            except (asyncio.TimeoutError, websockets.ConnectionClosed):
                pass
    asyncio.run(send())


def test_after_the_fuzzing_a_real_charger_is_still_served(gateway):
    t0 = int(time.time()) - 900
    before = gateway.gateway.stats.readings

    async def charger():
        async with connected(Charger201, gateway.ocpp_url, "CP-FUZZ", "ocpp2.0.1") as cp:
            await cp.boot()
            await cp.meter_values(1, [(t0, 10), (t0 + 60, 20)])

    asyncio.run(charger())
    wait_until(lambda: gateway.gateway.stats.readings >= before + 1, what="a reading from the real charger")
