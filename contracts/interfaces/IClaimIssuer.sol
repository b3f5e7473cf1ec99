// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IIdentity} from "./IIdentity.sol";

/// @title ONCHAINID claim issuer
/// @notice Signs claims as `keccak256(abi.encode(identity, topic, data))` prefixed as an Ethereum signed message,
/// with a key holding the claim purpose; can revoke what it signed.
interface IClaimIssuer is IIdentity {
    event ClaimRevoked(bytes indexed signature);

    /// @notice Revoke the claim `claimId` held by `identity` (management keys only).
    function revokeClaim(bytes32 claimId, address identity) external returns (bool);

    /// @notice Revoke every claim carrying `signature` (management keys only).
    function revokeClaimBySignature(bytes calldata signature) external;

    /// @notice Whether `signature` was revoked.
    function isClaimRevoked(bytes calldata signature) external view returns (bool);

    /// @notice Whether a claim on `topic` for `identity` with `data` and `signature` is valid now:
    /// signed by a current claim key of this issuer and not revoked.
    function isClaimValid(IIdentity identity, uint256 topic, bytes calldata signature, bytes calldata data) external view returns (bool);

    /// @notice The signer of `dataHash` (already prefixed as signed) under `sig`; zero if `sig` is malformed.
    /// @dev ONCHAINID's helper: clients recover the claim signer and check its key purpose themselves.
    function getRecoveredAddress(bytes calldata sig, bytes32 dataHash) external pure returns (address addr);
}
