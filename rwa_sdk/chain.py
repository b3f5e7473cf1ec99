"""Connect to a chain and send transactions signed locally with eth-account.

``connect("anvil")`` (the default) starts a private Anvil that lives as long as the returned
:class:`Chain`; ``connect("hardhat")`` talks to a Hardhat node on 8545; any ``http(s)://`` URL works with a key from ``RWA_PRIVATE_KEY`` or an encrypted keystore file.
Reverts surface as the contract's own errors (see :mod:`rwa_sdk.errors`).
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.types import TxReceipt

from . import errors
from .anvil import DEV_PRIVATE_KEYS, AnvilNode
from .artifacts import Artifact, all_abis, load_artifact

NETWORKS = {"hardhat": "http://127.0.0.1:8545", "localhost": "http://127.0.0.1:8545"}
DEV_CHAIN_ID = 31337  # Anvil's and Hardhat's: the only chain the public development keys sign on
GAS_MARGIN = 1.2


class ChainError(RuntimeError):
    """Connection, key or configuration problem (never carries key material)."""


@dataclass(frozen=True)
class Sent:
    """A mined transaction: its receipt and the gas it used."""

    receipt: TxReceipt

    @property
    def tx_hash(self) -> str:
        return "0x" + bytes(self.receipt["transactionHash"]).hex()

    @property
    def gas_used(self) -> int:
        return self.receipt["gasUsed"]

    def events(self, contract: Contract, event_name: str) -> list[dict]:
        """Decoded logs of ``event_name`` emitted by ``contract`` in this transaction."""
        event = getattr(contract.events, event_name)()
        return [dict(log["args"]) for log in event.process_receipt(self.receipt, errors=_DISCARD)]


try:  # web3 7 and 8 both ship EventLogErrorFlags; keep the import local to one place
    from web3.logs import DISCARD as _DISCARD
except ImportError:  # pragma: no cover
    _DISCARD = None


class Chain:
    """One connection: its ``Web3``, the local accounts that sign, and error decoding."""

    def __init__(self, w3: Web3, accounts: Iterable[LocalAccount], node: AnvilNode | None = None):
        self.w3 = w3
        self.accounts: list[LocalAccount] = list(accounts)
        self.node = node
        self.chain_id = w3.eth.chain_id
        self.errors = errors.ErrorDecoder()
        self._project_abis_loaded = False
        self._genesis: str | None = None
        # where deployment records go when no folder is given: None = the project's deployments/;
        # a throw-away node (``connect("anvil")``) gets a temporary folder that vanishes with it
        self.records_dir: Path | None = None
        self.sent_by: dict[str, int] = {}  # address -> transactions it signed through this chain

    @property
    def genesis_hash(self) -> str:
        """The hash of block 0: tells two chains with the same id apart (a restarted dev node is a new chain)."""
        if self._genesis is None:
            self._genesis = "0x" + bytes(self.w3.eth.get_block(0)["hash"]).hex()
        return self._genesis

    def __repr__(self) -> str:
        signers = ", ".join(a.address for a in self.accounts[:3])
        more = "..." if len(self.accounts) > 3 else ""
        return f"Chain(chain_id={self.chain_id}, signers=[{signers}{more}])"

    # -- accounts -------------------------------------------------------------------------
    @property
    def deployer(self) -> LocalAccount:
        if not self.accounts:
            raise ChainError("no signing key: set RWA_PRIVATE_KEY or pass a keystore")
        return self.accounts[0]

    def account(self, who: LocalAccount | str | int | None) -> LocalAccount:
        """A signer by index, address, or the account itself (``None`` = the deployer)."""
        if who is None:
            return self.deployer
        if isinstance(who, int):
            return self.accounts[who]
        if isinstance(who, str):
            for account in self.accounts:
                if account.address.lower() == who.lower():
                    return account
            raise ChainError(f"no local key for {who}")
        return who

    # -- contracts ------------------------------------------------------------------------
    def contract(self, artifact: Artifact | str, address: str) -> Contract:
        """A web3 contract at ``address``; its errors become decodable."""
        artifact = load_artifact(artifact) if isinstance(artifact, str) else artifact
        self.errors.add_abi(artifact.abi)
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=artifact.abi)

    def deploy(self, artifact: Artifact | str, *args: Any, sender: Any = None, value: int = 0) -> tuple[Contract, Sent]:
        """Deploy ``artifact`` with constructor ``args``; returns the contract and its receipt."""
        artifact = load_artifact(artifact) if isinstance(artifact, str) else artifact
        if artifact.link_references:
            raise ChainError(f"{artifact.name} needs library linking, which is not supported")
        self.errors.add_abi(artifact.abi)
        factory = self.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        sent = self.transact(factory.constructor(*args), sender=sender, value=value)
        address = sent.receipt["contractAddress"]
        return self.w3.eth.contract(address=address, abi=artifact.abi), sent

    # -- calls and transactions -----------------------------------------------------------
    def call(self, fn: Any, sender: Any = None, block: Any = "latest") -> Any:
        """Run a view or a dry-run of ``fn``; a revert raises the decoded contract error."""
        params = {"from": self.account(sender).address} if (sender is not None or self.accounts) else {}
        try:
            return fn.call(params, block_identifier=block)
        except (ContractLogicError, Web3RPCError, ValueError) as exc:
            raise self.decode(exc) from None

    def transact(self, fn: Any, sender: Any = None, value: int = 0, gas: int | None = None) -> Sent:
        """Sign ``fn`` (a contract function call or constructor) with ``sender`` and wait for it.

        Gas is estimated first, so a revert is reported with its decoded error before anything
        is sent; a mined failure is replayed to recover its reason.
        """
        account = self.account(sender)
        params: dict[str, Any] = {"from": account.address, "value": value}
        if gas is None:
            try:
                gas = int(fn.estimate_gas(params) * GAS_MARGIN)
            except (ContractLogicError, Web3RPCError, ValueError) as exc:
                raise self.decode(exc) from None
        params.update(self.fee_params(), gas=gas, chainId=self.chain_id)
        params["nonce"] = self.w3.eth.get_transaction_count(account.address, "pending")
        tx = fn.build_transaction(params)
        signed = account.sign_transaction(tx)
        self.sent_by[account.address] = self.sent_by.get(account.address, 0) + 1
        tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt["status"] != 1:
            raise self._replay_failure(tx, receipt)
        return Sent(receipt)

    def send_value(self, to: str, value: int, sender: Any = None) -> Sent:
        """Plain ether transfer, signed locally."""
        account = self.account(sender)
        tx = {
            "to": Web3.to_checksum_address(to),
            "value": value,
            "gas": 21_000,
            "chainId": self.chain_id,
            "nonce": self.w3.eth.get_transaction_count(account.address, "pending"),
            **self.fee_params(),
        }
        tx_hash = self.w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        self.sent_by[account.address] = self.sent_by.get(account.address, 0) + 1
        return Sent(self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120))

    def timestamp(self) -> int:
        """The latest block's time: the clock deadlines and expiries are judged by (local nodes may run ahead)."""
        return self.w3.eth.get_block("latest")["timestamp"]

    def fee_params(self) -> dict[str, int]:
        """EIP-1559 fees: twice the current base fee plus the node's suggested tip."""
        base_fee = self.w3.eth.get_block("latest").get("baseFeePerGas")
        if base_fee is None:
            return {"gasPrice": self.w3.eth.gas_price}
        tip = self.w3.eth.max_priority_fee
        return {"maxFeePerGas": 2 * base_fee + tip, "maxPriorityFeePerGas": tip}

    # -- errors ---------------------------------------------------------------------------
    def decode(self, exc: BaseException) -> BaseException:
        """The named contract error behind a web3 exception (or ``exc`` itself if none)."""
        data = errors.revert_data(exc)
        if data is None:
            if isinstance(exc, ContractLogicError) and exc.message:
                return errors.Revert({"reason": exc.message}, b"", None)
            return exc
        if not self.errors.knows(data) and not self._project_abis_loaded:
            for abi in all_abis():
                self.errors.add_abi(abi)
            self._project_abis_loaded = True
        return self.errors.decode(data)

    def _replay_failure(self, tx: dict, receipt: TxReceipt) -> errors.ContractError:
        call = {k: tx[k] for k in ("from", "to", "data", "value", "gas") if k in tx}
        try:
            self.w3.eth.call(call, receipt["blockNumber"] - 1)
        except (ContractLogicError, Web3RPCError, ValueError) as exc:
            decoded = self.decode(exc)
            if isinstance(decoded, errors.ContractError):
                return decoded
        return errors.TransactionFailed({"tx_hash": "0x" + bytes(receipt["transactionHash"]).hex(), "gas_used": receipt["gasUsed"]})

    # -- local node helpers ---------------------------------------------------------------
    def rpc(self, method: str, *params: Any) -> Any:
        response = self.w3.provider.make_request(method, list(params))
        if "error" in response:
            raise ChainError(f"{method}: {response['error']}")
        return response["result"]

    def snapshot(self) -> str:
        return self.rpc("evm_snapshot")

    def revert(self, snapshot_id: str) -> None:
        if not self.rpc("evm_revert", snapshot_id):
            raise ChainError(f"snapshot {snapshot_id} could not be reverted")

    def mine(self, seconds: int = 0) -> None:
        """Advance time by ``seconds`` and mine one block (local nodes only)."""
        if seconds:
            self.rpc("evm_increaseTime", seconds)
        self.rpc("evm_mine")

    def close(self) -> None:
        if self.node is not None:
            self.node.stop()
        if self.records_dir is not None and self.node is not None:
            import shutil

            shutil.rmtree(self.records_dir, ignore_errors=True)

    def __enter__(self) -> Chain:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


