"""Relayer: build Merkle batches from the store, anchor them on chain, mark them after the receipt.

Crash safety comes from the order of writes: a batch and its readings are assigned in one
transaction; a signed transaction's hash and nonce are committed *before* it is broadcast; readings
count as anchored only after a receipt with enough confirmations. A batch is only ever re-sent under
the nonce it was first signed with (so at most one of its transactions can be mined) unless that nonce
was consumed by something else and the batch's root is not in the ``BatchAnchored`` logs. On restart, a
batch already on chain is recognised by its asset and root (both indexed in the log), so it is never
sent twice: the contract keeps no per-root record and would count it again.

The relayer signs its own transactions (eth-account), tracks its nonce, bumps fees to replace a
transaction that is stuck, and backs off on RPC errors. Given a :mod:`leadership <.leader>`, it works only
while it leads (other relayers on the same store stand by) and checks it still leads before each broadcast.

Revocation cut-off: before cutting a batch and again before sending it, the relayer reads the registry's
``DeviceRevoked`` / ``DeviceKeyRotated`` logs up to the latest block and records them in the store; a
reading whose device was revoked before the reading reached the store (``received_at`` at or after the
revocation time), or whose period ends after the revocation, is dropped with an alert, never anchored.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.contract import Contract
from web3.exceptions import TransactionNotFound

from .. import errors
from ..chain import Chain
from . import batch_tree
from .batch_log import anchored_batches, batches_in_receipt
from .leader import Leadership
from .merkle import MerkleTree
from .metrics import Metrics
from .reading import ReadingDomain, keccak256, to_checksum
from .store import BatchRecord, BatchStatus, OracleBinding, ReadingStore, StoredReading

REVOKED_TOPIC = keccak256(b"DeviceRevoked(address,bytes32,uint48)")
ROTATED_TOPIC = keccak256(b"DeviceKeyRotated(address,address,bytes32,uint48)")
DIRECT_TOPIC = keccak256(b"DirectReportingEnabled(address,bytes32,uint48)")
_FOLLOW_CURSOR = "revocations_block"  # the last block whose registry and oracle logs were read

log = logging.getLogger("rwa_sdk.oracle.relayer")


class RelayerError(RuntimeError):
    """A problem the relayer cannot retry away (e.g. it lacks RELAYER_ROLE)."""


class LostLeadership(RuntimeError):
    """Another relayer leads now: stand by."""


def asset_label(asset: bytes) -> str:
    """How logs name an asset: its id in full (ids often share a prefix, or are a short symbol padded)."""
    return "0x" + asset.hex()


@dataclass(frozen=True)
class RelayerConfig:
    """When to cut a batch and how to get it on chain."""

    max_batch_size: int = 1_000
    max_batch_age_s: float = 30.0
    max_batches_per_tx: int = 8
    confirmations: int = 1
    poll_interval_s: float = 0.5
    stuck_after_s: float = 60.0
    fee_bump: float = 1.25  # nodes require at least +10% (geth) / +12.5% to replace
    gas_margin: float = 1.25
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    from_block: int = 0  # no BatchAnchored log of ours is older (a batch is looked for from when it was cut)
    reorg_window_blocks: int = 64  # anchors this recent are checked again: a reorg may still undo them
    recheck_interval_s: float = 15.0
    standby_poll_s: float = 1.0  # how often a standby relayer tries to take the lead
    log_chunk_blocks: int = 10_000  # registry logs read this many blocks at a time


@dataclass
class _InFlight:
    """What we know about the transaction carrying the batches in flight (lost on restart)."""

    nonce: int
    sent_at: float
    tx: dict[str, Any] | None = None


@dataclass
class RelayerState:
    """Read by /healthz: the last error, consecutive failures, when the last batch went through."""

    last_error: str = ""
    failures: int = 0
    last_anchor_at: float = 0.0
    anchored_batches: int = 0
    leading: bool = False
    dropped_readings: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Relayer:
    """Moves readings from the store onto the chain; one transaction in flight at a time."""

    def __init__(
        self,
        chain: Chain,
        oracle: Contract,
        store: ReadingStore,
        account: LocalAccount,
        config: RelayerConfig = RelayerConfig(),
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        leadership: Leadership | None = None,
        registry: Contract | None = None,
    ):
        self.chain = chain
        self.w3 = chain.w3
        self.oracle = oracle
        self.store = store
        self.account = account
        self.config = config
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.state = RelayerState()
        store.bind(OracleBinding.of(oracle))  # its batches and this oracle's logs must describe the same thing
        self.epoch_length = oracle.functions.epochLength().call()
        self.domain = ReadingDomain.from_contract(oracle)  # batch trees hash the readings' digests again
        self._inflight: _InFlight | None = None
        self._nonce: int | None = None
        self._rechecked_at = float("-inf")
        self.leadership = leadership
        if registry is None:
            registry = chain.contract("DeviceRegistry", oracle.functions.registry().call())
        self.registry = registry

    # -- leadership ---------------------------------------------------------------------------
    def _lead(self, stop: threading.Event, drain: threading.Event | None = None) -> bool:
        """Block until this relayer leads (True) or ``stop`` (or ``drain``) is set (False)."""
        if self.leadership is None:
            self.state.leading = True
            return True
        announced = False
        while not stop.is_set() and not (drain is not None and drain.is_set()):
            if self.leadership.try_acquire():
                self.state.leading = True
                self._inflight, self._nonce = None, None  # whatever the previous leader did is in the store
                log.info("relayer %s leads (%s)", self.account.address, self.leadership.describe())
                return True
            if not announced:
                log.info("relayer %s on standby: another relayer leads (%s)", self.account.address,
                         self.leadership.describe())
                announced = True
            stop.wait(self.config.standby_poll_s)
        return False

    def _check_leading(self) -> None:
        if self.leadership is not None and not self.leadership.held():
            self.state.leading = False
            raise LostLeadership("leadership lost")

    # -- main loop ----------------------------------------------------------------------------
    def run(self, stop: threading.Event, drain: threading.Event | None = None) -> None:
        """Work until ``stop`` is set. When ``drain`` is set, cut no new batch, finish the one in flight."""
        try:
            self._run(stop, drain)
        finally:
            if self.leadership is not None:
                self.leadership.release()
                self.state.leading = False

    def _run(self, stop: threading.Event, drain: threading.Event | None) -> None:
        delay = self.config.backoff_initial_s
        if not self._lead(stop, drain):
            return
        while not stop.is_set():
            try:
                self._check_leading()
                busy = self.step(build=not (drain and drain.is_set()))
            except RelayerError:
                raise
            except LostLeadership:
                log.warning("relayer %s lost the lead: standing by", self.account.address)
                if drain is not None and drain.is_set():
                    return
                if not self._lead(stop, drain):
                    return
                continue
            except Exception as exc:  # RPC down, node errors, timeouts: retry with backoff
                self.state.failures += 1
                self.state.last_error = f"{type(exc).__name__}: {exc}"[:300]
                self.metrics.inc("relayer_errors_total", help_text="relayer iterations that failed (retried)")
                log.warning("relayer step failed (retry in %.1fs): %s", delay, self.state.last_error)
                stop.wait(delay)
                delay = min(delay * 2, self.config.backoff_max_s)
                continue
            self.state.failures = 0
            delay = self.config.backoff_initial_s
            if drain is not None and drain.is_set() and not self.has_work_in_flight():
                return
            if not busy:
                stop.wait(self.config.poll_interval_s)

    def has_work_in_flight(self) -> bool:
        return bool(self.store.batches(BatchStatus.SENT))

    def step(self, build: bool = True) -> bool:
        """One unit of work; True if something moved (so the loop should not sleep)."""
        sent = self.store.batches(BatchStatus.SENT)
        if sent:
            moved = self._advance(sent)
            if not moved and build and not self.store.batches(BatchStatus.BUILT):
                self.build_batches()  # cut the next batches while the transaction in flight is mined
            return moved
        built = self.store.batches(BatchStatus.BUILT)
        if not built and build:
            self.build_batches()
            built = self.store.batches(BatchStatus.BUILT)
        if built:
            built = self._screen(built[: self.config.max_batches_per_tx])
            return self._send(built) if built else True
        if self.clock() - self._rechecked_at >= self.config.recheck_interval_s:
            return self.recheck_recent()
        return False

    def recheck_recent(self) -> bool:
        """Look again at the anchors of the last ``reorg_window_blocks`` blocks; True if a reorg undid one.

        A batch whose log is gone goes back to SENT under its original nonce (the dropped transaction may
        come back from the mempool, and must not be mined alongside a second one); a batch mined again in
        another block gets that block and its new index."""
        self._rechecked_at = self.clock()
        latest = self.w3.eth.block_number
        recent = self.store.anchored_since(max(0, latest - self.config.reorg_window_blocks))
        if not recent:
            return False
        since = min(b.built_block for b in recent)
        on_chain = {(a.asset_id, a.merkle_root): a for a in anchored_batches(self.oracle, None, from_block=since)}
        gone = []
        for b in recent:
            found = on_chain.get((b.asset_id, b.root))
            if found is None:
                gone.append(b)
            elif (found.block_number, found.batch_index) != (b.block_number, b.batch_index):
                self.store.mark_anchored({b.id: found.batch_index}, found.block_number)
        if gone:
            log.warning("a reorg undid the anchors of batches %s: following them again", [b.id for b in gone])
            self.metrics.inc("relayer_reorged_batches_total", len(gone), help_text="anchors undone by a reorg")
            self.store.reopen([b.id for b in gone])
            self._inflight = None
        return bool(gone)

    def flush(self, timeout_s: float = 60.0) -> None:
        """Anchor everything pending now (ignoring batch age); for tests and shutdown scripts."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self.build_batches(force=True)
            moved = self.step()
            counts = self.store.counts()
            if counts["readings_pending"] == 0 and counts["readings_batched"] == 0:
                return
            if not moved:
                time.sleep(self.config.poll_interval_s)
        raise TimeoutError("readings still pending after flush timeout")

    # -- batching -----------------------------------------------------------------------------
    def build_batches(self, force: bool = False) -> int:
        """Cut batches for assets with enough readings or old enough ones (up to ``max_batches_per_tx``
        in all, several of one asset if its backlog holds them); returns how many."""
        now = self.clock()
        made = 0
        built_block: int | None = None
        cap = self.config.max_batch_size
        self.follow_revocations()
        for asset, count, earliest_start, oldest_received in self.store.pending_summary(cap=cap):
            if not force and count < cap and now - oldest_received < self.config.max_batch_age_s:
                continue
            while made < self.config.max_batches_per_tx:
                epoch = earliest_start // self.epoch_length
                rows = self._without_revoked(self.store.pending_readings(asset, epoch, self.epoch_length, cap))
                if rows:
                    if built_block is None:  # one question per build: a block a little old only widens log searches
                        built_block = self.w3.eth.block_number
                    self._create_batch(asset, rows, built_block)
                    made += 1
                again = [p for p in self.store.pending_summary(cap=cap) if p[0] == asset]
                if not again or (again[0][1] < cap and not force):
                    break  # what is left waits for a full batch or for its age
                earliest_start = again[0][2]
            if made >= self.config.max_batches_per_tx:
                break
        return made

    # -- revocation cut-off -------------------------------------------------------------------
    def follow_revocations(self) -> int:
        """Record in the store the revocations (and key rotations) the registry's logs show up to the latest
        block, and the devices the oracle switched to direct reporting; returns how many were read.

        A device that reports directly (``submitReading``) is retired from the batch path at its switch time,
        like a revoked key: its later readings in a batch would be counted twice, and are disputable."""
        latest = self.w3.eth.block_number
        cursor = self.store.meta(_FOLLOW_CURSOR) if hasattr(self.store, "meta") else None
        start = int(cursor) + 1 if cursor is not None else self.config.from_block
        wanted = {(self.registry.address.lower(), REVOKED_TOPIC), (self.registry.address.lower(), ROTATED_TOPIC),
                  (self.oracle.address.lower(), DIRECT_TOPIC)}
        query = {"address": [self.registry.address, self.oracle.address],
                 "topics": [sorted({"0x" + topic.hex() for _, topic in wanted})]}
        found: dict[bytes, int] = {}
        for lo in range(start, latest + 1, self.config.log_chunk_blocks):
            for raw in self.w3.eth.get_logs({**query, "fromBlock": lo,
                                             "toBlock": min(lo + self.config.log_chunk_blocks - 1, latest)}):
                if (str(raw["address"]).lower(), bytes(raw["topics"][0])) not in wanted:
                    continue  # an event of that name from the other contract
                device = bytes(raw["topics"][1])[12:]  # the revoked device, a rotation's old key, a direct one
                at = int.from_bytes(bytes(raw["data"])[-32:], "big")
                found[device] = min(at, found.get(device, at))
        if start <= latest and hasattr(self.store, "set_meta"):
            self.store.set_meta(_FOLLOW_CURSOR, str(latest))
        if found:
            self.store.mark_revoked(found)
        return len(found)

    def _revoked_readings(self, rows: Sequence[StoredReading]) -> list[StoredReading]:
        revoked = self.store.revocations({r.reading.device for r in rows})
        return [r for r in rows if r.reading.device in revoked and (
            r.received_at >= revoked[r.reading.device] or r.reading.period_end > revoked[r.reading.device])]

    def _without_revoked(self, rows: Sequence[StoredReading]) -> list[StoredReading]:
        """``rows`` less the readings the revocation cut-off excludes (dropped from the store, with alerts)."""
        bad = self._revoked_readings(rows)
        if not bad:
            return list(rows)
        revoked = self.store.revocations({r.reading.device for r in bad})
        for device in {r.reading.device for r in bad}:
            mine = [r for r in bad if r.reading.device == device]
            detail = (f"device {to_checksum(device)} was revoked at {revoked[device]}: {len(mine)} reading(s) received or"
                      " ending after that are not anchored")
            log.warning("ALERT %s (seqs %s)", detail, [r.reading.seq for r in mine][:10])
            self.store.drop_readings(mine, "revoked", detail)
        self.state.dropped_readings += len(bad)
        self.metrics.inc("readings_dropped_total", len(bad), help_text="readings not anchored: device revoked first",
                         reason="revoked")
        ids = {r.id for r in bad}
        return [r for r in rows if r.id not in ids]

    def _screen(self, batches: Sequence[BatchRecord]) -> list[BatchRecord]:
        """Check built batches against the registry's latest revocations just before sending: a batch with
        a reading the cut-off now excludes goes back to the queue (rebuilt without it)."""
        self.follow_revocations()
        keep = []
        for b in batches:
            if self.store.batch_has_revoked_device(b.id) and self._revoked_readings(self.store.batch_readings(b.id)):
                log.warning("batch %d holds readings of a device revoked since it was cut: rebuilding it", b.id)
                self.store.release_batch(b.id)
            else:
                keep.append(b)
        return keep

    def _create_batch(self, asset: bytes, rows: Sequence[StoredReading], built_block: int) -> int:
        digests = [self.domain.digest(r.reading) for r in rows]  # not stored: hashed again from the fields
        tree = MerkleTree.from_digests(digests)
        energy = sum(r.reading.energy_wh for r in rows)
        start = min(r.reading.period_start for r in rows)
        end = max(r.reading.period_end for r in rows)
        batch = self.store.create_batch(asset, tree.root, [r.id for r in rows], energy, start, end,
                                        built_block, leaf_ranks=batch_tree.ranks(tree, digests),
                                        tree_top=batch_tree.top(tree))
        log.info("batch %d: %d readings of asset %s, root 0x%s", batch, len(rows), asset_label(asset), tree.root.hex())
        return batch

    # -- sending ------------------------------------------------------------------------------
    def _call(self, batches: Sequence[BatchRecord]) -> Any:
        if len(batches) == 1:
            b = batches[0]
            return self.oracle.functions.anchorBatch(b.asset_id, b.root, b.count, b.energy_wh, b.from_time, b.to_time)
        headers = [(b.asset_id, b.root, b.count, b.energy_wh, b.from_time, b.to_time) for b in batches]
        return self.oracle.functions.anchorBatches(headers)

    def _send(self, batches: Sequence[BatchRecord]) -> bool:
        batches = self._not_on_chain(batches)
        if not batches:
            return False
        fn = self._call(batches)
        try:
            gas = int(fn.estimate_gas({"from": self.account.address}) * self.config.gas_margin)
        except Exception as exc:
            return self._on_estimate_failure(batches, self.chain.decode(exc), exc)
        nonce = self._next_nonce()
        tx = fn.build_transaction({
            "from": self.account.address, "nonce": nonce, "gas": gas, "chainId": self.chain.chain_id, **self._fees(),
        })
        self._broadcast([b.id for b in batches], tx)
        return True

    def _broadcast(self, batch_ids: Sequence[int], tx: dict[str, Any]) -> None:
        self._check_leading()  # two live relayers never sign competing transactions
        signed = self.account.sign_transaction(tx)
        self.store.mark_sent(batch_ids, tx["nonce"], bytes(signed.hash))  # committed before it leaves
        self._inflight = _InFlight(tx["nonce"], self.clock(), tx)
        try:
            self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception as exc:
            message = str(exc).lower()
            if "already known" in message or "already imported" in message:
                return
            if "nonce too low" in message:
                self._nonce = None  # re-read; _advance will find out what consumed it
                return
            if isinstance(exc, OSError):  # transport failure (requests' errors are OSErrors), not a node's answer
                # The node may never have seen it: as after a restart when no node knows the transaction, the
                # next step sends it again under the same nonce, not stuck_after_s later.
                self._inflight = _InFlight(tx["nonce"], float("-inf"), tx)
            raise
        self.metrics.inc("relayer_transactions_total", help_text="anchor transactions broadcast")
        log.info("sent anchor tx 0x%s nonce %d for batches %s", bytes(signed.hash).hex(), tx["nonce"], list(batch_ids))

    def _next_nonce(self) -> int:
        chain_nonce = self.w3.eth.get_transaction_count(self.account.address, "pending")
        self._nonce = chain_nonce if self._nonce is None else max(self._nonce, chain_nonce)
        return self._nonce

    def _fees(self, previous: dict[str, Any] | None = None) -> dict[str, int]:
        market = self.chain.fee_params()
        if previous is None:
            return market
        bump = self.config.fee_bump
        if "gasPrice" in market:
            return {"gasPrice": max(market["gasPrice"], int(previous.get("gasPrice", 0) * bump) + 1)}
        tip = max(market["maxPriorityFeePerGas"], int(previous.get("maxPriorityFeePerGas", 0) * bump) + 1)
        fee = max(market["maxFeePerGas"], int(previous.get("maxFeePerGas", 0) * bump) + 1, tip)
        return {"maxFeePerGas": fee, "maxPriorityFeePerGas": tip}

    def _on_estimate_failure(self, batches: Sequence[BatchRecord], decoded: BaseException, exc: BaseException) -> bool:
        if isinstance(decoded, errors.BatchInFuture):
            log.info("batch ends after chain time + skew; waiting for the chain clock")
            return False
        if isinstance(decoded, errors.AccessControlUnauthorizedAccount):
            raise RelayerError(f"{self.account.address} lacks RELAYER_ROLE on {self.oracle.address}")
        if isinstance(decoded, errors.ContractError):
            for b in batches:  # the batch can never pass as built: give its readings back to the queue
                log.error("batch %d rejected by the contract (%s); readings returned to the queue", b.id, decoded)
                self.store.release_batch(b.id)
            return True
        raise exc

    # -- following a transaction --------------------------------------------------------------
    def _advance(self, sent: Sequence[BatchRecord]) -> bool:
        nonce = sent[0].nonce
        group = [b for b in sent if b.nonce == nonce]
        hashes = {h for b in group for h in b.tx_hashes}
        receipt = self._any_receipt(hashes)
        if receipt is not None:
            return self._on_receipt(group, receipt)
        # no receipt: perhaps anchored by a transaction we do not know, or the nonce went elsewhere
        latest_nonce = self.w3.eth.get_transaction_count(self.account.address, "latest")
        if latest_nonce > nonce:
            receipt = self._any_receipt(hashes)  # ours may have been mined between the two questions
            if receipt is not None:
                return self._on_receipt(group, receipt)
            remaining = self._not_on_chain(group)
            if remaining:
                log.warning("nonce %d was used by another transaction; re-sending batches", nonce)
                self._requeue(remaining)
            return True
        inflight = self._inflight if self._inflight and self._inflight.nonce == nonce else None
        if inflight is None:
            # after a restart: if no node knows our transaction, it never left; otherwise wait a full period
            known = any(self._pending_tx(h) is not None for h in hashes)
            self._inflight = inflight = _InFlight(nonce, self.clock() if known else float("-inf"), None)
        if self.clock() - inflight.sent_at < self.config.stuck_after_s:
            return False
        self._replace(group, inflight, hashes)
        return True

    def _on_receipt(self, group: Sequence[BatchRecord], receipt: Any) -> bool:
        block = receipt["blockNumber"]
        if receipt["status"] != 1:
            log.error("anchor tx reverted in block %d; checking the batches on chain", block)
            remaining = self._not_on_chain(group)
            if remaining:
                self._requeue(remaining)
            return True
        latest = self.w3.eth.block_number
        if latest - block + 1 < self.config.confirmations:
            return False
        indexes = {(a.asset_id, a.merkle_root): a.batch_index for a in batches_in_receipt(self.oracle, receipt)}
        missing = [b for b in group if (b.asset_id, b.root) not in indexes]
        if missing:
            raise RelayerError(f"anchor tx in block {block} has no BatchAnchored log for batches "
                               f"{[b.id for b in missing]}: is {self.oracle.address} a ReadingOracle?")
        self.store.mark_anchored({b.id: indexes[(b.asset_id, b.root)] for b in group}, block)
        self._nonce = max(self._nonce or 0, group[0].nonce + 1)
        self._inflight = None
        count = sum(b.count for b in group)
        self.state.last_anchor_at = self.clock()
        self.state.anchored_batches += len(group)
        self.metrics.inc("batches_anchored_total", len(group), help_text="batches anchored with enough confirmations")
        self.metrics.inc("readings_anchored_total", count, help_text="readings anchored with enough confirmations")
        log.info("anchored batches %s (%d readings) in block %d", [b.id for b in group], count, block)
        return True

    def _replace(self, group: Sequence[BatchRecord], inflight: _InFlight, hashes: set[bytes]) -> None:
        previous = inflight.tx
        if previous is None:
            for h in hashes:
                known = self._pending_tx(h)
                if known is not None:
                    previous = {k: known[k] for k in ("maxFeePerGas", "maxPriorityFeePerGas", "gasPrice") if k in known}
                    break
        fn = self._call(group)
        try:
            gas = int(fn.estimate_gas({"from": self.account.address}) * self.config.gas_margin)
        except Exception as exc:
            self._on_estimate_failure(group, self.chain.decode(exc), exc)
            return
        tx = fn.build_transaction({
            "from": self.account.address, "nonce": inflight.nonce, "gas": gas, "chainId": self.chain.chain_id,
            **self._fees(previous),
        })
        if inflight.sent_at == float("-inf"):
            log.warning("anchor tx with nonce %d may never have left: sending it again", inflight.nonce)
        else:
            log.warning("anchor tx with nonce %d not mined after %.0fs: replacing with higher fees", inflight.nonce,
                        self.config.stuck_after_s)
        self.metrics.inc("relayer_replacements_total", help_text="stuck transactions replaced or re-broadcast")
        self._broadcast([b.id for b in group], tx)

    def _requeue(self, group: Sequence[BatchRecord]) -> None:
        """Send these batches again with a fresh nonce (their previous transaction is void)."""
        self._inflight = None
        self._nonce = None
        self._send(group)

    def _not_on_chain(self, batches: Sequence[BatchRecord]) -> list[BatchRecord]:
        """The batches with no BatchAnchored log: only these may be sent (again).

        A batch whose log is there is marked anchored once it has its confirmations, and is waited for
        until then (the contract would count it twice if it were sent again). One log query answers
        for all of them (their assets and roots as alternatives), not one per batch."""
        if not batches:
            return []
        latest = self.w3.eth.block_number
        since = [max(self.config.from_block, b.built_block) for b in batches]
        logs = anchored_batches(self.oracle, sorted({b.asset_id for b in batches}), root=[b.root for b in batches],
                                from_block=min(since), to_block=latest)
        missing = []
        for b, first_block in zip(batches, since, strict=True):
            found = [a for a in logs if (a.asset_id, a.merkle_root) == (b.asset_id, b.root)
                     and a.block_number >= first_block]
            if not found:
                missing.append(b)
                continue
            block = found[0].block_number
            if latest - block + 1 < self.config.confirmations:
                continue  # seen, not yet confirmed: wait for it, never send it again
            log.info("batch %d already on chain (block %d): not sending it again", b.id, block)
            self.store.mark_anchored({b.id: found[0].batch_index}, block)
            self.state.anchored_batches += 1
            self.metrics.inc("batches_anchored_total", help_text="batches anchored with enough confirmations")
            self.metrics.inc("readings_anchored_total", b.count, help_text="readings anchored with enough confirmations")
        return missing

    def _any_receipt(self, hashes: set[bytes]) -> Any:
        """The receipt of whichever of these transactions (same nonce) was mined, if one was."""
        for tx_hash in hashes:
            receipt = self._receipt(tx_hash)
            if receipt is not None:
                return receipt
        return None

    def _receipt(self, tx_hash: bytes) -> Any:
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None

    def _pending_tx(self, tx_hash: bytes) -> Any:
        try:
            return self.w3.eth.get_transaction(tx_hash)
        except TransactionNotFound:
            return None


def check_relayer_role(chain: Chain, oracle: Contract, address: str) -> None:
    """Refuse to start a relayer whose account lacks RELAYER_ROLE, naming the accounts that hold it
    (from the oracle's ``RoleGranted`` logs, still checked with ``hasRole``) and, on a development chain,
    which of its unlocked accounts to use."""
    fns = oracle.functions
    role = fns.RELAYER_ROLE().call()
    if fns.hasRole(role, address).call():
        return
    holders: list[str] = []
    try:
        for event in oracle.events.RoleGranted().get_logs(from_block=0, argument_filters={"role": role}):
            account = event["args"]["account"]
            if account not in holders and fns.hasRole(role, account).call():
                holders.append(account)
    except Exception:  # providers that cap log ranges: the message still says what is missing
        pass
    hint = ""
    if holders:
        dev = [f"dev account #{i} ({a.address})" for i, a in enumerate(chain.accounts) if a.address in holders]
        hint = f"; RELAYER_ROLE is held by {', '.join(holders[:5])}" + (f" - use {dev[0]}" if dev else "")
    raise RelayerError(f"the relayer key's account {address} lacks RELAYER_ROLE on {oracle.address}{hint}; "
                       "set RWA_PRIVATE_KEY to a relayer's key or grant it the role")
