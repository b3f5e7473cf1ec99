// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IIdentity} from "../interfaces/IIdentity.sol";
import {IClaimIssuer} from "../interfaces/IClaimIssuer.sol";
import {IClaimEpochs} from "../interfaces/IClaimEpochs.sol";
import {Identity} from "./Identity.sol";

/// @title ONCHAINID-compatible claim issuer
/// @notice Claims are signed over `keccak256(abi.encode(identity, topic, data))` as an Ethereum signed message by a
/// key with the claim purpose. Revocations and key removals are reported to `claimEpochs`, so registries that
/// cache verifications see them on the next check.
contract ClaimIssuer is Identity, IClaimIssuer {
    /// @dev `signature` was already revoked.
    error ClaimIssuerAlreadyRevoked(bytes signature);

    mapping(bytes32 => bool) private _revoked;

    /// @param initialManagementKey first management key; zero makes this an implementation for clones
    /// @param epochs change counters this issuer reports to (may be zero)
    constructor(address initialManagementKey, IClaimEpochs epochs) Identity(initialManagementKey, epochs) {}

    /// @inheritdoc IClaimIssuer
    function revokeClaim(bytes32 claimId, address identity) external onlyKey(MANAGEMENT) returns (bool) {
        (,,, bytes memory signature,,) = IIdentity(identity).getClaim(claimId);
        if (signature.length == 0) revert IdentityClaimNotFound(claimId);
        _revoke(signature);
        return true;
    }

    /// @inheritdoc IClaimIssuer
    function revokeClaimBySignature(bytes calldata signature) external onlyKey(MANAGEMENT) {
        _revoke(signature);
    }

    /// @inheritdoc IClaimIssuer
    function isClaimRevoked(bytes calldata signature) public view returns (bool) {
        return _revoked[keccak256(signature)];
    }

    /// @inheritdoc IClaimIssuer
    function isClaimValid(IIdentity identity, uint256 topic, bytes calldata signature, bytes calldata data) external view returns (bool) {
        bytes32 digest = MessageHashUtils.toEthSignedMessageHash(keccak256(abi.encode(identity, topic, data)));
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err != ECDSA.RecoverError.NoError) return false;
        return keyHasPurpose(keccak256(abi.encode(signer)), CLAIM) && !_revoked[keccak256(signature)];
    }

    /// @inheritdoc IClaimIssuer
    /// @dev Malformed or malleable (high-s) signatures recover to zero rather than revert.
    function getRecoveredAddress(bytes calldata sig, bytes32 dataHash) external pure returns (address addr) {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(dataHash, sig);
        return err == ECDSA.RecoverError.NoError ? signer : address(0);
    }

    function _revoke(bytes memory signature) private {
        bytes32 id = keccak256(signature);
        if (_revoked[id]) revert ClaimIssuerAlreadyRevoked(signature);
        _revoked[id] = true;
        emit ClaimRevoked(signature);
        _reportTrustChanged();
    }

    function _afterKeyRemoved(bytes32, uint256) internal override {
        _reportTrustChanged();
    }

    function _reportTrustChanged() private {
        if (address(claimEpochs) != address(0)) claimEpochs.trustChanged();
    }
}
