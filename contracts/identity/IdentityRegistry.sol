// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IIdentity} from "../interfaces/IIdentity.sol";
import {IClaimIssuer} from "../interfaces/IClaimIssuer.sol";
import {IClaimEpochs} from "../interfaces/IClaimEpochs.sol";
import {IClaimTopicsRegistry} from "../interfaces/IClaimTopicsRegistry.sol";
import {ITrustedIssuersRegistry} from "../interfaces/ITrustedIssuersRegistry.sol";
import {IIdentityRegistryStorage} from "../interfaces/IIdentityRegistryStorage.sol";
import {IdentityRegistryStorage} from "./IdentityRegistryStorage.sol";
import {IIdentityRegistry} from "../interfaces/IIdentityRegistry.sol";
import {IVerificationCache} from "../interfaces/IVerificationCache.sol";
import {AgentRole} from "../token/AgentRole.sol";

/// @title ERC-3643 identity registry with a verification cache that never outlives a revocation
/// @notice An investor is verified when its identity holds, for every required topic, a claim from an issuer
/// trusted for that topic that the issuer still considers valid.
/// @dev Cache: `verify` stores, in the wallet's slot of the identity storage, an 80-bit tag of this registry, the
/// identity, the `claimEpochs` stamp (the identity's own claim counter, the shared trust counter) and this
/// registry's configuration counter, but only when the identity, every issuer whose claim was used and both
/// registries are tracked there (their code reports every change). A check whose tag still matches proves that
/// no claim was removed or replaced, no signature revoked, no issuer key or issuer removed and no topic added
/// since; otherwise the full check runs again. The storage must be an `IdentityRegistryStorage` of this project.
contract IdentityRegistry is AgentRole, IIdentityRegistry, IVerificationCache {
    /// @dev A registry address is the zero address.
    error IdentityRegistryInvalidAddress();
    /// @dev Batch arrays differ in length.
    error IdentityRegistryLengthMismatch(uint256 wallets, uint256 identities, uint256 countries);

    /// @dev The configuration changed: every cached verification ends.
    event ConfigEpochBumped(uint64 configEpoch);

    /// @dev Storage and configuration counter share one slot: a cache hit reads it once.
    struct Config {
        IIdentityRegistryStorage identityStorage;
        uint64 configEpoch;
    }

    /// @notice The change counters the cache relies on (zero: no cache).
    IClaimEpochs public immutable claimEpochs;

    Config private _config;
    IClaimTopicsRegistry private _topics;
    ITrustedIssuersRegistry private _issuers;

    constructor(
        address initialOwner,
        ITrustedIssuersRegistry issuers,
        IClaimTopicsRegistry topics,
        IIdentityRegistryStorage identityStorage_,
        IClaimEpochs epochs
    ) AgentRole(initialOwner) {
        claimEpochs = epochs;
        _setIssuers(address(issuers));
        _setTopics(address(topics));
        _setStorage(address(identityStorage_));
        _bumpConfig();
    }

    // -- registration (agents) ----------------------------------------------------------------

    /// @inheritdoc IIdentityRegistry
    function registerIdentity(address userAddress, IIdentity identity_, uint16 country) external onlyAgent {
        _register(userAddress, identity_, country);
    }

    /// @inheritdoc IIdentityRegistry
    function batchRegisterIdentity(address[] calldata userAddresses, IIdentity[] calldata identities, uint16[] calldata countries)
        external
        onlyAgent
    {
        if (userAddresses.length != identities.length || userAddresses.length != countries.length) {
            revert IdentityRegistryLengthMismatch(userAddresses.length, identities.length, countries.length);
        }
        for (uint256 i; i < userAddresses.length; ++i) {
            _register(userAddresses[i], identities[i], countries[i]);
        }
    }

    /// @inheritdoc IIdentityRegistry
    function updateIdentity(address userAddress, IIdentity identity_) external onlyAgent {
        IIdentity old = _config.identityStorage.storedIdentity(userAddress);
        _config.identityStorage.modifyStoredIdentity(userAddress, identity_);
        emit IdentityUpdated(old, identity_);
    }

    /// @inheritdoc IIdentityRegistry
    function updateCountry(address userAddress, uint16 country) external onlyAgent {
        _config.identityStorage.modifyStoredInvestorCountry(userAddress, country);
        emit CountryUpdated(userAddress, country);
    }

    /// @inheritdoc IIdentityRegistry
    function deleteIdentity(address userAddress) external onlyAgent {
        IIdentity old = _config.identityStorage.storedIdentity(userAddress);
        _config.identityStorage.removeIdentityFromStorage(userAddress);
        emit IdentityRemoved(userAddress, old);
    }

    // -- configuration (owner) ----------------------------------------------------------------

    /// @inheritdoc IIdentityRegistry
    function setIdentityRegistryStorage(address identityRegistryStorage) external onlyOwner {
        _setStorage(identityRegistryStorage);
        _bumpConfig();
    }

    /// @inheritdoc IIdentityRegistry
    function setClaimTopicsRegistry(address claimTopicsRegistry) external onlyOwner {
        _setTopics(claimTopicsRegistry);
        _bumpConfig();
    }

    /// @inheritdoc IIdentityRegistry
    function setTrustedIssuersRegistry(address trustedIssuersRegistry) external onlyOwner {
        _setIssuers(trustedIssuersRegistry);
        _bumpConfig();
    }

    // -- verification -------------------------------------------------------------------------

    /// @inheritdoc IVerificationCache
    function verify(address userAddress) external returns (bool) {
        IIdentityRegistryStorage store = _config.identityStorage;
        (IIdentity id,, uint80 stored) = IdentityRegistryStorage(address(store)).storedInvestor(userAddress);
        if (address(id) == address(0)) return false;
        uint80 tag = _tagOf(id, _config.configEpoch);
        if (tag != 0 && stored == tag) return true;
        (bool verified, bool cacheable) = _check(id);
        if (verified && cacheable && tag != 0) IdentityRegistryStorage(address(store)).setVerificationTag(userAddress, tag);
        return verified;
    }

    /// @inheritdoc IIdentityRegistry
    function isVerified(address userAddress) external view returns (bool) {
        (IIdentity id,, uint80 stored) = IdentityRegistryStorage(address(_config.identityStorage)).storedInvestor(userAddress);
        if (address(id) == address(0)) return false;
        uint80 tag = _tagOf(id, _config.configEpoch);
        if (tag != 0 && stored == tag) return true;
        (bool verified,) = _check(id);
        return verified;
    }

    /// @notice Whether the verification of `userAddress` is cached and still provably true.
    function isCached(address userAddress) external view returns (bool) {
        (IIdentity id,, uint80 stored) = IdentityRegistryStorage(address(_config.identityStorage)).storedInvestor(userAddress);
        if (address(id) == address(0)) return false;
        uint80 tag = _tagOf(id, _config.configEpoch);
        return tag != 0 && stored == tag;
    }

    /// @inheritdoc IIdentityRegistry
    function contains(address userAddress) external view returns (bool) {
        return address(_config.identityStorage.storedIdentity(userAddress)) != address(0);
    }

    /// @inheritdoc IIdentityRegistry
    function identity(address userAddress) external view returns (IIdentity) {
        return _config.identityStorage.storedIdentity(userAddress);
    }

    /// @inheritdoc IIdentityRegistry
    function investorCountry(address userAddress) external view returns (uint16) {
        return _config.identityStorage.storedInvestorCountry(userAddress);
    }

    /// @inheritdoc IIdentityRegistry
    function identityStorage() external view returns (IIdentityRegistryStorage) {
        return _config.identityStorage;
    }

    /// @inheritdoc IIdentityRegistry
    function issuersRegistry() external view returns (ITrustedIssuersRegistry) {
        return _issuers;
    }

    /// @inheritdoc IIdentityRegistry
    function topicsRegistry() external view returns (IClaimTopicsRegistry) {
        return _topics;
    }

    // -- internal -----------------------------------------------------------------------------

    function _register(address userAddress, IIdentity identity_, uint16 country) private {
        _config.identityStorage.addIdentityToStorage(userAddress, identity_, country);
        emit IdentityRegistered(userAddress, identity_);
    }

    /// @dev Zero when caching is impossible; otherwise a non-zero 80-bit digest of this registry, the identity,
    /// its counters and this registry's configuration counter. Counters only grow, so an old tag never comes back;
    /// forging a match would need a preimage of an 80-bit keccak digest.
    function _tagOf(IIdentity id, uint64 configEpoch) private view returns (uint80) {
        if (address(claimEpochs) == address(0)) return 0;
        uint256 stamp = claimEpochs.stampOf(address(id));
        if (stamp == 0) return 0;
        uint80 tag = uint80(uint256(keccak256(abi.encode(address(this), id, stamp, configEpoch))));
        return tag == 0 ? 1 : tag;
    }

    /// @dev The full check, T-REX semantics; `cacheable` only when every contract consulted reports its changes.
    function _check(IIdentity id) private view returns (bool verified, bool cacheable) {
        uint256[] memory topics = _topics.getClaimTopics();
        address[] memory sources = new address[](topics.length + 2);
        sources[0] = address(_topics);
        sources[1] = address(_issuers);
        uint256 count = 2;
        for (uint256 t; t < topics.length; ++t) {
            IClaimIssuer[] memory trusted = _issuers.getTrustedIssuersForClaimTopic(topics[t]);
            address used;
            for (uint256 i; i < trusted.length; ++i) {
                if (_hasValidClaim(id, trusted[i], topics[t])) {
                    used = address(trusted[i]);
                    break;
                }
            }
            if (used == address(0)) return (false, false);
            bool seen;
            for (uint256 j = 2; j < count; ++j) {
                if (sources[j] == used) seen = true;
            }
            if (!seen) sources[count++] = used;
        }
        assembly ("memory-safe") {
            mstore(sources, count)
        }
        cacheable = address(claimEpochs) != address(0) && claimEpochs.areTrustSources(sources);
        return (true, cacheable);
    }

    function _hasValidClaim(IIdentity id, IClaimIssuer issuer, uint256 topic) private view returns (bool) {
        try id.getClaim(keccak256(abi.encode(issuer, topic))) returns (
            uint256 foundTopic, uint256, address claimIssuer, bytes memory signature, bytes memory data, string memory
        ) {
            if (foundTopic != topic || claimIssuer != address(issuer)) return false;
            try issuer.isClaimValid(id, topic, signature, data) returns (bool valid) {
                return valid;
            } catch {
                return false;
            }
        } catch {
            return false;
        }
    }

    function _bumpConfig() private {
        uint64 epoch = ++_config.configEpoch;
        emit ConfigEpochBumped(epoch);
    }

    function _setStorage(address value) private {
        if (value == address(0)) revert IdentityRegistryInvalidAddress();
        _config.identityStorage = IIdentityRegistryStorage(value);
        emit IdentityStorageSet(value);
    }

    function _setTopics(address value) private {
        if (value == address(0)) revert IdentityRegistryInvalidAddress();
        _topics = IClaimTopicsRegistry(value);
        emit ClaimTopicsRegistrySet(value);
    }

    function _setIssuers(address value) private {
        if (value == address(0)) revert IdentityRegistryInvalidAddress();
        _issuers = ITrustedIssuersRegistry(value);
        emit TrustedIssuersRegistrySet(value);
    }
}
