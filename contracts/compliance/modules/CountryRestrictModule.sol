// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IModule} from "../../interfaces/IModule.sol";
import {AbstractModule} from "./AbstractModule.sol";

/// @title Rule: the receiver must not live in a blocked country (ISO 3166-1 numeric)
contract CountryRestrictModule is AbstractModule {
    /// @dev `country` is already blocked for `compliance`.
    error CountryAlreadyRestricted(address compliance, uint16 country);
    /// @dev `country` is not blocked for `compliance`.
    error CountryNotRestricted(address compliance, uint16 country);

    event AddedRestrictedCountry(address indexed compliance, uint16 country);
    event RemovedRestrictedCountry(address indexed compliance, uint16 country);

    mapping(address => mapping(uint16 => bool)) private _restricted;

    /// @notice Block receivers from `country` (bound compliance only).
    function addCountryRestriction(uint16 country) external onlyBoundCompliance {
        _restrict(country);
    }

    /// @notice Unblock `country` (bound compliance only).
    function removeCountryRestriction(uint16 country) external onlyBoundCompliance {
        _unrestrict(country);
    }

    /// @notice Block several countries (bound compliance only).
    function batchRestrictCountries(uint16[] calldata countries) external onlyBoundCompliance {
        for (uint256 i; i < countries.length; ++i) _restrict(countries[i]);
    }

    /// @notice Unblock several countries (bound compliance only).
    function batchUnrestrictCountries(uint16[] calldata countries) external onlyBoundCompliance {
        for (uint256 i; i < countries.length; ++i) _unrestrict(countries[i]);
    }

    /// @notice Whether `country` is blocked under `compliance`.
    function isCountryRestricted(address compliance, uint16 country) external view returns (bool) {
        return _restricted[compliance][country];
    }

    /// @inheritdoc IModule
    function moduleCheck(address, address to, uint256, address compliance) external view returns (bool) {
        return !_restricted[compliance][_registry(compliance).investorCountry(to)];
    }

    /// @inheritdoc AbstractModule
    function needsHooks() external pure override returns (bool) {
        return false;
    }

    /// @inheritdoc IModule
    function name() external pure returns (string memory) {
        return "CountryRestrictModule";
    }

    function _restrict(uint16 country) private {
        if (_restricted[msg.sender][country]) revert CountryAlreadyRestricted(msg.sender, country);
        _restricted[msg.sender][country] = true;
        emit AddedRestrictedCountry(msg.sender, country);
    }

    function _unrestrict(uint16 country) private {
        if (!_restricted[msg.sender][country]) revert CountryNotRestricted(msg.sender, country);
        _restricted[msg.sender][country] = false;
        emit RemovedRestrictedCountry(msg.sender, country);
    }
}
