// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IClaimIssuer} from "../interfaces/IClaimIssuer.sol";
import {ITrustedIssuersRegistry} from "../interfaces/ITrustedIssuersRegistry.sol";
import {IClaimEpochs} from "../interfaces/IClaimEpochs.sol";

/// @title The claim issuers trusted for each topic
/// @notice Removing an issuer or changing its topics is reported to `claimEpochs`: cached verifications end at once.
contract TrustedIssuersRegistry is Ownable2Step, ITrustedIssuersRegistry {
    uint256 public constant MAX_ISSUERS = 50;
    uint256 public constant MAX_TOPICS_PER_ISSUER = 15;

    /// @dev `issuer` is the zero address.
    error TrustedIssuerInvalid(address issuer);
    /// @dev `issuer` is already trusted.
    error TrustedIssuerAlreadyTrusted(address issuer);
    /// @dev `issuer` is not trusted.
    error TrustedIssuerNotTrusted(address issuer);
    /// @dev An issuer needs between 1 and `max` topics; `count` given.
    error TrustedIssuerInvalidTopics(uint256 count, uint256 max);
    /// @dev No more than `max` issuers.
    error TrustedIssuersLimitReached(uint256 max);

    IClaimEpochs public immutable claimEpochs;
    IClaimIssuer[] private _issuers;
    mapping(address => uint256[]) private _topicsOf;
    mapping(uint256 => IClaimIssuer[]) private _issuersFor;

    constructor(address initialOwner, IClaimEpochs epochs) Ownable(initialOwner) {
        claimEpochs = epochs;
    }

    /// @inheritdoc ITrustedIssuersRegistry
    function addTrustedIssuer(IClaimIssuer trustedIssuer, uint256[] calldata claimTopics) external onlyOwner {
        if (address(trustedIssuer) == address(0)) revert TrustedIssuerInvalid(address(trustedIssuer));
        if (_topicsOf[address(trustedIssuer)].length != 0) revert TrustedIssuerAlreadyTrusted(address(trustedIssuer));
        if (_issuers.length >= MAX_ISSUERS) revert TrustedIssuersLimitReached(MAX_ISSUERS);
        _checkTopics(claimTopics.length);
        _issuers.push(trustedIssuer);
        _setTopics(trustedIssuer, claimTopics);
        emit TrustedIssuerAdded(trustedIssuer, claimTopics);
    }

    /// @inheritdoc ITrustedIssuersRegistry
    function removeTrustedIssuer(IClaimIssuer trustedIssuer) external onlyOwner {
        _requireTrusted(trustedIssuer);
        _clearTopics(trustedIssuer);
        _removeFrom(_issuers, trustedIssuer);
        emit TrustedIssuerRemoved(trustedIssuer);
        _reportTrustChanged();
    }

    /// @inheritdoc ITrustedIssuersRegistry
    function updateIssuerClaimTopics(IClaimIssuer trustedIssuer, uint256[] calldata claimTopics) external onlyOwner {
        _requireTrusted(trustedIssuer);
        _checkTopics(claimTopics.length);
        _clearTopics(trustedIssuer);
        _setTopics(trustedIssuer, claimTopics);
        emit ClaimTopicsUpdated(trustedIssuer, claimTopics);
        _reportTrustChanged();
    }

    /// @inheritdoc ITrustedIssuersRegistry
    function getTrustedIssuers() external view returns (IClaimIssuer[] memory) {
        return _issuers;
    }

    /// @inheritdoc ITrustedIssuersRegistry
    function getTrustedIssuersForClaimTopic(uint256 claimTopic) external view returns (IClaimIssuer[] memory) {
        return _issuersFor[claimTopic];
    }

    /// @inheritdoc ITrustedIssuersRegistry
    function isTrustedIssuer(address issuer) external view returns (bool) {
        return _topicsOf[issuer].length != 0;
    }

    /// @inheritdoc ITrustedIssuersRegistry
    function getTrustedIssuerClaimTopics(IClaimIssuer trustedIssuer) external view returns (uint256[] memory) {
        _requireTrusted(trustedIssuer);
        return _topicsOf[address(trustedIssuer)];
    }

    /// @inheritdoc ITrustedIssuersRegistry
    function hasClaimTopic(address issuer, uint256 claimTopic) external view returns (bool) {
        uint256[] storage topics = _topicsOf[issuer];
        for (uint256 i; i < topics.length; ++i) {
            if (topics[i] == claimTopic) return true;
        }
        return false;
    }

    function _setTopics(IClaimIssuer issuer, uint256[] calldata claimTopics) private {
        _topicsOf[address(issuer)] = claimTopics;
        for (uint256 i; i < claimTopics.length; ++i) {
            _issuersFor[claimTopics[i]].push(issuer);
        }
    }

    function _clearTopics(IClaimIssuer issuer) private {
        uint256[] storage topics = _topicsOf[address(issuer)];
        for (uint256 i; i < topics.length; ++i) {
            _removeFrom(_issuersFor[topics[i]], issuer);
        }
        delete _topicsOf[address(issuer)];
    }

    function _removeFrom(IClaimIssuer[] storage list, IClaimIssuer issuer) private {
        uint256 length = list.length;
        for (uint256 i; i < length; ++i) {
            if (list[i] == issuer) {
                list[i] = list[length - 1];
                list.pop();
                return;
            }
        }
    }

    function _requireTrusted(IClaimIssuer issuer) private view {
        if (_topicsOf[address(issuer)].length == 0) revert TrustedIssuerNotTrusted(address(issuer));
    }

    function _checkTopics(uint256 count) private pure {
        if (count == 0 || count > MAX_TOPICS_PER_ISSUER) revert TrustedIssuerInvalidTopics(count, MAX_TOPICS_PER_ISSUER);
    }

    function _reportTrustChanged() private {
        if (address(claimEpochs) != address(0)) claimEpochs.trustChanged();
    }
}
