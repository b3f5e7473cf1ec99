"""SunSpec over Modbus TCP: find the register map, read a device's lifetime energy with its scale factor.

Discovery follows the SunSpec Information Model spec: the map starts at one of the well-known
base addresses (40000, 0, 50000) with the marker ``SunS`` (0x5375 0x6E53), then models follow as
(id, length, body) until id 0xFFFF. The energy register is

* inverter models 101/102/103 (integer + scale factor): ``WH`` (acc32) at offset 24, ``WH_SF`` at 26;
* meter models 201-204: ``TotWhExp`` (acc32) at offset 38 or ``TotWhImp`` at 46, ``TotWh_SF`` at 54,

offsets counted from the model's id register. An acc32 wraps at 2**32 counts, so the rollover of
the register in Wh is ``2**32 * 10**sf``; an accumulator of 0 means "not implemented".
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

log = logging.getLogger("rwa_sdk.gateway.sunspec")

BASE_ADDRESSES = (40000, 0, 50000)
MARKER = (0x5375, 0x6E53)  # "SunS"
END_MODEL = 0xFFFF
INVERTER_MODELS = (101, 102, 103)
METER_MODELS = (201, 202, 203, 204)
INVERTER_WH, INVERTER_WH_SF = 24, 26
METER_WH_EXPORT, METER_WH_IMPORT, METER_WH_SF = 38, 46, 54
MAX_MODELS = 64


class SunSpecError(RuntimeError):
    """The device does not present a usable SunSpec map (or could not be read)."""


@dataclass(frozen=True)
class EnergyRegister:
    """Where a device keeps its lifetime energy."""

    model: int
    address: int  # of the acc32 (two registers, high word first)
    sf_address: int

    @property
    def kind(self) -> str:
        return "inverter" if self.model in INVERTER_MODELS else "meter"


def to_int16(value: int) -> int:
    return value - 0x10000 if value & 0x8000 else value


def energy_wh(raw: int, sf: int) -> int:
    """Whole Wh of an accumulator value ``raw`` with scale factor ``sf``."""
    return raw * 10**sf if sf >= 0 else raw // 10**-sf


def rollover_wh(sf: int) -> int:
    return energy_wh(2**32, sf)


class SunSpecDevice:
    """One SunSpec device behind a Modbus TCP endpoint (unit id), read with pymodbus's async client."""

    def __init__(self, host: str, port: int = 502, unit: int = 1, *, timeout_s: float = 3.0, import_energy: bool = False):
        self.host, self.port, self.unit = host, port, unit
        self.timeout_s = timeout_s
        self.import_energy = import_energy
        self.register: EnergyRegister | None = None
        self._client = None

    async def _read(self, address: int, count: int) -> list[int]:
        from pymodbus.client import AsyncModbusTcpClient
        from pymodbus.exceptions import ModbusException

        if self._client is None or not self._client.connected:
            if self._client is not None:
                self._client.close()
            self._client = AsyncModbusTcpClient(self.host, port=self.port, timeout=self.timeout_s, retries=0,
                                                reconnect_delay=0)
            if not await self._client.connect():
                self._client = None
                raise SunSpecError(f"cannot connect to {self.host}:{self.port}")
        try:
            response = await self._client.read_holding_registers(address, count=count, device_id=self.unit)
        except (ModbusException, asyncio.TimeoutError, OSError) as exc:
            self.close()
            raise SunSpecError(f"{self.host}:{self.port} unit {self.unit}: {type(exc).__name__}") from None
        if response.isError() or len(response.registers) < count:
            raise SunSpecError(f"{self.host}:{self.port} unit {self.unit}: read of {count} at {address} refused")
        return list(response.registers)

    async def discover(self) -> EnergyRegister:
        """Find the base address and the first inverter or meter model."""
        for base in BASE_ADDRESSES:
            try:
                marker = await self._read(base, 2)
            except SunSpecError:
                if self._client is None:
                    raise
                continue
            if tuple(marker) != MARKER:
                continue
            address = base + 2
            for _ in range(MAX_MODELS):
                model, length = await self._read(address, 2)
                if model == END_MODEL:
                    break
                if model in INVERTER_MODELS and length >= INVERTER_WH_SF - 1:
                    self.register = EnergyRegister(model, address + INVERTER_WH, address + INVERTER_WH_SF)
                    return self.register
                if model in METER_MODELS and length >= METER_WH_SF - 1:
                    offset = METER_WH_IMPORT if self.import_energy else METER_WH_EXPORT
                    self.register = EnergyRegister(model, address + offset, address + METER_WH_SF)
                    return self.register
                address += 2 + length
            raise SunSpecError(f"{self.host}:{self.port} unit {self.unit}: no inverter (101-103) or meter (201-204) model")
        raise SunSpecError(f"{self.host}:{self.port} unit {self.unit}: no SunSpec marker at {BASE_ADDRESSES}")

    async def read_energy(self) -> tuple[int, int]:
        """(lifetime energy in Wh, rollover of the register in Wh)."""
        register = self.register or await self.discover()
        block = await self._read(register.address, register.sf_address - register.address + 1)  # one request
        hi, lo, sf = block[0], block[1], to_int16(block[-1])
        if sf == -32768:  # "not implemented"
            raise SunSpecError(f"{self.host}:{self.port} unit {self.unit}: energy scale factor not implemented")
        return energy_wh((hi << 16) | lo, sf), rollover_wh(sf)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
