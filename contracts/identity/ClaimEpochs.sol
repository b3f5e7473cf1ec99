// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IClaimEpochs} from "../interfaces/IClaimEpochs.sol";

/// @title Change counters that make verification caching safe
/// @notice Every tracked identity has its own counter, bumped whenever one of its claims is removed or replaced.
/// Tracked trust sources (claim issuers, claim topics and trusted issuers registries) share one trust counter,
/// bumped on revocation, key removal, issuer removal or a new required topic. An identity registry stores the
/// stamp under which it verified an identity and trusts its cache only while the stamp is unchanged, so each
/// of those changes takes effect on the very next check.
/// @dev Only contracts whose code is known to report changes may be tracked: clones made by a registrar factory,
/// and registries the owner vouches for. Untracked callers are ignored, never trusted.
contract ClaimEpochs is Ownable2Step, IClaimEpochs {
    /// @dev `account` may not track contracts.
    error ClaimEpochsUnauthorizedRegistrar(address account);
    /// @dev `account` is already tracked (or is the zero address, or `role` is None).
    error ClaimEpochsInvalidTracking(address account, Role role);

    event RegistrarSet(address indexed registrar, bool allowed);
    event Tracked(address indexed account, Role role);
    event Untracked(address indexed account);
    event ClaimsChanged(address indexed identity, uint64 epoch);
    event TrustChanged(address indexed source, uint64 epoch);

    struct Entry {
        Role role;
        uint64 epoch;
    }

    uint64 public trustEpoch;
    mapping(address => bool) public isRegistrar;
    mapping(address => Entry) private _entries;

    constructor(address initialOwner) Ownable(initialOwner) {}

    /// @notice Let `registrar` (an identity factory) track the contracts it creates (owner only).
    function setRegistrar(address registrar, bool allowed) external onlyOwner {
        isRegistrar[registrar] = allowed;
        emit RegistrarSet(registrar, allowed);
    }

    /// @notice Track `account` under `role` (owner or registrars).
    /// @dev Vouches that `account` reports its changes here; a lie would let caches outlive revocations. As a guard
    /// against wiring mistakes, `account` must name this contract as its `claimEpochs()`.
    function track(address account, Role role) external {
        if (msg.sender != owner() && !isRegistrar[msg.sender]) revert ClaimEpochsUnauthorizedRegistrar(msg.sender);
        if (role == Role.None || _entries[account].role != Role.None || _reportsTo(account) != address(this)) {
            revert ClaimEpochsInvalidTracking(account, role);
        }
        _entries[account].role = role;
        emit Tracked(account, role);
    }

    /// @notice Stop tracking `account` (owner only); every cached verification is invalidated.
    function untrack(address account) external onlyOwner {
        if (_entries[account].role == Role.None) revert ClaimEpochsInvalidTracking(account, Role.None);
        _entries[account].role = Role.None;
        emit Untracked(account);
        _bumpTrust(account);
    }

    /// @inheritdoc IClaimEpochs
    function claimsChanged() external {
        Entry storage entry = _entries[msg.sender];
        if (entry.role != Role.Identity) return;
        uint64 epoch = ++entry.epoch;
        emit ClaimsChanged(msg.sender, epoch);
    }

    /// @inheritdoc IClaimEpochs
    function trustChanged() external {
        if (_entries[msg.sender].role != Role.TrustSource) return;
        _bumpTrust(msg.sender);
    }

    /// @inheritdoc IClaimEpochs
    function roleOf(address account) external view returns (Role) {
        return _entries[account].role;
    }

    /// @inheritdoc IClaimEpochs
    function areTrustSources(address[] calldata accounts) external view returns (bool) {
        for (uint256 i; i < accounts.length; ++i) {
            if (_entries[accounts[i]].role != Role.TrustSource) return false;
        }
        return true;
    }

    /// @inheritdoc IClaimEpochs
    function stampOf(address identity) external view returns (uint256) {
        Entry memory entry = _entries[identity];
        if (entry.role != Role.Identity) return 0;
        return (1 << 128) | (uint256(trustEpoch) << 64) | entry.epoch;
    }

    function _reportsTo(address account) private view returns (address target) {
        if (account.code.length == 0) return address(0);
        (bool ok, bytes memory result) = account.staticcall(abi.encodeWithSignature("claimEpochs()"));
        if (ok && result.length == 32) target = abi.decode(result, (address));
    }

    function _bumpTrust(address source) private {
        uint64 epoch = ++trustEpoch;
        emit TrustChanged(source, epoch);
    }
}
