"""Chargers built with the ``ocpp`` package talk to the gateway's central system over a real WebSocket."""

from __future__ import annotations

import asyncio
import time

import pytest
import websockets

from rwa_sdk.gateway.service import Gateway, GatewayThread

from .chargers import Charger16, Charger201, connected, iso
from .conftest import device_signer, gateway_config, wait_until


def _gateway(tmp_path, ingest, devices):
    signers = {d["name"]: device_signer(i + 1) for i, d in enumerate(devices)}
    for signer in signers.values():
        ingest.register(signer)
    config = gateway_config(tmp_path, ingest.url, devices)
    return GatewayThread(Gateway(config, signers=signers)).start(), signers


def _assert_chain_of_readings(readings, samples):
    """Consecutive seqs and periods; each energy is the register delta; meterWh is the register."""
    assert [s.reading.seq for s in readings] == list(range(1, len(samples)))
    for stored, (t0, wh0), (t1, wh1) in zip(readings, samples, samples[1:]):
        r = stored.reading
        assert (r.period_start, r.period_end, r.energy_wh, r.meter_wh, r.flags) == (t0, t1, wh1 - wh0, wh1, 0)


def test_ocpp201_sessions_become_readings_at_ingest(tmp_path, ingest):
    gw, signers = _gateway(tmp_path, ingest, [
        {"name": "cp1-evse1", "protocol": "ocpp", "ocpp_id": "CP-201", "evse": 1},
        {"name": "cp1-evse2", "protocol": "ocpp", "ocpp_id": "CP-201", "evse": 2},
    ])
    t0 = int(time.time()) - 3600
    s1 = [(t0 + 60 * i, 1_000_000 + 300 * i) for i in range(6)]
    s2 = [(t0 + 30 * i, 50_000 + 20 * i * i) for i in range(5)]
    extra = [(t0 + 600, 1_003_000), (t0 + 660, 1_003_200)]

    async def charger():
        async with connected(Charger201, gw.ocpp_url, "CP-201", "ocpp2.0.1") as cp:
            await cp.boot()
            await cp.status(1, "Occupied")
            await cp.session(1, "tx-1", s1)
            await cp.session(2, "tx-2", s2, kwh=True)
            await cp.meter_values(1, extra)
            await cp.meter_values(1, extra[:1])  # a resend: the period is already counted

    try:
        asyncio.run(charger())
        wait_until(lambda: gw.gateway.spool.counts()["pending"] == 0 and gw.gateway.spool.counts()["sent"] >= 11,
                   what="readings acknowledged")
        assert gw.gateway.devices["cp1-evse1"].status == "Occupied"
    finally:
        gw.stop()
        gw.gateway.close()
    _assert_chain_of_readings(ingest.readings(signers["cp1-evse1"]), s1 + extra)
    _assert_chain_of_readings(ingest.readings(signers["cp1-evse2"]), s2)


def test_ocpp16_transactions_become_readings_at_ingest(tmp_path, ingest):
    gw, signers = _gateway(tmp_path, ingest, [{"name": "cp16-c1", "protocol": "ocpp", "ocpp_id": "CP-16", "evse": 1}])
    t0 = int(time.time()) - 7200
    first = [(t0 + 120 * i, 20_000 + 500 * i) for i in range(5)]
    second = [(t0 + 3600 + 60 * i, 22_500 + 100 * i) for i in range(3)]

    async def charger():
        async with connected(Charger16, gw.ocpp_url, "CP-16", "ocpp1.6") as cp:
            await cp.boot()
            await cp.session(1, first)
            await cp.session(1, second)

    try:
        asyncio.run(charger())
        wait_until(lambda: gw.gateway.spool.counts()["sent"] == len(first) + len(second) - 1, what="readings acknowledged")
    finally:
        gw.stop()
        gw.gateway.close()
    # the idle time between the sessions is one period with the register's (zero) delta
    _assert_chain_of_readings(ingest.readings(signers["cp16-c1"]), first + second)


def test_unknown_charge_point_and_missing_subprotocol_are_refused(tmp_path, ingest):
    gw, _ = _gateway(tmp_path, ingest, [{"name": "known", "protocol": "ocpp", "ocpp_id": "CP-OK", "evse": 1}])

    async def attempt(path, subprotocols):
        async with websockets.connect(f"{gw.ocpp_url}/{path}", subprotocols=subprotocols) as ws:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await ws.recv()
            return closed.value.rcvd.code

    try:
        assert asyncio.run(attempt("CP-EVIL", ["ocpp2.0.1"])) == 1008
        with pytest.raises(websockets.InvalidHandshake):
            asyncio.run(attempt("CP-OK", ["ocpp0.1"]))
    finally:
        gw.stop()
        gw.gateway.close()


