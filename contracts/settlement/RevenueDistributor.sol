// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ISettlementToken} from "./interfaces/ISettlementToken.sol";
import {IRevenueHook} from "./interfaces/IRevenueHook.sol";
import {IEnergyOracle} from "./interfaces/IEnergyOracle.sol";

/**
 * @title RevenueDistributor
 * @notice Pays an asset's stablecoin revenue to its security-token holders pro rata to their balances at
 * deposit time. Each deposit references the oracle's anchored energy for its period, so every payout is
 * traceable to metered production.
 * @dev Accumulator ("revenue per token"): a deposit of `amount` over a supply `S` raises
 * `revenuePerToken` by `floor((amount * SCALE + carry) / S)`; the remainder `carry` (< S, in SCALE units) is
 * kept and added to the next deposit, so rounding never loses value. The token calls {onBalanceChange}
 * BEFORE every balance change; the distributor then settles both holders at their old balances:
 * `owed = balance * (revenuePerToken - paidPerToken[h]) + remainder[h]`, of which `owed / SCALE` becomes
 * claimable and `owed % SCALE` stays with the holder as its fractional remainder. A deposit and a claim
 * therefore cost the same for 10 or 10,000 holders.
 *
 * Exact accounting, in SCALE units at every moment:
 *   SCALE * totalDeposited == SCALE * totalClaimed + sum_h (SCALE * claimable_h + remainder_h) + carry.
 * "Dust" is `carry` plus the holders' fractional remainders; none of it is lost: the carry goes to the next
 * deposit, and a holder's remainder completes a whole unit with its next accrual.
 *
 * Frozen wallets (token `isFrozen`) keep accruing but cannot claim until unfrozen. After a wallet recovery
 * (the token moves the lost wallet's balance, calling the hook), an agent moves the lost wallet's accrued
 * revenue to the new wallet with {transferAccrued}, or pays it out with {claimFor}.
 */
