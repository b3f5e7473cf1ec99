// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IReceiveWithAuthorization
 * @notice EIP-3009 `receiveWithAuthorization` (USDC and {Stablecoin}): a transfer signed by `from` that only
 * the payee `to` may submit, so a contract can pull a payment without a prior approve.
 */
interface IReceiveWithAuthorization {
    /// @notice Move `value` from `from` to `to` (the caller) under `from`'s signature.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external;
}
