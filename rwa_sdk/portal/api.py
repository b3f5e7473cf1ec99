"""The portal's JSON API (documented in docs/portal.md): every page is drawn from these endpoints.

Parameters are checked before anything is read: a bad one is a 400 with ``{"error": "..."}`` in
words, an unknown asset, device reading or route a 404; the issuer's endpoints exist only when the
portal runs with ``--issuer``. Nothing here signs or writes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from ..asset import AssetError
from .data import Portal, AssetView

ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}\Z")
DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
MAX_SEQ = 2**64 - 1
STEPS = ("day", "month")


def bad(message: str, status: int = 400) -> HTTPException:
    return HTTPException(status, message)


def _portal(request: Request) -> Portal:
    return request.app.state.portal


def _view(request: Request) -> AssetView:
    symbol = request.path_params["symbol"]
    try:
        return _portal(request).view(symbol)
    except AssetError as exc:
        raise bad(str(exc), 404) from None


def _only(request: Request, *allowed: str) -> None:
    unknown = sorted(set(request.query_params) - set(allowed))
    if unknown:
        expected = ", ".join(allowed) or "none"
        raise bad(f"unknown parameter {unknown[0]!r} (expected: {expected})")


def parse_day(value: str | None, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not DAY.match(value):
        raise bad(f"{name} must be a date YYYY-MM-DD, got {value[:40]!r}")
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise bad(f"{name} is not a calendar date: {value!r}") from None


def parse_wallet(value: str | None, name: str = "wallet") -> str | None:
    if value is None or value == "":
        return None
    if not ADDRESS.match(value):
        raise bad(f"{name} must be an address: 0x and 40 hex digits")
    from eth_utils import to_checksum_address

    return to_checksum_address(value)


def parse_int(value: str, name: str, low: int, high: int) -> int:
    if not re.fullmatch(r"[0-9]{1,20}", value or ""):
        raise bad(f"{name} must be a whole number from {low} to {high}")
    number = int(value)
    if not low <= number <= high:
        raise bad(f"{name} must be a whole number from {low} to {high}")
    return number


def ok(data: Any) -> JSONResponse:
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


# -- public endpoints -------------------------------------------------------------------------
async def assets(request: Request) -> JSONResponse:
    _only(request)
    portal = _portal(request)
    return ok({"assets": [v.summary for _, v in sorted(portal.views.items())], "version": portal.version,
               "error": portal.error})


async def asset(request: Request) -> JSONResponse:
    _only(request)
    view = _view(request)
    return ok({**view.summary, "devices": {k: v for k, v in view.devices.items() if k != "list"},
               "anchors": view.anchors, "model": view.model, "token": view.token})


async def energy(request: Request) -> JSONResponse:
    _only(request, "from", "to", "step")
    view = _view(request)
    q = request.query_params
    start, end = parse_day(q.get("from"), "from"), parse_day(q.get("to"), "to")
    step = q.get("step", "day")
    if step not in STEPS:
        raise bad(f"step must be one of {', '.join(STEPS)}, got {step[:20]!r}")
    if start and end and start > end:
        raise bad(f"from ({start}) is after to ({end})")
    days = [d for d in view.days if (not start or d["day"] >= start) and (not end or d["day"] <= end)]
    if step == "day":
        points = [{"period": d["day"], "energy_wh": d["energy_wh"], "p50_wh": d["p50_wh"], "p10_wh": d["p10_wh"],
                   "p90_wh": d["p90_wh"]} for d in days]
    else:
        points = _months(view, days)
    return ok({"symbol": view.symbol, "step": step, "unit": "Wh", "from": start, "to": end,
               "model": view.model["basis"], "points": points})


def _months(view: AssetView, days: list[dict[str, Any]]) -> list[dict[str, Any]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for d in days:
        grouped.setdefault(d["day"][:7], []).append(d)
    twin = view.twin if view.state is not None else None
    bands = twin.monthly_band({m: [d["p50_wh"] for d in ds] for m, ds in grouped.items()}, view.state) if twin else []
    return [{"period": m, "days": len(ds), "energy_wh": sum(d["energy_wh"] for d in ds), **band}
            for (m, ds), band in zip(grouped.items(), bands, strict=True)]


async def devices(request: Request) -> JSONResponse:
    _only(request)
    view = _view(request)
    return ok({"symbol": view.symbol, **view.devices, "anchors": view.anchors})


async def revenue(request: Request) -> JSONResponse:
    _only(request, "wallet")
    view = _view(request)
    wallet = parse_wallet(request.query_params.get("wallet"))
    body: dict[str, Any] = {"symbol": view.symbol, "currency": "USD", "deposits": view.deposits,
                            "total_usd": sum(d["amount_usd"] for d in view.deposits),
                            "paid_per_token_usd": view.deposits[-1]["cumulative_per_token_usd"] if view.deposits else 0,
                            "trailing_yield": view.summary["trailing_yield"]}
    if wallet:
        portal = _portal(request)
        asset = portal.assets[view.symbol]

        def read() -> dict[str, Any]:
            from ..settlement.stablecoin import UNIT

            return {"wallet": wallet, "claimable_usd": asset.distributor.claimable(wallet) / UNIT,
                    "balance": asset.token.balance_of(wallet)}

        body["investor"] = await run_in_threadpool(read)
    return ok(body)


async def forecast(request: Request) -> JSONResponse:
    _only(request)
    view = _view(request)
    found = _portal(request).forecasts.get(view.symbol)
    if found is None:
        found = {"available": False, "reason": "the twin is still computing the forecast"}
    return ok({"symbol": view.symbol, "model": view.model, **found})


async def token(request: Request) -> JSONResponse:
    _only(request)
    view = _view(request)
    return ok(view.token)


async def proof(request: Request) -> JSONResponse:
    _only(request)
    view = _view(request)
    device = parse_wallet(request.path_params["device"], "device")
    seq = parse_int(request.path_params["seq"], "seq", 0, MAX_SEQ)
    portal = _portal(request)
    if not portal.config.oracle_db:
        raise bad("this portal has no oracle store (start it with --oracle-db)", 404)
    from ..oracle.proof import ProofNotFound, reading_proof
    from ..oracle.reading import address_bytes
    from ..oracle.store import StoreError, open_store

    asset = portal.assets[view.symbol]

    def build() -> dict[str, Any]:
        store = open_store(portal.config.oracle_db)
        try:
            found = reading_proof(store, asset.oracle.oracle, address_bytes(device), seq)
        finally:
            store.close()
        if found.reading.asset_id != asset.asset_id:
            raise ProofNotFound(f"that reading belongs to another asset, not {view.symbol}")
        return found.to_json()

    try:
        body = await run_in_threadpool(build)
    except ProofNotFound as exc:
        raise bad(f"no proof: {exc}", 404) from None
    except StoreError as exc:
        raise bad(f"the oracle store cannot be read: {exc}", 503) from None
    return ok(body)


async def chain_info(request: Request) -> JSONResponse:
    """What the browser needs to ask the chain itself."""
    _only(request)
    portal = _portal(request)
    return ok({"chain_id": portal.chain.chain_id, "rpc_url": portal.config.browser_rpc,
               "oracles": {s: a.addresses.reading_oracle for s, a in portal.assets.items()},
               "oracle_errors": oracle_errors()})


_ERRORS: dict[str, str] | None = None


def oracle_errors() -> dict[str, str]:
    """ReadingOracle's custom error selectors -> names, so the page can name a revert the chain returns."""
    global _ERRORS
    if _ERRORS is None:
        from eth_utils import keccak

        from ..artifacts import load_artifact

        abi = load_artifact("ReadingOracle").abi
        _ERRORS = {}
        for entry in abi:
            if entry.get("type") == "error":
                signature = f"{entry['name']}({','.join(_type(i) for i in entry['inputs'])})"
                _ERRORS["0x" + keccak(text=signature)[:4].hex()] = signature
    return _ERRORS


