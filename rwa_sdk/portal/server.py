"""Run the portal under uvicorn: in the foreground (``rwa serve``) or in a thread (tests, bench)."""

from __future__ import annotations

import threading
import time

import uvicorn

from .app import create_app
from .data import Portal, PortalConfig


class PortalServer:
    """``with PortalServer(config, port=0) as server: server.url`` — the portal on 127.0.0.1 in a thread."""

    def __init__(self, config: PortalConfig, host: str = "127.0.0.1", port: int = 0):
        self.portal = Portal(config)
        self.app = create_app(self.portal)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host=host, port=port, log_level="warning",
                                                    timeout_graceful_shutdown=2, lifespan="off"))
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        sock = self.server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self, timeout: float = 120.0) -> PortalServer:
        self.portal.start()
        self.thread = threading.Thread(target=self.server.run, name="portal-http", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not (self.server.started and self.portal.ready.is_set()):
            if time.monotonic() > deadline or not self.thread.is_alive():
                self.stop()
                raise RuntimeError(f"the portal did not start within {timeout:.0f} s: {self.portal.error}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self.app.state.stopping = True
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.portal.stop()

    def __enter__(self) -> PortalServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def serve(config: PortalConfig, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve until interrupted (what ``rwa serve`` runs)."""
    portal = Portal(config).start()
    app = create_app(portal)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=2, lifespan="off")
    finally:
        app.state.stopping = True
        portal.stop()
