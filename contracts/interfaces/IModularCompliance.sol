// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ERC-3643 modular compliance: a token's transfer rules as a list of modules
interface IModularCompliance {
    event ModuleInteraction(address indexed target, bytes4 selector);
    event TokenBound(address token);
    event TokenUnbound(address token);
    event ModuleAdded(address indexed module);
    event ModuleRemoved(address indexed module);

    /// @notice Bind `token` (owner only).
    function bindToken(address token) external;

    /// @notice Unbind `token` (owner or the bound token).
    function unbindToken(address token) external;

    /// @notice Add a rule (owner only).
    function addModule(address module) external;

    /// @notice Remove a rule (owner only).
    function removeModule(address module) external;

    /// @notice Call a configuration function of a bound module as this compliance (owner only).
    function callModuleFunction(bytes calldata callData, address module) external;

    /// @notice Tell every module about a transfer (bound token only).
    function transferred(address from, address to, uint256 amount) external;

    /// @notice Tell every module about a mint (bound token only).
    function created(address to, uint256 amount) external;

    /// @notice Tell every module about a burn (bound token only).
    function destroyed(address from, uint256 amount) external;

    /// @notice Whether every module allows moving `amount` from `from` to `to`.
    function canTransfer(address from, address to, uint256 amount) external view returns (bool);

    /// @notice The modules, in check order.
    function getModules() external view returns (address[] memory);

    /// @notice The bound token.
    function getTokenBound() external view returns (address);

    /// @notice Whether `module` is bound.
    function isModuleBound(address module) external view returns (bool);
}
