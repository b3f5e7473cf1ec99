// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IEnergyOracle} from "../settlement/interfaces/IEnergyOracle.sol";
import {DeviceRegistry} from "./DeviceRegistry.sol";
import {MerkleMountainRange} from "./MerkleMountainRange.sol";

/**
 * @title ReadingOracle
 * @notice Device-signed energy readings of an asset, on chain. Two ways in: {submitReading} checks one
 * signed reading on chain; {anchorBatch} lets an authorized relayer record the Merkle root of many
 * readings it has checked off chain, and {verifyReading} lets anyone prove on chain that one of them was
 * in an anchored batch and signed by a device registered to the asset at the time it measured.
 * @dev Merkle leaves follow OpenZeppelin's StandardMerkleTree for the single value `bytes32 digest`:
 * `leaf = keccak256(bytes.concat(keccak256(abi.encode(digest))))`, where `digest` is the reading's
 * EIP-712 hash (so a leaf is bound to this chain and contract); pairs are hashed sorted
 * ({MerkleProof}). Each asset's batch roots are appended to its own {MerkleMountainRange}: batch
 * `batchIndex` (0, 1, 2, … per asset) is proven by the reading's path to its batch root followed by the
 * batch root's path to a current peak. An anchor thus updates slots that already hold values (the
 * asset's log and one peak) instead of creating a slot per batch, which keeps its cost flat and low.
 * The batch's details (root, count, energy, time span) are in its {BatchAnchored} event.
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

    /// @dev One slot per asset: how many batches it has anchored, and the totals of its latest period
    /// (earlier periods move to `_totals` when a later one starts), so an anchor updates a single slot.
    struct AssetLog {
        uint40 batches;
        uint40 epoch;
        uint96 energyWh;
        uint80 readings;
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
    /// @notice `assetId` has not anchored a batch with this index.
    error BatchUnknown(bytes32 assetId, uint256 batchIndex);
    /// @notice The proof does not lead from the reading through batch `batchIndex` to a peak of its asset.
    error ReadingNotInBatch(bytes32 assetId, uint256 batchIndex);
    /// @notice Constructor argument is zero.
    error ReadingOracleZeroArgument();
    /// @notice A period asked of {periodEnergyWh} does not start and end on period (epoch) boundaries.
    error PeriodNotAligned(uint64 periodStart, uint64 periodEnd, uint64 epochLength);

    /// @notice A relayer anchored `count` readings of `assetId` under `merkleRoot`, as the asset's batch
    /// number `batchIndex` (the handle {verifyReading} takes).
    event BatchAnchored(
        bytes32 indexed assetId,
        bytes32 indexed merkleRoot,
        uint256 batchIndex,
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

    mapping(bytes32 assetId => AssetLog) private _logs;
    mapping(bytes32 assetId => mapping(uint256 height => bytes32)) private _peaks;
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
        AssetLog memory log = _logs[reading.assetId];
        _count(reading.assetId, log, reading.periodStart / epochLength, reading.energyWh, 1);
        _logs[reading.assetId] = log;
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
     * @dev Constant cost whatever the batch size: the asset's log slot, one peak of its mountain range,
     * one event. The totals count in the period of `fromTime` (the relayer batches by period). The contract
     * keeps no per-root record, so it cannot refuse a root sent twice: the relayer sends each batch under a
     * single nonce and finds mined ones by their root's log (see the SDK's relayer).
     * @return batchIndex the batch's number among the asset's batches, the handle for {verifyReading}.
     */
    function anchorBatch(
        bytes32 assetId,
        bytes32 merkleRoot,
        uint32 count,
        uint96 totalEnergyWh,
        uint64 fromTime,
        uint64 toTime
    ) external onlyRole(RELAYER_ROLE) returns (uint256 batchIndex) {
        return _anchor(assetId, merkleRoot, count, totalEnergyWh, fromTime, toTime);
    }

    /**
     * @notice Anchor several batches (e.g. of different assets) in one transaction.
     * @dev Same checks as {anchorBatch}; shares the transaction's fixed cost between batches. All or nothing.
     */
    function anchorBatches(BatchHeader[] calldata batches)
        external
        onlyRole(RELAYER_ROLE)
        returns (uint256[] memory batchIndexes)
    {
        batchIndexes = new uint256[](batches.length);
        for (uint256 i = 0; i < batches.length; ++i) {
            BatchHeader calldata h = batches[i];
            batchIndexes[i] = _anchor(h.assetId, h.merkleRoot, h.count, h.totalEnergyWh, h.fromTime, h.toTime);
        }
    }

    // -- views ----------------------------------------------------------------------------------

    /**
     * @notice Prove that `reading` was in its asset's anchored batch `batchIndex`, signed by its device, and
     * that the device was registered and active for the asset over the reading's period.
     * @param proof the reading's sibling path to its batch root, then the batch root's path to the peak of
     * its mountain (as many nodes as that mountain's height, for the asset's current batch count)
     * @dev Reverts with the reason instead of returning false, so a caller learns why a proof fails.
     */
    function verifyReading(
        Reading calldata reading,
        bytes calldata signature,
        bytes32[] calldata proof,
        uint256 batchIndex
    ) external view returns (bool) {
        uint256 size = _logs[reading.assetId].batches;
        if (batchIndex >= size) revert BatchUnknown(reading.assetId, batchIndex);
        bytes32 digest = _checkReading(reading, signature);
        (uint256 height, uint256 offset) = MerkleMountainRange.position(size, batchIndex);
        if (proof.length < height) revert ReadingNotInBatch(reading.assetId, batchIndex);
        uint256 split = proof.length - height;
        bytes32 batchRoot = MerkleProof.processProofCalldata(proof[:split], leafOf(digest));
        bytes32 peak = MerkleMountainRange.climb(batchRoot, proof[split:], offset);
        if (peak != _peaks[reading.assetId][height]) revert ReadingNotInBatch(reading.assetId, batchIndex);
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

    /// @notice How many batches `assetId` has anchored (the size of its mountain range).
    function batchCount(bytes32 assetId) external view returns (uint256) {
        return _logs[assetId].batches;
    }

    /// @notice The current peaks of `assetId`'s mountain range of batch roots, highest mountain first.
    function batchPeaks(bytes32 assetId) external view returns (bytes32[] memory) {
        return MerkleMountainRange.currentPeaks(_peaks[assetId], _logs[assetId].batches);
    }

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
        for (uint64 epoch = periodStart / length; epoch < periodEnd / length; ++epoch) {
            total += totals(assetId, epoch).energyWh;
        }
    }

    /// @notice Energy and reading count of `assetId` in period `epoch`, from batches and single readings.
    function totals(bytes32 assetId, uint64 epoch) public view returns (Totals memory) {
        AssetLog memory log = _logs[assetId];
        if (epoch == log.epoch) return Totals(log.energyWh, log.readings);
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
    ) internal returns (uint256 batchIndex) {
        if (merkleRoot == bytes32(0) || count == 0) revert BatchEmpty(merkleRoot, count);
        if (toTime <= fromTime) revert BatchInvalidTimeRange(fromTime, toTime);
        if (toTime > block.timestamp + maxClockSkew) revert BatchInFuture(toTime, block.timestamp + maxClockSkew);
        AssetLog memory log = _logs[assetId];
        batchIndex = log.batches;
        MerkleMountainRange.append(_peaks[assetId], batchIndex, merkleRoot);
        log.batches = SafeCast.toUint40(batchIndex + 1);
        _count(assetId, log, fromTime / epochLength, totalEnergyWh, count);
        _logs[assetId] = log;
        emit BatchAnchored(assetId, merkleRoot, batchIndex, count, totalEnergyWh, fromTime, toTime);
    }

    /// @dev Add to `assetId`'s totals of period `epoch`, given its log (the caller stores it back). The latest
    /// period lives in the log; when a later one starts, the finished one moves to `_totals`, where late data
    /// for older periods also goes.
    function _count(bytes32 assetId, AssetLog memory log, uint64 epoch, uint256 energyWh, uint256 readings) internal {
        if (epoch < log.epoch) {
            Totals storage past = _totals[assetId][epoch];
            (past.energyWh, past.readings) = (past.energyWh + uint128(energyWh), past.readings + uint128(readings));
            return;
        }
        if (epoch > log.epoch) {
            if (log.readings != 0) {
                Totals storage done = _totals[assetId][log.epoch];
                (done.energyWh, done.readings) = (done.energyWh + log.energyWh, done.readings + log.readings);
            }
            (log.epoch, log.energyWh, log.readings) = (SafeCast.toUint40(epoch), 0, 0);
        }
        log.energyWh = SafeCast.toUint96(log.energyWh + energyWh);
        log.readings = SafeCast.toUint80(log.readings + readings);
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
