"""What the portal shows, read from the chain through the resumable event indexer into snapshots.

One thread follows the chain: every ``poll_s`` it syncs each asset's indexers (oracle batches,
device registry, distributor deposits, token transfers; cached in one SQLite file so a restart
resumes) and, when something changed, builds a new immutable snapshot of the asset. A second
thread recomputes the twin's forecast after new anchors (it takes seconds, the snapshot does not
wait for it). Requests only read snapshots, so they stay fast whatever the chain is doing; the
few per-wallet figures (claimable revenue, eligibility) are single view calls.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account

from ..asset import Asset, AssetError, AssetRoles
from ..chain import Chain, connect
from ..indexer import EventIndexer
from ..settlement.stablecoin import UNIT
from .twin import AssetTwin, ModelState

log = logging.getLogger("rwa_sdk.portal")
PRICE_DECIMALS = 6


@dataclass(frozen=True)
class PortalConfig:
    """How ``rwa serve`` reaches the chain and what it may show."""

    rpc_url: str
    deployments: Path | None = None
    oracle_db: str | None = None
    cache_dir: Path = Path(".rwa/portal")
    issuer: bool = False
    browser_rpc: str | None = None  # the RPC URL the investor's browser asks for verifyReading
    poll_s: float = 2.0
    cors_origins: tuple[str, ...] = ()
    records_dir: Path | None = None  # where audit.json is looked for (default: the deployments folder)


@dataclass
class AssetView:
    """One asset's snapshot; replaced whole, never changed after it is published."""

    symbol: str
    summary: dict[str, Any]
    days: list[dict[str, Any]]
    devices: dict[str, Any]
    anchors: dict[str, Any]
    deposits: list[dict[str, Any]]
    token: dict[str, Any]
    holders: list[dict[str, Any]]
    model: dict[str, Any]
    batches: list[dict[str, Any]] = field(repr=False, default_factory=list)
    state: ModelState | None = field(repr=False, default=None)
    twin: AssetTwin | None = field(repr=False, default=None)


def country_alpha2(numeric: int) -> str:
    import iso3166

    entry = iso3166.countries_by_numeric.get(f"{numeric:03d}")
    return entry.alpha2 if entry else (str(numeric) if numeric else "unknown")


def utc_day(timestamp: int) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).date().isoformat()


class _Follower:
    """The indexers of one asset; lives in the follower thread (SQLite connections stay in it)."""

    def __init__(self, asset: Asset, db: Path):
        chain = asset.chain
        self.asset = asset
        self.oracle = EventIndexer(chain, asset.oracle.oracle, db)
        self.registry = EventIndexer(chain, asset.oracle.registry, db)
        self.distributor = EventIndexer(chain, asset.distributor.contract, db)
        self.token = EventIndexer(chain, asset.token.contract, db)
        self.twin = AssetTwin(asset.spec)
        self.timestamps: dict[int, int] = {}

    def sync(self) -> bool:
        """True when any indexer gained events, or lost some to a reorg (then the view is rebuilt too)."""
        changed = False
        for index in (self.oracle, self.registry, self.distributor, self.token):
            before = self._count(index)
            added = index.sync()
            changed |= bool(added) or self._count(index) != before + len(added)
        return changed

    @staticmethod
    def _count(index: EventIndexer) -> int:
        return index.db.execute("SELECT COUNT(*) FROM events WHERE contract = ?", (index.key,)).fetchone()[0]

    def close(self) -> None:
        for index in (self.oracle, self.registry, self.distributor, self.token):
            index.close()

    def block_time(self, number: int) -> int:
        if number not in self.timestamps:
            self.timestamps[number] = int(self.asset.chain.w3.eth.get_block(number)["timestamp"])
        return self.timestamps[number]