LOCAL_NODE_PATIENCE_S = 10.0  # `rwa node &` then a command at once: the node may still be starting


def _answers(w3: Web3, patience_s: float) -> bool:
    """Whether the node answers, waiting up to ``patience_s`` for a local one that is starting."""
    import time

    deadline = time.monotonic() + patience_s
    while True:
        if w3.is_connected():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def local_url() -> str:
    """Where ``localhost``/``hardhat`` point: 127.0.0.1:8545, or ``RWA_LOCALHOST_URL`` (a node on another port)."""
    return os.environ.get("RWA_LOCALHOST_URL") or NETWORKS["localhost"]


def redact_url(url: str) -> str:
    """``scheme://host:port`` only: providers often put an API key in the path, query or user info."""
    url = url.rstrip(".,;:!?")
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    hidden = "/…" if (parts.path.strip("/") or parts.query or parts.username) else ""
    return f"{parts.scheme}://{host}{port}{hidden}"


def parse_private_key(key: str, source: str = "the private key") -> LocalAccount:
    """An account from exactly 32 bytes of hex: a shorter key would silently sign as another account."""
    text = key.strip() if isinstance(key, str) else ""
    digits = text[2:] if text[:2].lower() == "0x" else text
    if len(digits) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digits):
        shown = f"{len(digits)} characters" if digits else "empty"
        raise ChainError(f"{source} must be 32 bytes of hex (64 hex digits, optionally after 0x); got {shown}")
    try:
        return Account.from_key("0x" + digits)
    except (ValueError, TypeError):
        raise ChainError(f"{source} is not a valid secp256k1 private key") from None


