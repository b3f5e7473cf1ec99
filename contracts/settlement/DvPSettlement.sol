// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IReceiveWithAuthorization} from "./interfaces/IReceiveWithAuthorization.sol";

/**
 * @title DvPSettlement
 * @notice Atomic delivery-versus-payment between a security token and any ERC-20 stablecoin, from EIP-712
 * orders signed off-chain. A taker fills all or part of an order in one transaction: tokens and money
 * move together or not at all.
 * @dev Compliance before money: the security leg moves first, with `token.transferFrom(seller, buyer, n)`
 * on the seller's allowance to this contract. An ERC-3643 token runs its identity, freeze and compliance
 * rules inside that call, so a failing rule reverts the whole trade with the rule's own error before the
 * stablecoin is touched. Only then does the payment leg move, from buyer to seller (minus the fee).
 *
 * Price: stablecoin base units per whole token (10**token.decimals() base units). Payment for `n` token
 * base units is `n * price / 10**decimals`, rounded in the maker's favour (up when the maker sells, down
 * when the maker buys). Works with 6- or 18-decimal stablecoins; a blacklisting stablecoin (USDC) makes a
 * trade with a blacklisted party revert with the stablecoin's error.
 *
 * The buyer can pay without a prior approve: {fillWithPermit} (EIP-2612) or {fillWithAuthorization}
 * (EIP-3009 `receiveWithAuthorization` to this contract, which then forwards the payment).
 */
