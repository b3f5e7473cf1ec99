// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IModule} from "../../interfaces/IModule.sol";
import {IIdentityRegistry} from "../../interfaces/IIdentityRegistry.sol";
import {AbstractModule} from "./AbstractModule.sol";

/// @title Rule: an investor (an identity, whatever its wallets) may hold at most `maxBalance` tokens
/// @dev Balances are kept per identity from the first mint, so the module binds only to a token without supply.
/// Forced transfers and recoveries are booked but never refused (agents act above the rules).
contract MaxBalanceModule is AbstractModule {
    event MaxBalanceSet(address indexed compliance, uint256 maxBalance);

    mapping(address => uint256) private _maxBalance;
    mapping(address => mapping(address => uint256)) private _identityBalance;

    /// @notice Cap every investor's holding at `maxBalance` (bound compliance only).
    function setMaxBalance(uint256 maxBalance_) external onlyBoundCompliance {
        _maxBalance[msg.sender] = maxBalance_;
        emit MaxBalanceSet(msg.sender, maxBalance_);
    }

    /// @notice The cap under `compliance`.
    function maxBalance(address compliance) external view returns (uint256) {
        return _maxBalance[compliance];
    }

    /// @notice What `identity` holds across its wallets under `compliance`.
    function identityBalance(address compliance, address identity) external view returns (uint256) {
        return _identityBalance[compliance][identity];
    }

    /// @inheritdoc IModule
    function moduleCheck(address from, address to, uint256 value, address compliance) external view returns (bool) {
        IIdentityRegistry registry = _registry(compliance);
        address toId = address(registry.identity(to));
        if (_identityBalance[compliance][toId] + value <= _maxBalance[compliance]) return true;
        // a move between two wallets of one investor does not change its holding
        return from != address(0) && address(registry.identity(from)) == toId;
    }

    /// @inheritdoc IModule
    function moduleTransferAction(address from, address to, uint256 value) external override onlyBoundCompliance {
        IIdentityRegistry registry = _registry(msg.sender);
        address fromId = address(registry.identity(from));
        address toId = address(registry.identity(to));
        if (fromId == toId) return;
        _debit(msg.sender, fromId, value);
        _identityBalance[msg.sender][toId] += value;
    }

    /// @inheritdoc IModule
    function moduleMintAction(address to, uint256 value) external override onlyBoundCompliance {
        _identityBalance[msg.sender][address(_registry(msg.sender).identity(to))] += value;
    }

    /// @inheritdoc IModule
    function moduleBurnAction(address from, uint256 value) external override onlyBoundCompliance {
        _debit(msg.sender, address(_registry(msg.sender).identity(from)), value);
    }

    /// @inheritdoc IModule
    function isPlugAndPlay() external pure override returns (bool) {
        return false;
    }

    /// @inheritdoc IModule
    function name() external pure returns (string memory) {
        return "MaxBalanceModule";
    }

    /// @dev Saturating: a wallet unregistered while holding tokens is booked under no identity.
    function _debit(address compliance, address identity, uint256 value) private {
        uint256 balance = _identityBalance[compliance][identity];
        _identityBalance[compliance][identity] = balance > value ? balance - value : 0;
    }
}