def _type(param: dict) -> str:
    if param["type"].startswith("tuple"):
        return "(" + ",".join(_type(c) for c in param["components"]) + ")" + param["type"][5:]
    return param["type"]


async def events(request: Request) -> StreamingResponse:
    """Server-sent events: one ``update`` per change of any asset (new anchor, deposit, transfer)."""
    _only(request)
    portal = _portal(request)

    async def stream():
        seen = -1
        yield "retry: 2000\n\n"
        while True:
            if await request.is_disconnected():
                return
            current = portal.version
            if current != seen:
                seen = current
                data = {"version": current, "assets": {s: v.summary for s, v in portal.views.items()},
                        "forecasts": {s: f.get("batches") for s, f in portal.forecasts.items()}}
                yield f"event: update\ndata: {json.dumps(data)}\n\n"
            else:
                yield ": keep-alive\n\n"
            for _ in range(20):
                await asyncio.sleep(0.25)
                if portal.version != seen or getattr(request.app.state, "stopping", False):
                    break
            if getattr(request.app.state, "stopping", False):
                return

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


# -- issuer endpoints (only with --issuer) -------------------------------------------------
async def cap_table(request: Request) -> JSONResponse:
    _only(request)
    view = _view(request)
    return ok({"symbol": view.symbol, "supply": view.token["supply"], "holders": view.holders})