def test_basic_auth_where_a_password_is_configured(tmp_path, ingest, monkeypatch):
    monkeypatch.setenv("CP_SECRET", "s3cret-pass")
    gw, signers = _gateway(tmp_path, ingest, [{"name": "locked", "protocol": "ocpp", "ocpp_id": "CP-LOCK", "evse": 1,
                                               "ocpp_password_env": "CP_SECRET"}])
    t0 = int(time.time()) - 600

    async def session(userinfo):
        url = gw.ocpp_url.replace("ws://", f"ws://{userinfo}@") if userinfo else gw.ocpp_url
        async with connected(Charger201, url, "CP-LOCK", "ocpp2.0.1") as cp:
            await cp.boot()
            await cp.meter_values(1, [(t0, 10), (t0 + 60, 20)])

    try:
        for userinfo in (None, "CP-LOCK:wrong", "CP-OTHER:s3cret-pass"):
            with pytest.raises(websockets.InvalidStatus) as refused:
                asyncio.run(session(userinfo))
            assert refused.value.response.status_code == 401
        asyncio.run(session("CP-LOCK:s3cret-pass"))
        wait_until(lambda: gw.gateway.spool.counts()["sent"] == 1, what="reading acknowledged")
    finally:
        gw.stop()
        gw.gateway.close()


def test_ocpp16_signed_data_counts_only_what_the_meter_signed(tmp_path, ingest):
    from cryptography.hazmat.primitives.asymmetric import ec
    from ocpp.v16 import call as call16

    from rwa_sdk.gateway import ocmf

    meter = ec.generate_private_key(ec.SECP256R1())
    gw, signers = _gateway(tmp_path, ingest, [{"name": "eich", "protocol": "ocpp", "ocpp_id": "CP-EICH", "evse": 2,
                                               "meter_key": ocmf.spki_hex(meter.public_key())}])
    t0 = int(time.time()) - 1800

    def record(t, wh, tx, key=meter):
        return ocmf.sign_payload(ocmf.transaction_payload(gateway_id="CP-EICH", meter_serial="EM", pagination=1,
                                                          readings=[(t, wh, tx)]), key)

    def signed_value(t, text):
        return [{"timestamp": iso(t), "sampled_value": [{"value": text, "format": "SignedData",
                                                         "context": "Transaction.Begin"}]}]

    async def charger():
        async with connected(Charger16, gw.ocpp_url, "CP-EICH", "ocpp1.6") as cp:
            await cp.boot()
            started = await cp.call(call16.StartTransaction(connector_id=2, id_tag="T", meter_start=999, timestamp=iso(t0)))
            tx = started.transaction_id
            await cp.call(call16.MeterValues(connector_id=2, transaction_id=tx, meter_value=signed_value(t0, record(t0, 70_000, "B"))))
            forged = record(t0 + 600, 99_000, "C", key=ec.generate_private_key(ec.SECP256R1()))
            await cp.call(call16.MeterValues(connector_id=2, transaction_id=tx, meter_value=signed_value(t0 + 600, forged)))
            await cp.call(call16.StopTransaction(meter_stop=123_456, timestamp=iso(t0 + 1200), transaction_id=tx,
                                                 transaction_data=signed_value(t0 + 1200, record(t0 + 1200, 74_400, "E"))))
            return tx

    try:
        tx = asyncio.run(charger())
        wait_until(lambda: gw.gateway.spool.counts()["sent"] == 1, what="the signed reading acknowledged")
        device = gw.gateway.devices["eich"]
        assert device.unsigned_ignored == 2  # meterStart and meterStop: not signed by the meter
        assert gw.gateway.transaction_billable_wh("eich", str(tx)) == 4_400
        verdicts = [(r["verdict"], r["reason"]) for r in gw.gateway.spool.ocmf_records()]
        assert verdicts == [("verified", None), ("refused", "bad_signature"), ("verified", None)]
    finally:
        gw.stop()
        gw.gateway.close()
    (stored,) = ingest.readings(signers["eich"])
    assert (stored.reading.period_start, stored.reading.period_end, stored.reading.energy_wh) == (t0, t0 + 1200, 4_400)
