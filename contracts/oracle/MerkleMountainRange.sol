// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/**
 * @title MerkleMountainRange
 * @notice An append-only log of hashes that keeps only its peaks: one perfect Merkle tree ("mountain")
 * per set bit of its size, the highest on the left. Appending rewrites one peak slot that, once the log
 * has grown past it, already holds a value, so an append costs a storage update instead of a new slot.
 * @dev Peaks are kept by height: `peaks[h]` is current while bit `h` of the size is set (stale values of
 * merged mountains stay behind and are never read). Inner nodes hash their children in order
 * (`keccak256(left ++ right)`), so a proof also fixes the leaf's index. A proof of leaf `index` is the
 * sibling path up to the peak of its mountain; it stays valid until that mountain merges into a higher
 * one, after which the path is longer (the new siblings are appended to it).
 */
library MerkleMountainRange {
    /// @notice Append `leaf` as leaf number `size` of the range whose peaks are `peaks`.
    /// @dev The caller keeps the size (so it can share a slot with other data) and stores `size + 1`.
    function append(mapping(uint256 height => bytes32) storage peaks, uint256 size, bytes32 leaf) internal {
        uint256 height = 0;
        while ((size >> height) & 1 == 1) {
            leaf = Hashes.efficientKeccak256(peaks[height], leaf);
            ++height;
        }
        peaks[height] = leaf;
    }

    /// @notice The mountain holding leaf `index` of a range of `size` leaves, and the leaf's place in it.
    /// @dev The mountain's height is the highest bit where `size` and `index` differ (`index < size`).
    function position(uint256 size, uint256 index) internal pure returns (uint256 height, uint256 offset) {
        height = Math.log2(size ^ index);
        offset = index & ((1 << height) - 1);
    }

    /// @notice The peak reached from `leaf` at place `offset` of its mountain through the sibling `path`.
    function climb(bytes32 leaf, bytes32[] calldata path, uint256 offset) internal pure returns (bytes32 node) {
        node = leaf;
        for (uint256 i = 0; i < path.length; ++i) {
            node = (offset >> i) & 1 == 0
                ? Hashes.efficientKeccak256(node, path[i])
                : Hashes.efficientKeccak256(path[i], node);
        }
    }

    /// @notice The current peaks of a range of `size` leaves, highest mountain (oldest leaves) first.
    function currentPeaks(mapping(uint256 height => bytes32) storage peaks, uint256 size)
        internal
        view
        returns (bytes32[] memory list)
    {
        list = new bytes32[](_popcount(size));
        uint256 n = 0;
        for (uint256 height = 256; height > 0; --height) {
            if ((size >> (height - 1)) & 1 == 1) list[n++] = peaks[height - 1];
        }
    }

    function _popcount(uint256 x) private pure returns (uint256 count) {
        for (; x != 0; x &= x - 1) ++count;
    }
}
