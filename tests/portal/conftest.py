"""One demo world on its own Anvil, one portal server on it, one headless Chromium (when installed)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import httpx
import pytest

from rwa_sdk.chain import connect
from rwa_sdk.portal.data import PortalConfig
from rwa_sdk.portal.server import PortalServer

from ..conftest import ROOT
from .world import World, build_world

SPEC = ROOT / "examples" / "solar-5mw.toml"
CHROMIUM = os.environ.get("RWA_CHROMIUM", "/usr/bin/chromium")

# pvlib still calls pandas accessors that pandas deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated")


@pytest.fixture(scope="session")
def world(compiled) -> World:
    with connect("anvil") as chain, tempfile.TemporaryDirectory(prefix="rwa-portal-") as folder:
        yield build_world(chain, SPEC, Path(folder))


@pytest.fixture(scope="session")
def portal(world, tmp_path_factory) -> PortalServer:
    config = PortalConfig(rpc_url=world.chain.node.url, deployments=world.records, oracle_db=str(world.oracle_db),
                          cache_dir=tmp_path_factory.mktemp("portal-cache"), issuer=True,
                          browser_rpc=world.chain.node.url, poll_s=0.3)
    with PortalServer(config) as server:
        yield server


@pytest.fixture(scope="session")
def client(portal) -> httpx.Client:
    with httpx.Client(base_url=portal.url, timeout=60) as http:
        yield http


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("portal-screenshots")


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium from the system package, driven by Playwright."""
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install -y chromium (or set RWA_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install playwright")
    with sync_playwright() as play:
        chromium = play.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
