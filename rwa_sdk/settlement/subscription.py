"""Primary issuance: investors request subscriptions and redemptions, the issuer settles batches.

In the spirit of ERC-7540 asynchronous vaults: a request is Pending until the issuer accepts it
(tokens minted at the period's price, or stablecoin paid) or rejects it (refund); an investor may
cancel a pending request. Subscriptions can be paid with a permit or an EIP-3009 authorization.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.contract import Contract

from ..chain import Chain, Sent
from ..deploy import Deployments, deploy
from .stablecoin import Stablecoin


class _RevertData(Exception):
    """Revert bytes caught on chain (a batch's failure event), shaped for :meth:`Chain.decode`."""

    def __init__(self, data: bytes):
        super().__init__(data.hex())
        self.data = data


class Kind(IntEnum):
    SUBSCRIPTION = 0
    REDEMPTION = 1


class Status(IntEnum):
    NONE = 0
    PENDING = 1
    ACCEPTED = 2
    REJECTED = 3
    CANCELLED = 4


@dataclass(frozen=True)
class Request:
    """A request as stored: ``amount`` is stablecoin (subscription) or tokens (redemption);
    ``result`` the tokens minted or stablecoin paid once accepted."""

    request_id: int
    investor: str
    kind: Kind
    status: Status
    period: int
    amount: int
    result: int


@dataclass(frozen=True)
class Period:
    """A pricing period: ``price`` in stablecoin base units per whole token."""

    period_id: int
    price: int
    subscription_cap: int
    redemption_cap: int
    subscribed: int
    redeemed: int
    open: bool


@dataclass(frozen=True)
class InvestorPosition:
    """What an investor has in flight: pending stablecoin and tokens, stablecoin claimable."""

    pending_subscription: int
    pending_redemption: int
    claimable: int


class SubscriptionVault:
    """A deployed SubscriptionVault; ``sender`` arguments take an account, an address or an index."""

    def __init__(self, chain: Chain, address: str):
        self.chain = chain
        self.contract: Contract = chain.contract("SubscriptionVault", address)
        self.address = self.contract.address

    def __repr__(self) -> str:
        return f"SubscriptionVault at {self.address}"

    def _send(self, fn: Any, sender: Any) -> Sent:
        return self.chain.transact(fn, sender=sender)

    # -- reads --------------------------------------------------------------------------
    @property
    def current_period(self) -> int:
        return self.contract.functions.currentPeriod().call()

    def period(self, period_id: int | None = None) -> Period:
        period_id = self.current_period if period_id is None else period_id
        fields = self.contract.functions.getPeriod(period_id).call()
        return Period(period_id, *fields)

    def request(self, request_id: int) -> Request:
        investor, kind, status, period, amount, result = self.contract.functions.getRequest(request_id).call()
        return Request(request_id, investor, Kind(kind), Status(status), period, amount, result)

    def status(self, request_id: int) -> Status:
        return Status(self.contract.functions.requestStatus(request_id).call())

    def requests(self, status: Status | None = None) -> list[Request]:
        """Every request (optionally only those in ``status``), oldest first."""
        count = self.contract.functions.requestCount().call()
        found = [self.request(i) for i in range(count)]
        return [r for r in found if status is None or r.status == status]

    def position(self, investor: str) -> InvestorPosition:
        f = self.contract.functions
        return InvestorPosition(f.pendingSubscription(investor).call(), f.pendingRedemption(investor).call(),
                                f.claimable(investor).call())

    # -- issuer -------------------------------------------------------------------------
    def open_period(self, price: int, subscription_cap: int, redemption_cap: int, sender: Any = None) -> Sent:
        """Issuer: close the current period and open a new one at ``price``."""
        return self._send(self.contract.functions.openPeriod(price, subscription_cap, redemption_cap), sender)

    def close_period(self, sender: Any = None) -> Sent:
        return self._send(self.contract.functions.closePeriod(), sender)

    def accept(self, request_ids: Sequence[int], sender: Any = None) -> Sent:
        """Issuer: accept a batch (mint for subscriptions, pay for redemptions). Requests that cannot be
        accepted stay pending and are reported, not raised: see :meth:`failures`."""
        return self._send(self.contract.functions.acceptRequests(list(request_ids)), sender)

    def reject(self, request_ids: Sequence[int], sender: Any = None) -> Sent:
        """Issuer: reject a batch (refund stablecoin, unfreeze escrowed tokens); failures as for :meth:`accept`."""
        return self._send(self.contract.functions.rejectRequests(list(request_ids)), sender)

    def failures(self, sent: Sent) -> dict[int, Exception]:
        """The requests of batch ``sent`` that failed, each with its decoded contract error."""
        return {event["requestId"]: self.chain.decode(_RevertData(bytes(event["reason"])))
                for event in sent.events(self.contract, "RequestFailed")}

    def set_minimums(self, min_subscription: int, min_redemption: int, sender: Any = None) -> Sent:
        return self._send(self.contract.functions.setMinimums(min_subscription, min_redemption), sender)

    def set_treasury(self, treasury: str, sender: Any = None) -> Sent:
        return self._send(self.contract.functions.setTreasury(treasury), sender)

    def grant_issuer(self, account: str, sender: Any = None) -> Sent:
        role = self.contract.functions.ISSUER_ROLE().call()
        return self._send(self.contract.functions.grantRole(role, account), sender)

    # -- investors ----------------------------------------------------------------------
    def subscribe(self, assets: int, sender: Any = None) -> int:
        """Request a subscription of ``assets`` (after an approve); returns the request id."""
        sent = self._send(self.contract.functions.requestSubscription(assets), sender)
        return self._request_id(sent, "SubscriptionRequested")

    def subscribe_with_permit(self, coin: Stablecoin, investor: LocalAccount, assets: int,
                              deadline: int | None = None) -> int:
        """Request a subscription with an EIP-2612 permit signed here (one transaction, no approve)."""
        permit = coin.sign_permit(investor, self.address, assets, deadline=deadline)
        sig = permit.signature
        fn = self.contract.functions.requestSubscriptionWithPermit(assets, permit.deadline, sig.v, sig.r, sig.s)
        return self._request_id(self._send(fn, investor), "SubscriptionRequested")

    def subscribe_with_authorization(self, coin: Stablecoin, investor: LocalAccount, assets: int,
                                     valid_before: int | None = None) -> int:
        """Request a subscription with an EIP-3009 receive authorization signed here."""
        auth = coin.sign_authorization(investor, self.address, assets, kind="receive", valid_before=valid_before)
        sig = auth.signature
        fn = self.contract.functions.requestSubscriptionWithAuthorization(
            assets, auth.valid_after, auth.valid_before, auth.nonce, sig.v, sig.r, sig.s)
        return self._request_id(self._send(fn, investor), "SubscriptionRequested")

    def redeem(self, shares: int, sender: Any = None) -> int:
        """Request the redemption of ``shares`` tokens (frozen in the wallet as escrow now); returns the request id."""
        sent = self._send(self.contract.functions.requestRedemption(shares), sender)
        return self._request_id(sent, "RedemptionRequested")

    def cancel(self, request_id: int, sender: Any = None) -> Sent:
        return self._send(self.contract.functions.cancelRequest(request_id), sender)

    def withdraw(self, sender: Any = None) -> Sent:
        """Collect stablecoin whose push payment failed (e.g. while blacklisted)."""
        return self._send(self.contract.functions.withdraw(), sender)

    def _request_id(self, sent: Sent, event: str) -> int:
        return sent.events(self.contract, event)[0]["requestId"]


def deploy_vault(chain: Chain, token: str, stablecoin: str, *, admin: str | None = None,
                 treasury: str | None = None, sender: Any = None, deployments: Deployments | None = None,
                 record_name: str = "SubscriptionVault", force: bool = False) -> SubscriptionVault:
    """Deploy a vault for ``token``/``stablecoin``; admin and treasury default to the deployer.

    The vault must then be made a token agent (it mints and burns) and given issuers."""
    deployer = chain.account(sender).address
    result = deploy(chain, "SubscriptionVault", token, stablecoin, admin or deployer, treasury or deployer,
                    name=record_name, sender=sender, deployments=deployments, force=force)
    return SubscriptionVault(chain, result.contract.address)
