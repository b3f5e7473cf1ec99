// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IIdentity} from "./IIdentity.sol";
import {IClaimTopicsRegistry} from "./IClaimTopicsRegistry.sol";
import {ITrustedIssuersRegistry} from "./ITrustedIssuersRegistry.sol";
import {IIdentityRegistryStorage} from "./IIdentityRegistryStorage.sol";

/// @title ERC-3643 identity registry: who may hold the token
interface IIdentityRegistry {
    event ClaimTopicsRegistrySet(address indexed claimTopicsRegistry);
    event IdentityStorageSet(address indexed identityStorage);
    event TrustedIssuersRegistrySet(address indexed trustedIssuersRegistry);
    event IdentityRegistered(address indexed investorAddress, IIdentity indexed identity);
    event IdentityRemoved(address indexed investorAddress, IIdentity indexed identity);
    event IdentityUpdated(IIdentity indexed oldIdentity, IIdentity indexed newIdentity);
    event CountryUpdated(address indexed investorAddress, uint16 indexed country);

    /// @notice Register `userAddress` as a wallet of `identity` living in `country` (agents only).
    function registerIdentity(address userAddress, IIdentity identity, uint16 country) external;

    /// @notice Unregister `userAddress` (agents only).
    function deleteIdentity(address userAddress) external;

    /// @notice Use another identity storage (owner only).
    function setIdentityRegistryStorage(address identityRegistryStorage) external;

    /// @notice Use another claim topics registry (owner only).
    function setClaimTopicsRegistry(address claimTopicsRegistry) external;

    /// @notice Use another trusted issuers registry (owner only).
    function setTrustedIssuersRegistry(address trustedIssuersRegistry) external;

    /// @notice Change the country of `userAddress` (agents only).
    function updateCountry(address userAddress, uint16 country) external;

    /// @notice Change the identity of `userAddress` (agents only).
    function updateIdentity(address userAddress, IIdentity identity) external;

    /// @notice Register several wallets at once; all or none (agents only).
    function batchRegisterIdentity(address[] calldata userAddresses, IIdentity[] calldata identities, uint16[] calldata countries) external;

    /// @notice Whether `userAddress` is registered.
    function contains(address userAddress) external view returns (bool);

    /// @notice Whether `userAddress` is registered and its identity holds, for every required topic, a valid
    /// claim from an issuer trusted for that topic.
    function isVerified(address userAddress) external view returns (bool);

    /// @notice The identity of `userAddress`.
    function identity(address userAddress) external view returns (IIdentity);

    /// @notice The country of `userAddress`.
    function investorCountry(address userAddress) external view returns (uint16);

    /// @notice The identity storage in use.
    function identityStorage() external view returns (IIdentityRegistryStorage);

    /// @notice The trusted issuers registry in use.
    function issuersRegistry() external view returns (ITrustedIssuersRegistry);

    /// @notice The claim topics registry in use.
    function topicsRegistry() external view returns (IClaimTopicsRegistry);
}
