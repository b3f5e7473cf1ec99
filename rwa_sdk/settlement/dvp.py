"""Delivery-versus-payment: sign EIP-712 orders off-chain and fill them atomically on chain.

A maker signs an :class:`Order` (sell or buy ``amount`` security tokens at ``price`` stablecoin
units per whole token); any taker fills all or part of it with :meth:`DvP.fill`. The security
leg moves first, so the token's compliance rule rejects a trade before any money moves. A buyer
can pay with an EIP-2612 permit or an EIP-3009 authorization instead of an approve transaction.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from ..chain import Chain, Sent
from ..deploy import Deployments, deploy
from ..eip712 import read_domain
from .stablecoin import Authorization, Permit, Signature, Stablecoin

SELL = 0
BUY = 1

ORDER_TYPES = {
    "Order": [
        {"name": "maker", "type": "address"},
        {"name": "token", "type": "address"},
        {"name": "stablecoin", "type": "address"},
        {"name": "side", "type": "uint8"},
        {"name": "amount", "type": "uint256"},
        {"name": "price", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "expiry", "type": "uint256"},
        {"name": "maxFeeBps", "type": "uint16"},
    ]
}


@dataclass(frozen=True)
class Order:
    """A DvP order: ``amount`` in token base units, ``price`` in stablecoin base units per whole token."""

    maker: str
    token: str
    stablecoin: str
    side: int
    amount: int
    price: int
    nonce: int
    expiry: int
    max_fee_bps: int = 0
    """The highest settlement fee (basis points) the maker accepts; a fill under a higher fee reverts."""

    def as_tuple(self) -> tuple:
        return astuple(self)

    def message(self) -> dict[str, Any]:
        return {
            "maker": self.maker,
            "token": self.token,
            "stablecoin": self.stablecoin,
            "side": self.side,
            "amount": self.amount,
            "price": self.price,
            "nonce": self.nonce,
            "expiry": self.expiry,
            "maxFeeBps": self.max_fee_bps,
        }


@dataclass(frozen=True)
class SignedOrder:
    """An order with its maker's EIP-712 signature; this is what a maker hands to takers."""

    order: Order
    signature: Signature