class Portal:
    """The chain, followed: ``start()`` the threads, read ``views``; ``version`` moves on every change."""

    def __init__(self, config: PortalConfig):
        self.config = config
        self.chain: Chain = connect(config.rpc_url)  # requests' own connection (the follower has another)
        self.chain.accounts[:] = []  # the portal never signs
        self.views: dict[str, AssetView] = {}
        self.forecasts: dict[str, dict[str, Any]] = {}
        self.assets: dict[str, Asset] = {}
        self.version = 0
        self.ready = threading.Event()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.error: str | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> Portal:
        for target, name in ((self._follow, "portal-follow"), (self._forecast_loop, "portal-twin")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        with self._changed:
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout=30)
        self.chain.close()

    def wait_version(self, seen: int, timeout: float) -> int:
        """Block until ``version`` moves past ``seen`` (or timeout); returns the current version."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != seen or self._stop.is_set(), timeout)
            return self.version

    def _bump(self) -> None:
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    # -- the follower thread --------------------------------------------------------------
    def _records(self, chain: Chain) -> dict[str, dict]:
        return Asset.list(chain, self.config.deployments)

    def _follow(self) -> None:
        chain = connect(self.config.rpc_url)
        chain.accounts[:] = []
        self.config.cache_dir.mkdir(parents=True, exist_ok=True)
        db = self.config.cache_dir / f"{chain.chain_id}.events.sqlite"
        followers: dict[str, _Follower] = {}
        try:
            while not self._stop.is_set():
                try:
                    self._follow_once(chain, db, followers)
                    self.error = None
                except Exception as exc:  # the node went away, a record is broken: say so, keep trying
                    self.error = f"{type(exc).__name__}: {exc}"
                    log.warning("portal refresh failed: %s", self.error)
                self.ready.set()
                self._stop.wait(self.config.poll_s)
        finally:
            for follower in followers.values():
                follower.close()
            chain.close()

    def _follow_once(self, chain: Chain, db: Path, followers: dict[str, _Follower]) -> None:
        throwaway = AssetRoles(*[Account.create()] * 6)
        for symbol in self._records(chain):
            if symbol not in followers:
                asset = Asset.load(chain, symbol, roles=throwaway, deployments_dir=self.config.deployments)
                if not chain.w3.eth.get_code(asset.addresses.token):
                    continue  # recorded for another node of the same chain id
                followers[symbol] = _Follower(asset, db)
                self.assets[symbol] = Asset.load(self.chain, symbol, roles=throwaway,
                                                 deployments_dir=self.config.deployments)
            follower = followers[symbol]
            if follower.sync() or symbol not in self.views:
                self.views[symbol] = build_view(follower)
                self._bump()

    # -- the twin thread ------------------------------------------------------------------
    def _forecast_loop(self) -> None:
        done: dict[str, int] = {}
        while not self._stop.is_set():
            for symbol, view in list(self.views.items()):
                count = view.anchors["batches"]
                if done.get(symbol) == count or view.state is None:
                    continue
                twin = view.twin
                try:
                    forecast = twin.forecast(view.state)
                    forecast["backtest"] = twin.backtest(view.batches)
                except Exception as exc:  # a model failure must not stop the portal
                    log.warning("twin forecast of %s failed: %s", symbol, exc)
                    forecast = {"available": False, "reason": f"the twin failed: {exc}"}
                forecast["batches"] = count
                self.forecasts[symbol] = forecast
                done[symbol] = count
                self._bump()
            self._stop.wait(min(self.config.poll_s, 1.0))

    # -- request-time reads ---------------------------------------------------------------
    def view(self, symbol: str) -> AssetView:
        if symbol not in self.views:
            known = ", ".join(sorted(self.views)) or "none"
            raise AssetError(f"no asset {symbol!r} (known: {known})")
        return self.views[symbol]

    def cached(self, key: str, compute: Any) -> Any:
        """``compute()`` once per version of the chain's state (issuer reads that cost many calls)."""
        cache = self.__dict__.setdefault("_cache", {})
        version = self.version
        hit = cache.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        value = compute()
        cache[key] = (version, value)
        return value

    def audit(self, symbol: str) -> dict[str, Any]:
        """The last ``rwa asset audit`` result kept in the records folder, if any."""
        folder = self.config.records_dir or self.config.deployments or Path("deployments")
        chain_file = folder / f"{self.chain.chain_id}.audit.json"  # what `rwa asset audit` writes
        for path in (chain_file, folder / f"{symbol}.audit.json", folder / "audit.json"):
            if path.is_file():
                try:
                    data = json.loads(path.read_text())
                except (OSError, ValueError) as exc:
                    return {"available": False, "reason": f"{path.name} is unreadable: {exc}"}
                if isinstance(data, Mapping) and symbol in data:
                    data = data[symbol]
                return {"available": True, "file": path.name, "result": data}
        return {"available": False, "reason": "no audit run yet"}


