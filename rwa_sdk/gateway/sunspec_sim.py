"""A SunSpec device on Modbus TCP for tests, benches and demos (pymodbus's server, a real socket).

It presents the common model (1), an inverter model (103) or a meter model (203) and the end
marker at base 40000, with a lifetime-energy accumulator that moves with the power it is given.
``set_energy`` / ``reset`` / a large start value near 2**32 counts let a test drive resets and
rollovers; ``stop``/``start`` make the device unreachable and back.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

from .sunspec import INVERTER_WH, INVERTER_WH_SF, METER_WH_EXPORT, METER_WH_IMPORT, METER_WH_SF, MARKER

BASE = 40000
COMMON_LENGTH = 66
MODEL_LENGTH = {103: 50, 203: 105}


def _text(value: str, registers: int) -> list[int]:
    raw = value.encode()[: registers * 2].ljust(registers * 2, b"\0")
    return [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]


@dataclass
class SimUnit:
    """One SunSpec device (a Modbus unit id): its model, energy counter and power."""

    unit: int = 1
    model: int = 103
    power_w: float = 5_000.0
    sf: int = 0  # energy scale factor: register counts are 10**sf Wh
    counts: float = 0.0  # accumulator value (in register counts) at ``since``
    since: float = field(default_factory=time.time)

    def now_counts(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        wh = self.power_w * (now - self.since) / 3600.0
        return int(self.counts + wh / 10**self.sf) % 2**32

    def set_counts(self, counts: int, now: float | None = None) -> None:
        self.counts, self.since = float(counts), time.time() if now is None else now

    def set_power(self, power_w: float) -> None:
        now = time.time()
        self.counts, self.since, self.power_w = float(self.now_counts(now)), now, power_w

    def energy_offset(self) -> int:
        return 2 + COMMON_LENGTH + 2 + (INVERTER_WH if self.model == 103 else METER_WH_EXPORT)

    def registers(self) -> list[int]:
        common = [1, COMMON_LENGTH] + _text("rwa", 16) + _text(f"sim-{self.model}", 16) + _text("", 8) \
            + _text("1.0", 8) + _text(f"SN{self.unit:05d}", 16) + [self.unit, 0]
        length = MODEL_LENGTH[self.model]
        body = [0] * length
        if self.model == 103:
            body[INVERTER_WH_SF - 2] = self.sf & 0xFFFF
        else:
            body[METER_WH_SF - 2] = self.sf & 0xFFFF
            body[METER_WH_IMPORT - 2:METER_WH_IMPORT] = [0, 0]
        return list(MARKER) + common + [self.model, length] + body + [0xFFFF, 0]


class SunSpecSimulator:
    """A pymodbus TCP server on 127.0.0.1 serving ``units``, run in a thread of its own."""

    def __init__(self, units: list[SimUnit] | None = None, port: int | None = None):
        from ..anvil import free_port

        self.units = {u.unit: u for u in (units or [SimUnit()])}
        self.port = port or free_port()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None

    def _device(self, unit: SimUnit):
        from pymodbus.simulator import DataType, SimData, SimDevice

        async def action(function_code, start_address, address, count, registers, values):
            counts = unit.now_counts()
            i = BASE + unit.energy_offset() - start_address
            registers[i] = counts >> 16
            registers[i + 1] = counts & 0xFFFF
            return None

        return SimDevice(unit.unit, simdata=[SimData(BASE, values=unit.registers(), datatype=DataType.REGISTERS)],
                         action=action)

    def start(self) -> SunSpecSimulator:
        ready = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            from pymodbus.server import ModbusTcpServer

            loop = asyncio.new_event_loop()
            self._loop = loop

            async def listen() -> None:
                self._server = ModbusTcpServer([self._device(u) for u in self.units.values()],
                                               address=("127.0.0.1", self.port))
                await self._server.listen()

            try:
                loop.run_until_complete(listen())
            except BaseException as exc:  # reported to start()
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._server.shutdown())
            loop.close()

        self._thread = threading.Thread(target=serve, name=f"sunspec-sim-{self.port}", daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = self._server = None

    def __enter__(self) -> SunSpecSimulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
