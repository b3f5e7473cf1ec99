// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/**
 * @title SmartWalletMock
 * @notice TEST DOUBLE of a contract account (a device gateway, a multisig, a smart wallet) that signs
 * through ERC-1271. Not for deployment.
 * @dev A signature is valid when it is its owner's ECDSA signature of the hash, optionally followed by
 * extra bytes (as many wallets append a validator id), so it can be 65 bytes or longer.
 */
contract SmartWalletMock is IERC1271 {
    /// @notice The key whose signatures the wallet accepts.
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        if (signature.length < 65) return 0xffffffff;
        (address signer, ECDSA.RecoverError error,) = ECDSA.tryRecoverCalldata(hash, signature[:65]);
        return error == ECDSA.RecoverError.NoError && signer == owner ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }
}
