// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {P256} from "@openzeppelin/contracts/utils/cryptography/P256.sol";
import {DeviceRegistry} from "./DeviceRegistry.sol";

/**
 * @title OcmfVerifier
 * @notice Checks on chain that a certified meter signed an OCMF record (ECDSA-secp256r1-SHA256), so trust
 * in a charging transaction starts at the calibrated meter, not at the gateway that relays it.
 * @dev The signed message is the record's payload section, byte for byte (the JSON between the first and
 * second `|`), hashed with SHA-256. OpenZeppelin's P256 uses the P256VERIFY precompile (RIP-7212 /
 * EIP-7951, address 0x100) where the chain has it and its Solidity implementation elsewhere. Signatures
 * must have a low `s` (<= N/2); callers holding a DER signature with a high `s` submit `N - s`, which is
 * the same signature for ECDSA.
 */
contract OcmfVerifier {
    /// @notice The registry holding each device's meter key.
    DeviceRegistry public immutable registry;

    /// @notice No meter key is recorded for `device`.
    error OcmfMeterKeyNotSet(address device);
    /// @notice The registry address is zero.
    error OcmfVerifierZeroRegistry();

    constructor(DeviceRegistry registry_) {
        if (address(registry_) == address(0)) revert OcmfVerifierZeroRegistry();
        registry = registry_;
    }

    /**
     * @notice Whether (`r`, `s`) is a valid P-256 signature of `payload` by the key (`qx`, `qy`).
     * @param payload the OCMF payload section exactly as the meter signed it.
     */
    function verify(bytes calldata payload, bytes32 r, bytes32 s, bytes32 qx, bytes32 qy) public view returns (bool) {
        return P256.verify(sha256(payload), r, s, qx, qy);
    }

    /**
     * @notice Whether the meter registered for `device` signed `payload` with (`r`, `s`).
     * @dev Reverts with {OcmfMeterKeyNotSet} when the device has no meter key.
     */
    function verifyForDevice(address device, bytes calldata payload, bytes32 r, bytes32 s)
        external
        view
        returns (bool)
    {
        (bytes32 qx, bytes32 qy) = registry.meterKeyOf(device);
        if (qx == bytes32(0) && qy == bytes32(0)) revert OcmfMeterKeyNotSet(device);
        return verify(payload, r, s, qx, qy);
    }
}
