"""Charge points written as users of the ``ocpp`` package write them (its ChargePoint classes, websockets)."""

from __future__ import annotations

import asyncio
import datetime as dt
from contextlib import asynccontextmanager

import websockets
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201


def iso(unix: int) -> str:
    return dt.datetime.fromtimestamp(unix, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def energy_value_201(unix: int, wh: int, signed: dict | None = None, kwh: bool = False) -> dict:
    sampled = {"value": wh / 1000 if kwh else wh, "measurand": "Energy.Active.Import.Register",
               "unit_of_measure": {"unit": "kWh" if kwh else "Wh"}}
    if signed:
        sampled["signed_meter_value"] = signed
    return {"timestamp": iso(unix), "sampled_value": [
        sampled,
        {"value": 7400.0, "measurand": "Power.Active.Import", "unit_of_measure": {"unit": "W"}},  # not energy: skipped
        {"value": wh / 3, "measurand": "Energy.Active.Import.Register", "phase": "L1"},  # a phase: skipped
    ]}


class Charger201(ChargePoint201):
    async def boot(self) -> None:
        await self.call(call201.BootNotification(charging_station={"model": "SimCharger", "vendor_name": "rwa"},
                                                 reason="PowerUp"))
        await self.call(call201.Heartbeat())

    async def status(self, evse: int, status: str = "Available") -> None:
        await self.call(call201.StatusNotification(timestamp=iso(int(dt.datetime.now().timestamp())),
                                                   connector_status=status, evse_id=evse, connector_id=1))

    async def session(self, evse: int, tx: str, samples: list[tuple[int, int]], signed: list[dict] | None = None,
                      kwh: bool = False) -> None:
        """TransactionEvent Started / Updated... / Ended with one energy sample each."""
        for i, (t, wh) in enumerate(samples):
            event = "Started" if i == 0 else "Ended" if i == len(samples) - 1 else "Updated"
            kwargs = {"evse": {"id": evse, "connector_id": 1}} if i == 0 else {}
            await self.call(call201.TransactionEvent(
                event_type=event, timestamp=iso(t), trigger_reason="MeterValuePeriodic" if 0 < i else "CablePluggedIn",
                seq_no=i, transaction_info={"transaction_id": tx},
                meter_value=[energy_value_201(t, wh, signed[i] if signed else None, kwh)], **kwargs))

    async def meter_values(self, evse: int, samples: list[tuple[int, int]]) -> None:
        await self.call(call201.MeterValues(evse_id=evse, meter_value=[energy_value_201(t, wh) for t, wh in samples]))


class Charger16(ChargePoint16):
    async def boot(self) -> None:
        await self.call(call16.BootNotification(charge_point_model="SimCharger", charge_point_vendor="rwa"))
        await self.call(call16.Heartbeat())

    async def session(self, connector: int, samples: list[tuple[int, int]], signed_stop: str | None = None) -> int:
        """StartTransaction, MeterValues for the middle samples, StopTransaction; returns the transaction id."""
        (t0, wh0), middle, (t1, wh1) = samples[0], samples[1:-1], samples[-1]
        await self.call(call16.StatusNotification(connector_id=connector, error_code="NoError", status="Preparing"))
        started = await self.call(call16.StartTransaction(connector_id=connector, id_tag="TAG1", meter_start=wh0,
                                                          timestamp=iso(t0)))
        tx = started.transaction_id
        for t, wh in middle:
            await self.call(call16.MeterValues(connector_id=connector, transaction_id=tx, meter_value=[
                {"timestamp": iso(t), "sampled_value": [
                    {"value": str(wh / 1000), "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
                    {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"}]}]))
        data = None
        if signed_stop:
            data = [{"timestamp": iso(t1), "sampled_value": [
                {"value": signed_stop, "format": "SignedData", "measurand": "Energy.Active.Import.Register",
                 "context": "Transaction.End"}]}]
        await self.call(call16.StopTransaction(meter_stop=wh1, timestamp=iso(t1), transaction_id=tx,
                                               transaction_data=data))
        return tx


@asynccontextmanager
async def connected(cls, url: str, charge_point_id: str, subprotocol: str):
    """A charger of class ``cls`` connected to ``url``/``charge_point_id`` and listening."""
    async with websockets.connect(f"{url}/{charge_point_id}", subprotocols=[subprotocol]) as ws:
        cp = cls(charge_point_id, ws)
        listener = asyncio.create_task(cp.start())
        try:
            yield cp
        finally:
            listener.cancel()
