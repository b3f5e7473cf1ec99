// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IModularCompliance} from "../interfaces/IModularCompliance.sol";
import {IModule} from "../interfaces/IModule.sol";

/// @title ERC-3643 modular compliance: a token's transfer rules, one module per rule
/// @notice The owner adds and configures modules; the bound token asks `canTransfer` before a move and reports
/// `transferred`, `created` and `destroyed` after it, so stateful rules keep their books.
contract ModularCompliance is Ownable2Step, IModularCompliance {
    uint256 public constant MAX_MODULES = 25;

    /// @dev `caller` may not bind or unbind a token.
    error ComplianceUnauthorizedBinding(address caller);
    /// @dev `caller` is not the bound token.
    error ComplianceOnlyToken(address caller);
    /// @dev The zero address was given.
    error ComplianceInvalidAddress();
    /// @dev `token` is not the bound token.
    error ComplianceTokenNotBound(address token);
    /// @dev `module` is already bound.
    error ComplianceModuleAlreadyBound(address module);
    /// @dev `module` is not bound.
    error ComplianceModuleNotBound(address module);
    /// @dev No more than `max` modules.
    error ComplianceModuleLimit(uint256 max);
    /// @dev `module` keeps state that a token with supply would leave wrong.
    error ComplianceModuleCannotBind(address module);

    /// @dev The token and the module count share a slot: one read serves every transfer check.
    struct Binding {
        address token;
        uint96 moduleCount;
    }

    /// @dev A module and whether it keeps books (needs the after-move hooks) share a slot.
    struct Slot {
        address module;
        bool hooks;
    }

    Binding private _binding;
    mapping(uint256 => Slot) private _moduleAt;
    mapping(address => bool) private _moduleBound;

    modifier onlyToken() {
        if (msg.sender != _binding.token) revert ComplianceOnlyToken(msg.sender);
        _;
    }

    constructor(address initialOwner) Ownable(initialOwner) {}

    /// @inheritdoc IModularCompliance
    /// @dev Owner only: T-REX also lets an unbound compliance be claimed by the first token that calls, which
    /// lets anyone bind a contract of their own before the real token does. The owner binds after deploying.
    function bindToken(address token) external {
        if (msg.sender != owner()) revert ComplianceUnauthorizedBinding(msg.sender);
        if (token == address(0)) revert ComplianceInvalidAddress();
        _binding.token = token;
        emit TokenBound(token);
    }

    /// @inheritdoc IModularCompliance
    function unbindToken(address token) external {
        if (msg.sender != owner() && msg.sender != _binding.token) revert ComplianceUnauthorizedBinding(msg.sender);
        if (token != _binding.token || token == address(0)) revert ComplianceTokenNotBound(token);
        _binding.token = address(0);
        emit TokenUnbound(token);
    }

    /// @inheritdoc IModularCompliance
    function addModule(address module) external onlyOwner {
        if (module == address(0)) revert ComplianceInvalidAddress();
        if (_moduleBound[module]) revert ComplianceModuleAlreadyBound(module);
        uint256 count = _binding.moduleCount;
        if (count >= MAX_MODULES) revert ComplianceModuleLimit(MAX_MODULES);
        if (!IModule(module).isPlugAndPlay() && !IModule(module).canComplianceBind(address(this))) {
            revert ComplianceModuleCannotBind(module);
        }
        IModule(module).bindCompliance(address(this));
        _moduleAt[count] = Slot(module, _needsHooks(module));
        _binding.moduleCount = uint96(count + 1);
        _moduleBound[module] = true;
        emit ModuleAdded(module);
    }

    /// @inheritdoc IModularCompliance
    function removeModule(address module) external onlyOwner {
        if (!_moduleBound[module]) revert ComplianceModuleNotBound(module);
        IModule(module).unbindCompliance(address(this));
        uint256 last = _binding.moduleCount - 1;
        for (uint256 i; i <= last; ++i) {
            if (_moduleAt[i].module == module) {
                _moduleAt[i] = _moduleAt[last];
                delete _moduleAt[last];
                break;
            }
        }
        _binding.moduleCount = uint96(last);
        _moduleBound[module] = false;
        emit ModuleRemoved(module);
    }

    /// @inheritdoc IModularCompliance
    /// @dev Module setters accept calls from bound compliances only, keyed by the caller: this is how a rule is
    /// configured for this token. The module's own error is re-raised.
    function callModuleFunction(bytes calldata callData, address module) external onlyOwner {
        if (!_moduleBound[module]) revert ComplianceModuleNotBound(module);
        (bool ok, bytes memory result) = module.call(callData);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
        emit ModuleInteraction(module, bytes4(callData[:4]));
    }

    /// @inheritdoc IModularCompliance
    function transferred(address from, address to, uint256 amount) external onlyToken {
        uint256 length = _binding.moduleCount;
        for (uint256 i; i < length; ++i) {
            Slot memory slot = _moduleAt[i];
            if (slot.hooks) IModule(slot.module).moduleTransferAction(from, to, amount);
        }
    }

    /// @inheritdoc IModularCompliance
    function created(address to, uint256 amount) external onlyToken {
        uint256 length = _binding.moduleCount;
        for (uint256 i; i < length; ++i) {
            Slot memory slot = _moduleAt[i];
            if (slot.hooks) IModule(slot.module).moduleMintAction(to, amount);
        }
    }

    /// @inheritdoc IModularCompliance
    function destroyed(address from, uint256 amount) external onlyToken {
        uint256 length = _binding.moduleCount;
        for (uint256 i; i < length; ++i) {
            Slot memory slot = _moduleAt[i];
            if (slot.hooks) IModule(slot.module).moduleBurnAction(from, amount);
        }
    }

    /// @inheritdoc IModularCompliance
    function canTransfer(address from, address to, uint256 amount) external view returns (bool) {
        uint256 length = _binding.moduleCount;
        for (uint256 i; i < length; ++i) {
            if (!IModule(_moduleAt[i].module).moduleCheck(from, to, amount, address(this))) return false;
        }
        return true;
    }

    /// @inheritdoc IModularCompliance
    function getModules() external view returns (address[] memory modules) {
        uint256 length = _binding.moduleCount;
        modules = new address[](length);
        for (uint256 i; i < length; ++i) {
            modules[i] = _moduleAt[i].module;
        }
    }

    /// @dev A module that answers `needsHooks() == false` (a stateless rule of this project) is not called after
    /// moves; any other module, T-REX's included, always is.
    function _needsHooks(address module) private view returns (bool) {
        (bool ok, bytes memory result) = module.staticcall(abi.encodeWithSignature("needsHooks()"));
        return !(ok && result.length == 32 && abi.decode(result, (uint256)) == 0);
    }

    /// @inheritdoc IModularCompliance
    function getTokenBound() external view returns (address) {
        return _binding.token;
    }

    /// @inheritdoc IModularCompliance
    function isModuleBound(address module) external view returns (bool) {
        return _moduleBound[module];
    }
}
