"""The OCPP central system (CSMS) side for chargers: OCPP 2.0.1 and 1.6 over WebSocket (the ``ocpp`` package).

A charger connects to ``ws://host:port/<chargePointId>`` with subprotocol ``ocpp2.0.1`` or
``ocpp1.6``; an id the config does not know is refused (close code 1008). Each EVSE (2.0.1) or
connector (1.6) is one device. Energy.Active.Import.Register samples, from MeterValues,
TransactionEvent (2.0.1) or StartTransaction/StopTransaction (1.6), are handed to
:meth:`MeterSink.samples` and the charger is answered only once they are durably spooled, so a
charger whose message was not answered sends it again. Signed meter values (2.0.1
``signedMeterValue``; 1.6 ``format: SignedData``) carry OCMF records, checked by the sink.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201

log = logging.getLogger("rwa_sdk.gateway.ocpp")

ENERGY_REGISTER = "Energy.Active.Import.Register"
SUBPROTOCOLS = ("ocpp2.0.1", "ocpp1.6")
HEARTBEAT_S = 300


@dataclass(frozen=True)
class RawSample:
    """One energy-register sample as the charger sent it."""

    time: int  # unix seconds
    register_wh: int | None  # None when only a signed record carries the value
    signed: str | None = None  # the OCMF record, if any
    public_key: str | None = None  # the key the charger names for it (2.0.1 publicKey)
    transaction_id: str | None = None


class MeterSink(Protocol):
    def knows(self, charge_point_id: str) -> bool: ...
    def password(self, charge_point_id: str) -> str | None: ...
    async def samples(self, charge_point_id: str, evse: int, samples: list[RawSample]) -> None: ...
    def status(self, charge_point_id: str, evse: int, status: str) -> None: ...


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def parse_time(text: str) -> int:
    """Unix seconds of an OCPP timestamp (RFC 3339; a missing zone is read as UTC)."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return int(value.timestamp())


_UNIT_WH = {"Wh": Decimal(1), "kWh": Decimal(1000)}


def _energy_samples(meter_values: list[dict] | None, *, v16: bool, transaction_id: str | None = None) -> list[RawSample]:
    """The total active-import energy registers of a MeterValue list (phases and other measurands skipped)."""
    out = []
    for mv in meter_values or []:
        try:
            t = parse_time(mv["timestamp"])
        except (KeyError, TypeError, ValueError):
            log.warning("meter value without a valid timestamp skipped")
            continue
        for sv in mv.get("sampled_value") or []:
            if sv.get("measurand", ENERGY_REGISTER) != ENERGY_REGISTER or sv.get("phase"):
                continue
            if sv.get("location") not in (None, "Outlet"):
                continue
            if v16:
                if sv.get("format") == "SignedData":
                    out.append(RawSample(t, None, signed=str(sv.get("value", "")), transaction_id=transaction_id))
                    continue
                unit, multiplier = sv.get("unit", "Wh"), 0
            else:
                uom = sv.get("unit_of_measure") or {}
                unit, multiplier = uom.get("unit", "Wh"), int(uom.get("multiplier", 0) or 0)
            register = _wh(sv.get("value"), unit, multiplier)
            signed = sv.get("signed_meter_value") if not v16 else None
            if signed:
                out.append(RawSample(t, register, signed=signed.get("signed_meter_data"),
                                     public_key=signed.get("public_key") or None, transaction_id=transaction_id))
            elif register is not None:
                out.append(RawSample(t, register, transaction_id=transaction_id))
    return out


def _wh(value: Any, unit: str, multiplier: int) -> int | None:
    if unit not in _UNIT_WH:
        return None
    try:
        wh = Decimal(str(value)) * _UNIT_WH[unit] * Decimal(10) ** multiplier
    except (InvalidOperation, ValueError):
        return None
    if not wh.is_finite() or wh < 0:
        return None
    return int(wh)


