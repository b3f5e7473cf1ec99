// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {P256} from "@openzeppelin/contracts/utils/cryptography/P256.sol";

/**
 * @title DeviceRegistry
 * @notice The devices of each asset (PV inverters, batteries, chargers, swap stations), each known by the
 * address of its signing key. An asset's operator registers, activates, revokes and rotates its devices;
 * the registry answers whether a device was entitled to report for an asset over a given period.
 * @dev A device key is registered once and never reused: revocation is permanent, so a reading's validity
 * depends only on when it was measured (`activatedAt <= periodStart`, `periodEnd <= revokedAt`), never on
 * when somebody checks it. Earlier readings of a revoked or rotated key stay valid.
 */
contract DeviceRegistry is AccessControl {
    /// @notice Kinds of device an asset can have.
    enum DeviceType {
        PvInverter,
        Battery,
        Charger,
        SwapStation
    }

    /// @notice Lifecycle of a device key: registered, active (measuring), revoked (forever).
    enum Status {
        None,
        Registered,
        Active,
        Revoked
    }

    /// @dev One storage slot for the hot fields (asset, times, capacity) plus the metadata hash.
    struct Device {
        bytes32 assetId;
        bytes32 metadataHash;
        uint64 capacityW;
        uint48 activatedAt;
        uint48 revokedAt;
        DeviceType deviceType;
        Status status;
    }

    /// @notice `account` is not the operator of `assetId`.
    error DeviceRegistryUnauthorizedOperator(address account, bytes32 assetId);
    /// @notice The key `device` is already known (keys are never reused, even after revocation).
    error DeviceAlreadyRegistered(address device);
    /// @notice The key `device` has never been registered.
    error DeviceNotRegistered(address device);
    /// @notice `device` is in `status`, which does not allow the requested change.
    error DeviceInvalidStatus(address device, Status status);
    /// @notice The zero address cannot be a device key or an operator.
    error DeviceRegistryZeroAddress();
    /// @notice A device must report a positive nameplate capacity.
    error DeviceZeroCapacity(address device);
    /// @notice The zero asset id is reserved.
    error DeviceRegistryZeroAsset();

    /// @notice `operator` manages the devices of `assetId` (the zero address removes the operator).
    event AssetOperatorSet(bytes32 indexed assetId, address indexed operator);
    /// @notice A device key was registered for an asset (not yet active).
    event DeviceRegistered(
        address indexed device, bytes32 indexed assetId, DeviceType deviceType, uint64 capacityW, bytes32 metadataHash
    );
    /// @notice A device's readings count from `activatedAt` on.
    event DeviceActivated(address indexed device, bytes32 indexed assetId, uint48 activatedAt);
    /// @notice A device's readings after `revokedAt` are invalid; earlier ones stay valid.
    event DeviceRevoked(address indexed device, bytes32 indexed assetId, uint48 revokedAt);
    /// @notice The device's metadata (capacity, metadata hash) changed.
    event DeviceMetadataUpdated(address indexed device, uint64 capacityW, bytes32 metadataHash);
    /// @notice The device now signs with `newKey`; `oldKey` is revoked at the same instant.
    event DeviceKeyRotated(address indexed oldKey, address indexed newKey, bytes32 indexed assetId, uint48 at);

    /// @notice Role allowed to appoint asset operators.
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");

    mapping(address device => Device) private _devices;
    mapping(bytes32 assetId => address) private _operators;

    modifier onlyOperatorOf(bytes32 assetId) {
        if (assetId == bytes32(0) || _operators[assetId] != msg.sender) {
            revert DeviceRegistryUnauthorizedOperator(msg.sender, assetId);
        }
        _;
    }

    constructor(address admin) {
        if (admin == address(0)) revert DeviceRegistryZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REGISTRAR_ROLE, admin);
    }

    // -- operators ------------------------------------------------------------------------------

    /**
     * @notice Appoint `operator` as the one account that manages the devices of `assetId`.
     * @dev `assetId` is the asset's identifier, e.g. `bytes32(uint256(uint160(assetToken)))`.
     */
    function setAssetOperator(bytes32 assetId, address operator) external onlyRole(REGISTRAR_ROLE) {
        if (assetId == bytes32(0)) revert DeviceRegistryZeroAsset();
        _operators[assetId] = operator;
        emit AssetOperatorSet(assetId, operator);
    }

    // -- device lifecycle -----------------------------------------------------------------------

    /**
     * @notice Register the signing key `device` for `assetId` (inactive until {activateDevice}).
     * @param capacityW nameplate power in watts; bounds the energy a reading may claim.
     * @param metadataHash hash of the off-chain description (model, serial, location hash).
     */
    function registerDevice(
        address device,
        bytes32 assetId,
        DeviceType deviceType,
        uint64 capacityW,
        bytes32 metadataHash
    ) external onlyOperatorOf(assetId) {
        _register(device, assetId, deviceType, capacityW, metadataHash);
    }

    /// @notice Start counting the readings of `device` (measured from now on).
    function activateDevice(address device) external {
        Device storage d = _existing(device);
        _checkOperator(d.assetId);
        if (d.status != Status.Registered) revert DeviceInvalidStatus(device, d.status);
        _activate(device, d);
    }

    /**
     * @notice Revoke `device` forever: readings whose period ends after now are invalid.
     * @dev A registered but never activated key can be revoked too, so it can never be activated.
     */
    function revokeDevice(address device) external {
        Device storage d = _existing(device);
        _checkOperator(d.assetId);
        if (d.status == Status.Revoked) revert DeviceInvalidStatus(device, d.status);
        _revoke(device, d);
    }

    /// @notice Replace the capacity and metadata of a device that is not revoked.
    function updateDeviceMetadata(address device, uint64 capacityW, bytes32 metadataHash) external {
        Device storage d = _existing(device);
        _checkOperator(d.assetId);
        if (d.status == Status.Revoked) revert DeviceInvalidStatus(device, d.status);
        if (capacityW == 0) revert DeviceZeroCapacity(device);
        d.capacityW = capacityW;
        d.metadataHash = metadataHash;
        emit DeviceMetadataUpdated(device, capacityW, metadataHash);
    }

    /**
     * @notice Move an active device to a new signing key: `oldKey` is revoked and `newKey` is active
     * from the same instant, with the same asset, type, capacity and metadata.
     */
    function rotateKey(address oldKey, address newKey) external {
        Device storage d = _existing(oldKey);
        _checkOperator(d.assetId);
        if (d.status != Status.Active) revert DeviceInvalidStatus(oldKey, d.status);
        _register(newKey, d.assetId, d.deviceType, d.capacityW, d.metadataHash);
        _revoke(oldKey, d);
        _activate(newKey, _devices[newKey]);
        emit DeviceKeyRotated(oldKey, newKey, d.assetId, uint48(block.timestamp));
    }

    // -- views ----------------------------------------------------------------------------------

    /// @notice The operator that manages the devices of `assetId`.
    function operatorOf(bytes32 assetId) external view returns (address) {
        return _operators[assetId];
    }

    /// @notice Everything the registry knows about `device` (zero values if unknown).
    function getDevice(address device) external view returns (Device memory) {
        return _devices[device];
    }

    /**
     * @notice Whether `device` was entitled to report for `assetId` over [periodStart, periodEnd]:
     * registered to that asset, activated at or before `periodStart` and not revoked before `periodEnd`.
     * @return valid the answer; @return capacityW the device's nameplate power in watts.
     */
    function isValidFor(address device, bytes32 assetId, uint64 periodStart, uint64 periodEnd)
        public
        view
        returns (bool valid, uint64 capacityW)
    {
        Device storage d = _devices[device];
        if (d.assetId != assetId || d.activatedAt == 0 || d.activatedAt > periodStart) return (false, 0);
        if (d.revokedAt != 0 && periodEnd > d.revokedAt) return (false, 0);
        return (true, d.capacityW);
    }

    // -- internal -------------------------------------------------------------------------------

    function _register(
        address device,
        bytes32 assetId,
        DeviceType deviceType,
        uint64 capacityW,
        bytes32 metadataHash
    ) internal {
        if (device == address(0)) revert DeviceRegistryZeroAddress();
        if (_devices[device].status != Status.None) revert DeviceAlreadyRegistered(device);
        if (capacityW == 0) revert DeviceZeroCapacity(device);
        _devices[device] = Device({
            assetId: assetId,
            metadataHash: metadataHash,
            capacityW: capacityW,
            activatedAt: 0,
            revokedAt: 0,
            deviceType: deviceType,
            status: Status.Registered
        });
        emit DeviceRegistered(device, assetId, deviceType, capacityW, metadataHash);
    }

    function _activate(address device, Device storage d) internal {
        d.status = Status.Active;
        d.activatedAt = uint48(block.timestamp);
        emit DeviceActivated(device, d.assetId, d.activatedAt);
    }

    function _revoke(address device, Device storage d) internal {
        d.status = Status.Revoked;
        d.revokedAt = uint48(block.timestamp);
        emit DeviceRevoked(device, d.assetId, d.revokedAt);
    }

    function _existing(address device) internal view returns (Device storage d) {
        d = _devices[device];
        if (d.status == Status.None) revert DeviceNotRegistered(device);
    }

    function _checkOperator(bytes32 assetId) internal view {
        if (_operators[assetId] != msg.sender) revert DeviceRegistryUnauthorizedOperator(msg.sender, assetId);
    }

    // -- certified meter keys (P-256) --------------------------------------------------------------
    // A second key kind: the secp256r1 public key of a device's calibrated meter, which signs OCMF
    // records itself. The device's Ethereum key signs readings; the meter key lets anyone check the
    // meter's own signature (see OcmfVerifier). Self-contained: its own mapping, functions, events, errors.

    /// @dev Affine coordinates of a meter's P-256 public key (both zero: none).
    struct MeterKey {
        bytes32 qx;
        bytes32 qy;
    }

    mapping(address device => MeterKey) private _meterKeys;

    /// @notice (`qx`, `qy`) is not a point of the P-256 curve.
    error MeterKeyNotOnCurve(address device, bytes32 qx, bytes32 qy);
    /// @notice `device` is revoked: its meter key cannot change any more.
    error MeterKeyDeviceRevoked(address device);

    /// @notice The certified meter of `device` signs with the P-256 key (`qx`, `qy`).
    event MeterKeySet(address indexed device, bytes32 indexed assetId, bytes32 qx, bytes32 qy);

    /**
     * @notice Record the P-256 public key of the certified meter behind `device` (replacing any earlier one).
     * @dev Only the asset's operator; refused for a revoked device and for points off the curve.
     */
    function setMeterKey(address device, bytes32 qx, bytes32 qy) external {
        Device storage d = _existing(device);
        _checkOperator(d.assetId);
        if (d.status == Status.Revoked) revert MeterKeyDeviceRevoked(device);
        if (!P256.isValidPublicKey(qx, qy)) revert MeterKeyNotOnCurve(device, qx, qy);
        _meterKeys[device] = MeterKey(qx, qy);
        emit MeterKeySet(device, d.assetId, qx, qy);
    }

    /// @notice The P-256 key of the meter behind `device` (zeros if none is recorded).
    function meterKeyOf(address device) external view returns (bytes32 qx, bytes32 qy) {
        MeterKey storage k = _meterKeys[device];
        return (k.qx, k.qy);
    }
}
