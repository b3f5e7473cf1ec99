// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ERC-3643 claim topics registry: the claim topics an investor must hold
interface IClaimTopicsRegistry {
    event ClaimTopicAdded(uint256 indexed claimTopic);
    event ClaimTopicRemoved(uint256 indexed claimTopic);

    /// @notice Require `claimTopic` from every investor (owner only).
    function addClaimTopic(uint256 claimTopic) external;

    /// @notice Stop requiring `claimTopic` (owner only).
    function removeClaimTopic(uint256 claimTopic) external;

    /// @notice The required claim topics.
    function getClaimTopics() external view returns (uint256[] memory);
}
