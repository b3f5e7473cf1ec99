"""What every asset command shares: network options, connecting and loading, keys, output, errors.

Keys per network (one rule, applied here only):

* ``anvil`` (default) starts a throw-away node for the command and signs with its development
  accounts; ``localhost``/``hardhat`` do the same against a node already running on 8545
  (``rwa node``), unless ``RWA_PRIVATE_KEY``/``RWA_KEYSTORE`` is set. With the development
  accounts each :class:`~rwa_sdk.asset.AssetRoles` role (owner, agent, claim signer, operator,
  relayer, treasury) is a different account, as ``AssetRoles.from_chain`` assigns them.
* Any other RPC URL signs with ``RWA_PRIVATE_KEY`` or ``RWA_KEYSTORE``: one key for every role.
  ``--dev-accounts`` opts a URL into the development accounts (how the tests drive a node on a
  random port), and is refused unless the chain id is Anvil's/Hardhat's 31337: those keys are
  public. A URL is never treated as local by guessing from its host or chain id.
* Investor-side commands (subscribe, redeem, claim, orders) sign with ``RWA_INVESTOR_KEY``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # heavy imports stay inside the functions that need them
    from eth_account.signers.local import LocalAccount

    from ..asset import Asset
    from ..chain import Chain

DEV_CHAIN_ID = 31337
INVESTOR_KEY_ENV = "RWA_INVESTOR_KEY"


class LazyConsole:
    """A rich Console made on first use: importing rich costs more than `rwa --help` may take."""

    def __init__(self, **options: Any):
        self._options = options
        self._console: Any = None

    def real(self) -> Any:
        """The Console itself (for rich objects that take one, such as Progress)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)


stderr = LazyConsole(stderr=True)


class CommandError(click.ClickException):
    """A failure the user can act on: printed in red on stderr, exit code 1, no traceback."""

    def show(self, file: Any = None) -> None:
        from rich.markup import escape

        stderr.print(f"[red]error: {escape(self.message)}[/red]", highlight=False, markup=True, soft_wrap=True)


@dataclass(frozen=True)
class Target:
    """Where a command runs: the network, whether dev keys may sign, where records live, whose key signs."""

    network: str
    dev_accounts: bool
    deployments: Path | None
    keystore: Path | None = None
    investor_keystore: Path | None = None


def network_options(command: Callable) -> Callable:
    """``--network``, ``--dev-accounts``, ``--deployments`` and the key options, folded into one ``target``.

    Every command takes the same key options: ``--keystore`` (``RWA_KEYSTORE``; else
    ``RWA_PRIVATE_KEY``) for the issuer's roles, ``--investor-keystore`` (``RWA_INVESTOR_KEYSTORE``;
    else ``RWA_INVESTOR_KEY``) for investor-side commands."""

    @click.option("--network", default="anvil", show_default=True, envvar="RWA_NETWORK",
                  help="anvil (throw-away node), localhost, hardhat or an RPC URL.")
    @click.option("--dev-accounts", is_flag=True,
                  help="Sign with the public development accounts on an RPC URL (chain id 31337 only).")
    @click.option("--deployments", "deployments_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                  envvar="RWA_DEPLOYMENTS",
                  help="Folder of <chainId>.assets.json records (default: the project's deployments/; "
                       "--network anvil: a temporary one).")
    @click.option("--keystore", type=click.Path(dir_okay=False, path_type=Path), default=None, envvar="RWA_KEYSTORE",
                  help="Issuer key: an encrypted eth-account keyfile (password: RWA_KEYSTORE_PASSWORD or a prompt); "
                       "else RWA_PRIVATE_KEY.")
    @click.option("--investor-keystore", type=click.Path(dir_okay=False, path_type=Path), default=None,
                  envvar="RWA_INVESTOR_KEYSTORE",
                  help="Investor key for investor-side commands: a keyfile; else RWA_INVESTOR_KEY.")
    @functools.wraps(command)
    def wrapper(*args: Any, network: str, dev_accounts: bool, deployments_dir: Path | None, keystore: Path | None,
                investor_keystore: Path | None, **kwargs: Any) -> Any:
        target = Target(network, dev_accounts, deployments_dir, keystore, investor_keystore)
        return command(*args, target=target, **kwargs)

    return wrapper


def _without_urls(text: str) -> str:
    """Connection errors quote the URL they tried, API key and all: keep only scheme, host and port."""
    import re

    from ..chain import redact_url

    text = re.sub(r"[a-z][a-z0-9+.-]*://[^\s'\")]+", lambda m: redact_url(m.group(0)), text)
    return re.sub(r"url: /\S*", "url: /…", text)


def asset_option(command: Callable) -> Callable:
    return click.option("--asset", "symbol", required=True, envvar="RWA_ASSET", help="Asset symbol, e.g. SUN5.")(command)


def json_option(command: Callable) -> Callable:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(command)