contract RevenueDistributor is IRevenueHook, AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    // ------------------------------------------------------------------ errors

    /// @dev Only the security token may report balance changes; `caller` is not it.
    error CallerNotToken(address caller);
    /// @dev A deposit needs a positive amount.
    error ZeroRevenue();
    /// @dev No tokens in circulation: a deposit would have no one to pay.
    error NoSupply();
    /// @dev The period must end after it starts.
    error InvalidPeriod(uint64 periodStart, uint64 periodEnd);
    /// @dev The period of `assetId` was already funded by deposit `depositId`.
    error PeriodAlreadyFunded(bytes32 assetId, uint64 periodStart, uint64 periodEnd, uint256 depositId);
    /// @dev [periodStart, periodEnd) of `assetId` overlaps the funded [fundedStart, fundedEnd).
    error PeriodOverlapsFunded(bytes32 assetId, uint64 periodStart, uint64 periodEnd, uint64 fundedStart, uint64 fundedEnd);
    /// @dev The oracle anchored `anchoredWh` for the period, the deposit claims `claimedWh`.
    error EnergyMismatch(uint256 anchoredWh, uint256 claimedWh);
    /// @dev `holder` is frozen on the token and cannot claim until unfrozen.
    error HolderFrozen(address holder);
    /// @dev `holder` has nothing to claim.
    error NothingToClaim(address holder);
    /// @dev Zero address given where a wallet is required.
    error InvalidAddress();

    // ------------------------------------------------------------------ events

    /// @notice Revenue `amount` for `assetId` over [periodStart, periodEnd) backed by `energyWh` of metered
    /// production (`evidence`: the oracle batch root or a hash of the anchored batch roots).
    event RevenueDeposited(
        uint256 indexed depositId,
        bytes32 indexed assetId,
        uint64 periodStart,
        uint64 periodEnd,
        uint256 energyWh,
        bytes32 evidence,
        uint256 amount,
        uint256 supply,
        uint256 revenuePerToken
    );
    event RevenueClaimed(address indexed holder, address indexed to, uint256 amount, address indexed caller);
    event AccruedTransferred(address indexed from, address indexed to, uint256 amount, uint256 remainder);
    event EnergyOracleSet(address indexed oracle);

    // ------------------------------------------------------------------ storage

    /// @notice May deposit revenue.
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    /// @notice May claim for a holder and move a lost wallet's accrual.
    bytes32 public constant AGENT_ROLE = keccak256("AGENT_ROLE");
    /// @notice Fixed-point scale of {revenuePerToken}.
    uint256 public constant SCALE = 1e36;

    /// @notice One recorded deposit (what the payout is traceable to), packed in five slots.
    struct Deposit {
        bytes32 assetId;
        bytes32 evidence;
        uint64 periodStart;
        uint64 periodEnd;
        uint64 timestamp;
        uint128 energyWh;
        uint128 amount;
        uint256 supply;
    }

    /// @dev A holder's settled state: whole claimable units and the fractional remainder (< SCALE).
    struct Account {
        uint128 accrued;
        uint128 remainder;
        uint256 paidPerToken;
    }

    /// @notice The security token whose holders are paid.
    ISettlementToken public immutable token;
    /// @notice The stablecoin revenue is paid in.
    IERC20 public immutable stablecoin;
    /// @notice Optional: if set, each deposit's energy must equal the oracle's anchored total.
    IEnergyOracle public energyOracle;

    /// @notice Cumulative revenue per token unit, times {SCALE}.
    uint256 public revenuePerToken;
    /// @notice Undistributed remainder of past deposits, in SCALE units (< supply); added to the next one.
    uint256 public carry;
    /// @notice Total stablecoin deposited.
    uint256 public totalDeposited;
    /// @notice Total stablecoin claimed.
    uint256 public totalClaimed;

    Deposit[] private _deposits;
    mapping(address holder => Account) private _accounts;
    mapping(bytes32 periodKey => uint256 depositIdPlusOne) private _periodDeposit;
    /// @dev Per asset, the funded intervals, disjoint and sorted by start (one slot each: start << 64 | end).
    mapping(bytes32 assetId => uint256[]) private _funded;

    // ------------------------------------------------------------------ constructor

    constructor(ISettlementToken token_, IERC20 stablecoin_, address admin) {
        if (address(token_) == address(0) || address(stablecoin_) == address(0) || admin == address(0)) {
            revert InvalidAddress();
        }
        token = token_;
        stablecoin = stablecoin_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ------------------------------------------------------------------ external: token hook

    /**
     * @notice Settle `from` and `to` at their current (pre-change) balances. Token only.
     * @dev Must be called by the token before it changes balances; the zero address is skipped.
     */
    function onBalanceChange(address from, address to) external {
        if (msg.sender != address(token)) revert CallerNotToken(msg.sender);
        if (from != address(0)) _settle(from);
        if (to != address(0) && to != from) _settle(to);
    }

    // ------------------------------------------------------------------ external: operator

    /**
     * @notice Deposit `amount` of stablecoin revenue for `assetId` over [periodStart, periodEnd), produced
     * from `energyWh` of metered energy (`evidence` = oracle batch root / ids). Operator only.
     * @dev Pulls `amount` from the caller (approve first). Each metered instant of an asset can be funded once:
     * a period overlapping a funded one is refused ({PeriodOverlapsFunded}). If an
     * energy oracle is set, `energyWh` must equal its anchored total. O(1) in the number of holders.
     * @return depositId The index of the new deposit.
     */
    function deposit(
        bytes32 assetId,
        uint64 periodStart,
        uint64 periodEnd,
        uint256 energyWh,
        bytes32 evidence,
        uint256 amount
    ) external onlyRole(OPERATOR_ROLE) nonReentrant returns (uint256 depositId) {
        if (amount == 0) revert ZeroRevenue();
        bytes32 key = _checkPeriod(assetId, periodStart, periodEnd, energyWh);
        (uint256 supply, uint256 rpt) = _accumulate(amount);

        depositId = _deposits.length;
        _deposits.push(
            Deposit({
                assetId: assetId,
                evidence: evidence,
                periodStart: periodStart,
                periodEnd: periodEnd,
                timestamp: uint64(block.timestamp),
                energyWh: SafeCast.toUint128(energyWh),
                amount: SafeCast.toUint128(amount),
                supply: supply
            })
        );
        _periodDeposit[key] = depositId + 1;
        _insertFunded(assetId, periodStart, periodEnd);
        emit RevenueDeposited(depositId, assetId, periodStart, periodEnd, energyWh, evidence, amount, supply, rpt);

        stablecoin.safeTransferFrom(msg.sender, address(this), amount);
    }

    // ------------------------------------------------------------------ external: holders and agents

    /// @notice Claim all of the caller's claimable revenue. Reverts while the caller is frozen.
    function claim() external nonReentrant returns (uint256 amount) {
        return _claim(msg.sender, msg.sender);
    }

    /**
     * @notice Pay `holder`'s claimable revenue to `to`. Agent only.
     * @dev For holders who cannot send transactions, or to pay a lost wallet's revenue to its recovered
     * wallet. A frozen holder cannot be paid (the freeze applies to agents too).
     */
    function claimFor(address holder, address to) external onlyRole(AGENT_ROLE) nonReentrant returns (uint256 amount) {
        return _claim(holder, to);
    }

    /**
     * @notice Move everything `lost` has accrued (whole units and remainder) to `newWallet`. Agent only.
     * @dev The recovery step after the token moved `lost`'s balance to `newWallet`. No money leaves the
     * distributor, so the freeze rules then apply to `newWallet`.
     */
    function transferAccrued(address lost, address newWallet) external onlyRole(AGENT_ROLE) {
        if (newWallet == address(0) || newWallet == lost) revert InvalidAddress();
        _settle(lost);
        _settle(newWallet);
        Account storage from = _accounts[lost];
        Account storage to = _accounts[newWallet];
        uint256 amount = from.accrued;
        uint256 remainder = from.remainder;
        from.accrued = 0;
        from.remainder = 0;
        uint256 total = uint256(to.remainder) + remainder;
        to.accrued += SafeCast.toUint128(amount + total / SCALE);
        to.remainder = uint128(total % SCALE);
        emit AccruedTransferred(lost, newWallet, amount, remainder);
    }

    /// @notice Use `oracle` to check each deposit's energy (zero disables the check). Admin only.
    function setEnergyOracle(IEnergyOracle oracle) external onlyRole(DEFAULT_ADMIN_ROLE) {
        energyOracle = oracle;
        emit EnergyOracleSet(address(oracle));
    }

    // ------------------------------------------------------------------ external: views

    /// @notice Revenue `holder` can claim now (whole stablecoin units).
    function claimable(address holder) external view returns (uint256) {
        (uint256 accrued, ) = _pending(holder);
        return accrued;
    }

    /// @notice `holder`'s fractional remainder, in SCALE units (part of the dust, kept for the holder).
    function remainderOf(address holder) external view returns (uint256) {
        (, uint256 remainder) = _pending(holder);
        return remainder;
    }

    /// @notice The accumulator value `holder` was last settled at.
    function paidPerToken(address holder) external view returns (uint256) {
        return _accounts[holder].paidPerToken;
    }

    /// @notice Number of deposits so far.
    function depositCount() external view returns (uint256) {
        return _deposits.length;
    }

    /// @notice Deposit `depositId` as recorded.
    function getDeposit(uint256 depositId) external view returns (Deposit memory) {
        return _deposits[depositId];
    }

    /// @notice The deposit id funding `assetId` over [periodStart, periodEnd), and whether there is one.
    function depositForPeriod(bytes32 assetId, uint64 periodStart, uint64 periodEnd)
        external
        view
        returns (bool funded, uint256 depositId)
    {
        uint256 idPlusOne = _periodDeposit[keccak256(abi.encode(assetId, periodStart, periodEnd))];
        return (idPlusOne != 0, idPlusOne == 0 ? 0 : idPlusOne - 1);
    }

    // ------------------------------------------------------------------ internal

    /// @dev Validate the period (once per asset, energy matching the oracle if set); returns its key.
    function _checkPeriod(bytes32 assetId, uint64 periodStart, uint64 periodEnd, uint256 energyWh)
        internal
        view
        returns (bytes32 key)
    {
        if (periodEnd <= periodStart) revert InvalidPeriod(periodStart, periodEnd);
        key = keccak256(abi.encode(assetId, periodStart, periodEnd));
        uint256 existing = _periodDeposit[key];
        if (existing != 0) revert PeriodAlreadyFunded(assetId, periodStart, periodEnd, existing - 1);
        _requireUnfunded(assetId, periodStart, periodEnd);
        IEnergyOracle oracle = energyOracle;
        if (address(oracle) != address(0)) {
            uint256 anchored = oracle.periodEnergyWh(assetId, periodStart, periodEnd);
            if (anchored != energyWh) revert EnergyMismatch(anchored, energyWh);
        }
    }

    /// @dev Refuse [start, end) if it overlaps a funded interval: binary search for the last interval starting
    /// before `end`; being disjoint and sorted, it is the only one that can reach past `start`.
    function _requireUnfunded(bytes32 assetId, uint64 start, uint64 end) internal view {
        uint256[] storage funded = _funded[assetId];
        uint256 low = 0;
        uint256 high = funded.length;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (uint64(funded[mid] >> 64) < end) low = mid + 1;
            else high = mid;
        }
        if (low == 0) return;
        uint256 interval = funded[low - 1];
        uint64 fundedEnd = uint64(interval);
        if (fundedEnd > start) revert PeriodOverlapsFunded(assetId, start, end, uint64(interval >> 64), fundedEnd);
    }

    /// @dev Keep `_funded[assetId]` sorted: O(1) for the usual deposit after the last one, a shift for a backfill.
    function _insertFunded(bytes32 assetId, uint64 start, uint64 end) internal {
        uint256[] storage funded = _funded[assetId];
        uint256 packed = (uint256(start) << 64) | end;
        funded.push(packed);
        uint256 i = funded.length - 1;
        while (i > 0 && uint64(funded[i - 1] >> 64) > start) {
            funded[i] = funded[i - 1];
            --i;
        }
        if (i != funded.length - 1) funded[i] = packed;
    }

    /// @dev Raise the accumulator by `amount` over the current supply, carrying the division remainder.
    function _accumulate(uint256 amount) internal returns (uint256 supply, uint256 rpt) {
        supply = token.totalSupply();
        if (supply == 0) revert NoSupply();
        uint256 scaled = amount * SCALE + carry;
        uint256 increment = scaled / supply;
        carry = scaled - increment * supply;
        rpt = revenuePerToken + increment;
        revenuePerToken = rpt;
        totalDeposited += amount;
    }

    function _claim(address holder, address to) internal returns (uint256 amount) {
        if (to == address(0)) revert InvalidAddress();
        if (token.isFrozen(holder)) revert HolderFrozen(holder);
        _settle(holder);
        Account storage account = _accounts[holder];
        amount = account.accrued;
        if (amount == 0) revert NothingToClaim(holder);
        account.accrued = 0;
        totalClaimed += amount;
        emit RevenueClaimed(holder, to, amount, msg.sender);
        stablecoin.safeTransfer(to, amount);
    }

    /// @dev Bring `holder` up to the current accumulator at its current token balance.
    function _settle(address holder) internal {
        Account storage account = _accounts[holder];
        uint256 rpt = revenuePerToken;
        if (account.paidPerToken == rpt) return;
        (uint256 accrued, uint256 remainder) = _pending(holder);
        account.accrued = SafeCast.toUint128(accrued);
        account.remainder = uint128(remainder);
        account.paidPerToken = rpt;
    }

    function _pending(address holder) internal view returns (uint256 accrued, uint256 remainder) {
        Account storage account = _accounts[holder];
        uint256 owed = token.balanceOf(holder) * (revenuePerToken - account.paidPerToken) + account.remainder;
        return (account.accrued + owed / SCALE, owed % SCALE);
    }
}
