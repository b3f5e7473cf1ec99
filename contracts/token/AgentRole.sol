// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IAgentRole} from "../interfaces/IAgentRole.sol";

/// @title Owner plus agents, as in T-REX: the owner configures, agents operate
abstract contract AgentRole is Ownable2Step, IAgentRole {
    /// @dev `account` is not an agent.
    error AgentRoleUnauthorized(address account);
    /// @dev `agent` is the zero address.
    error AgentRoleInvalidAgent(address agent);
    /// @dev `agent` already has (or already lacks) the role.
    error AgentRoleUnchanged(address agent, bool isAgent);

    mapping(address => bool) private _agents;

    modifier onlyAgent() {
        if (!_agents[msg.sender]) revert AgentRoleUnauthorized(msg.sender);
        _;
    }

    constructor(address initialOwner) Ownable(initialOwner) {}

    /// @inheritdoc IAgentRole
    function addAgent(address agent) external onlyOwner {
        _addAgent(agent);
    }

    /// @inheritdoc IAgentRole
    function removeAgent(address agent) external onlyOwner {
        _removeAgent(agent);
    }

    /// @inheritdoc IAgentRole
    function isAgent(address account) public view returns (bool) {
        return _agents[account];
    }

    function _addAgent(address agent) internal {
        if (agent == address(0)) revert AgentRoleInvalidAgent(agent);
        if (_agents[agent]) revert AgentRoleUnchanged(agent, true);
        _agents[agent] = true;
        emit AgentAdded(agent);
    }

    function _removeAgent(address agent) internal {
        if (!_agents[agent]) revert AgentRoleUnchanged(agent, false);
        _agents[agent] = false;
        emit AgentRemoved(agent);
    }
}
