// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ISettlementToken} from "./interfaces/ISettlementToken.sol";
import {ITransferRules} from "./interfaces/ITransferRules.sol";
import {IReceiveWithAuthorization} from "./interfaces/IReceiveWithAuthorization.sol";

/**
 * @title SubscriptionVault
 * @notice Primary issuance and redemption of a security token against a stablecoin, asynchronous in the
 * spirit of ERC-7540: investors file requests, the issuer accepts or rejects them in batches at the
 * price of the period the request was filed in.
 * @dev Lifecycle of a request: Pending -> Accepted | Rejected | Cancelled (by its investor).
 * - Subscription: the stablecoin is deposited here on request (approve, EIP-2612 permit or EIP-3009
 *   authorization). On acceptance the vault mints `floor(assets * 10**decimals / price)` tokens to the
 *   investor (the token's compliance applies), the cost goes to the treasury and the unspent remainder back
 *   to the investor; on rejection all is refunded.
 * - Redemption: a request is a move of tokens like any other: refused while the token is paused or when its
 *   compliance would not let the investor move the shares (lock-up). The shares are then held in escrow in
 *   the investor's own wallet, frozen by the vault (a token agent): they cannot move, and they keep earning
 *   revenue since the balance is unchanged. On acceptance they are unfrozen and burned and the treasury pays
 *   `floor(shares * price / 10**decimals)`; on rejection or cancellation they are only unfrozen, which needs
 *   no compliance, so a request of an investor who lost eligibility can always be returned.
 * Batches run item by item: a request that cannot be settled (not pending, refused by compliance, treasury
 *   short of funds) is left as it was and reported with {RequestFailed}; the rest of the batch goes through.
 *   If an agent moves escrowed tokens away (forced transfer, wallet recovery), the request fails until the
 *   agent restores them.
 * Payments to investors are pushed; if the push fails (e.g. the investor is blacklisted on USDC) the amount
 * becomes claimable with {withdraw} instead of blocking the whole batch.
 * Minimum tickets and per-period caps are checked when a request is filed; caps count pending and accepted
 * requests of the period.
 */