contract DvPSettlement is EIP712, Ownable2Step, ReentrancyGuard {
    using SafeERC20 for IERC20;

    // ------------------------------------------------------------------ types

    /// @notice SELL: the maker sells tokens for stablecoin. BUY: the maker buys tokens with stablecoin.
    uint8 public constant SELL = 0;
    uint8 public constant BUY = 1;

    /// @notice An order signed by `maker`. `amount` is in token base units; `price` in stablecoin base units
    /// per whole token; the order is valid while `block.timestamp <= expiry`; it fills only while the
    /// settlement fee is at most `maxFeeBps` (so the owner cannot raise the fee between signing and fill).
    struct Order {
        address maker;
        address token;
        address stablecoin;
        uint8 side;
        uint256 amount;
        uint256 price;
        uint256 nonce;
        uint256 expiry;
        uint16 maxFeeBps;
    }

    /// @notice An EIP-2612 permit from the buyer to this contract.
    struct PermitData {
        uint256 value;
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice An EIP-3009 `ReceiveWithAuthorization` from the buyer to this contract for the exact payment.
    struct AuthorizationData {
        uint256 value;
        uint256 validAfter;
        uint256 validBefore;
        bytes32 nonce;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    // ------------------------------------------------------------------ errors

    /// @dev The signature is not `maker`'s (ECDSA or ERC-1271).
    error InvalidOrderSignature(address maker);
    /// @dev The order expired at `expiry`.
    error OrderExpired(uint256 expiry);
    /// @dev `maker` cancelled orders with `nonce`.
    error OrderCancelled(address maker, uint256 nonce);
    /// @dev Only `remaining` of the order is left, `requested` was asked.
    error OrderOverfill(bytes32 orderHash, uint256 remaining, uint256 requested);
    /// @dev `side` is neither SELL (0) nor BUY (1).
    error InvalidSide(uint8 side);
    /// @dev Fill amount must be positive and the payment must not round to zero.
    error ZeroFill();
    /// @dev The authorization is for `value`, the trade needs exactly `payment`.
    error AuthorizationValueMismatch(uint256 value, uint256 payment);
    /// @dev The fee is above {MAX_FEE_BPS}.
    error FeeTooHigh(uint16 feeBps, uint16 maxFeeBps);
    /// @dev The fee is `feeBps`, above the `maxFeeBps` the maker signed.
    error FeeAboveOrderMaximum(uint16 feeBps, uint16 maxFeeBps);
    /// @dev A fee is set but the fee recipient is the zero address.
    error InvalidFeeRecipient();

    // ------------------------------------------------------------------ events

    /// @notice `taker` filled `amount` of order `orderHash` from `maker` for `payment` (fee included).
    event OrderFilled(
        bytes32 indexed orderHash,
        address indexed maker,
        address indexed taker,
        address token,
        address stablecoin,
        uint8 side,
        uint256 amount,
        uint256 payment,
        uint256 fee
    );
    event NonceCancelled(address indexed maker, uint256 indexed nonce);
    event FeeSet(uint16 feeBps, address indexed feeRecipient);

    // ------------------------------------------------------------------ storage

    bytes32 public constant ORDER_TYPEHASH = keccak256(
        "Order(address maker,address token,address stablecoin,uint8 side,uint256 amount,uint256 price,uint256 nonce,uint256 expiry,uint16 maxFeeBps)"
    );
    /// @notice The fee can never exceed 10 %.
    uint16 public constant MAX_FEE_BPS = 1000;

    /// @notice Settlement fee in basis points of the payment, paid by the seller's proceeds.
    uint16 public feeBps;
    /// @notice Receives the settlement fee.
    address public feeRecipient;

    /// @notice Token amount already filled per order hash.
    mapping(bytes32 orderHash => uint256) public filled;
    /// @notice Whether `maker` cancelled `nonce`.
    mapping(address maker => mapping(uint256 nonce => bool)) public nonceCancelled;

    // ------------------------------------------------------------------ constructor

    constructor(address initialOwner) EIP712("DvPSettlement", "1") Ownable(initialOwner) {}

    // ------------------------------------------------------------------ external

    /**
     * @notice Fill `amount` of `order` as the taker, paying (or being paid) through prior approvals.
     * @dev The seller must have approved this contract for the tokens and the buyer for the stablecoin.
     * @return payment Stablecoin paid by the buyer (fee included).
     */
    function fill(Order calldata order, bytes calldata signature, uint256 amount)
        external
        nonReentrant
        returns (uint256 payment)
    {
        (address buyer, address seller, uint256 pay) = _prepare(order, signature, amount);
        _settle(order, buyer, seller, amount, pay);
        return pay;
    }

    /**
     * @notice Fill with an EIP-2612 permit from the buyer (maker or taker) instead of a prior approve.
     * @dev The permit is attempted and its failure ignored if the allowance is already there, so a
     * front-run permit cannot block the fill.
     */
    function fillWithPermit(Order calldata order, bytes calldata signature, uint256 amount, PermitData calldata permit)
        external
        nonReentrant
        returns (uint256 payment)
    {
        (address buyer, address seller, uint256 pay) = _prepare(order, signature, amount);
        try IERC20Permit(order.stablecoin).permit(
            buyer, address(this), permit.value, permit.deadline, permit.v, permit.r, permit.s
        ) {} catch {}
        _settle(order, buyer, seller, amount, pay);
        return pay;
    }

    /**
     * @notice Fill, the buyer (maker or taker) paying with an EIP-3009 `receiveWithAuthorization` for
     * exactly the payment, with this contract as payee.
     * @dev Only a fill whose buyer signed the authorization and whose payment equals its value can use it;
     * the buyer also signed (maker) or sent (taker) the trade, so a front-runner gains nothing.
     */
    function fillWithAuthorization(
        Order calldata order,
        bytes calldata signature,
        uint256 amount,
        AuthorizationData calldata auth
    ) external nonReentrant returns (uint256 payment) {
        (address buyer, address seller, uint256 pay) = _prepare(order, signature, amount);
        if (auth.value != pay) revert AuthorizationValueMismatch(auth.value, pay);
        _settleAuthorized(order, buyer, seller, amount, pay, auth);
        return pay;
    }

    /// @notice Cancel every order of the caller signed with `nonce`.
    function cancel(uint256 nonce) external {
        nonceCancelled[msg.sender][nonce] = true;
        emit NonceCancelled(msg.sender, nonce);
    }

    /// @notice Set the settlement fee and its recipient. Owner only.
    function setFee(uint16 newFeeBps, address newFeeRecipient) external onlyOwner {
        if (newFeeBps > MAX_FEE_BPS) revert FeeTooHigh(newFeeBps, MAX_FEE_BPS);
        if (newFeeBps != 0 && newFeeRecipient == address(0)) revert InvalidFeeRecipient();
        feeBps = newFeeBps;
        feeRecipient = newFeeRecipient;
        emit FeeSet(newFeeBps, newFeeRecipient);
    }

    /// @notice EIP-712 hash of `order` (what the maker signs).
    function hashOrder(Order calldata order) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    ORDER_TYPEHASH,
                    order.maker,
                    order.token,
                    order.stablecoin,
                    order.side,
                    order.amount,
                    order.price,
                    order.nonce,
                    order.expiry,
                    order.maxFeeBps
                )
            )
        );
    }

    /// @notice Token amount still fillable on `order` (0 if expired or cancelled).
    function remaining(Order calldata order) external view returns (uint256) {
        if (block.timestamp > order.expiry || nonceCancelled[order.maker][order.nonce]) return 0;
        return order.amount - filled[hashOrder(order)];
    }

    /// @notice Stablecoin payment (fee included) for `amount` token base units of `order`.
    function quote(Order calldata order, uint256 amount) public view returns (uint256) {
        uint256 unit = 10 ** IERC20Metadata(order.token).decimals();
        Math.Rounding rounding = order.side == SELL ? Math.Rounding.Ceil : Math.Rounding.Floor;
        return Math.mulDiv(amount, order.price, unit, rounding);
    }

    // ------------------------------------------------------------------ internal

    /// @dev Checks the order and records the fill (effects before any transfer).
    function _prepare(Order calldata order, bytes calldata signature, uint256 amount)
        internal
        returns (address buyer, address seller, uint256 payment)
    {
        if (order.side > BUY) revert InvalidSide(order.side);
        if (block.timestamp > order.expiry) revert OrderExpired(order.expiry);
        if (nonceCancelled[order.maker][order.nonce]) revert OrderCancelled(order.maker, order.nonce);
        bytes32 orderHash = hashOrder(order);
        if (!SignatureChecker.isValidSignatureNow(order.maker, orderHash, signature)) {
            revert InvalidOrderSignature(order.maker);
        }
        if (amount == 0) revert ZeroFill();
        _requireFeeWithin(order.maxFeeBps);
        uint256 done = filled[orderHash];
        if (amount > order.amount - done) revert OrderOverfill(orderHash, order.amount - done, amount);
        filled[orderHash] = done + amount;
        payment = quote(order, amount);
        if (payment == 0) revert ZeroFill();
        (buyer, seller) = order.side == SELL ? (msg.sender, order.maker) : (order.maker, msg.sender);
        uint256 fee = payment * feeBps / 10_000;
        emit OrderFilled(
            orderHash, order.maker, msg.sender, order.token, order.stablecoin, order.side, amount, payment, fee
        );
    }

    /// @dev The fee in force must not exceed what the maker signed for.
    function _requireFeeWithin(uint16 maxFeeBps) internal view {
        uint16 current = feeBps;
        if (current > maxFeeBps) revert FeeAboveOrderMaximum(current, maxFeeBps);
    }

    /// @dev Security leg first (compliance reverts here), then the payment pulled from `buyer`.
    function _settle(Order calldata order, address buyer, address seller, uint256 amount, uint256 payment) internal {
        IERC20(order.token).safeTransferFrom(seller, buyer, amount);
        IERC20 coin = IERC20(order.stablecoin);
        uint256 fee = payment * feeBps / 10_000;
        coin.safeTransferFrom(buyer, seller, payment - fee);
        if (fee != 0) coin.safeTransferFrom(buyer, feeRecipient, fee);
    }

    /// @dev Security leg first, then the EIP-3009 payment into this contract, forwarded to seller and fee.
    function _settleAuthorized(
        Order calldata order,
        address buyer,
        address seller,
        uint256 amount,
        uint256 payment,
        AuthorizationData calldata auth
    ) internal {
        IERC20(order.token).safeTransferFrom(seller, buyer, amount);
        IReceiveWithAuthorization(order.stablecoin).receiveWithAuthorization(
            buyer, address(this), payment, auth.validAfter, auth.validBefore, auth.nonce, auth.v, auth.r, auth.s
        );
        IERC20 coin = IERC20(order.stablecoin);
        uint256 fee = payment * feeBps / 10_000;
        coin.safeTransfer(seller, payment - fee);
        if (fee != 0) coin.safeTransfer(feeRecipient, fee);
    }
}
