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

    /// @notice A registry recorded (or cleared) the tag under which it verified `investorAddress`.
    event VerificationTagged(address indexed investorAddress, address indexed identityRegistry, uint80 tag);

    /// @dev One slot per wallet: the identity, the country and the verification tag of the last registry that
    /// cached a positive verification (a hash of that registry, the identity and the change counters).
    struct Investor {
        IIdentity identity;
        uint16 country;
        uint80 verificationTag;
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
        _investors[userAddress] = Investor(identity, country, 0);
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
        _investors[userAddress].verificationTag = 0;
        emit IdentityModified(old, identity);
    }

    /// @notice Record the tag under which the calling registry verified `userAddress` (agents only).
    /// @dev Shares the wallet's slot, so caching costs a slot update instead of a new slot; a registry reads it back
    /// with `storedInvestor` and trusts it only when it equals the tag it computes now.
    function setVerificationTag(address userAddress, uint80 tag) external onlyAgent {
        _stored(userAddress);
        _investors[userAddress].verificationTag = tag;
        emit VerificationTagged(userAddress, msg.sender, tag);
    }

    /// @notice Identity, country and verification tag of `userAddress` in one read.
    function storedInvestor(address userAddress) external view returns (IIdentity identity, uint16 country, uint80 verificationTag) {
        Investor memory investor = _investors[userAddress];
        return (investor.identity, investor.country, investor.verificationTag);
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
