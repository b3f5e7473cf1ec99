"""``rwa serve``: the investor portal, a read-only web app and JSON API over the deployed assets."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import click

from .common import CommandError, _without_urls


def browser_rpc_default(rpc_url: str) -> str | None:
    """The node URL the browser may be told, or None: a URL with a path, query or user info may hold a key."""
    parts = urlsplit(rpc_url)
    if parts.path.strip("/") or parts.query or parts.username or parts.password or parts.fragment:
        return None
    return rpc_url


@click.command("serve")
@click.option("--network", default="localhost", show_default=True, envvar="RWA_NETWORK",
              help="localhost, hardhat or an RPC URL of the chain the assets live on.")
@click.option("--deployments", "deployments_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="RWA_DEPLOYMENTS",
              help="Folder of <chainId>.assets.json records (default: ./deployments of the project).")
@click.option("--oracle-db", default=None, envvar="RWA_ORACLE_DB",
              help="The oracle daemon's store, for reading proofs (SQLite file or postgresql:// URL).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--issuer", is_flag=True, help="Also serve the issuer's view (cap table, requests): not for the public.")
@click.option("--browser-rpc", default=None,
              help="RPC URL the investor's browser asks to verify readings (default: --network if it holds no key).")
@click.option("--cors-origin", "cors_origins", multiple=True, help="Allow this origin to call the API (repeatable).")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path), default=Path(".rwa/portal"),
              show_default=True, help="Folder of the event indexer's cache (resumed on restart).")
@click.option("--poll", "poll_s", default=2.0, show_default=True, type=click.FloatRange(0.1, 600),
              help="Seconds between looks at the chain.")
def serve_cmd(network: str, deployments_dir: Path | None, oracle_db: str | None, host: str, port: int, issuer: bool,
              browser_rpc: str | None, cors_origins: tuple[str, ...], cache_dir: Path, poll_s: float) -> None:
    """Serve the investor portal (asset list, asset pages, JSON API; --issuer adds the issuer's view)."""
    from ..chain import ChainError, connect, local_url
    from ..portal.data import PortalConfig
    from ..portal.server import serve

    if network == "anvil":
        raise CommandError("rwa serve reads a chain that holds assets: run `rwa node` and use --network localhost")
    rpc_url = local_url() if network in ("localhost", "hardhat") else network
    try:
        connect(rpc_url).close()
    except ChainError as error:
        raise CommandError(_without_urls(str(error))) from None
    shown = browser_rpc or browser_rpc_default(rpc_url)
    if shown is None:
        click.echo("note: the node URL may hold a key, so the page cannot verify readings in the browser; "
                   "give --browser-rpc a public URL", err=True)
    config = PortalConfig(rpc_url=rpc_url, deployments=deployments_dir, oracle_db=oracle_db, cache_dir=cache_dir,
                          issuer=issuer, browser_rpc=shown, poll_s=poll_s, cors_origins=cors_origins)
    if issuer and host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"warning: the issuer view (cap table, wallets) is served on {host} without authentication; "
                   "put it behind your own access control", err=True)
    click.echo(f"portal on http://{host}:{port}/ ({'with' if issuer else 'no'} issuer view)", err=True)
    serve(config, host, port)
