// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ERC-3643 compliance module: one rule, shareable by several compliance contracts
interface IModule {
    event ComplianceBound(address indexed compliance);
    event ComplianceUnbound(address indexed compliance);

    /// @notice Bind the calling compliance to this module.
    function bindCompliance(address compliance) external;

    /// @notice Unbind the calling compliance from this module.
    function unbindCompliance(address compliance) external;

    /// @notice Update the rule's state after a transfer (bound compliances only).
    function moduleTransferAction(address from, address to, uint256 value) external;

    /// @notice Update the rule's state after a mint (bound compliances only).
    function moduleMintAction(address to, uint256 value) external;

    /// @notice Update the rule's state after a burn (bound compliances only).
    function moduleBurnAction(address from, uint256 value) external;

    /// @notice Whether the rule allows moving `value` from `from` to `to` under `compliance`.
    function moduleCheck(address from, address to, uint256 value, address compliance) external view returns (bool);

    /// @notice Whether `compliance` is bound.
    function isComplianceBound(address compliance) external view returns (bool);

    /// @notice Whether `compliance` may bind now (stateful rules need a token with no supply yet).
    function canComplianceBind(address compliance) external view returns (bool);

    /// @notice Whether the rule can be added to a live token without presetting state.
    function isPlugAndPlay() external pure returns (bool);

    /// @notice The rule's name.
    function name() external pure returns (string memory);
}
