// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IModule} from "../../interfaces/IModule.sol";
import {IModularCompliance} from "../../interfaces/IModularCompliance.sol";
import {IToken} from "../../interfaces/IToken.sol";
import {IIdentityRegistry} from "../../interfaces/IIdentityRegistry.sol";

/// @title Shared plumbing of compliance modules
/// @notice A module serves several compliances; each keeps its own settings, keyed by the compliance, and only
/// a bound compliance may configure or report to it.
abstract contract AbstractModule is IModule {
    /// @dev `caller` is not a bound compliance.
    error ModuleComplianceNotBound(address caller);
    /// @dev `compliance` is already bound.
    error ModuleComplianceAlreadyBound(address compliance);
    /// @dev Only `compliance` itself may bind or unbind itself; `caller` tried.
    error ModuleOnlyCompliance(address caller, address compliance);

    mapping(address => bool) private _bound;

    modifier onlyBoundCompliance() {
        if (!_bound[msg.sender]) revert ModuleComplianceNotBound(msg.sender);
        _;
    }

    /// @inheritdoc IModule
    function bindCompliance(address compliance) external {
        if (msg.sender != compliance) revert ModuleOnlyCompliance(msg.sender, compliance);
        if (_bound[compliance]) revert ModuleComplianceAlreadyBound(compliance);
        _bound[compliance] = true;
        emit ComplianceBound(compliance);
    }

    /// @inheritdoc IModule
    function unbindCompliance(address compliance) external onlyBoundCompliance {
        if (msg.sender != compliance) revert ModuleOnlyCompliance(msg.sender, compliance);
        _bound[compliance] = false;
        emit ComplianceUnbound(compliance);
    }

    /// @inheritdoc IModule
    function moduleTransferAction(address, address, uint256) external virtual onlyBoundCompliance {}

    /// @inheritdoc IModule
    function moduleMintAction(address, uint256) external virtual onlyBoundCompliance {}

    /// @inheritdoc IModule
    function moduleBurnAction(address, uint256) external virtual onlyBoundCompliance {}

    /// @inheritdoc IModule
    function isComplianceBound(address compliance) external view returns (bool) {
        return _bound[compliance];
    }

    /// @inheritdoc IModule
    /// @dev Stateful rules must see every move from the first mint.
    function canComplianceBind(address compliance) external view virtual returns (bool) {
        address token = IModularCompliance(compliance).getTokenBound();
        return token == address(0) || IToken(token).totalSupply() == 0;
    }

    /// @notice Whether the rule keeps books and must hear about every move; stateless rules answer false so
    /// `ModularCompliance` skips calling their (empty) hooks.
    function needsHooks() external pure virtual returns (bool) {
        return true;
    }

    /// @inheritdoc IModule
    function isPlugAndPlay() external pure virtual returns (bool) {
        return true;
    }

    function _token(address compliance) internal view returns (IToken) {
        return IToken(IModularCompliance(compliance).getTokenBound());
    }

    function _registry(address compliance) internal view returns (IIdentityRegistry) {
        return _token(compliance).identityRegistry();
    }
}