def load_keystore(path: str | Path, password: str | None = None) -> LocalAccount:
    """Decrypt an eth-account keyfile; the password comes from the argument,
    ``RWA_KEYSTORE_PASSWORD``, or a prompt, and never appears in errors."""
    path = Path(path).expanduser()
    try:
        keyfile = json.loads(path.read_text())
    except FileNotFoundError:
        raise ChainError(f"keystore {path} does not exist (set --keystore or RWA_KEYSTORE to an eth-account "
                         "keyfile)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ChainError(f"keystore {path} cannot be read: {type(error).__name__}") from None
    except json.JSONDecodeError as error:
        raise ChainError(f"keystore {path} is not JSON (line {error.lineno}): expected an eth-account "
                         "keyfile") from None
    if not isinstance(keyfile, dict) or "crypto" not in {k.lower() for k in keyfile}:
        raise ChainError(f"keystore {path} is not an eth-account keyfile (no 'crypto' section)")
    if password is None:
        password = os.environ.get("RWA_KEYSTORE_PASSWORD")
    if password is None:
        password = getpass.getpass(f"Password for keystore {Path(path).name}: ")
    try:
        secret = Account.decrypt(keyfile, password)
    except ValueError as error:
        if "MAC mismatch" in str(error):
            raise ChainError(f"wrong password for keystore {path.name}") from None
        raise ChainError(f"keystore {path.name} is malformed: {str(error).splitlines()[0][:120]}") from None
    except (KeyError, TypeError, AttributeError) as error:
        raise ChainError(f"keystore {path.name} is malformed (missing or bad field {error})") from None
    return Account.from_key(secret)


def _accounts_from_env(keystore: str | Path | None, password: str | None, private_key: str | None) -> list[LocalAccount]:
    keystore = keystore or os.environ.get("RWA_KEYSTORE")
    if keystore:
        return [load_keystore(keystore, password)]
    if private_key:
        return [parse_private_key(private_key)]
    key = os.environ.get("RWA_PRIVATE_KEY")
    if key:
        return [parse_private_key(key, "RWA_PRIVATE_KEY")]
    return []


def connect(
    target: str = "anvil",
    *,
    private_key: str | None = None,
    keystore: str | Path | None = None,
    password: str | None = None,
    anvil_args: list[str] | None = None,
) -> Chain:
    """Connect by network name (``anvil``, ``hardhat``, ``localhost``) or RPC URL.

    ``anvil`` starts a node of its own, stopped when the chain is closed. Local networks sign
    with the public development keys; any other URL needs ``private_key``, ``keystore`` (or the
    ``RWA_PRIVATE_KEY`` / ``RWA_KEYSTORE`` environment variables).
    """
    node = None
    if target == "anvil":
        node = AnvilNode(extra_args=anvil_args).start()
        url = node.url
    else:
        url = local_url() if target in NETWORKS else target
        if not url.startswith(("http://", "https://")):
            raise ChainError(f"unknown network {target!r}: use anvil, hardhat, localhost or an RPC URL")
    try:
        accounts = _accounts_from_env(keystore, password, private_key)  # a bad key fails before any network
        w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 60}))
        if not _answers(w3, patience_s=LOCAL_NODE_PATIENCE_S if target in NETWORKS else 0):
            hint = ": start one with `rwa node` (in another terminal, or `rwa node &`)" if target in NETWORKS else ""
            raise ChainError(f"no node answers at {redact_url(url)}{hint}")
        if not accounts and (target in NETWORKS or node is not None):
            chain_id = w3.eth.chain_id
            if chain_id != DEV_CHAIN_ID:  # the development keys are public: never on a real chain
                raise ChainError(f"--network {target} answers at {redact_url(url)} with chain id {chain_id}, not "
                                 f"the development chain {DEV_CHAIN_ID}: its public development keys are refused; "
                                 "set RWA_PRIVATE_KEY or RWA_KEYSTORE and pass the node's URL")
            accounts = [Account.from_key(k) for k in DEV_PRIVATE_KEYS]
        chain = Chain(w3, accounts, node)
        if node is not None:
            import tempfile

            chain.records_dir = Path(tempfile.mkdtemp(prefix="rwa-anvil-records-"))
        return chain
    except BaseException:
        if node is not None:
            node.stop()
        raise
