// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IClaimIssuer} from "./IClaimIssuer.sol";

/// @title ERC-3643 trusted issuers registry: which claim issuers are trusted, and for which topics
interface ITrustedIssuersRegistry {
    event TrustedIssuerAdded(IClaimIssuer indexed trustedIssuer, uint256[] claimTopics);
    event TrustedIssuerRemoved(IClaimIssuer indexed trustedIssuer);
    event ClaimTopicsUpdated(IClaimIssuer indexed trustedIssuer, uint256[] claimTopics);

    /// @notice Trust `trustedIssuer` for `claimTopics` (owner only).
    function addTrustedIssuer(IClaimIssuer trustedIssuer, uint256[] calldata claimTopics) external;

    /// @notice Stop trusting `trustedIssuer` (owner only).
    function removeTrustedIssuer(IClaimIssuer trustedIssuer) external;

    /// @notice Replace the topics `trustedIssuer` is trusted for (owner only).
    function updateIssuerClaimTopics(IClaimIssuer trustedIssuer, uint256[] calldata claimTopics) external;

    /// @notice Every trusted issuer.
    function getTrustedIssuers() external view returns (IClaimIssuer[] memory);

    /// @notice The issuers trusted for `claimTopic`.
    function getTrustedIssuersForClaimTopic(uint256 claimTopic) external view returns (IClaimIssuer[] memory);

    /// @notice Whether `issuer` is trusted.
    function isTrustedIssuer(address issuer) external view returns (bool);

    /// @notice The topics `trustedIssuer` is trusted for.
    function getTrustedIssuerClaimTopics(IClaimIssuer trustedIssuer) external view returns (uint256[] memory);

    /// @notice Whether `issuer` is trusted for `claimTopic`.
    function hasClaimTopic(address issuer, uint256 claimTopic) external view returns (bool);
}
