// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IModule} from "../../interfaces/IModule.sol";
import {AbstractModule} from "./AbstractModule.sol";

/// @title Rule: the receiver must live in an allowed country (ISO 3166-1 numeric)
contract CountryAllowModule is AbstractModule {
    /// @dev `country` is already allowed for `compliance`.
    error CountryAlreadyAllowed(address compliance, uint16 country);
    /// @dev `country` is not allowed for `compliance`.
    error CountryNotAllowed(address compliance, uint16 country);

    event CountryAllowed(address indexed compliance, uint16 country);
    event CountryUnallowed(address indexed compliance, uint16 country);

    mapping(address => mapping(uint16 => bool)) private _allowed;

    /// @notice Allow receivers from `country` (bound compliance only).
    function addAllowedCountry(uint16 country) external onlyBoundCompliance {
        _allow(country);
    }

    /// @notice Stop allowing receivers from `country` (bound compliance only).
    function removeAllowedCountry(uint16 country) external onlyBoundCompliance {
        _disallow(country);
    }

    /// @notice Allow several countries (bound compliance only).
    function batchAllowCountries(uint16[] calldata countries) external onlyBoundCompliance {
        for (uint256 i; i < countries.length; ++i) _allow(countries[i]);
    }

    /// @notice Stop allowing several countries (bound compliance only).
    function batchDisallowCountries(uint16[] calldata countries) external onlyBoundCompliance {
        for (uint256 i; i < countries.length; ++i) _disallow(countries[i]);
    }

    /// @notice Whether `country` is allowed under `compliance`.
    function isCountryAllowed(address compliance, uint16 country) external view returns (bool) {
        return _allowed[compliance][country];
    }

    /// @inheritdoc IModule
    function moduleCheck(address, address to, uint256, address compliance) external view returns (bool) {
        return _allowed[compliance][_registry(compliance).investorCountry(to)];
    }

    /// @inheritdoc AbstractModule
    function needsHooks() external pure override returns (bool) {
        return false;
    }

    /// @inheritdoc IModule
    function name() external pure returns (string memory) {
        return "CountryAllowModule";
    }

    function _allow(uint16 country) private {
        if (_allowed[msg.sender][country]) revert CountryAlreadyAllowed(msg.sender, country);
        _allowed[msg.sender][country] = true;
        emit CountryAllowed(msg.sender, country);
    }

    function _disallow(uint16 country) private {
        if (!_allowed[msg.sender][country]) revert CountryNotAllowed(msg.sender, country);
        _allowed[msg.sender][country] = false;
        emit CountryUnallowed(msg.sender, country);
    }
}