class Csms201(ChargePoint201):
    """One OCPP 2.0.1 charger's session, as the central system sees it."""

    def __init__(self, charge_point_id: str, connection: Any, sink: MeterSink):
        super().__init__(charge_point_id, connection)
        self.sink = sink
        self._tx_evse: dict[str, int] = {}

    @on(Action201.boot_notification)
    async def on_boot(self, charging_station: dict, reason: str, **_: Any):
        log.info("charger %s booted (%s %s, %s)", self.id, charging_station.get("vendor_name"),
                 charging_station.get("model"), reason)
        return result201.BootNotification(current_time=now_iso(), interval=HEARTBEAT_S, status="Accepted")

    @on(Action201.heartbeat)
    async def on_heartbeat(self, **_: Any):
        return result201.Heartbeat(current_time=now_iso())

    @on(Action201.status_notification)
    async def on_status(self, evse_id: int, connector_status: str, **_: Any):
        self.sink.status(self.id, evse_id, connector_status)
        return result201.StatusNotification()

    @on(Action201.meter_values)
    async def on_meter_values(self, evse_id: int, meter_value: list, **_: Any):
        await self.sink.samples(self.id, evse_id, _energy_samples(meter_value, v16=False))
        return result201.MeterValues()

    @on(Action201.transaction_event)
    async def on_transaction_event(self, event_type: str, transaction_info: dict, meter_value: list | None = None,
                                   evse: dict | None = None, **_: Any):
        tx = str(transaction_info.get("transaction_id"))
        if evse and "id" in evse:
            self._tx_evse[tx] = int(evse["id"])
        evse_id = self._tx_evse.get(tx)
        if evse_id is None:
            log.warning("charger %s: transaction %s names no EVSE; its meter values are skipped", self.id, tx)
        elif meter_value:
            await self.sink.samples(self.id, evse_id, _energy_samples(meter_value, v16=False, transaction_id=tx))
        if event_type == "Ended":
            self._tx_evse.pop(tx, None)
        return result201.TransactionEvent()


class Csms16(ChargePoint16):
    """One OCPP 1.6 charger's session, as the central system sees it."""

    def __init__(self, charge_point_id: str, connection: Any, sink: MeterSink, transaction_ids: Any):
        super().__init__(charge_point_id, connection)
        self.sink = sink
        self._next_tx = transaction_ids
        self._tx_connector: dict[int, int] = {}

    @on(Action16.boot_notification)
    async def on_boot(self, charge_point_vendor: str, charge_point_model: str, **_: Any):
        log.info("charger %s booted (%s %s)", self.id, charge_point_vendor, charge_point_model)
        return result16.BootNotification(current_time=now_iso(), interval=HEARTBEAT_S, status="Accepted")

    @on(Action16.heartbeat)
    async def on_heartbeat(self, **_: Any):
        return result16.Heartbeat(current_time=now_iso())

    @on(Action16.status_notification)
    async def on_status(self, connector_id: int, status: str, **_: Any):
        self.sink.status(self.id, connector_id, status)
        return result16.StatusNotification()

    @on(Action16.start_transaction)
    async def on_start(self, connector_id: int, meter_start: int, timestamp: str, **_: Any):
        tx = self._next_tx()
        self._tx_connector[tx] = connector_id
        await self.sink.samples(self.id, connector_id, [RawSample(parse_time(timestamp), int(meter_start),
                                                                  transaction_id=str(tx))])
        return result16.StartTransaction(transaction_id=tx, id_tag_info={"status": "Accepted"})

    @on(Action16.stop_transaction)
    async def on_stop(self, meter_stop: int, timestamp: str, transaction_id: int,
                      transaction_data: list | None = None, **_: Any):
        connector = self._tx_connector.pop(transaction_id, None)
        if connector is None:
            log.warning("charger %s: stop of unknown transaction %s; its meter values are skipped", self.id, transaction_id)
        else:
            samples = _energy_samples(transaction_data, v16=True, transaction_id=str(transaction_id))
            samples.append(RawSample(parse_time(timestamp), int(meter_stop), transaction_id=str(transaction_id)))
            await self.sink.samples(self.id, connector, samples)
        return result16.StopTransaction(id_tag_info={"status": "Accepted"})

    @on(Action16.meter_values)
    async def on_meter_values(self, connector_id: int, meter_value: list, transaction_id: int | None = None, **_: Any):
        if connector_id > 0:  # connector 0 is the whole charge point, not a device
            tx = str(transaction_id) if transaction_id is not None else None
            await self.sink.samples(self.id, connector_id, _energy_samples(meter_value, v16=True, transaction_id=tx))
        return result16.MeterValues()