class DvP:
    """A deployed DvPSettlement; ``sender`` arguments take an account, an address or an index."""

    def __init__(self, chain: Chain, address: str):
        self.chain = chain
        self.contract: Contract = chain.contract("DvPSettlement", address)
        self.address = self.contract.address
        self._domain: dict | None = None

    def __repr__(self) -> str:
        return f"DvP at {self.address}"

    def domain(self) -> dict:
        """The EIP-712 domain the contract reports (ERC-5267)."""
        if self._domain is None:
            self._domain = read_domain(self.contract)
        return self._domain

    # -- orders -------------------------------------------------------------------------
    def sign_order(
        self,
        maker: LocalAccount,
        *,
        token: str,
        stablecoin: str,
        side: int,
        amount: int,
        price: int,
        nonce: int,
        expiry: int | None = None,
        max_fee_bps: int | None = None,
    ) -> SignedOrder:
        """Sign an order off-chain (no transaction); ``expiry`` defaults to one hour from now, ``max_fee_bps``
        (the fee the maker accepts at most) to the fee in force now."""
        if side not in (SELL, BUY):
            raise ValueError(f"side must be SELL (0) or BUY (1), not {side}")
        if max_fee_bps is None:
            max_fee_bps = self.fee_bps()
        order = Order(maker.address, Web3.to_checksum_address(token), Web3.to_checksum_address(stablecoin),
                      side, amount, price, nonce, self.chain.timestamp() + 3600 if expiry is None else expiry,
                      max_fee_bps)
        signed = maker.sign_typed_data(domain_data=self.domain(), message_types=ORDER_TYPES,
                                       message_data=order.message())
        return SignedOrder(order, Signature(bytes(signed.signature)))

    def fee_bps(self) -> int:
        """The settlement fee in force, in basis points."""
        return self.chain.call(self.contract.functions.feeBps())

    def order_hash(self, order: Order) -> bytes:
        return bytes(self.contract.functions.hashOrder(order.as_tuple()).call())

    def filled(self, order: Order) -> int:
        return self.contract.functions.filled(self.order_hash(order)).call()

    def remaining(self, order: Order) -> int:
        """Token amount still fillable (0 when expired or cancelled)."""
        return self.contract.functions.remaining(order.as_tuple()).call()

    def quote(self, order: Order, amount: int) -> int:
        """Stablecoin paid by the buyer for ``amount`` tokens of ``order`` (fee included)."""
        return self.contract.functions.quote(order.as_tuple(), amount).call()

    # -- transactions -------------------------------------------------------------------
    def fill(self, signed: SignedOrder, amount: int, sender: Any = None) -> Sent:
        """Fill ``amount`` as the taker (seller approved the tokens, buyer the stablecoin)."""
        fn = self.contract.functions.fill(signed.order.as_tuple(), signed.signature.raw, amount)
        return self.chain.transact(fn, sender=sender)

    def fill_with_permit(self, signed: SignedOrder, amount: int, permit: Permit, sender: Any = None) -> Sent:
        """Fill, the buyer's stablecoin allowance coming from an EIP-2612 permit to this contract."""
        sig = permit.signature
        data = (permit.value, permit.deadline, sig.v, sig.r, sig.s)
        fn = self.contract.functions.fillWithPermit(signed.order.as_tuple(), signed.signature.raw, amount, data)
        return self.chain.transact(fn, sender=sender)

    def fill_with_authorization(
        self, signed: SignedOrder, amount: int, authorization: Authorization, sender: Any = None
    ) -> Sent:
        """Fill, the buyer paying with an EIP-3009 receive authorization to this contract."""
        sig = authorization.signature
        data = (authorization.value, authorization.valid_after, authorization.valid_before, authorization.nonce,
                sig.v, sig.r, sig.s)
        fn = self.contract.functions.fillWithAuthorization(signed.order.as_tuple(), signed.signature.raw, amount, data)
        return self.chain.transact(fn, sender=sender)

    def buyer_permit(self, coin: Stablecoin, buyer: LocalAccount, signed: SignedOrder, amount: int,
                     deadline: int | None = None) -> Permit:
        """A permit from ``buyer`` to this contract for exactly the payment of ``amount``."""
        return coin.sign_permit(buyer, self.address, self.quote(signed.order, amount), deadline=deadline)

    def buyer_authorization(self, coin: Stablecoin, buyer: LocalAccount, signed: SignedOrder, amount: int,
                            valid_before: int | None = None) -> Authorization:
        """An EIP-3009 receive authorization from ``buyer`` to this contract for exactly the payment."""
        return coin.sign_authorization(buyer, self.address, self.quote(signed.order, amount), kind="receive",
                                       valid_before=valid_before)

    def cancel(self, nonce: int, sender: Any = None) -> Sent:
        """Cancel every order of ``sender`` signed with ``nonce``."""
        return self.chain.transact(self.contract.functions.cancel(nonce), sender=sender)

    def set_fee(self, fee_bps: int, recipient: str, sender: Any = None) -> Sent:
        """Owner: settlement fee in basis points of the payment (max 1,000), paid from the seller's proceeds."""
        return self.chain.transact(self.contract.functions.setFee(fee_bps, recipient), sender=sender)


def deploy_dvp(chain: Chain, *, owner: str | None = None, sender: Any = None,
               deployments: Deployments | None = None, record_name: str = "DvPSettlement",
               force: bool = False) -> DvP:
    """Deploy (or find, if identical) the settlement contract; the owner defaults to the deployer."""
    owner = owner or chain.account(sender).address
    result = deploy(chain, "DvPSettlement", owner, name=record_name, sender=sender,
                    deployments=deployments, force=force)
    return DvP(chain, result.contract.address)
