// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Agents: accounts the owner lets run day-to-day operations (T-REX AgentRole)
interface IAgentRole {
    event AgentAdded(address indexed agent);
    event AgentRemoved(address indexed agent);

    /// @notice Make `agent` an agent (owner only).
    function addAgent(address agent) external;

    /// @notice Remove `agent` (owner only).
    function removeAgent(address agent) external;

    /// @notice Whether `account` is an agent.
    function isAgent(address account) external view returns (bool);
}
