// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Identity registry extension: verify and remember the result while it provably holds
interface IVerificationCache {
    /// @notice Like `isVerified`, and remembers a positive answer under a tag of the current change counters so
    /// that the next check costs a tag comparison; anyone may call it (it only records facts).
    function verify(address userAddress) external returns (bool);
}
