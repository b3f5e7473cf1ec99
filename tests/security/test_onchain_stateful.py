"""A dishonest relayer, direct submissions by random accounts, replays, overlapping periods, revocations
and disputes, in any interleaving on Anvil.

Batches may hold readings of several days and state any time span. After every step the chain's totals
equal the model's in every day's period (a batch counts in the day of its stated start, a direct reading in
its own); after a watcher has disputed everything it can, Σ counted energy = Σ energy of the distinct valid
readings: per device, the readings that may count (device active over the period, counted in its own
period, not a direct device's batched reading, not anchored late after a revocation), once per
(device, seq), without overlapping periods (the lower seq wins)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, run_state_machine_as_test

from rwa_sdk import errors
from rwa_sdk.oracle import mmr
from rwa_sdk.oracle.dispute import Inclusion
from rwa_sdk.oracle.merkle import hash_pair, leaf_of

from .onchain_world import ASSET, DAY, world  # noqa: F401  (fixture)

LENGTH = 1_800  # each reading covers half an hour: at 27 W, 13 Wh at most
MAX_WH = 13


@dataclass
class DeviceModel:
    signer: object
    seq: int = 0
    cursor: int = 0
    direct_from: int = 0
    last_seq: int = 0
    last_end: int = 0
    revoked_at: int = 0
    late_from: int | None = None
    activated_at: int = 0


@dataclass
class Counted:
    """One inclusion id on chain: its reading, how many copies it stands for, its dispute state (0, 1, 2)."""

    inclusion: Inclusion
    copies: int
    state: int = 0

    def counted_copies(self) -> int:
        return {0: self.copies, 1: 1, 2: 0}[self.state]

    def span(self) -> tuple[int, int]:
        """The batch's stated span, from the span word that ends the inclusion's path."""
        return mmr.read_span_word(self.inclusion.tree_path[-1])


def _day(t: int) -> int:
    return t // DAY


def _copies(x: Inclusion, digest: bytes) -> int:
    node, copies = leaf_of(digest), 1
    for sibling in x.tree_path[:-1]:  # the last node is the batch's span word
        if sibling == node:
            copies *= 2
        node = hash_pair(node, sibling)
    return copies


def test_onchain_stateful_counted_energy_equals_distinct_valid_readings(world, chain):
    w = world
    fns = w.oracle.functions

    class Oracle(RuleBasedStateMachine):
        @initialize()
        def start(self):
            self.snapshot = chain.snapshot()
            now = chain.timestamp()
            self.devices = []
            for signer in w.devices[:3]:
                info = w.contracts.registry.functions.getDevice(signer.checksum).call()
                # readings start before the last midnight, so batches often hold two days
                cursor = min(now - 12 * 3_600, _day(now) * DAY - 3 * 3_600)
                self.devices.append(DeviceModel(signer, cursor=cursor, activated_at=info[3]))
            self.pool = []  # (device index, reading) generated so far
            self.counted: dict[tuple, Counted] = {}
            self.direct_energy = 0
            self.direct_readings = []
            self.suspended = False
            self.enable_direct(2)  # one device reports directly from the start; others may switch later

        def teardown(self):
            if hasattr(self, "snapshot"):
                chain.revert(self.snapshot)

        # -- devices sign readings ------------------------------------------------------------
        @rule(d=st.integers(0, 2), overlap=st.booleans(), energy=st.integers(1, MAX_WH))
        def sign_reading(self, d, overlap, energy):
            dev = self.devices[d]
            dev.seq += 1
            start = dev.cursor - (LENGTH // 2 if overlap else 0)
            dev.cursor = start + LENGTH
            lag = dev.cursor - chain.timestamp()
            if lag > 0:
                chain.mine(lag)
            self.pool.append((d, w.reading(dev.signer, dev.seq, start, LENGTH, energy)))

        # -- a relayer anchors anything: fresh readings, replays, copies in one batch -----------
        @precondition(lambda self: self.pool)
        @rule(data=st.data(), shift=st.sampled_from([0, 0, 0, -DAY, LENGTH]))
        def anchor(self, data, shift):
            n = len(self.pool)  # mostly recent readings, so copies and overlaps of one device are common
            index = st.one_of(st.integers(max(0, n - 4), n - 1), st.integers(0, n - 1))
            picks = data.draw(st.lists(index, min_size=1, max_size=6))
            if self.suspended:
                w.resume()
                self.suspended = False
            # any readings, copies and several days included, under the true span or a misstated start
            readings = [self.pool[i][1] for i in picks]
            start, end = min(r.period_start for r in readings), max(r.period_end for r in readings)
            if start + shift >= end:
                shift = 0
            for x in w.anchor_as(readings, start + shift, end):
                key = (x.asset_id, x.batch_index, x.tree_path)
                if key not in self.counted:
                    self.counted[key] = Counted(x, _copies(x, w.contracts.domain.digest(x.reading)))

        # -- anyone submits a pool reading directly ------------------------------------------
        @precondition(lambda self: self.pool)
        @rule(data=st.data(), sender=st.integers(0, 4))
        def submit(self, data, sender):
            self.submit_one(data.draw(st.integers(0, len(self.pool) - 1)), sender)

        def submit_one(self, index, sender):
            d, r = self.pool[index]
            dev = self.devices[d]
            ok = (dev.direct_from != 0 and dev.revoked_at == 0 and r.seq > dev.last_seq
                  and r.period_start >= max(dev.last_end, dev.direct_from) and r.period_start >= dev.activated_at)
            try:
                w.submit(dev.signer, r, sender=w.outsiders[sender])
            except errors.ContractError as error:
                assert not ok, f"refused a countable direct reading: {error}"
                return
            assert ok, "counted a direct reading that must be refused"
            dev.last_seq, dev.last_end = r.seq, r.period_end
            self.direct_energy += r.energy_wh
            self.direct_readings.append(r)

        @rule(d=st.integers(0, 2), energy=st.integers(1, MAX_WH), sender=st.integers(0, 4))
        def report_directly(self, d, energy, sender):
            """A device signs its next reading and anyone submits it at once (refused unless it is direct)."""
            self.sign_reading(d, False, energy)
            self.submit_one(len(self.pool) - 1, sender)

        @rule(d=st.integers(0, 2))
        def enable_direct(self, d):
            dev = self.devices[d]
            if dev.direct_from or dev.revoked_at:
                try:
                    w.direct(dev.signer)
                except errors.DirectReportingUnavailable:
                    return
                raise AssertionError("switched a direct or revoked device again")
            w.direct(dev.signer)
            dev.direct_from = chain.timestamp()
            dev.cursor = max(dev.cursor, dev.direct_from)

        @precondition(lambda self: any(not m.revoked_at for m in self.devices))
        @rule(d=st.integers(0, 2))
        def revoke(self, d):
            dev = self.devices[d]
            if dev.revoked_at:
                return
            chain.transact(w.contracts.registry.functions.revokeDevice(dev.signer.checksum), sender=w.operator)
            dev.revoked_at = chain.timestamp()

        @precondition(lambda self: any(m.revoked_at and m.late_from is None for m in self.devices))
        @rule(d=st.integers(0, 2))
        def mark_revocation(self, d):
            dev = self.devices[d]
            if not dev.revoked_at or dev.late_from is not None:
                return
            grace = fns.REVOCATION_GRACE().call()
            chain.mine(max(0, dev.revoked_at + grace - chain.timestamp()))
            chain.transact(fns.markRevocation(dev.signer.checksum), sender=w.outsiders[2])
            dev.late_from = fns.batchCount(ASSET).call()

        # -- a watcher disputes everything it can ---------------------------------------------
        def _countable(self, c: Counted) -> bool:
            r, x = c.inclusion.reading, c.inclusion
            dev = next(m for m in self.devices if m.signer.address == r.device)
            start, end = c.span()
            if not (start <= r.period_start and r.period_end <= end and _day(r.period_start) == _day(start)):
                return False  # counted in another period than its own
            if r.period_start < dev.activated_at or (dev.revoked_at and r.period_end > dev.revoked_at):
                return False
            if dev.direct_from and r.period_end > dev.direct_from:
                return False
            return dev.late_from is None or x.batch_index < dev.late_from

        @precondition(lambda self: self.counted)
        @rule()
        def settle(self):
            live = sorted((c for c in self.counted.values() if c.state != 2),
                          key=lambda c: (c.inclusion.reading.seq, c.inclusion.batch_index, c.inclusion.tree_path))
            for c in live:
                if c.copies > 1 and c.state == 0:
                    w.dispute_one(c.inclusion)
                    c.state, self.suspended = 1, True
                if not self._countable(c):
                    w.dispute_one(c.inclusion)
                    c.state, self.suspended = 2, True
            kept: list[Counted] = []
            for c in (c for c in live if c.state != 2):
                r = c.inclusion.reading
                rival = next((k for k in kept if k.inclusion.reading.device == r.device and (
                    k.inclusion.reading.seq == r.seq or (k.inclusion.reading.period_start < r.period_end
                                                         and r.period_start < k.inclusion.reading.period_end))), None)
                if rival is None:
                    kept.append(c)
                    continue
                w.dispute_pair(rival.inclusion, c.inclusion)
                c.state, self.suspended = 2, True
            for c in kept:  # what is left cannot be disputed
                try:
                    w.dispute_one(c.inclusion)
                except (errors.DisputeInclusionCountable, errors.DisputeInclusionRemoved):
                    continue
                raise AssertionError("a countable inclusion was disputed away")
            survivors = [c.inclusion.reading for c in kept] + self.direct_readings
            by_device: dict[bytes, list] = {}
            for r in survivors:
                by_device.setdefault(r.device, []).append(r)
            for readings in by_device.values():
                readings.sort(key=lambda r: r.period_start)
                assert len({r.seq for r in readings}) == len(readings)
                assert all(a.period_end <= b.period_start for a, b in zip(readings, readings[1:]))
            assert w.energy() == sum(r.energy_wh for r in survivors)
            event(f"disputes after settling: {'some' if fns.disputeCount().call() else 'none'}")
            days = {_day(c.span()[0]) for c in self.counted.values()}
            event(f"batches counted in: {'several days' if len(days) > 1 else 'one day'}")
            event(f"direct readings counted: {'some' if self.direct_readings else 'none'}")

        @invariant()
        def totals_match_the_model_in_every_period(self):
            if not hasattr(self, "counted"):
                return
            by_day: dict[int, int] = {}
            for r in self.direct_readings:
                by_day[_day(r.period_start)] = by_day.get(_day(r.period_start), 0) + r.energy_wh
            for c in self.counted.values():
                day = _day(c.span()[0])
                by_day[day] = by_day.get(day, 0) + c.inclusion.reading.energy_wh * c.counted_copies()
            days = {_day(r.period_start) for _, r in self.pool} | {_day(c.span()[0]) for c in self.counted.values()}
            assert {d: w.day_energy(d) for d in days} == {d: by_day.get(d, 0) for d in days}
            assert w.energy() == sum(by_day.values())
            assert fns.relayingSuspended().call() == self.suspended

    examples = settings.default.max_examples
    if os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci":
        examples = min(examples, 12)  # ~1 minute; `make fuzz` runs the fuzz profile's count
    run_state_machine_as_test(Oracle, settings=settings(settings.default, max_examples=examples,
                                                        stateful_step_count=30, deadline=None))
