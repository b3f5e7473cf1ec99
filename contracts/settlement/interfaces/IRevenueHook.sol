// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IRevenueHook
 * @notice Balance-change callback from a security token to its revenue distributor.
 * @dev The token MUST call {onBalanceChange} on every balance change (transfer, transferFrom, mint with
 * `from == 0`, burn with `to == 0`, forced transfer, wallet recovery) BEFORE it updates the balances, in
 * the same transaction, and MUST revert if the call reverts. The distributor then settles both holders'
 * accrued revenue at their old balances, which is what keeps a payout O(1) in the number of holders.
 */
interface IRevenueHook {
    /// @notice `from`'s and `to`'s balances are about to change (either may be the zero address).
    function onBalanceChange(address from, address to) external;
}
