// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IModule} from "../../interfaces/IModule.sol";
import {AbstractModule} from "./AbstractModule.sol";

/// @title Rule: at most `maxHolders` wallets hold a non-zero balance
/// @dev A counter, not a list: O(1) per move. Counted from the first mint, so it binds only to a token without supply.
contract MaxHoldersModule is AbstractModule {
    event MaxHoldersSet(address indexed compliance, uint128 maxHolders);

    struct Holders {
        uint128 count;
        uint128 max;
    }

    mapping(address => Holders) private _holders;

    /// @notice Allow at most `max` holders (bound compliance only).
    function setMaxHolders(uint128 max) external onlyBoundCompliance {
        _holders[msg.sender].max = max;
        emit MaxHoldersSet(msg.sender, max);
    }

    /// @notice The current number of holders under `compliance`.
    function holderCount(address compliance) external view returns (uint256) {
        return _holders[compliance].count;
    }

    /// @notice The cap under `compliance`.
    function maxHolders(address compliance) external view returns (uint256) {
        return _holders[compliance].max;
    }

    /// @inheritdoc IModule
    function moduleCheck(address from, address to, uint256 value, address compliance) external view returns (bool) {
        if (value == 0 || from == to) return true;
        if (_token(compliance).balanceOf(to) != 0) return true;
        Holders memory holders = _holders[compliance];
        if (holders.count < holders.max) return true;
        // the sender leaving makes room for the receiver
        return from != address(0) && _token(compliance).balanceOf(from) == value;
    }

    /// @inheritdoc IModule
    function moduleTransferAction(address from, address to, uint256 value) external override onlyBoundCompliance {
        if (value == 0 || from == to) return;
        Holders storage holders = _holders[msg.sender];
        if (_token(msg.sender).balanceOf(to) == value) ++holders.count;
        if (_token(msg.sender).balanceOf(from) == 0) --holders.count;
    }

    /// @inheritdoc IModule
    function moduleMintAction(address to, uint256 value) external override onlyBoundCompliance {
        if (value != 0 && _token(msg.sender).balanceOf(to) == value) ++_holders[msg.sender].count;
    }

    /// @inheritdoc IModule
    function moduleBurnAction(address from, uint256 value) external override onlyBoundCompliance {
        if (value != 0 && _token(msg.sender).balanceOf(from) == 0) --_holders[msg.sender].count;
    }

    /// @inheritdoc IModule
    function isPlugAndPlay() external pure override returns (bool) {
        return false;
    }

    /// @inheritdoc IModule
    function name() external pure returns (string memory) {
        return "MaxHoldersModule";
    }
}
