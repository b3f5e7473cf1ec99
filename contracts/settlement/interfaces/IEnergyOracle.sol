// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/**
 * @title IEnergyOracle
 * @notice Anchored metered energy of an asset over a period, as the reading oracle recorded it.
 */
interface IEnergyOracle {
    /// @notice Total energy in Wh anchored for `assetId` between `periodStart` and `periodEnd` (seconds).
    function periodEnergyWh(bytes32 assetId, uint64 periodStart, uint64 periodEnd) external view returns (uint256);
}