async def requests(request: Request) -> JSONResponse:
    _only(request)
    view = _view(request)
    asset = _portal(request).assets[view.symbol]

    def read() -> list[dict[str, Any]]:
        from ..settlement.stablecoin import UNIT
        from ..settlement.subscription import Kind, Status

        rows = []
        for r in asset.vault.requests(Status.PENDING):
            subscription = r.kind is Kind.SUBSCRIPTION
            rows.append({"id": r.request_id, "investor": r.investor, "kind": r.kind.name.lower(),
                         "period": r.period, "amount": r.amount / UNIT if subscription else r.amount,
                         "unit": "USD" if subscription else "tokens"})
        return rows

    return ok({"symbol": view.symbol, "pending": await run_in_threadpool(read)})


async def investors(request: Request) -> JSONResponse:
    """Every registered investor with whether it may receive the token, and each failing rule in words."""
    _only(request)
    view = _view(request)
    asset = _portal(request).assets[view.symbol]

    def read() -> list[dict[str, Any]]:
        registry = asset.token.registry.contract
        logs = registry.events.IdentityRegistered.get_logs(from_block=0)
        wallets = list(dict.fromkeys(log["args"]["investorAddress"] for log in logs))
        rows = []
        from .data import country_alpha2

        for wallet in wallets:
            if not asset.token.registry.contains(wallet):
                continue
            reasons = list(asset.eligibility(wallet))
            rows.append({"wallet": wallet, "country": country_alpha2(asset.token.registry.country_of(wallet)),
                         "balance": asset.token.balance_of(wallet), "eligible": not reasons, "reasons": reasons})
        return rows

    portal = _portal(request)
    rows = await run_in_threadpool(portal.cached, f"investors/{view.symbol}", read)
    return ok({"symbol": view.symbol, "investors": rows})


async def eligibility(request: Request) -> JSONResponse:
    _only(request, "wallet", "amount")
    view = _view(request)
    wallet = parse_wallet(request.query_params.get("wallet"))
    if wallet is None:
        raise bad("wallet is required")
    amount = parse_int(request.query_params.get("amount", "1"), "amount", 1, 10**30)
    asset = _portal(request).assets[view.symbol]
    reasons = await run_in_threadpool(lambda: list(asset.eligibility(wallet, amount)))
    return ok({"wallet": wallet, "amount": amount, "eligible": not reasons, "reasons": reasons})


async def audit(request: Request) -> JSONResponse:
    _only(request)
    view = _view(request)
    return ok({"symbol": view.symbol, **_portal(request).audit(view.symbol)})


def routes(issuer: bool) -> list[Route]:
    base = "/api/assets/{symbol}"
    public = [
        Route("/api/assets", assets), Route(base, asset), Route(base + "/energy", energy),
        Route(base + "/devices", devices), Route(base + "/revenue", revenue), Route(base + "/forecast", forecast),
        Route(base + "/token", token), Route(base + "/proofs/{device}/{seq}", proof),
        Route("/api/chain", chain_info), Route("/api/events", events),
    ]
    private = [
        Route(base + "/issuer/cap-table", cap_table), Route(base + "/issuer/requests", requests),
        Route(base + "/issuer/investors", investors), Route(base + "/issuer/eligibility", eligibility),
        Route(base + "/issuer/audit", audit),
    ]
    return public + (private if issuer else [])
