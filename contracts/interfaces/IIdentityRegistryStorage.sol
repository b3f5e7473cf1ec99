// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IIdentity} from "./IIdentity.sol";

/// @title ERC-3643 identity registry storage: wallet -> (identity, country), shareable by several registries
interface IIdentityRegistryStorage {
    event IdentityStored(address indexed investorAddress, IIdentity indexed identity);
    event IdentityUnstored(address indexed investorAddress, IIdentity indexed identity);
    event IdentityModified(IIdentity indexed oldIdentity, IIdentity indexed newIdentity);
    event CountryModified(address indexed investorAddress, uint16 indexed country);
    event IdentityRegistryBound(address indexed identityRegistry);
    event IdentityRegistryUnbound(address indexed identityRegistry);

    /// @notice Store `identity` and `country` for `userAddress` (agents only).
    function addIdentityToStorage(address userAddress, IIdentity identity, uint16 country) external;

    /// @notice Forget `userAddress` (agents only).
    function removeIdentityFromStorage(address userAddress) external;

    /// @notice Change the country of `userAddress` (agents only).
    function modifyStoredInvestorCountry(address userAddress, uint16 country) external;

    /// @notice Change the identity of `userAddress` (agents only).
    function modifyStoredIdentity(address userAddress, IIdentity identity) external;

    /// @notice Let `identityRegistry` write here (owner only).
    function bindIdentityRegistry(address identityRegistry) external;

    /// @notice Stop `identityRegistry` writing here (owner only).
    function unbindIdentityRegistry(address identityRegistry) external;

    /// @notice The registries bound to this storage.
    function linkedIdentityRegistries() external view returns (address[] memory);

    /// @notice The identity stored for `userAddress` (zero when none).
    function storedIdentity(address userAddress) external view returns (IIdentity);

    /// @notice The country stored for `userAddress`.
    function storedInvestorCountry(address userAddress) external view returns (uint16);
}
