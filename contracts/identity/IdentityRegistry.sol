// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IIdentity} from "../interfaces/IIdentity.sol";
import {IClaimIssuer} from "../interfaces/IClaimIssuer.sol";
import {IClaimEpochs} from "../interfaces/IClaimEpochs.sol";
import {IClaimTopicsRegistry} from "../interfaces/IClaimTopicsRegistry.sol";
import {ITrustedIssuersRegistry} from "../interfaces/ITrustedIssuersRegistry.sol";
import {IIdentityRegistryStorage} from "../interfaces/IIdentityRegistryStorage.sol";
import {IIdentityRegistry} from "../interfaces/IIdentityRegistry.sol";
import {IVerificationCache} from "../interfaces/IVerificationCache.sol";
import {AgentRole} from "../token/AgentRole.sol";

/// @title ERC-3643 identity registry with a verification cache that never outlives a revocation
/// @notice An investor is verified when its identity holds, for every required topic, a claim from an issuer
/// trusted for that topic that the issuer still considers valid.
/// @dev Cache: `verify` stores, per identity, the stamp of `claimEpochs` (the identity's own claim counter, the
/// shared trust counter) plus this registry's configuration counter, but only when the identity, every issuer
/// whose claim was used and both registries are tracked there (their code reports every change). A check
/// whose stamp still matches is a proof that no claim was removed or replaced, no signature revoked, no issuer
/// key or issuer removed and no topic added since: otherwise the full check runs again.
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
    mapping(address => uint256) private _verifiedStamp;

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
        Config memory config = _config;
        IIdentity id = config.identityStorage.storedIdentity(userAddress);
        if (address(id) == address(0)) return false;
        uint256 stamp = _stampOf(id, config.configEpoch);
        if (stamp != 0 && _verifiedStamp[address(id)] == stamp) return true;
        (bool verified, bool cacheable) = _check(id);
        if (verified && cacheable && stamp != 0) {
            _verifiedStamp[address(id)] = stamp;
            emit VerificationCached(address(id), stamp);
        }
        return verified;
    }

    /// @inheritdoc IIdentityRegistry
    function isVerified(address userAddress) external view returns (bool) {
        Config memory config = _config;
        IIdentity id = config.identityStorage.storedIdentity(userAddress);
        if (address(id) == address(0)) return false;
        uint256 stamp = _stampOf(id, config.configEpoch);
        if (stamp != 0 && _verifiedStamp[address(id)] == stamp) return true;
        (bool verified,) = _check(id);
        return verified;
    }

    /// @notice Whether the verification of `identity_` is cached and still provably true.
    function isCached(address identity_) external view returns (bool) {
        uint256 stamp = _stampOf(IIdentity(identity_), _config.configEpoch);
        return stamp != 0 && _verifiedStamp[identity_] == stamp;
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

    /// @dev Zero when caching is impossible; otherwise the counters, with this registry's in the top bits.
    function _stampOf(IIdentity id, uint64 configEpoch) private view returns (uint256) {
        if (address(claimEpochs) == address(0)) return 0;
        uint256 stamp = claimEpochs.stampOf(address(id));
        if (stamp == 0) return 0;
        return stamp | (uint256(configEpoch) << 160);
    }

    /// @dev The full check, T-REX semantics; `cacheable` only when every contract consulted reports its changes.
    function _check(IIdentity id) private view returns (bool verified, bool cacheable) {
        IClaimEpochs epochs = claimEpochs;
        cacheable = address(epochs) != address(0) && epochs.roleOf(address(_topics)) == IClaimEpochs.Role.TrustSource
            && epochs.roleOf(address(_issuers)) == IClaimEpochs.Role.TrustSource;
        uint256[] memory topics = _topics.getClaimTopics();
        for (uint256 t; t < topics.length; ++t) {
            IClaimIssuer[] memory trusted = _issuers.getTrustedIssuersForClaimTopic(topics[t]);
            IClaimIssuer used;
            for (uint256 i; i < trusted.length; ++i) {
                if (_hasValidClaim(id, trusted[i], topics[t])) {
                    used = trusted[i];
                    break;
                }
            }
            if (address(used) == address(0)) return (false, false);
            if (cacheable && epochs.roleOf(address(used)) != IClaimEpochs.Role.TrustSource) cacheable = false;
        }
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
