// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ERC-734 key holder
/// @notice Keys are `keccak256(abi.encode(address))`; purposes: 1 management, 2 action, 3 claim, 4 encryption.
interface IERC734 {
    event KeyAdded(bytes32 indexed key, uint256 indexed purpose, uint256 indexed keyType);
    event KeyRemoved(bytes32 indexed key, uint256 indexed purpose, uint256 indexed keyType);
    event ExecutionRequested(uint256 indexed executionId, address indexed to, uint256 indexed value, bytes data);
    event Approved(uint256 indexed executionId, bool approved);
    event Executed(uint256 indexed executionId, address indexed to, uint256 indexed value, bytes data);
    event ExecutionFailed(uint256 indexed executionId, address indexed to, uint256 indexed value, bytes data);

    /// @notice Request a call from this identity; runs at once when the sender's key may approve it
    /// (management keys for calls to the identity itself, action keys for other targets).
    function execute(address to, uint256 value, bytes calldata data) external payable returns (uint256 executionId);

    /// @notice Approve (and run) or reject a pending execution.
    function approve(uint256 executionId, bool approved) external returns (bool success);

    /// @notice Give `key` the `purpose` (management keys only).
    function addKey(bytes32 key, uint256 purpose, uint256 keyType) external returns (bool success);

    /// @notice Take `purpose` away from `key` (management keys only).
    function removeKey(bytes32 key, uint256 purpose) external returns (bool success);

    /// @notice The purposes, type and value of `key`.
    function getKey(bytes32 key) external view returns (uint256[] memory purposes, uint256 keyType, bytes32 key_);

    /// @notice The purposes `key` holds.
    function getKeyPurposes(bytes32 key) external view returns (uint256[] memory purposes);

    /// @notice Every key holding `purpose`.
    function getKeysByPurpose(uint256 purpose) external view returns (bytes32[] memory keys);

    /// @notice Whether `key` holds `purpose`; a management key holds every purpose (ONCHAINID semantics).
    function keyHasPurpose(bytes32 key, uint256 purpose) external view returns (bool exists);
}
