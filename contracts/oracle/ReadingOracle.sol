// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
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
 * ({MerkleProof}). Each asset's batches are appended to its own {MerkleMountainRange}, as the leaf
 * `keccak256(abi.encodePacked(root, fromTime, toTime))`: a batch's time span is committed with its root, so
 * the period it was counted in is known to every proof. Batch `batchIndex` (0, 1, 2, … per asset) is proven
 * by the reading's path to its batch root, then one word holding the span (`fromTime << 64 | toTime`), then
 * the batch leaf's path to a current peak. An anchor thus updates slots that already hold values (the
 * asset's log and one peak) instead of creating a slot per batch, which keeps its cost flat and low.
 * The batch's details (root, count, energy, time span) are in its {BatchAnchored} event.
 *
 * Counting once. A device reports either in batches (the default) or directly: its asset's operator
 * switches it to direct reporting with {enableDirectReporting}, for good. {submitReading} counts only
 * readings of direct devices, each with a higher `seq` than the last and a period starting at or after
 * the end of the last, and refuses revoked devices. The batch path keeps no per-reading state (it stays
 * cheap), so the relayer's batches are held to the same rules by disputes: anyone who proves two counted
 * inclusions of one device with the same `seq` or overlapping periods ({disputeDoubleCount}), or one
 * inclusion that should not count ({disputeInclusion}: another asset's reading, a reading outside its batch's
 * period, a device not active over the period, a direct device's reading, a revoked device's reading anchored
 * after the revocation grace), has the surplus energy taken off the totals of the period its batch counted it
 * in, and anchoring stops until the admin resumes it.
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

    /// @dev What the oracle keeps per device, one slot: the last reading {submitReading} counted, since when
    /// the device reports directly (0: batched), and from which batch index on its readings are late
    /// (set by {markRevocation}; stored plus one, 0: not set).
    struct DeviceLog {
        uint64 lastSeq;
        uint64 lastPeriodEnd;
        uint48 directFrom;
        uint40 lateFromBatch;
    }

    /// @notice A reading shown to be in batch `batchIndex` of `assetId` (the asset whose mountain range
    /// holds the batch, which may differ from the reading's own `assetId`).
    /// @param proof the same path {verifyReading} takes
    struct Inclusion {
        Reading reading;
        bytes32 assetId;
        uint256 batchIndex;
        bytes32[] proof;
    }

    /// @notice Why an inclusion was taken off the totals (see {ReadingDisputed}).
    enum DisputeKind {
        None,
        DuplicateSeq,
        OverlappingPeriod,
        DuplicateInBatch,
        WrongAsset,
        DeviceNotActive,
        DirectDevice,
        LateAfterRevocation,
        WrongPeriod
    }

    /// @dev An inclusion checked against its batch: its id, its copies in the batch, and the batch's time
    /// span (committed in the batch's mountain leaf, so the totals it was counted in are known).
    struct Proven {
        bytes32 id;
        uint256 copies;
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
    /// @notice `device` reports in batches: {submitReading} counts only devices switched to direct reporting.
    error ReadingDeviceNotDirect(address device);
    /// @notice The reading's period starts before `notBefore`, the end of the device's last counted period
    /// (or the time it switched to direct reporting).
    error ReadingPeriodOverlap(address device, uint64 periodStart, uint64 notBefore);
    /// @notice `account` is not the operator of the asset `device` is registered to.
    error DirectReportingUnauthorized(address account, address device);
    /// @notice `device` already reports directly, or is revoked or unknown.
    error DirectReportingUnavailable(address device);
    /// @notice {markRevocation}: `device` is not revoked, or its revocation grace lasts until `dueAt`.
    error RevocationNotDue(address device, uint256 dueAt);
    /// @notice {markRevocation} was already called for `device`.
    error RevocationAlreadyMarked(address device);
    /// @notice The two inclusions are the same one.
    error DisputeSameInclusion(bytes32 inclusionId);
    /// @notice The two readings neither share a device and `seq` nor a device and an overlapping period.
    error DisputeNoConflict(address deviceA, uint64 seqA, address deviceB, uint64 seqB);
    /// @notice The inclusion was already taken off the totals by an earlier dispute.
    error DisputeInclusionRemoved(bytes32 inclusionId);
    /// @notice The inclusion breaks none of the rules {disputeInclusion} checks.
    error DisputeInclusionCountable(bytes32 inclusionId);
    /// @notice Anchoring is suspended since a dispute succeeded, until the admin resumes it.
    error RelayingSuspended();

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

    /// @notice `device` now reports directly: {submitReading} counts its readings whose periods start at or
    /// after `from`, and its batched readings whose periods end after `from` are disputable.
    event DirectReportingEnabled(address indexed device, bytes32 indexed assetId, uint48 from);
    /// @notice Readings of the revoked `device` in batches from `fromBatch` on are disputable as late.
    event RevocationMarked(address indexed device, bytes32 indexed assetId, uint256 fromBatch);
    /// @notice A dispute took `energyWh` (from `readings` counted copies of the reading `device`/`seq`) off
    /// the totals of `assetId` in period `epoch`; `inclusionId` names the removed inclusion.
    event ReadingDisputed(
        bytes32 indexed assetId,
        address indexed device,
        bytes32 indexed inclusionId,
        uint64 seq,
        uint256 batchIndex,
        uint64 epoch,
        uint256 energyWh,
        uint256 readings,
        DisputeKind kind,
        address disputer
    );
    /// @notice Anchoring stopped (`suspended`) after a dispute, or the admin resumed it.
    event RelayingSuspendedSet(bool suspended);

    /// @notice How long after a device's revocation its readings may still be anchored (readings that reached
    /// the relayer before the revocation and wait for their batch); later anchors become disputable once
    /// {markRevocation} is called.
    uint64 public constant REVOCATION_GRACE = 1 hours;

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
    mapping(address device => DeviceLog) private _devices;
    /// @dev Per inclusion id: 0 counted as anchored, 1 duplicate copies inside its batch removed, 2 removed.
    mapping(bytes32 inclusionId => uint8) private _removed;
    /// @notice Whether anchoring is stopped (a dispute succeeded; the admin resumes it).
    bool public relayingSuspended;
    /// @notice Number of successful disputes.
    uint256 public disputeCount;

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
     * @notice Verify one signed reading of a direct-reporting device on chain and add it to its asset's totals.
     * @dev Anyone may submit, the signature is what counts. The device must report directly
     * ({enableDirectReporting}) and not be revoked; `seq` must exceed the device's last counted one and the
     * period must start at or after the end of its last counted period, so each reading counts once and a
     * device's counted periods never overlap (its capacity bounds its energy over any span of time).
     */
    function submitReading(Reading calldata reading, bytes calldata signature) external returns (bytes32 digest) {
        if (reading.periodEnd > block.timestamp + maxClockSkew) {
            revert ReadingInFuture(reading.periodEnd, block.timestamp + maxClockSkew);
        }
        // valid until the end of time: refuses a device revoked now, whatever the reading's period
        digest = _checkReading(reading, signature, type(uint64).max);
        DeviceLog memory d = _devices[reading.device];
        if (d.directFrom == 0) revert ReadingDeviceNotDirect(reading.device);
        if (reading.seq <= d.lastSeq) revert ReadingSeqNotIncreasing(reading.device, reading.seq, d.lastSeq);
        uint64 notBefore = d.lastPeriodEnd > d.directFrom ? d.lastPeriodEnd : d.directFrom;
        if (reading.periodStart < notBefore) revert ReadingPeriodOverlap(reading.device, reading.periodStart, notBefore);
        (d.lastSeq, d.lastPeriodEnd) = (reading.seq, reading.periodEnd);
        _devices[reading.device] = d;
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
     * @notice Switch `device` to direct reporting from now on, for good. Its asset's operator only.
     * @dev From then on {submitReading} counts its readings whose periods start at or after now, and any
     * batched reading of it whose period ends after now can be disputed ({disputeInclusion}).
     */
    function enableDirectReporting(address device) external {
        DeviceRegistry.Device memory r = registry.getDevice(device);
        if (registry.operatorOf(r.assetId) != msg.sender || r.assetId == bytes32(0)) {
            revert DirectReportingUnauthorized(msg.sender, device);
        }
        DeviceLog storage d = _devices[device];
        if (d.directFrom != 0 || r.revokedAt != 0) revert DirectReportingUnavailable(device);
        d.directFrom = uint48(block.timestamp);
        emit DirectReportingEnabled(device, r.assetId, uint48(block.timestamp));
    }

    /**
     * @notice Record that readings of the revoked `device` in batches anchored from now on are late.
     * @dev Anyone may call it once {REVOCATION_GRACE} has passed since the revocation; from then on a
     * batched reading of the device in a batch at or after the asset's current batch count is disputable.
     * Batches anchored within the grace (or before this call) count the readings the relayer had received
     * before the revocation: there the relayer is trusted to have checked arrival times.
     */
    function markRevocation(address device) external {
        DeviceRegistry.Device memory r = registry.getDevice(device);
        uint256 dueAt = uint256(r.revokedAt) + REVOCATION_GRACE;
        if (r.revokedAt == 0 || block.timestamp < dueAt) revert RevocationNotDue(device, dueAt);
        DeviceLog storage d = _devices[device];
        if (d.lateFromBatch != 0) revert RevocationAlreadyMarked(device);
        uint256 fromBatch = _logs[r.assetId].batches;
        d.lateFromBatch = SafeCast.toUint40(fromBatch + 1);
        emit RevocationMarked(device, r.assetId, fromBatch);
    }

    /**
     * @notice Record the Merkle root of `count` readings of `assetId` checked off chain by the relayer.
     * @dev Constant cost whatever the batch size: the asset's log slot, one peak of its mountain range,
     * one event. The totals count in the period of `fromTime` (the relayer batches by period); the span is
     * committed in the batch's mountain leaf, so disputes take energy off that same period. The contract
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
        if (relayingSuspended) revert RelayingSuspended();
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
        if (relayingSuspended) revert RelayingSuspended();
        batchIndexes = new uint256[](batches.length);
        for (uint256 i = 0; i < batches.length; ++i) {
            BatchHeader calldata h = batches[i];
            batchIndexes[i] = _anchor(h.assetId, h.merkleRoot, h.count, h.totalEnergyWh, h.fromTime, h.toTime);
        }
    }

    // -- disputes -------------------------------------------------------------------------------

    /**
     * @notice Show that one reading of a device was counted twice (two inclusions with the same `seq`), or
     * two readings of a device with overlapping periods both counted; the surplus leaves the totals.
     * @dev Both inclusions must be proven and still counted. Of overlapping readings the one with the higher
     * `seq` is removed (the later claim over the same time); of two with the same `seq`, the one with more
     * energy (on a tie: `b`). The removed reading's energy leaves the period its batch was counted in (that of
     * the batch's `fromTime`, whatever the reading's own period). A success suspends anchoring.
     * Signatures are not needed: an inclusion counted in the totals whether or not it was signed.
     */
    function disputeDoubleCount(Inclusion calldata a, Inclusion calldata b) external {
        Proven memory pa = _prove(a);
        Proven memory pb = _prove(b);
        if (pa.id == pb.id) revert DisputeSameInclusion(pa.id);
        Reading calldata ra = a.reading;
        Reading calldata rb = b.reading;
        bool sameSeq = ra.device == rb.device && ra.seq == rb.seq;
        bool overlap = ra.device == rb.device && ra.periodStart < rb.periodEnd && rb.periodStart < ra.periodEnd;
        if (!sameSeq && !overlap) revert DisputeNoConflict(ra.device, ra.seq, rb.device, rb.seq);
        if (_removed[pa.id] == 2) revert DisputeInclusionRemoved(pa.id);
        if (_removed[pb.id] == 2) revert DisputeInclusionRemoved(pb.id);
        bool removeA = sameSeq ? ra.energyWh > rb.energyWh : ra.seq > rb.seq;
        DisputeKind kind = sameSeq ? DisputeKind.DuplicateSeq : DisputeKind.OverlappingPeriod;
        if (removeA) {
            _remove(a, pa, kind);
        } else {
            _remove(b, pb, kind);
        }
    }

    /**
     * @notice Show that an anchored reading should not count, and take it off the totals.
     * @dev Rules, in order: the same reading twice in its batch (a subtree that is its own sibling: all
     * copies but one leave); another asset's reading in this asset's batch; a reading the batch counted in
     * another period than its own (its period not inside the batch's span, or starting in a later period
     * than the batch's `fromTime`); a device not registered to
     * the asset and active over the reading's period; a device reporting directly whose reading's period
     * ends after it switched; a revoked device's reading in a batch from its {markRevocation} on. The
     * capacity rule is not disputable (the operator may lower a capacity later). A success suspends anchoring.
     */
    function disputeInclusion(Inclusion calldata x) external {
        Proven memory p = _prove(x);
        uint8 state = _removed[p.id];
        if (state == 2) revert DisputeInclusionRemoved(p.id);
        Reading calldata r = x.reading;
        DeviceLog memory d = _devices[r.device];
        DisputeKind kind;
        if (p.copies > 1 && state == 0) {
            _uncount(x, p, p.copies - 1, DisputeKind.DuplicateInBatch);
            _removed[p.id] = 1;
            return;
        } else if (r.assetId != x.assetId) {
            kind = DisputeKind.WrongAsset;
        } else if (!_inSpan(r, p)) {
            kind = DisputeKind.WrongPeriod;
        } else if (!_activeOver(r)) {
            kind = DisputeKind.DeviceNotActive;
        } else if (d.directFrom != 0 && r.periodEnd > d.directFrom) {
            kind = DisputeKind.DirectDevice;
        } else if (d.lateFromBatch != 0 && x.batchIndex + 1 >= d.lateFromBatch) {
            kind = DisputeKind.LateAfterRevocation;
        } else {
            revert DisputeInclusionCountable(p.id);
        }
        _remove(x, p, kind);
    }

    /// @notice Let relayers anchor again after a dispute suspended them (revoke the faulty one first). Admin only.
    function resumeRelaying() external onlyRole(DEFAULT_ADMIN_ROLE) {
        relayingSuspended = false;
        emit RelayingSuspendedSet(false);
    }

    // -- views ----------------------------------------------------------------------------------

    /**
     * @notice Prove that `reading` was in its asset's anchored batch `batchIndex`, signed by its device, and
     * that the device was registered and active for the asset over the reading's period.
     * @param proof the reading's sibling path to its batch root, then the batch's span word
     * (`fromTime << 64 | toTime`), then the batch leaf's path to the peak of its mountain (as many nodes as
     * that mountain's height, for the asset's current batch count)
     * @dev Reverts with the reason instead of returning false, so a caller learns why a proof fails.
     */
    function verifyReading(
        Reading calldata reading,
        bytes calldata signature,
        bytes32[] calldata proof,
        uint256 batchIndex
    ) external view returns (bool) {
        (uint256 spanAt, uint256 height, uint256 offset) = _place(reading.assetId, batchIndex, proof.length);
        bytes32 digest = _checkReading(reading, signature, reading.periodEnd);
        bytes32 batchRoot = MerkleProof.processProofCalldata(proof[:spanAt], leafOf(digest));
        _climbToPeak(reading.assetId, batchIndex, batchRoot, proof, spanAt, height, offset);
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
        return _devices[device].lastSeq;
    }

    /// @notice What the oracle keeps of `device`: last direct reading, direct-reporting start, late batches.
    function deviceLog(address device) external view returns (DeviceLog memory) {
        return _devices[device];
    }

    /**
     * @notice The id of an inclusion and how many counted copies of its reading it stands for (more than one
     * when the reading is repeated inside its batch); reverts unless it is proven.
     * @dev The id hashes the asset, the batch index and the reading's path to its batch root, which pins the
     * leaf and its place in the batch (up to mirror-image places of identical subtrees, the copies).
     */
    function inclusionId(Inclusion calldata x) external view returns (bytes32 id, uint256 copies) {
        Proven memory p = _prove(x);
        return (p.id, p.copies);
    }

    /// @notice 0: counted as anchored; 1: its duplicate copies were removed; 2: removed by a dispute.
    function inclusionState(bytes32 id) external view returns (uint8) {
        return _removed[id];
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
        MerkleMountainRange.append(_peaks[assetId], batchIndex, _batchLeaf(merkleRoot, fromTime, toTime));
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

    /// @dev Period, device validity (active from `periodStart`, not revoked before `validUntil`), capacity
    /// and signature; returns the reading's digest.
    function _checkReading(Reading calldata reading, bytes calldata signature, uint64 validUntil)
        internal
        view
        returns (bytes32 digest)
    {
        if (reading.periodEnd <= reading.periodStart) revert ReadingInvalidPeriod(reading.periodStart, reading.periodEnd);
        (bool valid, uint64 capacityW) =
            registry.isValidFor(reading.device, reading.assetId, reading.periodStart, validUntil);
        if (!valid) revert ReadingDeviceNotValid(reading.device, reading.assetId);
        uint256 maxEnergyWh = (uint256(capacityW) * (reading.periodEnd - reading.periodStart)) / 3600;
        if (reading.energyWh > maxEnergyWh) revert ReadingOverCapacity(reading.device, reading.energyWh, maxEnergyWh);
        digest = hashReading(reading);
        if (!SignatureChecker.isValidSignatureNowCalldata(reading.device, digest, signature)) {
            revert ReadingInvalidSignature(reading.device);
        }
    }

    /// @dev Whether the reading's device was registered to its asset and active over its (non-empty) period.
    function _activeOver(Reading calldata r) internal view returns (bool valid) {
        if (r.periodEnd <= r.periodStart) return false;
        (valid,) = registry.isValidFor(r.device, r.assetId, r.periodStart, r.periodEnd);
    }

    /// @dev A batch's leaf in its asset's mountain range: its root with its time span (48 bytes, so it is
    /// never mistaken for an inner node, which hashes 64).
    function _batchLeaf(bytes32 merkleRoot, uint64 fromTime, uint64 toTime) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(merkleRoot, fromTime, toTime));
    }

    /// @dev Where batch `batchIndex` of `assetId` sits: its mountain's height, its offset in it, and where the
    /// span word is in a `length`-node proof (after the path in the batch, before the mountain's nodes).
    function _place(bytes32 assetId, uint256 batchIndex, uint256 length)
        internal
        view
        returns (uint256 spanAt, uint256 height, uint256 offset)
    {
        uint256 size = _logs[assetId].batches;
        if (batchIndex >= size) revert BatchUnknown(assetId, batchIndex);
        (height, offset) = MerkleMountainRange.position(size, batchIndex);
        if (length <= height) revert ReadingNotInBatch(assetId, batchIndex);
        spanAt = length - height - 1;
    }

    /// @dev Check that `batchRoot`, with the span word at `proof[spanAt]`, climbs the rest of `proof` from
    /// `offset` to the current peak of height `height`; returns the span.
    function _climbToPeak(
        bytes32 assetId,
        uint256 batchIndex,
        bytes32 batchRoot,
        bytes32[] calldata proof,
        uint256 spanAt,
        uint256 height,
        uint256 offset
    ) internal view returns (uint64 fromTime, uint64 toTime) {
        uint256 span = uint256(proof[spanAt]);
        if (span >> 128 != 0) revert ReadingNotInBatch(assetId, batchIndex);
        (fromTime, toTime) = (uint64(span >> 64), uint64(span));
        bytes32 peak = MerkleMountainRange.climb(_batchLeaf(batchRoot, fromTime, toTime), proof[spanAt + 1:], offset);
        if (peak != _peaks[assetId][height]) revert ReadingNotInBatch(assetId, batchIndex);
    }

    /// @dev Check `x`'s path to a current peak; returns its id, its number of copies in the batch (2^k when
    /// k levels of the path have a sibling equal to the node itself) and its batch's span.
    function _prove(Inclusion calldata x) internal view returns (Proven memory p) {
        bytes32[] calldata proof = x.proof;
        (uint256 spanAt, uint256 height, uint256 offset) = _place(x.assetId, x.batchIndex, proof.length);
        bytes32 node = leafOf(hashReading(x.reading));
        p.copies = 1;
        for (uint256 i = 0; i < spanAt; ++i) {
            if (proof[i] == node) p.copies <<= 1;
            node = Hashes.commutativeKeccak256(node, proof[i]);
        }
        (p.fromTime, p.toTime) = _climbToPeak(x.assetId, x.batchIndex, node, proof, spanAt, height, offset);
        p.id = keccak256(abi.encode(x.assetId, x.batchIndex, keccak256(abi.encodePacked(proof[:spanAt]))));
    }

    /// @dev Whether the batch counted `r` in its own period: its period inside the batch's span, and starting
    /// in the period of the batch's `fromTime` (where the batch's energy went).
    function _inSpan(Reading calldata r, Proven memory p) internal view returns (bool) {
        return r.periodStart >= p.fromTime && r.periodEnd <= p.toTime
            && r.periodStart / epochLength == p.fromTime / epochLength;
    }

    /// @dev Take every still-counted copy of inclusion `x` off the totals, mark it removed.
    function _remove(Inclusion calldata x, Proven memory p, DisputeKind kind) internal {
        uint256 left = _removed[p.id] == 1 ? 1 : p.copies;
        _removed[p.id] = 2;
        _uncount(x, p, left, kind);
    }

    /// @dev Subtract `copies` times the reading's energy from the totals of the period its batch counted it
    /// in (never below zero), record the dispute and suspend anchoring.
    function _uncount(Inclusion calldata x, Proven memory p, uint256 copies, DisputeKind kind) internal {
        Reading calldata r = x.reading;
        uint64 epoch = p.fromTime / epochLength;
        uint256 energyWh = uint256(r.energyWh) * copies;
        AssetLog memory log = _logs[x.assetId];
        if (epoch == log.epoch) {
            log.energyWh = uint96(_minus(log.energyWh, energyWh));
            log.readings = uint80(_minus(log.readings, copies));
            _logs[x.assetId] = log;
        } else {
            Totals storage t = _totals[x.assetId][epoch];
            (t.energyWh, t.readings) = (uint128(_minus(t.energyWh, energyWh)), uint128(_minus(t.readings, copies)));
        }
        ++disputeCount;
        if (!relayingSuspended) {
            relayingSuspended = true;
            emit RelayingSuspendedSet(true);
        }
        emit ReadingDisputed(
            x.assetId, r.device, p.id, r.seq, x.batchIndex, epoch, energyWh, copies, kind, msg.sender
        );
    }

    function _minus(uint256 a, uint256 b) private pure returns (uint256) {
        return a > b ? a - b : 0;
    }
}