class CsmsServer:
    """The WebSocket listener; one :class:`Csms201`/:class:`Csms16` per connected charger."""

    def __init__(self, sink: MeterSink, host: str = "127.0.0.1", port: int = 9000):
        self.sink = sink
        self.host, self.port = host, port
        self._server = None
        self._tx = 0
        self.connected: dict[str, Any] = {}

    def _next_tx(self) -> int:
        self._tx += 1  # time-based so ids do not repeat across restarts; OCPP 1.6 ids are int32
        return (int(dt.datetime.now().timestamp() * 1000) + self._tx) % (2**31 - 1) + 1

    async def _session(self, websocket: Any) -> None:
        path = (websocket.request.path if websocket.request else "/").split("?", 1)[0]
        charge_point_id = path.rstrip("/").rsplit("/", 1)[-1]
        if websocket.subprotocol is None:
            await websocket.close(1002, "no OCPP subprotocol (ocpp2.0.1 or ocpp1.6)")
            return
        if not self.sink.knows(charge_point_id):
            log.warning("refused unknown charger %r", charge_point_id)
            await websocket.close(1008, "unknown charge point")
            return
        if websocket.subprotocol == "ocpp2.0.1":
            cp: Any = Csms201(charge_point_id, websocket, self.sink)
        else:
            cp = Csms16(charge_point_id, websocket, self.sink, self._next_tx)
        self.connected[charge_point_id] = cp
        try:
            await cp.start()
        except Exception as exc:  # a closed socket ends the session (the charger reconnects)
            log.info("charger %s disconnected (%s)", charge_point_id, type(exc).__name__)
        finally:
            if self.connected.get(charge_point_id) is cp:
                del self.connected[charge_point_id]

    def _authorize(self, connection: Any, request: Any) -> Any:
        """OCPP Security Profile 1: HTTP Basic auth with the charge point id as user, where a password is set."""
        import base64
        import hmac
        from http import HTTPStatus

        charge_point_id = request.path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        expected = self.sink.password(charge_point_id) if self.sink.knows(charge_point_id) else None
        if expected is None:
            return None  # unknown ids are refused after the handshake; ids without a password need none
        header = request.headers.get("Authorization", "")
        try:
            scheme, _, encoded = header.partition(" ")
            user, _, given = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            scheme, user, given = "", "", ""
        if scheme.lower() != "basic" or not hmac.compare_digest(user.encode(), charge_point_id.encode()) \
                or not hmac.compare_digest(given.encode(), expected.encode()):
            log.warning("charger %r failed authentication", charge_point_id)
            response = connection.respond(HTTPStatus.UNAUTHORIZED, "authentication required\n")
            response.headers["WWW-Authenticate"] = 'Basic realm="ocpp"'
            return response
        return None

    async def start(self) -> CsmsServer:
        import websockets

        self._server = await websockets.serve(self._session, self.host, self.port, subprotocols=list(SUBPROTOCOLS),
                                              ping_interval=60, max_size=2**20, process_request=self._authorize)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("OCPP central system listening on ws://%s:%d/<chargePointId>", self.host, self.port)
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
