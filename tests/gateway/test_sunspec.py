"""SunSpec over Modbus TCP against a pymodbus server presenting a SunSpec map with a moving energy register."""

from __future__ import annotations

import asyncio
import time

import pytest

from rwa_sdk.gateway.meter import Sample
from rwa_sdk.gateway.service import Gateway, GatewayThread
from rwa_sdk.gateway.spool import Spool
from rwa_sdk.gateway.sunspec import SunSpecDevice, SunSpecError
from rwa_sdk.gateway.sunspec_sim import SimUnit, SunSpecSimulator
from rwa_sdk.oracle.reading import FLAG_METER_RESET, ReadingDomain

from .conftest import ASSET, CHAIN_ID, ORACLE, device_signer, gateway_config, wait_until


@pytest.mark.parametrize("model,sf,register", [(103, 0, 40094), (103, -1, 40094), (203, 2, 40108)])
def test_discovery_finds_the_energy_register_and_its_scale_factor(model, sf, register):
    unit = SimUnit(3, model, power_w=7_200_000, sf=sf)  # 2 Wh a millisecond: visibly moving
    with SunSpecSimulator([unit]) as sim:
        async def read():
            dev = SunSpecDevice("127.0.0.1", sim.port, 3)
            found = await dev.discover()
            first, rollover = await dev.read_energy()
            await asyncio.sleep(0.3)
            second, _ = await dev.read_energy()
            dev.close()
            return found, first, second, rollover
        found, first, second, rollover = asyncio.run(read())
    assert (found.model, found.address) == (model, register)
    assert rollover == (2**32 * 10**sf if sf >= 0 else 2**32 // 10**-sf)
    assert 300 <= second - first <= 2_000  # 0.3 s at 2 kWh/s, with the test's own overhead


def test_a_device_without_sunspec_is_refused_with_a_reason():
    with SunSpecSimulator([SimUnit(1)]) as sim:
        async def read(unit):
            dev = SunSpecDevice("127.0.0.1", sim.port, unit, timeout_s=0.5)
            try:
                return await dev.read_energy()
            finally:
                dev.close()
        with pytest.raises(SunSpecError):
            asyncio.run(read(9))  # no such unit on the line
    with pytest.raises(SunSpecError, match="cannot connect"):
        asyncio.run(read(1))  # server gone


def _poll_into(spool, sim, unit_id, times, signer, capacity_w=10_000, before=None):
    """Poll the simulator once per entry of ``times`` (fake clock), recording readings like the gateway does."""
    domain = ReadingDomain(CHAIN_ID, ORACLE)

    async def run():
        dev = SunSpecDevice("127.0.0.1", sim.port, unit_id)
        made = []
        for i, t in enumerate(times):
            if before:
                before(i)
            register, rollover = await dev.read_energy()
            made += spool.record(signer.address, ASSET, capacity_w, [Sample(t, register)],
                                 lambda r: domain.sign(r, signer.key), rollover_wh=rollover)
        dev.close()
        return made
    return asyncio.run(run())


def test_rollover_of_the_acc32_counts_energy_not_a_reset(tmp_path):
    unit = SimUnit(1, 103, power_w=0, sf=0)
    unit.set_counts(2**32 - 500)
    step = [0, 300, 300, 300]  # Wh added before each poll: the second poll passes 2**32
    signer = device_signer(1)
    spool = Spool(tmp_path / "s.db")

    def move(i):
        unit.set_counts((unit.now_counts() + step[i]) % 2**32)

    with SunSpecSimulator([unit]) as sim:
        made = _poll_into(spool, sim, 1, [1000, 1600, 2200, 2800], signer, before=move)
    assert [(r.energy_wh, r.meter_wh, r.flags) for r in made] == [(300, 2**32 - 200, 0), (300, 100, 0), (300, 400, 0)]


def test_reset_is_flagged_and_invents_no_energy(tmp_path):
    unit = SimUnit(1, 203, power_w=0, sf=0)
    unit.set_counts(900_000)
    values = [900_000, 901_000, 150_000, 150_400]  # meter swapped before the third poll with 150 kWh on it
    signer = device_signer(2)
    spool = Spool(tmp_path / "s.db")
    with SunSpecSimulator([unit]) as sim:
        made = _poll_into(spool, sim, 1, [0, 600, 1200, 1800], signer, before=lambda i: unit.set_counts(values[i]))
    # 150 kWh in 10 minutes is beyond a 10 kW device: the reset reading claims nothing
    assert [(r.energy_wh, r.flags) for r in made] == [(1_000, 0), (0, FLAG_METER_RESET), (400, 0)]


def test_gateway_polls_flags_an_unreachable_device_and_spans_the_gap_with_measured_energy(tmp_path, ingest):
    unit = SimUnit(1, 103, power_w=36_000, sf=-1)  # 10 Wh a second, register in tenths of Wh
    sim = SunSpecSimulator([unit]).start()
    signer = device_signer(3)
    ingest.register(signer, capacity_w=40_000)
    config = gateway_config(tmp_path, ingest.url, [{"name": "inv", "protocol": "modbus", "host": "127.0.0.1",
                                                    "port": sim.port, "unit": 1, "poll_s": 1, "capacity_w": 40_000,
                                                    "type": "pv-inverter"}])
    gw = GatewayThread(Gateway(config, signers={"inv": signer})).start()
    device = gw.gateway.devices["inv"]
    try:
        wait_until(lambda: gw.gateway.spool.counts()["sent"] >= 2, what="first readings")
        sim.stop()
        wait_until(lambda: device.status == "unreachable", what="device marked unreachable")
        during = gw.gateway.stats.readings
        time.sleep(1.5)
        assert gw.gateway.stats.readings == during  # nothing made up while it is away
        sim = SunSpecSimulator([unit], port=sim.port).start()
        wait_until(lambda: device.status == "ok" and gw.gateway.spool.counts()["sent"] >= during + 2, what="recovery")
    finally:
        gw.stop()
        gw.gateway.close()
        sim.stop()
    readings = [s.reading for s in ingest.readings(signer)]
    assert len(readings) >= 4
    for a, b in zip(readings, readings[1:]):
        assert b.period_start == a.period_end and b.meter_wh - a.meter_wh == b.energy_wh and b.flags == 0
    gap = max(readings, key=lambda r: r.period_end - r.period_start)
    assert gap.period_end - gap.period_start >= 2 and gap.energy_wh >= 10 * (gap.period_end - gap.period_start) - 20
