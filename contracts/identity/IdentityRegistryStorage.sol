// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IIdentity} from "../interfaces/IIdentity.sol";
import {IIdentityRegistryStorage} from "../interfaces/IIdentityRegistryStorage.sol";
import {AgentRole} from "../token/AgentRole.sol";

/// @title Wallet -> (identity, country), shared by every registry bound to it
/// @notice Bound identity registries are its agents; one investor registered once serves several tokens.
/// @dev Identity and country share one storage slot per wallet.
contract IdentityRegistryStorage is AgentRole, IIdentityRegistryStorage {
    uint256 public constant MAX_REGISTRIES = 300;

    /// @dev `userAddress` or `identity` is the zero address.
    error IdentityStorageInvalidInput(address userAddress, address identity);
    /// @dev `userAddress` is already stored.
    error IdentityStorageAlreadyStored(address userAddress);
    /// @dev `userAddress` is not stored.
    error IdentityStorageNotStored(address userAddress);
    /// @dev No more than `max` registries.
    error IdentityStorageRegistryLimit(uint256 max);

    struct Investor {
        IIdentity identity;
        uint16 country;
    }

    mapping(address => Investor) private _investors;
    address[] private _registries;

    constructor(address initialOwner) AgentRole(initialOwner) {}

    /// @inheritdoc IIdentityRegistryStorage
    function addIdentityToStorage(address userAddress, IIdentity identity, uint16 country) external onlyAgent {
        if (userAddress == address(0) || address(identity) == address(0)) {
            revert IdentityStorageInvalidInput(userAddress, address(identity));
        }
        if (address(_investors[userAddress].identity) != address(0)) revert IdentityStorageAlreadyStored(userAddress);
        _investors[userAddress] = Investor(identity, country);
        emit IdentityStored(userAddress, identity);
    }

    /// @inheritdoc IIdentityRegistryStorage
    function removeIdentityFromStorage(address userAddress) external onlyAgent {
        IIdentity identity = _stored(userAddress);
        delete _investors[userAddress];
        emit IdentityUnstored(userAddress, identity);
    }

    /// @inheritdoc IIdentityRegistryStorage
    function modifyStoredInvestorCountry(address userAddress, uint16 country) external onlyAgent {
        _stored(userAddress);
        _investors[userAddress].country = country;
        emit CountryModified(userAddress, country);
    }

    /// @inheritdoc IIdentityRegistryStorage
    function modifyStoredIdentity(address userAddress, IIdentity identity) external onlyAgent {
        if (address(identity) == address(0)) revert IdentityStorageInvalidInput(userAddress, address(identity));
        IIdentity old = _stored(userAddress);
        _investors[userAddress].identity = identity;
        emit IdentityModified(old, identity);
    }

    /// @inheritdoc IIdentityRegistryStorage
    function bindIdentityRegistry(address identityRegistry) external onlyOwner {
        if (_registries.length >= MAX_REGISTRIES) revert IdentityStorageRegistryLimit(MAX_REGISTRIES);
        _addAgent(identityRegistry);
        _registries.push(identityRegistry);
        emit IdentityRegistryBound(identityRegistry);
    }

    /// @inheritdoc IIdentityRegistryStorage
    function unbindIdentityRegistry(address identityRegistry) external onlyOwner {
        uint256 length = _registries.length;
        for (uint256 i; i < length; ++i) {
            if (_registries[i] == identityRegistry) {
                _registries[i] = _registries[length - 1];
                _registries.pop();
                _removeAgent(identityRegistry);
                emit IdentityRegistryUnbound(identityRegistry);
                return;
            }
        }
        revert AgentRoleUnchanged(identityRegistry, false);
    }

    /// @inheritdoc IIdentityRegistryStorage
    function linkedIdentityRegistries() external view returns (address[] memory) {
        return _registries;
    }

    /// @inheritdoc IIdentityRegistryStorage
    function storedIdentity(address userAddress) external view returns (IIdentity) {
        return _investors[userAddress].identity;
    }

    /// @inheritdoc IIdentityRegistryStorage
    function storedInvestorCountry(address userAddress) external view returns (uint16) {
        return _investors[userAddress].country;
    }

    function _stored(address userAddress) private view returns (IIdentity identity) {
        identity = _investors[userAddress].identity;
        if (address(identity) == address(0)) revert IdentityStorageNotStored(userAddress);
    }
}