def handle_errors(command: Callable) -> Callable:
    """Turn the toolkit's expected failures into a red one-line message and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt, SystemExit):
            raise
        except Exception as error:
            translated = translate(error)
            if translated is None:
                raise
            raise translated from None

    return wrapper


def translate(error: BaseException) -> CommandError | None:
    """The one line a failure deserves (``None``: a bug, let it show). URLs lose their secrets."""
    from web3.exceptions import Web3Exception

    from ..asset import AssetError
    from ..chain import ChainError
    from ..errors import ContractError
    from ..spec import SpecError

    if isinstance(error, ContractError):
        return CommandError(f"transaction reverted: {_without_urls(str(error))}{in_words(error)}")
    if isinstance(error, SpecError):
        return CommandError(f"spec error: {error}")
    if isinstance(error, (AssetError, ChainError)):
        return CommandError(_without_urls(str(error)))
    if is_transport_error(error):
        return CommandError(transport_message(error))
    if isinstance(error, Web3Exception):  # the node, not the contract, failed
        return CommandError(f"node error: {type(error).__name__}: {one_line(_without_urls(str(error)))}")
    try:
        from ..oracle.store import StoreError
    except ImportError:  # pragma: no cover
        StoreError = ()  # type: ignore[assignment]  # noqa: N806
    if isinstance(error, (StoreError, FileNotFoundError, PermissionError, IsADirectoryError)):
        return CommandError(one_line(_without_urls(str(error))))
    import sqlite3

    if isinstance(error, sqlite3.Error):
        return CommandError(f"store error: {one_line(str(error))} (check --db / RWA_ORACLE_DB and its folder)")
    return None


def one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def is_transport_error(error: BaseException) -> bool:
    """The node could not be reached or timed out (requests, urllib3, aiohttp, sockets), not a revert."""
    import socket

    module = type(error).__module__ or ""
    if isinstance(error, (ConnectionError, TimeoutError, socket.gaierror)):
        return True
    return module.split(".")[0] in ("requests", "urllib3", "aiohttp", "http")


def transport_message(error: BaseException) -> str:
    """``cannot reach the node (ConnectionError: ...)``, with every URL reduced to scheme://host:port."""
    detail = one_line(_without_urls(str(error)), 200)
    return (f"cannot reach the node ({type(error).__name__}: {detail}); is it running? "
            "`rwa node` starts one for --network localhost")


def in_words(error: Exception) -> str:
    """`` (token recipient not verified)`` for ``TokenRecipientNotVerified``; generic errors add nothing."""
    from ..errors import Panic, Revert, TransactionFailed, UnknownError

    name = getattr(error, "error_name", "")
    if not name or name == "ContractError" or isinstance(error, (Revert, Panic, UnknownError, TransactionFailed)):
        return ""
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).split()
    text = " ".join(w if w.isupper() or any(c.isdigit() for c in w) else w.lower() for w in words)
    values = error.args_dict
    if name == "BelowMinimum" and values.get("minimum", 0) >= 10**6:  # the vault's minimum ticket, in USDC units
        text += f": {usdc(values['amount'])} < minimum {usdc(values['minimum'])}"
    elif name == "PeriodCapExceeded":
        text += f": {usdc(values['total'])} would exceed the period's cap of {usdc(values['cap'])}"
    return f" ({text})"


# -- connecting ---------------------------------------------------------------------------------
@contextlib.contextmanager
def open_chain(target: Target) -> Iterator[Chain]:
    """Connect as the module docstring describes; the chain (and an ``anvil`` node) closes after."""
    from eth_account import Account

    from ..anvil import DEV_PRIVATE_KEYS
    from ..chain import connect

    chain = connect(target.network, keystore=target.keystore)
    try:
        if target.dev_accounts:
            if chain.chain_id != DEV_CHAIN_ID:
                raise CommandError(f"--dev-accounts is refused on chain {chain.chain_id}: "
                                   f"the development keys are public (only chain id {DEV_CHAIN_ID})")
            chain.accounts[:] = [Account.from_key(key) for key in DEV_PRIVATE_KEYS]
        yield chain
    finally:
        report_signers(chain)
        chain.close()


def report_signers(chain: Chain, roles: Any = None) -> None:
    """On stderr: which account signed how many transactions (addresses only, never a key)."""
    if not chain.sent_by:
        return
    names: dict[str, list[str]] = {}
    if roles is not None:
        for role in ("owner", "agent", "claim_signer", "operator", "relayer", "treasury"):
            names.setdefault(getattr(roles, role).address, []).append(role.replace("_", " "))
    parts = [f"{address}" + (f" ({', '.join(names[address])})" if address in names else "") + f": {count}"
             for address, count in chain.sent_by.items()]
    stderr.print("signed by " + "; ".join(parts) + " transaction(s)", highlight=False, soft_wrap=True)
    chain.sent_by.clear()


