// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Change counters for verification caching
/// @notice Tracked identities report claim changes, tracked trust sources (claim issuers, topic and issuer
/// registries) report revocations, key and trust removals. A registry that cached a verification under a
/// stamp knows it is still true while the stamp is unchanged.
interface IClaimEpochs {
    enum Role {
        None,
        Identity,
        TrustSource
    }

    /// @notice Track `account` under `role` (owner or registrars): vouches that its code reports every change.
    function track(address account, Role role) external;

    /// @notice Record that the calling identity's claims changed (ignored for untracked callers).
    function claimsChanged() external;

    /// @notice Record that the calling trust source changed in a way that can invalidate claims
    /// (ignored for untracked callers).
    function trustChanged() external;

    /// @notice The role `account` is tracked under.
    function roleOf(address account) external view returns (Role);

    /// @notice Whether every one of `accounts` is a tracked trust source.
    function areTrustSources(address[] calldata accounts) external view returns (bool);

    /// @notice Non-zero stamp of `identity`'s verification inputs; zero when the identity is not tracked.
    function stampOf(address identity) external view returns (uint256);
}
