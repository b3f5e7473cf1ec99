// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ITransferRules
/// @notice The compliance question every ERC-3643 compliance answers.
interface ITransferRules {
    /// @notice Whether the rules allow moving `amount` from `from` to `to`.
    function canTransfer(address from, address to, uint256 amount) external view returns (bool);
}
