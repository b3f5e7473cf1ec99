// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IEnergyOracle} from "../settlement/interfaces/IEnergyOracle.sol";
import {DeviceRegistry} from "./DeviceRegistry.sol";

/**
 * @title ReadingOracle
 * @notice Device-signed energy readings of an asset, on chain. Two ways in: {submitReading} checks one
 * signed reading on chain; {anchorBatch} lets an authorized relayer record the Merkle root of many
 * readings it has checked off chain, and {verifyReading} lets anyone prove on chain that one of them was
 * in an anchored batch and signed by a device registered to the asset at the time it measured.
 * @dev Merkle leaves follow OpenZeppelin's StandardMerkleTree for the single value `bytes32 digest`:
 * `leaf = keccak256(bytes.concat(keccak256(abi.encode(digest))))`, where `digest` is the reading's
 * EIP-712 hash (so a leaf is bound to this chain and contract); pairs are hashed sorted
 * ({MerkleProof}). A batch is identified by `batchId = keccak256(abi.encode(assetId, merkleRoot))`, which
 * ties the root to its asset with a single storage slot per batch.
 */
contract ReadingOracle is AccessControl, EIP712, IEnergyOracle {
    /// @notice One signed meter reading.
    /// @param device address of the device's signing key
    /// @param assetId the asset the device belongs to
    /// @param seq per-device sequence number, strictly increasing
    /// @param periodStart start of the measured period (unix seconds, inclusive)
    /// @param periodEnd end of the measured period (unix seconds, exclusive), after `periodStart`
    /// @param energyWh energy delivered during the period, in watt-hours
    /// @param meterWh cumulative meter register at `periodEnd`, in watt-hours (shows gaps and resets)
    /// @param flags device status bits (see `FLAG_*` in the Python SDK: meter reset, clock unsynced, estimated)
    struct Reading {
        address device;
        bytes32 assetId;
        uint64 seq;
        uint64 periodStart;
        uint64 periodEnd;
        uint64 energyWh;
        uint64 meterWh;
        uint32 flags;
    }

    /// @dev One slot: when it was anchored, how many readings, their energy, and the period it counts in.
    struct Batch {
        uint48 anchoredAt;
        uint32 count;
        uint96 energyWh;
        uint64 epoch;
    }

    /// @dev The arguments of one {anchorBatch}, for {anchorBatches}.
    struct BatchHeader {
        bytes32 assetId;
        bytes32 merkleRoot;
        uint32 count;
        uint96 totalEnergyWh;
        uint64 fromTime;
        uint64 toTime;
    }

    /// @dev Running totals of an asset for one period (`epoch = time / epochLength`).
    struct Totals {
        uint128 energyWh;
        uint128 readings;
    }

    /// @notice The period ends before or when it starts.
    error ReadingInvalidPeriod(uint64 periodStart, uint64 periodEnd);
    /// @notice The period ends later than the block time plus the allowed clock skew.
    error ReadingInFuture(uint64 periodEnd, uint256 latestAllowed);
    /// @notice `device` was not registered and active for `assetId` over the reading's period.
    error ReadingDeviceNotValid(address device, bytes32 assetId);
    /// @notice The reading claims more energy than the device's capacity allows over its period.
    error ReadingOverCapacity(address device, uint64 energyWh, uint256 maxEnergyWh);
    /// @notice The signature is not `device`'s signature of the reading.
    error ReadingInvalidSignature(address device);
    /// @notice `seq` is not above the last sequence number submitted on chain for `device` (replay).
    error ReadingSeqNotIncreasing(address device, uint64 seq, uint64 lastSeq);
    /// @notice A batch needs a non-zero root and at least one reading.
    error BatchEmpty(bytes32 merkleRoot, uint32 count);
    /// @notice The batch's time range is empty or reversed.
    error BatchInvalidTimeRange(uint64 fromTime, uint64 toTime);
    /// @notice The batch's time range ends later than the block time plus the allowed clock skew.
    error BatchInFuture(uint64 toTime, uint256 latestAllowed);
    /// @notice This root was already anchored for this asset.
    error BatchAlreadyAnchored(bytes32 batchId);
    /// @notice No batch with this id was anchored.
    error BatchUnknown(bytes32 batchId);
    /// @notice The proof does not lead from the reading to the batch's root for the reading's asset.
    error ReadingNotInBatch(bytes32 batchId);
    /// @notice Constructor argument is zero.
    error ReadingOracleZeroArgument();
    /// @notice A period asked of {periodEnergyWh} does not start and end on period (epoch) boundaries.
    error PeriodNotAligned(uint64 periodStart, uint64 periodEnd, uint64 epochLength);

    /// @notice A relayer anchored `count` readings of `assetId` under `merkleRoot`.
    event BatchAnchored(
        bytes32 indexed assetId,
        bytes32 indexed batchId,
        bytes32 merkleRoot,
        uint32 count,
        uint96 totalEnergyWh,
        uint64 fromTime,
        uint64 toTime
    );
    /// @notice One reading was verified and counted on chain.
    event ReadingSubmitted(
        bytes32 indexed assetId,
        address indexed device,
        uint64 seq,
        bytes32 digest,
        uint64 periodStart,
        uint64 periodEnd,
        uint64 energyWh,
        uint64 meterWh,
        uint32 flags
    );

    /// @notice EIP-712 type hash of {Reading}.
    bytes32 public constant READING_TYPEHASH = keccak256(
        "Reading(address device,bytes32 assetId,uint64 seq,uint64 periodStart,uint64 periodEnd,uint64 energyWh,uint64 meterWh,uint32 flags)"
    );
    /// @notice Role allowed to anchor batches.
    bytes32 public constant RELAYER_ROLE = keccak256("RELAYER_ROLE");

    /// @notice Where devices are registered.
    DeviceRegistry public immutable registry;
    /// @notice Length in seconds of the periods over which totals are kept (e.g. 86400 for days).
    uint64 public immutable epochLength;
    /// @notice How far in the future (seconds) a period may end, for device clocks running ahead.
    uint64 public immutable maxClockSkew;

    mapping(bytes32 batchId => Batch) private _batches;
    mapping(bytes32 assetId => mapping(uint64 epoch => Totals)) private _totals;
    mapping(address device => uint64) private _lastSeq;

    constructor(address admin, DeviceRegistry registry_, uint64 epochLength_, uint64 maxClockSkew_)
        EIP712("RWA ReadingOracle", "1")
    {
        if (admin == address(0) || address(registry_) == address(0) || epochLength_ == 0) {
            revert ReadingOracleZeroArgument();
        }
        registry = registry_;
        epochLength = epochLength_;
        maxClockSkew = maxClockSkew_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // -- writes ---------------------------------------------------------------------------------

    /**
     * @notice Verify one signed reading on chain and add it to its asset's totals.
     * @dev For low volumes or high-value readings; anyone may submit, the signature is what counts.
     * Replays are refused by the per-device `seq`, which must increase with every submission.
     */
    function submitReading(Reading calldata reading, bytes calldata signature) external returns (bytes32 digest) {
        if (reading.periodEnd > block.timestamp + maxClockSkew) {
            revert ReadingInFuture(reading.periodEnd, block.timestamp + maxClockSkew);
        }
        digest = _checkReading(reading, signature);
        uint64 last = _lastSeq[reading.device];
        if (reading.seq <= last) revert ReadingSeqNotIncreasing(reading.device, reading.seq, last);
        _lastSeq[reading.device] = reading.seq;
        Totals storage t = _totals[reading.assetId][reading.periodStart / epochLength];
        t.energyWh += reading.energyWh;
        t.readings += 1;
        emit ReadingSubmitted(
            reading.assetId,
            reading.device,
            reading.seq,
            digest,
            reading.periodStart,
            reading.periodEnd,
            reading.energyWh,
            reading.meterWh,
            reading.flags
        );
    }

    /**
     * @notice Record the Merkle root of `count` readings of `assetId` checked off chain by the relayer.
     * @dev Constant cost whatever the batch size: one slot for the batch, one for the period's totals,
     * one event. The totals count in the period of `fromTime` (the relayer batches by period).
     * @return batchId `keccak256(abi.encode(assetId, merkleRoot))`, the handle for {verifyReading}.
     */
    function anchorBatch(
        bytes32 assetId,
        bytes32 merkleRoot,
        uint32 count,
        uint96 totalEnergyWh,
        uint64 fromTime,
        uint64 toTime
    ) external onlyRole(RELAYER_ROLE) returns (bytes32 batchId) {
        return _anchor(assetId, merkleRoot, count, totalEnergyWh, fromTime, toTime);
    }

    /**
     * @notice Anchor several batches (e.g. of different assets) in one transaction.
     * @dev Same checks as {anchorBatch}; shares the transaction's fixed cost between batches. All or nothing.
     */
    function anchorBatches(BatchHeader[] calldata batches)
        external
        onlyRole(RELAYER_ROLE)
        returns (bytes32[] memory batchIds)
    {
        batchIds = new bytes32[](batches.length);
        for (uint256 i = 0; i < batches.length; ++i) {
            BatchHeader calldata h = batches[i];
            batchIds[i] = _anchor(h.assetId, h.merkleRoot, h.count, h.totalEnergyWh, h.fromTime, h.toTime);
        }
    }

    // -- views ----------------------------------------------------------------------------------

    /**
     * @notice Prove that `reading` was in anchored batch `batchId`, signed by its device, and that the
     * device was registered and active for the asset over the reading's period.
     * @dev Reverts with the reason instead of returning false, so a caller learns why a proof fails.
     */
    function verifyReading(
        Reading calldata reading,
        bytes calldata signature,
        bytes32[] calldata proof,
        bytes32 batchId
    ) external view returns (bool) {
        if (_batches[batchId].anchoredAt == 0) revert BatchUnknown(batchId);
        bytes32 digest = _checkReading(reading, signature);
        bytes32 root = MerkleProof.processProofCalldata(proof, leafOf(digest));
        if (batchIdOf(reading.assetId, root) != batchId) revert ReadingNotInBatch(batchId);
        return true;
    }

    /// @notice The EIP-712 digest a device signs for `reading`.
    function hashReading(Reading calldata reading) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(READING_TYPEHASH, reading)));
    }

    /// @notice The Merkle leaf of a reading digest (StandardMerkleTree convention, double hashed).
    function leafOf(bytes32 digest) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(digest))));
    }

    /// @notice The id of the batch of `assetId` with root `merkleRoot`.
    function batchIdOf(bytes32 assetId, bytes32 merkleRoot) public pure returns (bytes32) {
        return keccak256(abi.encode(assetId, merkleRoot));
    }

    /// @notice The anchored batch `batchId` (all zero if unknown).
    function getBatch(bytes32 batchId) external view returns (Batch memory) {
        return _batches[batchId];
    }

    /// @notice Energy and reading count of `assetId` in period `epoch`, from batches and single readings.
    /**
     * @notice Energy anchored for `assetId` in the periods from `periodStart` to `periodEnd` (revenue evidence).
     * @dev Both ends must fall on period boundaries (multiples of {epochLength}) so the answer is exactly the
     * sum of whole periods' totals; a batch counts in the period of its `fromTime`.
     */
    function periodEnergyWh(bytes32 assetId, uint64 periodStart, uint64 periodEnd) external view returns (uint256 total) {
        uint64 length = epochLength;
        if (periodEnd <= periodStart) revert ReadingInvalidPeriod(periodStart, periodEnd);
        if (periodStart % length != 0 || periodEnd % length != 0) {
            revert PeriodNotAligned(periodStart, periodEnd, length);
        }
        mapping(uint64 => Totals) storage byEpoch = _totals[assetId];
        for (uint64 epoch = periodStart / length; epoch < periodEnd / length; ++epoch) {
            total += byEpoch[epoch].energyWh;
        }
    }

    function totals(bytes32 assetId, uint64 epoch) external view returns (Totals memory) {
        return _totals[assetId][epoch];
    }

    /// @notice The last sequence number submitted on chain by `device` through {submitReading}.
    function lastSeq(address device) external view returns (uint64) {
        return _lastSeq[device];
    }

    /// @notice The EIP-712 domain separator for this chain.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // -- internal -------------------------------------------------------------------------------

    function _anchor(
        bytes32 assetId,
        bytes32 merkleRoot,
        uint32 count,
        uint96 totalEnergyWh,
        uint64 fromTime,
        uint64 toTime
    ) internal returns (bytes32 batchId) {
        if (merkleRoot == bytes32(0) || count == 0) revert BatchEmpty(merkleRoot, count);
        if (toTime <= fromTime) revert BatchInvalidTimeRange(fromTime, toTime);
        if (toTime > block.timestamp + maxClockSkew) revert BatchInFuture(toTime, block.timestamp + maxClockSkew);
        batchId = batchIdOf(assetId, merkleRoot);
        Batch storage b = _batches[batchId];
        if (b.anchoredAt != 0) revert BatchAlreadyAnchored(batchId);
        uint64 epoch = fromTime / epochLength;
        (b.anchoredAt, b.count, b.energyWh, b.epoch) = (uint48(block.timestamp), count, totalEnergyWh, epoch);
        Totals storage t = _totals[assetId][epoch];
        (t.energyWh, t.readings) = (t.energyWh + totalEnergyWh, t.readings + count);
        emit BatchAnchored(assetId, batchId, merkleRoot, count, totalEnergyWh, fromTime, toTime);
    }

    /// @dev Period, device validity, capacity and signature; returns the reading's digest.
    function _checkReading(Reading calldata reading, bytes calldata signature) internal view returns (bytes32 digest) {
        if (reading.periodEnd <= reading.periodStart) revert ReadingInvalidPeriod(reading.periodStart, reading.periodEnd);
        (bool valid, uint64 capacityW) =
            registry.isValidFor(reading.device, reading.assetId, reading.periodStart, reading.periodEnd);
        if (!valid) revert ReadingDeviceNotValid(reading.device, reading.assetId);
        uint256 maxEnergyWh = (uint256(capacityW) * (reading.periodEnd - reading.periodStart)) / 3600;
        if (reading.energyWh > maxEnergyWh) revert ReadingOverCapacity(reading.device, reading.energyWh, maxEnergyWh);
        digest = hashReading(reading);
        if (!SignatureChecker.isValidSignatureNowCalldata(reading.device, digest, signature)) {
            revert ReadingInvalidSignature(reading.device);
        }
    }
}
