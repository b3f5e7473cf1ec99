// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IClaimTopicsRegistry} from "../interfaces/IClaimTopicsRegistry.sol";
import {IClaimEpochs} from "../interfaces/IClaimEpochs.sol";

/// @title The claim topics every investor must hold
/// @notice A new required topic is reported to `claimEpochs`: cached verifications end at once.
contract ClaimTopicsRegistry is Ownable2Step, IClaimTopicsRegistry {
    uint256 public constant MAX_TOPICS = 15;

    /// @dev `claimTopic` is already required.
    error ClaimTopicAlreadyRequired(uint256 claimTopic);
    /// @dev `claimTopic` is not required.
    error ClaimTopicNotRequired(uint256 claimTopic);
    /// @dev No more than `max` topics.
    error ClaimTopicsLimitReached(uint256 max);

    IClaimEpochs public immutable claimEpochs;
    uint256[] private _topics;

    constructor(address initialOwner, IClaimEpochs epochs) Ownable(initialOwner) {
        claimEpochs = epochs;
    }

    /// @inheritdoc IClaimTopicsRegistry
    function addClaimTopic(uint256 claimTopic) external onlyOwner {
        uint256 length = _topics.length;
        if (length >= MAX_TOPICS) revert ClaimTopicsLimitReached(MAX_TOPICS);
        for (uint256 i; i < length; ++i) {
            if (_topics[i] == claimTopic) revert ClaimTopicAlreadyRequired(claimTopic);
        }
        _topics.push(claimTopic);
        emit ClaimTopicAdded(claimTopic);
        if (address(claimEpochs) != address(0)) claimEpochs.trustChanged();
    }

    /// @inheritdoc IClaimTopicsRegistry
    function removeClaimTopic(uint256 claimTopic) external onlyOwner {
        uint256 length = _topics.length;
        for (uint256 i; i < length; ++i) {
            if (_topics[i] == claimTopic) {
                _topics[i] = _topics[length - 1];
                _topics.pop();
                emit ClaimTopicRemoved(claimTopic);
                return;
            }
        }
        revert ClaimTopicNotRequired(claimTopic);
    }

    /// @inheritdoc IClaimTopicsRegistry
    function getClaimTopics() external view returns (uint256[] memory) {
        return _topics;
    }
}