def build_view(f: _Follower) -> AssetView:
    asset, spec = f.asset, f.asset.spec
    asset_hex = "0x" + asset.asset_id.hex()
    batches = [dict(e.args, block=e.block_number) for e in f.oracle.events("BatchAnchored")
               if e.args["assetId"] == asset_hex]
    per_day: dict[str, int] = {}
    for b in batches:
        day = utc_day(int(b["fromTime"]))
        per_day[day] = per_day.get(day, 0) + int(b["totalEnergyWh"])
    day_keys = sorted(per_day)
    state = f.twin.model(batches, dt.date.fromisoformat(day_keys[0]) if day_keys else None)
    bands = f.twin.daily_band(day_keys, state)
    days = [{"day": d, "energy_wh": per_day[d], **band} for d, band in zip(day_keys, bands, strict=True)]

    last = batches[-1] if batches else None
    anchors = {"batches": len(batches), "readings": sum(int(b["count"]) for b in batches),
               "last_anchor_time": f.block_time(last["block"]) if last else None,
               "last_batch_index": int(last["batchIndex"]) if last else None}

    devices = _devices(f, asset_hex)
    deposits = _deposits(f, asset_hex)
    holders = [{"wallet": h.wallet, "balance": h.balance, "frozen": h.frozen, "frozen_tokens": h.frozen_tokens,
                "country": country_alpha2(h.country)} for h in asset.cap_table(f.token)]
    supply = asset.token.total_supply()
    by_country: dict[str, dict[str, int]] = {}
    for h in holders:
        row = by_country.setdefault(h["country"], {"holders": 0, "tokens": 0})
        row["holders"] += 1
        row["tokens"] += h["balance"]
    token = {"name": spec.name, "symbol": spec.symbol, "address": asset.addresses.token, "supply": supply,
             "supply_cap": spec.offering.supply_cap, "holders": len(holders), "paused": asset.token.paused(),
             "holders_by_country": [{"country": c, **v} for c, v in sorted(by_country.items())],
             "rules": compliance_in_words(spec), "price_usd": float(spec.offering.price_usd)}

    now = asset.chain.timestamp()
    month = utc_day(now)[:7]
    this_month = [d for d in days if d["day"].startswith(month)]
    summary = {
        "symbol": spec.symbol, "name": spec.name, "kind": spec.kind, "capacity_kw": spec.capacity_kw,
        "location": {"latitude": spec.location.latitude, "longitude": spec.location.longitude,
                     "country": _country_of_location(spec), "timezone": spec.location.timezone},
        "supply": supply, "holders": len(holders), "paused": token["paused"],
        "month": month, "energy_this_month_wh": sum(d["energy_wh"] for d in this_month),
        "forecast_this_month_wh": sum(d["p50_wh"] for d in this_month),
        "trailing_yield": trailing_yield(deposits, float(spec.offering.price_usd), now),
        "batches": anchors["batches"], "last_anchor_time": anchors["last_anchor_time"],
        "deposits": len(deposits),
    }
    model = {"calibrated": state.calibrated, "performance_factor": state.performance_factor,
             "availability": state.availability,
             "basis": "calibrated to the anchored production" if state.calibrated else
                      "spec model (not enough anchored days to calibrate yet)"}
    return AssetView(spec.symbol, summary, days, devices, anchors, deposits, token, holders, model, batches, state,
                     f.twin)


