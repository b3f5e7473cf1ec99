// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IIdentity} from "../interfaces/IIdentity.sol";
import {IClaimIssuer} from "../interfaces/IClaimIssuer.sol";
import {IClaimEpochs} from "../interfaces/IClaimEpochs.sol";
import {IERC734} from "../interfaces/IERC734.sol";
import {IERC735} from "../interfaces/IERC735.sol";

/// @title ONCHAINID-compatible identity (ERC-734 keys, ERC-735 claims)
/// @notice Deployable directly or as a clone (`initialize`). A claim is accepted only when its issuer says it is
/// valid; removing or replacing a claim is reported to `claimEpochs` so cached verifications end at once.
/// @dev Purposes are stored as a bit mask (purposes 1..255), so `keyHasPurpose` is one storage read.
contract Identity is IIdentity {
    uint256 internal constant MANAGEMENT = 1;
    uint256 internal constant ACTION = 2;
    uint256 internal constant CLAIM = 3;
    uint256 internal constant ENCRYPTION = 4;

    /// @dev The identity was already initialized.
    error IdentityAlreadyInitialized();
    /// @dev `sender` lacks a key with `purpose`.
    error IdentityUnauthorized(address sender, uint256 purpose);
    /// @dev Purposes must be between 1 and 255.
    error IdentityInvalidPurpose(uint256 purpose);
    /// @dev `key` already has (or lacks) `purpose`.
    error IdentityKeyUnchanged(bytes32 key, uint256 purpose, bool hasPurpose);
    /// @dev `issuer` does not consider the claim on `topic` valid.
    error IdentityInvalidClaim(address issuer, uint256 topic);
    /// @dev No claim `claimId`.
    error IdentityClaimNotFound(bytes32 claimId);
    /// @dev The zero address cannot be a key.
    error IdentityInvalidKey();
    /// @dev No execution `executionId` is pending.
    error IdentityExecutionNotPending(uint256 executionId);
    /// @dev Claim schemes must fit in 96 bits.
    error IdentityInvalidScheme(uint256 scheme);

    /// @dev Issuer and scheme share a slot (schemes are small numbers: 1 ECDSA, 2 RSA, 3 contract).
    struct Claim {
        uint256 topic;
        address issuer;
        uint96 scheme;
        bytes signature;
        bytes data;
        string uri;
    }

    struct Execution {
        address to;
        bool done;
        uint256 value;
        bytes data;
    }

    /// @notice Where claim changes are reported (zero: nowhere, the identity is then never cached).
    IClaimEpochs public immutable claimEpochs;

    bool private _initialized;
    mapping(bytes32 => uint256) private _purposeMask;
    mapping(bytes32 => uint256) private _keyType;
    mapping(uint256 => bytes32[]) private _keysByPurpose;
    mapping(bytes32 => Claim) private _claims;
    mapping(uint256 => bytes32[]) private _claimsByTopic;
    mapping(uint256 => Execution) private _executions;
    uint256 private _executionCount;

    modifier onlyKey(uint256 purpose) {
        if (msg.sender != address(this) && !keyHasPurpose(keccak256(abi.encode(msg.sender)), purpose)) {
            revert IdentityUnauthorized(msg.sender, purpose);
        }
        _;
    }

    /// @param initialManagementKey first management key; zero makes this an implementation for clones
    /// @param epochs change counters this identity reports to (may be zero)
    constructor(address initialManagementKey, IClaimEpochs epochs) {
        claimEpochs = epochs;
        if (initialManagementKey == address(0)) {
            _initialized = true;
        } else {
            _initialize(initialManagementKey, address(0));
        }
    }

    /// @notice Set up a clone: `managementKey` manages it, `claimKey` (optional) may add and remove claims.
    function initialize(address managementKey, address claimKey) external {
        if (_initialized) revert IdentityAlreadyInitialized();
        _initialize(managementKey, claimKey);
    }

    // -- ERC-734 ------------------------------------------------------------------------------

    /// @inheritdoc IERC734
    function addKey(bytes32 key, uint256 purpose, uint256 keyType) external onlyKey(MANAGEMENT) returns (bool) {
        _addKey(key, purpose, keyType);
        return true;
    }

    /// @inheritdoc IERC734
    function removeKey(bytes32 key, uint256 purpose) external onlyKey(MANAGEMENT) returns (bool) {
        _checkPurpose(purpose);
        uint256 mask = _purposeMask[key];
        if (mask & (1 << purpose) == 0) revert IdentityKeyUnchanged(key, purpose, false);
        _purposeMask[key] = mask & ~(1 << purpose);
        bytes32[] storage keys = _keysByPurpose[purpose];
        uint256 last = keys.length - 1;
        for (uint256 i; i <= last; ++i) {
            if (keys[i] == key) {
                keys[i] = keys[last];
                keys.pop();
                break;
            }
        }
        uint256 keyType = _keyType[key];
        if (mask & ~(1 << purpose) == 0) delete _keyType[key];
        emit KeyRemoved(key, purpose, keyType);
        _afterKeyRemoved(key, purpose);
        return true;
    }

    /// @inheritdoc IERC734
    function getKey(bytes32 key) external view returns (uint256[] memory purposes, uint256 keyType, bytes32 key_) {
        return (_purposesOf(key), _keyType[key], _purposeMask[key] == 0 ? bytes32(0) : key);
    }

    /// @inheritdoc IERC734
    function getKeyPurposes(bytes32 key) external view returns (uint256[] memory) {
        return _purposesOf(key);
    }

    /// @inheritdoc IERC734
    function getKeysByPurpose(uint256 purpose) external view returns (bytes32[] memory) {
        return _keysByPurpose[purpose];
    }

    /// @inheritdoc IERC734
    function keyHasPurpose(bytes32 key, uint256 purpose) public view returns (bool) {
        uint256 mask = _purposeMask[key];
        if (mask & (1 << MANAGEMENT) != 0) return true;
        return purpose < 256 && mask & (1 << purpose) != 0;
    }

    /// @inheritdoc IERC734
    function execute(address to, uint256 value, bytes calldata data) external payable returns (uint256 executionId) {
        executionId = _executionCount++;
        _executions[executionId] = Execution(to, false, value, data);
        emit ExecutionRequested(executionId, to, value, data);
        if (keyHasPurpose(keccak256(abi.encode(msg.sender)), to == address(this) ? MANAGEMENT : ACTION)) {
            _run(executionId);
        }
    }

    /// @inheritdoc IERC734
    function approve(uint256 executionId, bool approved) external returns (bool) {
        Execution storage execution = _executions[executionId];
        if (executionId >= _executionCount || execution.done) revert IdentityExecutionNotPending(executionId);
        uint256 purpose = execution.to == address(this) ? MANAGEMENT : ACTION;
        if (!keyHasPurpose(keccak256(abi.encode(msg.sender)), purpose)) revert IdentityUnauthorized(msg.sender, purpose);
        if (!approved) {
            execution.done = true;
            emit Approved(executionId, false);
            return false;
        }
        return _run(executionId);
    }

    // -- ERC-735 ------------------------------------------------------------------------------

    /// @inheritdoc IERC735
    /// @dev Claim keys (or the identity itself) only; a claim from another issuer must pass its `isClaimValid`.
    function addClaim(uint256 topic, uint256 scheme, address issuer, bytes calldata signature, bytes calldata data, string calldata uri)
        external
        onlyKey(CLAIM)
        returns (bytes32 claimId)
    {
        if (issuer != address(this) && !IClaimIssuer(issuer).isClaimValid(IIdentity(address(this)), topic, signature, data)) {
            revert IdentityInvalidClaim(issuer, topic);
        }
        if (scheme > type(uint96).max) revert IdentityInvalidScheme(scheme);
        claimId = keccak256(abi.encode(issuer, topic));
        Claim storage claim = _claims[claimId];
        bool replaced = claim.issuer != address(0);
        claim.topic = topic;
        claim.scheme = uint96(scheme);
        claim.issuer = issuer;
        claim.signature = signature;
        claim.data = data;
        claim.uri = uri;
        if (replaced) {
            emit ClaimChanged(claimId, topic, scheme, issuer, signature, data, uri);
            _reportClaimsChanged();
        } else {
            _claimsByTopic[topic].push(claimId);
            emit ClaimAdded(claimId, topic, scheme, issuer, signature, data, uri);
        }
    }

    /// @inheritdoc IERC735
    function removeClaim(bytes32 claimId) external onlyKey(CLAIM) returns (bool) {
        Claim memory claim = _claims[claimId];
        if (claim.issuer == address(0)) revert IdentityClaimNotFound(claimId);
        bytes32[] storage ids = _claimsByTopic[claim.topic];
        uint256 last = ids.length - 1;
        for (uint256 i; i <= last; ++i) {
            if (ids[i] == claimId) {
                ids[i] = ids[last];
                ids.pop();
                break;
            }
        }
        delete _claims[claimId];
        emit ClaimRemoved(claimId, claim.topic, claim.scheme, claim.issuer, claim.signature, claim.data, claim.uri);
        _reportClaimsChanged();
        return true;
    }

    /// @inheritdoc IERC735
    function getClaim(bytes32 claimId)
        external
        view
        returns (uint256 topic, uint256 scheme, address issuer, bytes memory signature, bytes memory data, string memory uri)
    {
        Claim storage claim = _claims[claimId];
        return (claim.topic, claim.scheme, claim.issuer, claim.signature, claim.data, claim.uri);
    }

    /// @inheritdoc IERC735
    function getClaimIdsByTopic(uint256 topic) external view returns (bytes32[] memory) {
        return _claimsByTopic[topic];
    }

    // -- internal -----------------------------------------------------------------------------

    /// @dev A failed call is reported, not reverted, and leaves the execution pending (ONCHAINID semantics).
    function _run(uint256 executionId) private returns (bool ok) {
        Execution storage execution = _executions[executionId];
        emit Approved(executionId, true);
        execution.done = true;
        (ok,) = execution.to.call{value: execution.value}(execution.data);
        if (ok) {
            emit Executed(executionId, execution.to, execution.value, execution.data);
        } else {
            execution.done = false;
            emit ExecutionFailed(executionId, execution.to, execution.value, execution.data);
        }
    }

    function _initialize(address managementKey, address claimKey) private {
        if (managementKey == address(0)) revert IdentityInvalidKey();
        _initialized = true;
        _addKey(keccak256(abi.encode(managementKey)), MANAGEMENT, 1);
        if (claimKey != address(0)) _addKey(keccak256(abi.encode(claimKey)), CLAIM, 1);
    }

    function _addKey(bytes32 key, uint256 purpose, uint256 keyType) private {
        _checkPurpose(purpose);
        uint256 mask = _purposeMask[key];
        if (mask & (1 << purpose) != 0) revert IdentityKeyUnchanged(key, purpose, true);
        _purposeMask[key] = mask | (1 << purpose);
        _keyType[key] = keyType;
        _keysByPurpose[purpose].push(key);
        emit KeyAdded(key, purpose, keyType);
    }

    function _purposesOf(bytes32 key) private view returns (uint256[] memory purposes) {
        uint256 mask = _purposeMask[key];
        uint256 count;
        for (uint256 p = 1; p < 256; ++p) if (mask & (1 << p) != 0) ++count;
        purposes = new uint256[](count);
        count = 0;
        for (uint256 p = 1; p < 256 && count < purposes.length; ++p) if (mask & (1 << p) != 0) purposes[count++] = p;
    }

    function _checkPurpose(uint256 purpose) private pure {
        if (purpose == 0 || purpose > 255) revert IdentityInvalidPurpose(purpose);
    }

    function _reportClaimsChanged() internal {
        if (address(claimEpochs) != address(0)) claimEpochs.claimsChanged();
    }

    /// @dev Hook for claim issuers: a removed key may have signed claims.
    function _afterKeyRemoved(bytes32 key, uint256 purpose) internal virtual {}
}
