// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IModule} from "../../interfaces/IModule.sol";
import {AbstractModule} from "./AbstractModule.sol";

/// @title Rule: mints may not take the total supply above `supplyLimit`
contract SupplyLimitModule is AbstractModule {
    event SupplyLimitSet(address indexed compliance, uint256 limit);

    mapping(address => uint256) private _limit;

    /// @notice Cap the supply at `limit` (bound compliance only).
    function setSupplyLimit(uint256 limit) external onlyBoundCompliance {
        _limit[msg.sender] = limit;
        emit SupplyLimitSet(msg.sender, limit);
    }

    /// @notice The cap under `compliance`.
    function getSupplyLimit(address compliance) external view returns (uint256) {
        return _limit[compliance];
    }

    /// @inheritdoc IModule
    function moduleCheck(address from, address, uint256 value, address compliance) external view returns (bool) {
        if (from != address(0)) return true;
        return _token(compliance).totalSupply() + value <= _limit[compliance];
    }

    /// @inheritdoc AbstractModule
    function needsHooks() external pure override returns (bool) {
        return false;
    }

    /// @inheritdoc IModule
    function name() external pure returns (string memory) {
        return "SupplyLimitModule";
    }
}