def _country_of_location(spec: Any) -> str:
    country = getattr(spec.location, "country", None)
    return country_alpha2(country) if isinstance(country, int) else (country or "")


def _devices(f: _Follower, asset_hex: str) -> dict[str, Any]:
    status: dict[str, str] = {}
    capacity: dict[str, int] = {}
    for e in f.registry.events():
        a = e.args
        if a.get("assetId") not in (None, asset_hex):
            continue
        if e.name == "DeviceRegistered":
            status[a["device"]] = "registered"
            capacity[a["device"]] = int(a["capacityW"])
        elif e.name == "DeviceActivated" and a["device"] in status:
            status[a["device"]] = "active"
        elif e.name == "DeviceRevoked" and a["device"] in status:
            status[a["device"]] = "revoked"
        elif e.name == "DeviceKeyRotated" and a["oldKey"] in status:
            status[a["newKey"]] = status[a["oldKey"]]
            capacity[a["newKey"]] = capacity.get(a["oldKey"], 0)
            status[a["oldKey"]] = "revoked"
    counts = {s: sum(1 for v in status.values() if v == s) for s in ("active", "registered", "revoked")}
    return {**counts, "total": len(status),
            "list": [{"device": d, "status": s, "capacity_w": capacity.get(d, 0)} for d, s in status.items()]}


def _deposits(f: _Follower, asset_hex: str) -> list[dict[str, Any]]:
    out, cumulative = [], 0.0
    for e in f.distributor.events("RevenueDeposited"):
        a = e.args
        if a["assetId"] != asset_hex:
            continue
        amount, supply = int(a["amount"]), int(a["supply"])
        per_token = amount / UNIT / supply if supply else 0.0
        cumulative += per_token
        out.append({"deposit_id": int(a["depositId"]), "period_start": int(a["periodStart"]),
                    "period_end": int(a["periodEnd"]), "day": utc_day(int(a["periodStart"])),
                    "energy_wh": int(a["energyWh"]), "amount_usd": amount / UNIT, "supply": supply,
                    "per_token_usd": per_token, "cumulative_per_token_usd": cumulative,
                    "evidence": a["evidence"], "block": e.block_number, "tx": e.tx_hash})
    return out


def trailing_yield(deposits: list[dict[str, Any]], price: float, now: int) -> float | None:
    """Paid per token over the last 365 days / token price, annualised over the periods paid (None: nothing paid)."""
    window = [d for d in deposits if d["period_end"] > now - 365 * 86_400]
    covered = sum(d["period_end"] - d["period_start"] for d in window)
    if not window or not covered or not price:
        return None
    return sum(d["per_token_usd"] for d in window) / price * (365 * 86_400 / covered)


def compliance_in_words(spec: Any) -> list[str]:
    """The token's transfer rules as an investor reads them."""
    c = spec.compliance
    rules = []
    if c.allowed_countries:
        rules.append("holders must live in " + ", ".join(country_alpha2(x) for x in c.allowed_countries))
    if c.blocked_countries:
        rules.append("investors from " + ", ".join(country_alpha2(x) for x in c.blocked_countries) + " may not hold")
    if c.professional_only_countries:
        rules.append("only professional investors from " + ", ".join(
            country_alpha2(x) for x in c.professional_only_countries))
    if spec.risk_level:
        rules.append(f"investors need a risk-tier claim of at least {spec.risk_level} (suitability)")
    if c.max_balance_per_investor:
        rules.append(f"at most {c.max_balance_per_investor:,} tokens per investor")
    if c.max_holders:
        rules.append(f"at most {c.max_holders:,} holders")
    if spec.offering.supply_cap:
        rules.append(f"at most {spec.offering.supply_cap:,} tokens in total")
    if c.lockup_days:
        rules.append(f"tokens are locked for {c.lockup_days} days after subscription")
    rules.append("every holder needs a verified identity (KYC claim) in the token's identity registry")
    return rules

