// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ERC-735 claim holder
/// @notice A claim's id is `keccak256(abi.encode(issuer, topic))`, so one issuer holds one claim per topic.
interface IERC735 {
    event ClaimAdded(bytes32 indexed claimId, uint256 indexed topic, uint256 scheme, address indexed issuer, bytes signature, bytes data, string uri);
    event ClaimRemoved(bytes32 indexed claimId, uint256 indexed topic, uint256 scheme, address indexed issuer, bytes signature, bytes data, string uri);
    event ClaimChanged(bytes32 indexed claimId, uint256 indexed topic, uint256 scheme, address indexed issuer, bytes signature, bytes data, string uri);

    /// @notice Add (or replace) the claim of `issuer` on `topic`; the issuer must consider it valid.
    function addClaim(uint256 topic, uint256 scheme, address issuer, bytes calldata signature, bytes calldata data, string calldata uri)
        external
        returns (bytes32 claimRequestId);

    /// @notice Remove the claim `claimId`.
    function removeClaim(bytes32 claimId) external returns (bool success);

    /// @notice The claim `claimId` (all zero when absent).
    function getClaim(bytes32 claimId)
        external
        view
        returns (uint256 topic, uint256 scheme, address issuer, bytes memory signature, bytes memory data, string memory uri);

    /// @notice The ids of the claims on `topic`.
    function getClaimIdsByTopic(uint256 topic) external view returns (bytes32[] memory claimIds);
}
