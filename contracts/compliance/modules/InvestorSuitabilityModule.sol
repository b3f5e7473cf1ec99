// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IModule} from "../../interfaces/IModule.sol";
import {IIdentity} from "../../interfaces/IIdentity.sol";
import {IClaimIssuer} from "../../interfaces/IClaimIssuer.sol";
import {IIdentityRegistry} from "../../interfaces/IIdentityRegistry.sol";
import {ITrustedIssuersRegistry} from "../../interfaces/ITrustedIssuersRegistry.sol";
import {AbstractModule} from "./AbstractModule.sol";

/// @title Rule: investor suitability
/// @notice The token has a risk level from 1 to 5. A receiver qualifies only if its identity holds a valid risk-tier
/// claim (data `abi.encode(uint256 tier)`) with tier >= that level, from an issuer trusted for the risk-tier topic;
/// in jurisdictions the issuer marks, it must also hold a valid professional-investor claim.
contract InvestorSuitabilityModule is AbstractModule {
    uint8 public constant MAX_RISK_LEVEL = 5;

    /// @dev Risk levels go from 1 to 5.
    error SuitabilityInvalidRiskLevel(uint8 level);

    event RiskLevelSet(address indexed compliance, uint8 level);
    event SuitabilityTopicsSet(address indexed compliance, uint256 riskTierTopic, uint256 professionalTopic);
    event ProfessionalOnlySet(address indexed compliance, uint16 indexed country, bool required);

    struct Config {
        uint8 riskLevel;
        uint256 riskTierTopic;
        uint256 professionalTopic;
    }

    mapping(address => Config) private _config;
    mapping(address => mapping(uint16 => bool)) private _professionalOnly;

    /// @notice Set the token's risk level, 1 (lowest) to 5 (bound compliance only).
    function setRiskLevel(uint8 level) external onlyBoundCompliance {
        if (level == 0 || level > MAX_RISK_LEVEL) revert SuitabilityInvalidRiskLevel(level);
        _config[msg.sender].riskLevel = level;
        emit RiskLevelSet(msg.sender, level);
    }

    /// @notice Set the claim topics of the risk tier and of the professional status (bound compliance only).
    function setClaimTopics(uint256 riskTierTopic, uint256 professionalTopic) external onlyBoundCompliance {
        _config[msg.sender].riskTierTopic = riskTierTopic;
        _config[msg.sender].professionalTopic = professionalTopic;
        emit SuitabilityTopicsSet(msg.sender, riskTierTopic, professionalTopic);
    }

    /// @notice Require (or not) professional status from receivers living in `country` (bound compliance only).
    function setProfessionalOnly(uint16 country, bool required) external onlyBoundCompliance {
        _professionalOnly[msg.sender][country] = required;
        emit ProfessionalOnlySet(msg.sender, country, required);
    }

    /// @notice The settings under `compliance`.
    function configOf(address compliance) external view returns (uint8 riskLevel, uint256 riskTierTopic, uint256 professionalTopic) {
        Config memory config = _config[compliance];
        return (config.riskLevel, config.riskTierTopic, config.professionalTopic);
    }

    /// @notice Whether receivers from `country` must be professional investors under `compliance`.
    function isProfessionalOnly(address compliance, uint16 country) external view returns (bool) {
        return _professionalOnly[compliance][country];
    }

    /// @notice The highest valid risk tier `identity` holds under `compliance`'s trusted issuers (0 when none).
    function riskTierOf(address compliance, IIdentity identity) public view returns (uint256 best) {
        ITrustedIssuersRegistry issuers = _registry(compliance).issuersRegistry();
        uint256 topic = _config[compliance].riskTierTopic;
        IClaimIssuer[] memory trusted = issuers.getTrustedIssuersForClaimTopic(topic);
        for (uint256 i; i < trusted.length; ++i) {
            (bool valid, bytes memory data) = _validClaim(identity, trusted[i], topic);
            if (valid && data.length >= 32) {
                uint256 tier = abi.decode(data, (uint256));
                if (tier > best) best = tier;
            }
        }
    }

    /// @notice Whether `identity` holds a valid professional-investor claim under `compliance`'s trusted issuers.
    function isProfessional(address compliance, IIdentity identity) public view returns (bool) {
        ITrustedIssuersRegistry issuers = _registry(compliance).issuersRegistry();
        uint256 topic = _config[compliance].professionalTopic;
        IClaimIssuer[] memory trusted = issuers.getTrustedIssuersForClaimTopic(topic);
        for (uint256 i; i < trusted.length; ++i) {
            (bool valid,) = _validClaim(identity, trusted[i], topic);
            if (valid) return true;
        }
        return false;
    }

    /// @inheritdoc IModule
    function moduleCheck(address, address to, uint256, address compliance) external view returns (bool) {
        IIdentityRegistry registry = _registry(compliance);
        IIdentity identity = registry.identity(to);
        if (address(identity) == address(0)) return false;
        uint8 level = _config[compliance].riskLevel;
        if (level != 0 && riskTierOf(compliance, identity) < level) return false;
        if (_professionalOnly[compliance][registry.investorCountry(to)] && !isProfessional(compliance, identity)) return false;
        return true;
    }

    /// @inheritdoc AbstractModule
    function needsHooks() external pure override returns (bool) {
        return false;
    }

    /// @inheritdoc IModule
    function name() external pure returns (string memory) {
        return "InvestorSuitabilityModule";
    }

    function _validClaim(IIdentity identity, IClaimIssuer issuer, uint256 topic) private view returns (bool, bytes memory) {
        try identity.getClaim(keccak256(abi.encode(issuer, topic))) returns (
            uint256 foundTopic, uint256, address claimIssuer, bytes memory signature, bytes memory data, string memory
        ) {
            if (foundTopic != topic || claimIssuer != address(issuer)) return (false, data);
            try issuer.isClaimValid(identity, topic, signature, data) returns (bool valid) {
                return (valid, data);
            } catch {
                return (false, data);
            }
        } catch {
            return (false, "");
        }
    }
}