@contextlib.contextmanager
def open_asset(target: Target, symbol: str, read_only: bool = False) -> Iterator[Asset]:
    """The asset ``symbol`` on the target network, its roles signed as described above.

    ``read_only`` commands need no key: their roles are an unfunded throw-away key that
    never signs (they only call views)."""
    from eth_account import Account

    from ..asset import Asset, AssetError, AssetRoles

    with open_chain(target) as chain:
        roles = None
        if not chain.accounts:
            if not read_only:
                raise CommandError("no signing key: set RWA_PRIVATE_KEY or RWA_KEYSTORE "
                                   "(or use a local network: anvil, localhost, --dev-accounts)")
            roles = AssetRoles(*[Account.create()] * 6)
        try:
            asset = Asset.load(chain, symbol, roles=roles, deployments_dir=target.deployments)
        except AssetError as error:
            hint = (" (--network anvil starts a fresh, empty node for every command: run `rwa node` and use "
                    "--network localhost)" if target.network == "anvil" else "")
            raise CommandError(f"{error}{hint}") from None
        try:
            yield asset
        finally:
            report_signers(chain, asset.roles)


def investor_account(target: Target | None = None) -> LocalAccount:
    """The investor's key: ``--investor-keystore``/``RWA_INVESTOR_KEYSTORE``, else ``RWA_INVESTOR_KEY`` (never echoed)."""
    from ..chain import ChainError, load_keystore, parse_private_key

    try:
        if target is not None and target.investor_keystore:
            account = load_keystore(target.investor_keystore)
        else:
            key = os.environ.get(INVESTOR_KEY_ENV)
            if not key:
                raise CommandError(f"no investor key: set {INVESTOR_KEY_ENV} to the investor's private key or "
                                   "pass --investor-keystore FILE")
            account = parse_private_key(key, INVESTOR_KEY_ENV)
    except ChainError as error:
        raise CommandError(str(error)) from None
    stderr.print(f"investor: {account.address}", highlight=False)
    return account


# -- parsing ------------------------------------------------------------------------------------
def parse_usd(value: str) -> Decimal:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not an amount of dollars") from None
    if not amount.is_finite() or amount <= 0:
        raise click.BadParameter(f"{value!r} must be a positive amount")
    return amount


def checksum(wallet: str) -> str:
    """The checksummed address; a mixed-case address must carry a valid EIP-55 checksum (it catches typos)."""
    from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

    text = wallet.strip()
    if not is_hex_address(text):
        raise CommandError(f"{wallet!r} is not an address (0x and 40 hex digits)")
    digits = text[2:]
    if digits != digits.lower() and digits != digits.upper() and not is_checksum_address(text):
        raise CommandError(f"{wallet} has a bad EIP-55 checksum: a digit or letter is probably mistyped "
                           "(check it, or write the address all in lower case to skip the check)")
    return to_checksum_address(text)


# -- output -------------------------------------------------------------------------------------
def emit(data: Any, as_json: bool, title: str = "") -> None:
    """A record (dict) as a two-column table, or JSON."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
        return
    from rich.table import Table
    from rich.text import Text

    pairs = [(str(k), str(v)) for k, v in (data.items() if isinstance(data, dict) else enumerate(data))]
    table = Table(title=title or None, show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in pairs:
        table.add_row(Text(key), Text(value))  # Text: a value such as "[compliance]" is not markup
    _print(table, [[k for k, _ in pairs], [v for _, v in pairs]])


def emit_rows(rows: Sequence[dict[str, Any]], as_json: bool, title: str = "", columns: Sequence[str] = ()) -> None:
    """Rows (dicts with the same keys) as a table with a header, or a JSON list."""
    if as_json:
        click.echo(json.dumps(list(rows), indent=2, default=str))
        return
    from rich.table import Table
    from rich.text import Text

    columns = list(columns or (rows[0].keys() if rows else ()))
    cells = [[str(row.get(column, "")) for row in rows] for column in columns]
    table = Table(title=title or None)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(Text(str(row.get(column, ""))) for column in columns))
    _print(table, [[c, *values] for c, values in zip(columns, cells)])


def _print(table: Any, columns: Sequence[Sequence[str]]) -> None:
    """Print wide enough that no address or hash is folded (a pipe or narrow terminal defaults to 80)."""
    from rich.console import Console

    needed = sum(max((len(v) for v in column), default=0) + 3 for column in columns) + 1
    console = Console()
    if needed > console.width:
        console = Console(width=needed)
    console.print(table)


def progress() -> Any:
    """A progress bar on stderr (stdout stays clean for --json)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=stderr.real(), transient=True)


def tx(sent: Any) -> dict[str, Any]:
    """The part of a mined transaction worth printing."""
    return {"tx": sent.tx_hash, "gas_used": sent.gas_used}


def usd(units: int) -> str:
    """Stablecoin base units (6 decimals) as exact dollars."""
    return str(Decimal(units).scaleb(-6).normalize())


def usdc(units: int) -> str:
    """``1,000 USDC`` / ``1,250.5 USDC``: base units (6 decimals) with separators and the unit, for people."""
    value = Decimal(units).scaleb(-6)
    text = f"{value:,.6f}".rstrip("0").rstrip(".")
    return f"{text} USDC"
