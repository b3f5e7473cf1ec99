// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IIdentityRegistry} from "./IIdentityRegistry.sol";
import {IModularCompliance} from "./IModularCompliance.sol";

/// @title ERC-3643 permissioned token
interface IToken is IERC20 {
    event UpdatedTokenInformation(string indexed newName, string indexed newSymbol, uint8 newDecimals, string newVersion, address indexed newOnchainID);
    event IdentityRegistryAdded(address indexed identityRegistry);
    event ComplianceAdded(address indexed compliance);
    event RecoverySuccess(address indexed lostWallet, address indexed newWallet, address indexed investorOnchainID);
    event AddressFrozen(address indexed userAddress, bool indexed isFrozen, address indexed owner);
    event TokensFrozen(address indexed userAddress, uint256 amount);
    event TokensUnfrozen(address indexed userAddress, uint256 amount);
    event Paused(address userAddress);
    event Unpaused(address userAddress);

    /// @notice Rename the token (owner only).
    function setName(string calldata name) external;
    /// @notice Change the symbol (owner only).
    function setSymbol(string calldata symbol) external;
    /// @notice Set the token's own identity (owner only).
    function setOnchainID(address onchainID) external;
    /// @notice Stop investor transfers (agents only).
    function pause() external;
    /// @notice Resume investor transfers (agents only).
    function unpause() external;
    /// @notice Freeze or unfreeze a whole wallet (agents only).
    function setAddressFrozen(address userAddress, bool freeze) external;
    /// @notice Freeze `amount` of a wallet's tokens (agents only).
    function freezePartialTokens(address userAddress, uint256 amount) external;
    /// @notice Unfreeze `amount` of a wallet's tokens (agents only).
    function unfreezePartialTokens(address userAddress, uint256 amount) external;
    /// @notice Use another identity registry (owner only).
    function setIdentityRegistry(address identityRegistry) external;
    /// @notice Use another compliance (owner only).
    function setCompliance(address compliance) external;
    /// @notice Move tokens without the holder's consent, unfreezing as needed (agents only).
    function forcedTransfer(address from, address to, uint256 amount) external returns (bool);
    /// @notice Create tokens for a verified investor (agents only).
    function mint(address to, uint256 amount) external;
    /// @notice Destroy a holder's tokens, unfreezing as needed (agents only).
    function burn(address userAddress, uint256 amount) external;
    /// @notice Move a lost wallet's tokens and frozen state to a new wallet of the same identity (agents only).
    function recoveryAddress(address lostWallet, address newWallet, address investorOnchainID) external returns (bool);
    /// @notice Several transfers from the caller; all or none.
    function batchTransfer(address[] calldata toList, uint256[] calldata amounts) external;
    /// @notice Several forced transfers; all or none (agents only).
    function batchForcedTransfer(address[] calldata fromList, address[] calldata toList, uint256[] calldata amounts) external;
    /// @notice Several mints; all or none (agents only).
    function batchMint(address[] calldata toList, uint256[] calldata amounts) external;
    /// @notice Several burns; all or none (agents only).
    function batchBurn(address[] calldata userAddresses, uint256[] calldata amounts) external;
    /// @notice Several wallet freezes; all or none (agents only).
    function batchSetAddressFrozen(address[] calldata userAddresses, bool[] calldata freeze) external;
    /// @notice Several partial freezes; all or none (agents only).
    function batchFreezePartialTokens(address[] calldata userAddresses, uint256[] calldata amounts) external;
    /// @notice Several partial unfreezes; all or none (agents only).
    function batchUnfreezePartialTokens(address[] calldata userAddresses, uint256[] calldata amounts) external;

    /// @notice Decimals of the token.
    function decimals() external view returns (uint8);
    /// @notice Name of the token.
    function name() external view returns (string memory);
    /// @notice The token's own identity.
    function onchainID() external view returns (address);
    /// @notice Symbol of the token.
    function symbol() external view returns (string memory);
    /// @notice Implementation version.
    function version() external view returns (string memory);
    /// @notice The identity registry in use.
    function identityRegistry() external view returns (IIdentityRegistry);
    /// @notice The compliance in use.
    function compliance() external view returns (IModularCompliance);
    /// @notice Whether investor transfers are stopped.
    function paused() external view returns (bool);
    /// @notice Whether `userAddress` is frozen.
    function isFrozen(address userAddress) external view returns (bool);
    /// @notice The frozen part of `userAddress`'s balance.
    function getFrozenTokens(address userAddress) external view returns (uint256);
}
