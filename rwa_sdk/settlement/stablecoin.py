"""The USDC-style settlement stablecoin: operate it and sign permits / EIP-3009 authorizations.

Signatures are made off-chain with eth-account, so an investor can pay without sending an
``approve`` transaction: a relayer (or the settlement contract) submits the signed message.
The same wrapper works against Circle's USDC (same functions, typehashes and errors names
aside), since the domain is read from the token's ``eip712Domain()``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from ..chain import Chain, Sent
from ..deploy import Deployments, deploy
from ..eip712 import read_domain

DECIMALS = 6
UNIT = 10**DECIMALS
MAX_UINT256 = 2**256 - 1

PERMIT_TYPES = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}
_AUTHORIZATION_FIELDS = [
    {"name": "from", "type": "address"},
    {"name": "to", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "validAfter", "type": "uint256"},
    {"name": "validBefore", "type": "uint256"},
    {"name": "nonce", "type": "bytes32"},
]
TRANSFER_AUTHORIZATION_TYPES = {"TransferWithAuthorization": _AUTHORIZATION_FIELDS}
RECEIVE_AUTHORIZATION_TYPES = {"ReceiveWithAuthorization": _AUTHORIZATION_FIELDS}
CANCEL_AUTHORIZATION_TYPES = {
    "CancelAuthorization": [
        {"name": "authorizer", "type": "address"},
        {"name": "nonce", "type": "bytes32"},
    ]
}


@dataclass(frozen=True)
class Signature:
    """A 65-byte ECDSA signature, ``r || s || v``."""

    raw: bytes

    @property
    def v(self) -> int:
        return self.raw[64]

    @property
    def r(self) -> bytes:
        return self.raw[:32]

    @property
    def s(self) -> bytes:
        return self.raw[32:64]


@dataclass(frozen=True)
class Permit:
    """An EIP-2612 approval signed by ``owner``."""

    owner: str
    spender: str
    value: int
    deadline: int
    nonce: int
    signature: Signature


@dataclass(frozen=True)
class Authorization:
    """An EIP-3009 transfer (or receive) signed by ``sender`` (``from`` in the standard)."""

    kind: str  # "transfer" or "receive"
    sender: str
    to: str
    value: int
    valid_after: int
    valid_before: int
    nonce: bytes
    signature: Signature

    def args(self) -> list[Any]:
        return [self.sender, self.to, self.value, self.valid_after, self.valid_before, self.nonce]


def _sign(account: LocalAccount, domain: dict, types: dict, message: dict) -> Signature:
    signed = account.sign_typed_data(domain_data=domain, message_types=types, message_data=message)
    return Signature(bytes(signed.signature))


class Stablecoin:
    """A deployed stablecoin; ``sender`` arguments take an account, an address or an index."""

    def __init__(self, chain: Chain, address: str):
        self.chain = chain
        self.contract: Contract = chain.contract("Stablecoin", address)
        self.address = self.contract.address
        self._domain: dict | None = None

    def __repr__(self) -> str:
        return f"Stablecoin({self.symbol} at {self.address})"

    def _send(self, fn: Any, sender: Any) -> Sent:
        return self.chain.transact(fn, sender=sender)

    # -- reads --------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.contract.functions.name().call()

    @property
    def symbol(self) -> str:
        return self.contract.functions.symbol().call()

    def balance_of(self, account: str) -> int:
        return self.contract.functions.balanceOf(account).call()

    def allowance(self, owner: str, spender: str) -> int:
        return self.contract.functions.allowance(owner, spender).call()

    def total_supply(self) -> int:
        return self.contract.functions.totalSupply().call()

    def nonce(self, owner: str) -> int:
        """The owner's next EIP-2612 permit nonce."""
        return self.contract.functions.nonces(owner).call()

    def authorization_used(self, authorizer: str, nonce: bytes) -> bool:
        return self.contract.functions.authorizationState(authorizer, nonce).call()

    def domain(self) -> dict:
        """The EIP-712 domain as the token reports it (ERC-5267 ``eip712Domain()``)."""
        if self._domain is None:
            self._domain = read_domain(self.contract)
        return self._domain

    # -- ERC-20 -------------------------------------------------------------------------
    def transfer(self, to: str, amount: int, sender: Any = None) -> Sent:
        return self._send(self.contract.functions.transfer(to, amount), sender)

    def approve(self, spender: str, amount: int, sender: Any = None) -> Sent:
        return self._send(self.contract.functions.approve(spender, amount), sender)

    def transfer_from(self, owner: str, to: str, amount: int, sender: Any = None) -> Sent:
        return self._send(self.contract.functions.transferFrom(owner, to, amount), sender)

    # -- issuer roles -------------------------------------------------------------------
    def configure_minter(self, minter: str, allowance: int, sender: Any = None) -> Sent:
        """Master minter: let ``minter`` mint up to ``allowance`` more."""
        return self._send(self.contract.functions.configureMinter(minter, allowance), sender)

    def remove_minter(self, minter: str, sender: Any = None) -> Sent:
        return self._send(self.contract.functions.removeMinter(minter), sender)

    def mint(self, to: str, amount: int, sender: Any = None) -> Sent:
        return self._send(self.contract.functions.mint(to, amount), sender)

    def burn(self, amount: int, sender: Any = None) -> Sent:
        return self._send(self.contract.functions.burn(amount), sender)

    def blacklist(self, account: str, sender: Any = None) -> Sent:
        return self._send(self.contract.functions.blacklist(account), sender)

    def un_blacklist(self, account: str, sender: Any = None) -> Sent:
        return self._send(self.contract.functions.unBlacklist(account), sender)

    def pause(self, sender: Any = None) -> Sent:
        return self._send(self.contract.functions.pause(), sender)

    def unpause(self, sender: Any = None) -> Sent:
        return self._send(self.contract.functions.unpause(), sender)

    def rescue(self, token: str, to: str, amount: int, sender: Any = None) -> Sent:
        """Rescuer: move ERC-20 tokens sent to the stablecoin contract by mistake."""
        return self._send(self.contract.functions.rescueERC20(token, to, amount), sender)

    # -- off-chain signatures -----------------------------------------------------------
    def sign_permit(
        self, owner: LocalAccount, spender: str, value: int, deadline: int | None = None, nonce: int | None = None
    ) -> Permit:
        """EIP-2612: ``owner`` lets ``spender`` move ``value`` until ``deadline`` (default: 1 h of chain time)."""
        deadline = self.chain.timestamp() + 3600 if deadline is None else deadline
        nonce = self.nonce(owner.address) if nonce is None else nonce
        message = {"owner": owner.address, "spender": Web3.to_checksum_address(spender), "value": value,
                   "nonce": nonce, "deadline": deadline}
        signature = _sign(owner, self.domain(), PERMIT_TYPES, message)
        return Permit(owner.address, message["spender"], value, deadline, nonce, signature)

    def sign_authorization(
        self,
        sender: LocalAccount,
        to: str,
        value: int,
        *,
        kind: str = "transfer",
        valid_after: int = 0,
        valid_before: int | None = None,
        nonce: bytes | None = None,
    ) -> Authorization:
        """EIP-3009: ``sender`` authorizes moving ``value`` to ``to`` within the time window.

        ``kind="receive"`` makes an authorization only ``to`` itself may submit (safe to hand to
        a contract, which cannot be front-run with it)."""
        types = {"transfer": TRANSFER_AUTHORIZATION_TYPES, "receive": RECEIVE_AUTHORIZATION_TYPES}[kind]
        valid_before = self.chain.timestamp() + 3600 if valid_before is None else valid_before
        nonce = os.urandom(32) if nonce is None else nonce
        to = Web3.to_checksum_address(to)
        message = {"from": sender.address, "to": to, "value": value, "validAfter": valid_after,
                   "validBefore": valid_before, "nonce": nonce}
        signature = _sign(sender, self.domain(), types, message)
        return Authorization(kind, sender.address, to, value, valid_after, valid_before, nonce, signature)

    def sign_cancel_authorization(self, authorizer: LocalAccount, nonce: bytes) -> Signature:
        message = {"authorizer": authorizer.address, "nonce": nonce}
        return _sign(authorizer, self.domain(), CANCEL_AUTHORIZATION_TYPES, message)

    # -- submitting signatures ----------------------------------------------------------
    def permit(self, permit: Permit, sender: Any = None) -> Sent:
        fn = self.contract.get_function_by_signature("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)")
        sig = permit.signature
        return self._send(fn(permit.owner, permit.spender, permit.value, permit.deadline, sig.v, sig.r, sig.s), sender)

    def execute_authorization(self, authorization: Authorization, sender: Any = None, packed: bool = False) -> Sent:
        """Submit an EIP-3009 authorization (``packed`` uses the ``bytes signature`` overload)."""
        name = f"{authorization.kind}WithAuthorization"
        head = "address,address,uint256,uint256,uint256,bytes32"
        sig = authorization.signature
        if packed:
            fn = self.contract.get_function_by_signature(f"{name}({head},bytes)")
            return self._send(fn(*authorization.args(), sig.raw), sender)
        fn = self.contract.get_function_by_signature(f"{name}({head},uint8,bytes32,bytes32)")
        return self._send(fn(*authorization.args(), sig.v, sig.r, sig.s), sender)

    def cancel_authorization(self, authorizer: str, nonce: bytes, signature: Signature, sender: Any = None) -> Sent:
        fn = self.contract.get_function_by_signature("cancelAuthorization(address,bytes32,uint8,bytes32,bytes32)")
        return self._send(fn(authorizer, nonce, signature.v, signature.r, signature.s), sender)


def deploy_stablecoin(
    chain: Chain,
    name: str = "USD Coin",
    symbol: str = "USDC",
    *,
    owner: str | None = None,
    master_minter: str | None = None,
    pauser: str | None = None,
    blacklister: str | None = None,
    rescuer: str | None = None,
    sender: Any = None,
    deployments: Deployments | None = None,
    record_name: str = "Stablecoin",
    force: bool = False,
) -> Stablecoin:
    """Deploy (or find, if identical) a stablecoin; every role defaults to the deployer."""
    deployer = chain.account(sender).address
    roles = [r or deployer for r in (owner, master_minter, pauser, blacklister, rescuer)]
    result = deploy(chain, "Stablecoin", name, symbol, *roles, name=record_name, sender=sender,
                    deployments=deployments, force=force)
    return Stablecoin(chain, result.contract.address)
