"""From a device's cumulative energy register to consecutive Readings (energy in the period, flags).

A protocol adapter reports samples (time, register in Wh); each sample after the first closes one
period [previous sample, this sample). The register's delta is the period's energy. A register
that goes down either wrapped (a fixed-width counter passed its maximum: the delta is taken
modulo the width when that fits the device's capacity) or was reset (meter replaced): then the
reading is flagged ``FLAG_METER_RESET`` and carries the new register's value as energy only if the
device could have produced that much in the period, else 0. Energy is never invented: a device
that was unreachable gets one reading spanning the gap, with the register's measured delta.

Periods are whole seconds while samples are not: a sample taken at 10.9 s after one at 10.0 s
closes the period [10, 10] and one at 12.99 s after 11.01 s closes [11, 12] with nearly two
seconds of energy. A delta that only a second of such truncation explains (within capacity for
one second more) is held: no reading yet, the next sample closes a longer period. Holding stops
after ``HOLD_LIMIT_S``, so a device that really reports more than its nameplate is seen (ingest
refuses the reading as over capacity).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..oracle.reading import FLAG_METER_RESET, Reading

HOLD_LIMIT_S = 60


@dataclass(frozen=True)
class MeterState:
    """What the gateway remembers of one device between samples (kept in the spool)."""

    seq: int = 0  # seq of the last reading made
    last_time: int | None = None  # unix seconds of the last sample
    last_register_wh: int | None = None


@dataclass(frozen=True)
class Sample:
    time: int  # unix seconds
    register_wh: int
    flags: int = 0  # FLAG_ESTIMATED / FLAG_CLOCK_UNSYNCED as the protocol reports them


def max_energy_wh(capacity_w: int, seconds: int) -> int:
    """The most a device of ``capacity_w`` can deliver in ``seconds`` (what ingest allows)."""
    return capacity_w * seconds // 3600


def step(state: MeterState, sample: Sample, *, device: bytes, asset_id: bytes, capacity_w: int,
         rollover_wh: int | None = None) -> tuple[MeterState, Reading | None]:
    """The new state and the Reading ``sample`` closes (None for a first, stale or same-second sample)."""
    if sample.register_wh < 0:
        raise ValueError("a register cannot be negative")
    if state.last_time is None or state.last_register_wh is None:
        return MeterState(state.seq, sample.time, sample.register_wh), None
    if sample.time <= state.last_time:
        return state, None  # a resent or out-of-order sample: the period is already counted
    seconds = sample.time - state.last_time
    bound = max_energy_wh(capacity_w, seconds)
    flags = sample.flags
    delta = sample.register_wh - state.last_register_wh
    if delta < 0:
        wrapped = delta + rollover_wh if rollover_wh else None
        if wrapped is not None and 0 <= wrapped <= bound:
            delta = wrapped
        else:
            flags |= FLAG_METER_RESET
            delta = sample.register_wh if sample.register_wh <= bound else 0
    elif bound < delta <= max_energy_wh(capacity_w, seconds + 1) and seconds < HOLD_LIMIT_S:
        return state, None  # explained by timestamp truncation: let the next sample close a longer period
    reading = Reading(device, asset_id, state.seq + 1, state.last_time, sample.time, delta, sample.register_wh, flags)
    return MeterState(state.seq + 1, sample.time, sample.register_wh), reading
