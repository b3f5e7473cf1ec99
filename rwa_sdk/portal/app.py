"""The ASGI app of ``rwa serve``: pages, the JSON API, static files (a vendored plotly.js basic build).

Pages are static HTML shells drawn by ``static/portal.js`` from the API, so what the page shows is
exactly what the API serves. No CORS headers unless origins are configured; errors are JSON in
words (API) or a short page, never a traceback.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import api
from .data import Portal

log = logging.getLogger("rwa_sdk.portal")
STATIC = Path(str(resources.files("rwa_sdk.portal") / "static"))
PAGES = Path(str(resources.files("rwa_sdk.portal") / "pages"))


def _page(name: str, **values: str) -> HTMLResponse:
    html = (PAGES / name).read_text()
    for key, value in values.items():
        html = html.replace("{{" + key + "}}", _escape(value))
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#39;"))


async def index(request: Request) -> HTMLResponse:
    return _page("index.html", issuer="1" if request.app.state.portal.config.issuer else "")


async def asset_page(request: Request) -> HTMLResponse:
    symbol = request.path_params["symbol"]
    portal: Portal = request.app.state.portal
    if symbol not in portal.views:
        raise HTTPException(404, f"no asset {symbol!r}")
    return _page("asset.html", symbol=symbol, issuer="1" if portal.config.issuer else "")


async def issuer_page(request: Request) -> HTMLResponse:
    symbol = request.path_params["symbol"]
    if symbol not in request.app.state.portal.views:
        raise HTTPException(404, f"no asset {symbol!r}")
    return _page("issuer.html", symbol=symbol)


async def http_error(request: Request, exc: HTTPException) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": exc.detail}, exc.status_code)
    body = f"<!doctype html><meta charset=utf-8><title>{exc.status_code}</title><p>{_escape(str(exc.detail))}</p>"
    return HTMLResponse(body, exc.status_code)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("portal request %s failed", request.url.path)
    message = "internal error: the chain or the store could not be read"
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, 500)
    return HTMLResponse(f"<!doctype html><meta charset=utf-8><p>{message}</p>", 500)


def create_app(portal: Portal) -> Starlette:
    """The portal's app around a started (or about to start) :class:`Portal`."""
    routes = [
        Route("/", index),
        Route("/assets/{symbol}", asset_page),
        *([Route("/assets/{symbol}/issuer", issuer_page)] if portal.config.issuer else []),
        *api.routes(portal.config.issuer),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = []
    if portal.config.cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(portal.config.cors_origins),
                                     allow_methods=["GET"]))
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={HTTPException: http_error, Exception: server_error})
    app.state.portal = portal
    app.state.stopping = False
    return app