contract SubscriptionVault is AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    // ------------------------------------------------------------------ types

    enum Kind {
        Subscription,
        Redemption
    }

    enum Status {
        None,
        Pending,
        Accepted,
        Rejected,
        Cancelled
    }

    /// @notice A pricing period: `price` in stablecoin base units per whole token; caps in stablecoin (sub)
    /// and token base units (redemption).
    struct Period {
        uint256 price;
        uint256 subscriptionCap;
        uint256 redemptionCap;
        uint256 subscribed;
        uint256 redeemed;
        bool open;
    }

    /// @notice `amount` is stablecoin (subscription) or tokens (redemption); `result` is the tokens minted or
    /// stablecoin paid on acceptance.
    struct Request {
        address investor;
        Kind kind;
        Status status;
        uint64 period;
        uint256 amount;
        uint256 result;
    }

    // ------------------------------------------------------------------ errors

    /// @dev No period is open for requests.
    error NoOpenPeriod();
    /// @dev `amount` is below the minimum ticket `minimum`.
    error BelowMinimum(uint256 amount, uint256 minimum);
    /// @dev Period `period` allows `cap` in total; this request would bring it to `total`.
    error PeriodCapExceeded(uint64 period, uint256 cap, uint256 total);
    /// @dev Request `requestId` is `status`, not Pending.
    error RequestNotPending(uint256 requestId, Status status);
    /// @dev Only the investor who filed request `requestId` may cancel it.
    error NotRequestOwner(uint256 requestId, address caller);
    /// @dev `investor` is frozen on the token.
    error InvestorFrozen(address investor);
    /// @dev `investor` has `free` unfrozen tokens, `shares` were asked.
    error RedemptionExceedsFreeTokens(address investor, uint256 free, uint256 shares);
    /// @dev Request `requestId` would mint or pay nothing at the period's price.
    error ZeroResult(uint256 requestId);
    /// @dev A period needs a positive price.
    error InvalidPrice();
    /// @dev Zero address given.
    error InvalidAddress();
    /// @dev `investor` has nothing to withdraw.
    error NothingToWithdraw(address investor);
    /// @dev The token is paused: no tokens move, redemption requests included.
    error TokenPaused();
    /// @dev The token's compliance does not let `investor` move `shares` (e.g. they are locked up).
    error RedemptionNotCompliant(address investor, uint256 shares);
    /// @dev The step for `requestId` ran out of gas: the batch needs a higher gas limit.
    error BatchOutOfGas(uint256 requestId);
    /// @dev Only the vault itself may call the per-request step of a batch; `caller` did.
    error CallerNotVault(address caller);

    // ------------------------------------------------------------------ events

    event PeriodOpened(uint64 indexed period, uint256 price, uint256 subscriptionCap, uint256 redemptionCap);
    event PeriodClosed(uint64 indexed period);
    event SubscriptionRequested(uint256 indexed requestId, address indexed investor, uint64 indexed period, uint256 assets);
    event RedemptionRequested(uint256 indexed requestId, address indexed investor, uint64 indexed period, uint256 shares);
    event RequestCancelled(uint256 indexed requestId, address indexed investor);
    /// @notice `result` tokens minted (subscription) or stablecoin paid (redemption); `refund` unspent stablecoin.
    event RequestAccepted(uint256 indexed requestId, address indexed investor, Kind kind, uint256 amount, uint256 result, uint256 refund);
    event RequestRejected(uint256 indexed requestId, address indexed investor, Kind kind, uint256 amount);
    /// @notice Request `requestId` could not be accepted (`accept`) or rejected and is unchanged; `reason` is the
    /// revert data (a custom error of the vault, the token or the stablecoin).
    event RequestFailed(uint256 indexed requestId, bool accept, bytes reason);
    event PaymentDeferred(address indexed investor, uint256 amount);
    event Withdrawn(address indexed investor, uint256 amount);
    event MinimumsSet(uint256 minSubscription, uint256 minRedemption);
    event TreasurySet(address indexed treasury);

    // ------------------------------------------------------------------ storage

    /// @notice Opens periods and accepts or rejects requests.
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");

    ISettlementToken public immutable token;
    IERC20 public immutable stablecoin;
    /// @dev 10 ** token.decimals(): prices are per whole token.
    uint256 private immutable _unit;

    /// @notice Receives subscription proceeds and funds redemptions (must approve this vault).
    address public treasury;
    /// @notice Minimum subscription ticket in stablecoin base units.
    uint256 public minSubscription;
    /// @notice Minimum redemption in token base units.
    uint256 public minRedemption;
    /// @notice The period taking requests (0 before the first one).
    uint64 public currentPeriod;

    mapping(uint64 period => Period) private _periods;
    Request[] private _requests;
    mapping(address investor => uint256) public pendingSubscription;
    mapping(address investor => uint256) public pendingRedemption;
    /// @notice Stablecoin owed to `investor` whose push payment failed; withdraw with {withdraw}.
    mapping(address investor => uint256) public claimable;

    // ------------------------------------------------------------------ constructor

    constructor(ISettlementToken token_, IERC20 stablecoin_, address admin, address treasury_) {
        if (address(token_) == address(0) || address(stablecoin_) == address(0) || admin == address(0)) {
            revert InvalidAddress();
        }
        token = token_;
        stablecoin = stablecoin_;
        _unit = 10 ** token_.decimals();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _setTreasury(treasury_);
    }

    // ------------------------------------------------------------------ external: issuer

    /// @notice Close the current period and open a new one at `price`, with caps. Issuer only.
    function openPeriod(uint256 price, uint256 subscriptionCap, uint256 redemptionCap)
        external
        onlyRole(ISSUER_ROLE)
        returns (uint64 period)
    {
        if (price == 0) revert InvalidPrice();
        _closeCurrent();
        period = ++currentPeriod;
        Period storage p = _periods[period];
        (p.price, p.subscriptionCap, p.redemptionCap, p.open) = (price, subscriptionCap, redemptionCap, true);
        emit PeriodOpened(period, price, subscriptionCap, redemptionCap);
    }

    /// @notice Stop taking requests in the current period (pending ones can still be processed). Issuer only.
    function closePeriod() external onlyRole(ISSUER_ROLE) {
        if (!_periods[currentPeriod].open) revert NoOpenPeriod();
        _closeCurrent();
    }

    /**
     * @notice Accept pending requests: mint for subscriptions, pay for redemptions, at their period's price.
     * Issuer only.
     * @dev Item by item: a request that fails (not pending, a mint refused by compliance, a treasury that
     * cannot fund) stays as it was and is reported with {RequestFailed}; the others are accepted.
     * @return failed How many requests failed.
     */
    function acceptRequests(uint256[] calldata requestIds) external onlyRole(ISSUER_ROLE) nonReentrant returns (uint256 failed) {
        return _batch(requestIds, true);
    }

    /**
     * @notice Reject pending requests: refund the stablecoin or return the escrowed tokens. Issuer only.
     * @dev Item by item, like {acceptRequests}.
     * @return failed How many requests failed.
     */
    function rejectRequests(uint256[] calldata requestIds) external onlyRole(ISSUER_ROLE) nonReentrant returns (uint256 failed) {
        return _batch(requestIds, false);
    }

    /**
     * @notice One step of a batch, atomic on its own: accept or reject `requestId`. Only this vault may call.
     * @dev External so that a batch can catch one request's revert without undoing the others.
     */
    function settleRequest(uint256 requestId, bool accept) external {
        if (msg.sender != address(this)) revert CallerNotVault(msg.sender);
        Request storage r = _pendingRequest(requestId);
        if (accept) {
            r.status = Status.Accepted;
            uint256 price = _periods[r.period].price;
            if (r.kind == Kind.Subscription) _acceptSubscription(requestId, r, price);
            else _acceptRedemption(requestId, r, price);
        } else {
            r.status = Status.Rejected;
            _release(r);
            emit RequestRejected(requestId, r.investor, r.kind, r.amount);
            if (r.kind == Kind.Subscription) _pay(r.investor, r.amount);
            else token.unfreezePartialTokens(r.investor, r.amount);
        }
    }

    /// @notice Set the minimum subscription (stablecoin) and redemption (tokens). Admin only.
    function setMinimums(uint256 minSubscription_, uint256 minRedemption_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        minSubscription = minSubscription_;
        minRedemption = minRedemption_;
        emit MinimumsSet(minSubscription_, minRedemption_);
    }

    /// @notice Set the treasury. Admin only.
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setTreasury(treasury_);
    }

    // ------------------------------------------------------------------ external: investors

    /// @notice Request a subscription of `assets` stablecoin (approve this vault first).
    function requestSubscription(uint256 assets) external nonReentrant returns (uint256 requestId) {
        requestId = _fileSubscription(assets);
        stablecoin.safeTransferFrom(msg.sender, address(this), assets);
    }

    /**
     * @notice Request a subscription paying with an EIP-2612 permit (no separate approve).
     * @dev A failing permit is ignored if the allowance is already there (front-run permits cannot block).
     */
    function requestSubscriptionWithPermit(uint256 assets, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
        returns (uint256 requestId)
    {
        try IERC20Permit(address(stablecoin)).permit(msg.sender, address(this), assets, deadline, v, r, s) {} catch {}
        requestId = _fileSubscription(assets);
        stablecoin.safeTransferFrom(msg.sender, address(this), assets);
    }

    /// @notice Request a subscription paying with an EIP-3009 `receiveWithAuthorization` of exactly `assets`
    /// from the caller to this vault.
    function requestSubscriptionWithAuthorization(
        uint256 assets,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 requestId) {
        requestId = _fileSubscription(assets);
        IReceiveWithAuthorization(address(stablecoin)).receiveWithAuthorization(
            msg.sender, address(this), assets, validAfter, validBefore, nonce, v, r, s
        );
    }

    /**
     * @notice Request the redemption of `shares` tokens; they are held in escrow (frozen in your wallet) now.
     * @dev Refused while the token is paused, the caller is frozen, or compliance would not let the caller move
     * `shares` (a lock-up), like any transfer.
     */
    function requestRedemption(uint256 shares) external nonReentrant returns (uint256 requestId) {
        Period storage p = _openPeriod();
        if (shares < minRedemption || shares == 0) revert BelowMinimum(shares, minRedemption);
        if (token.paused()) revert TokenPaused();
        if (token.isFrozen(msg.sender)) revert InvestorFrozen(msg.sender);
        uint256 balance = token.balanceOf(msg.sender);
        uint256 frozen = token.getFrozenTokens(msg.sender);
        uint256 free = balance > frozen ? balance - frozen : 0;
        if (shares > free) revert RedemptionExceedsFreeTokens(msg.sender, free, shares);
        // the investor's own wallet as receiver: only the rules on the sender side (lock-up) can refuse
        if (!ITransferRules(token.compliance()).canTransfer(msg.sender, msg.sender, shares)) {
            revert RedemptionNotCompliant(msg.sender, shares);
        }
        uint256 total = p.redeemed + shares;
        if (total > p.redemptionCap) revert PeriodCapExceeded(currentPeriod, p.redemptionCap, total);
        p.redeemed = total;
        pendingRedemption[msg.sender] += shares;
        requestId = _newRequest(Kind.Redemption, shares);
        emit RedemptionRequested(requestId, msg.sender, currentPeriod, shares);
        token.freezePartialTokens(msg.sender, shares);
    }

    /// @notice Cancel your own pending request: stablecoin refunded, or escrowed tokens unfrozen.
    function cancelRequest(uint256 requestId) external nonReentrant {
        Request storage r = _pendingRequest(requestId);
        if (r.investor != msg.sender) revert NotRequestOwner(requestId, msg.sender);
        r.status = Status.Cancelled;
        _release(r);
        emit RequestCancelled(requestId, msg.sender);
        if (r.kind == Kind.Subscription) stablecoin.safeTransfer(msg.sender, r.amount);
        else token.unfreezePartialTokens(msg.sender, r.amount);
    }

    /// @notice Withdraw stablecoin whose push payment failed earlier.
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = claimable[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        claimable[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        stablecoin.safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ external: views

    /// @notice Request `requestId` (reverts with a panic if it does not exist).
    function getRequest(uint256 requestId) external view returns (Request memory) {
        return _requests[requestId];
    }

    /// @notice Status of `requestId` (None if it does not exist).
    function requestStatus(uint256 requestId) external view returns (Status) {
        return requestId < _requests.length ? _requests[requestId].status : Status.None;
    }

    /// @notice Number of requests filed so far.
    function requestCount() external view returns (uint256) {
        return _requests.length;
    }

    /// @notice Period `period`.
    function getPeriod(uint64 period) external view returns (Period memory) {
        return _periods[period];
    }

    /// @notice Tokens minted for `assets` at `price`, and the stablecoin actually spent.
    function previewSubscription(uint256 assets, uint256 price) public view returns (uint256 shares, uint256 cost) {
        shares = assets * _unit / price;
        cost = Math.mulDiv(shares, price, _unit, Math.Rounding.Ceil);
    }

    /// @notice Stablecoin paid for redeeming `shares` at `price`.
    function previewRedemption(uint256 shares, uint256 price) public view returns (uint256 assets) {
        return Math.mulDiv(shares, price, _unit);
    }

    // ------------------------------------------------------------------ internal

    function _fileSubscription(uint256 assets) internal returns (uint256 requestId) {
        Period storage p = _openPeriod();
        if (assets < minSubscription || assets == 0) revert BelowMinimum(assets, minSubscription);
        uint256 total = p.subscribed + assets;
        if (total > p.subscriptionCap) revert PeriodCapExceeded(currentPeriod, p.subscriptionCap, total);
        p.subscribed = total;
        pendingSubscription[msg.sender] += assets;
        requestId = _newRequest(Kind.Subscription, assets);
        emit SubscriptionRequested(requestId, msg.sender, currentPeriod, assets);
    }

    function _acceptSubscription(uint256 requestId, Request storage r, uint256 price) internal {
        (uint256 shares, uint256 cost) = previewSubscription(r.amount, price);
        if (shares == 0) revert ZeroResult(requestId);
        r.result = shares;
        pendingSubscription[r.investor] -= r.amount;
        uint256 refund = r.amount - cost;
        emit RequestAccepted(requestId, r.investor, Kind.Subscription, r.amount, shares, refund);
        token.mint(r.investor, shares);
        stablecoin.safeTransfer(treasury, cost);
        if (refund != 0) _pay(r.investor, refund);
    }

    function _acceptRedemption(uint256 requestId, Request storage r, uint256 price) internal {
        uint256 assets = previewRedemption(r.amount, price);
        if (assets == 0) revert ZeroResult(requestId);
        r.result = assets;
        pendingRedemption[r.investor] -= r.amount;
        emit RequestAccepted(requestId, r.investor, Kind.Redemption, r.amount, assets, 0);
        token.unfreezePartialTokens(r.investor, r.amount);
        token.burn(r.investor, r.amount);
        stablecoin.safeTransferFrom(treasury, address(this), assets);
        _pay(r.investor, assets);
    }

    /// @dev Settle each request in its own call frame; a revert is reported, not propagated.
    /// A step that left less than an eighth of the gas it was given reverts the whole batch ({BatchOutOfGas}):
    /// it may have run out of gas in a nested call (each level keeps 1/64), and too low a gas limit (or a gas
    /// estimate, which looks for the least gas that does not revert) must not fail requests that would succeed.
    function _batch(uint256[] calldata requestIds, bool accept) internal returns (uint256 failed) {
        for (uint256 i = 0; i < requestIds.length; ++i) {
            uint256 gasBefore = gasleft();
            try this.settleRequest(requestIds[i], accept) {}
            catch (bytes memory reason) {
                if (gasleft() <= gasBefore / 8) revert BatchOutOfGas(requestIds[i]);
                ++failed;
                emit RequestFailed(requestIds[i], accept, reason);
            }
        }
    }

    /// @dev Undo a pending request's effect on the period caps and pending totals.
    function _release(Request storage r) internal {
        Period storage p = _periods[r.period];
        if (r.kind == Kind.Subscription) {
            p.subscribed -= r.amount;
            pendingSubscription[r.investor] -= r.amount;
        } else {
            p.redeemed -= r.amount;
            pendingRedemption[r.investor] -= r.amount;
        }
    }

    /// @dev Push `amount` to `investor`; if the stablecoin refuses (blacklist), keep it claimable.
    function _pay(address investor, uint256 amount) internal {
        if (!stablecoin.trySafeTransfer(investor, amount)) {
            claimable[investor] += amount;
            emit PaymentDeferred(investor, amount);
        }
    }

    function _newRequest(Kind kind, uint256 amount) internal returns (uint256 requestId) {
        requestId = _requests.length;
        _requests.push(Request(msg.sender, kind, Status.Pending, currentPeriod, amount, 0));
    }

    function _pendingRequest(uint256 requestId) internal view returns (Request storage r) {
        if (requestId >= _requests.length) revert RequestNotPending(requestId, Status.None);
        r = _requests[requestId];
        if (r.status != Status.Pending) revert RequestNotPending(requestId, r.status);
    }

    function _openPeriod() internal view returns (Period storage p) {
        p = _periods[currentPeriod];
        if (!p.open) revert NoOpenPeriod();
    }

    function _closeCurrent() internal {
        Period storage p = _periods[currentPeriod];
        if (p.open) {
            p.open = false;
            emit PeriodClosed(currentPeriod);
        }
    }

    function _setTreasury(address treasury_) internal {
        if (treasury_ == address(0)) revert InvalidAddress();
        treasury = treasury_;
        emit TreasurySet(treasury_);
    }
}
