"""Properties of register samples to readings: energy conserved across rollovers, resets flagged, never over capacity."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rwa_sdk.gateway.meter import MeterState, Sample, max_energy_wh, step
from rwa_sdk.oracle.reading import FLAG_METER_RESET

DEVICE, ASSET = b"\x01" * 20, b"\x02" * 32
CAPACITY = 10_000
WIDTH = 2**32


@given(start=st.integers(0, WIDTH - 1),
       periods=st.lists(st.tuples(st.integers(1, 3600), st.floats(0, 1)), min_size=1, max_size=40))
def test_property_energy_through_rollovers_is_the_true_energy(start, periods):
    state = MeterState()
    state, first = step(state, Sample(1_000, start), device=DEVICE, asset_id=ASSET, capacity_w=CAPACITY, rollover_wh=WIDTH)
    assert first is None
    t, true_register, total = 1_000, start, 0
    for seconds, share in periods:
        t += seconds
        produced = int(max_energy_wh(CAPACITY, seconds) * share)
        true_register += produced
        state, reading = step(state, Sample(t, true_register % WIDTH), device=DEVICE, asset_id=ASSET,
                              capacity_w=CAPACITY, rollover_wh=WIDTH)
        assert reading.energy_wh == produced and reading.flags == 0
        assert reading.energy_wh <= max_energy_wh(CAPACITY, seconds)
        total += reading.energy_wh
    assert total == true_register - start and state.seq == len(periods)


@given(samples=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 10**9)), min_size=2, max_size=40))
def test_property_any_sample_sequence_gives_consecutive_capacity_bounded_readings(samples):
    state, readings = MeterState(), []
    for t, register in samples:
        state, reading = step(state, Sample(t, register), device=DEVICE, asset_id=ASSET, capacity_w=CAPACITY)
        if reading is not None:
            readings.append(reading)
    for prev, cur in zip(readings, readings[1:]):
        assert cur.seq == prev.seq + 1 and cur.period_start == prev.period_end
    for r in readings:
        assert r.period_end > r.period_start
        if r.flags & FLAG_METER_RESET:
            assert r.energy_wh <= max_energy_wh(CAPACITY, r.period_end - r.period_start)
        else:
            assert r.energy_wh >= 0


def test_stale_and_same_second_samples_make_no_reading():
    state, _ = step(MeterState(), Sample(100, 5), device=DEVICE, asset_id=ASSET, capacity_w=CAPACITY)
    for t in (100, 99, 0):
        again, reading = step(state, Sample(t, 50), device=DEVICE, asset_id=ASSET, capacity_w=CAPACITY)
        assert reading is None and again == state


def test_a_delta_explained_by_second_truncation_waits_for_a_longer_period():
    kw = dict(device=DEVICE, asset_id=ASSET, capacity_w=3_600)  # 1 Wh a second
    state, _ = step(MeterState(), Sample(10, 0), **kw)
    held, reading = step(state, Sample(11, 2), **kw)  # 2 Wh "in one second": really ~2 s between the polls
    assert reading is None and held == state
    state, reading = step(held, Sample(13, 3), **kw)
    assert (reading.period_start, reading.period_end, reading.energy_wh) == (10, 13, 3)
    # a device that really claims more than its nameplate is not held forever
    state, reading = step(state, Sample(13 + 60, 3 + 61), **kw)
    assert reading is not None and reading.energy_wh == 61
