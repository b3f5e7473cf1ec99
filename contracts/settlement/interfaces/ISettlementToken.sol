// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/**
 * @title ISettlementToken
 * @notice The slice of an ERC-3643 security token that the settlement contracts use. Selectors are the
 * ERC-3643 ones, so the full AssetToken satisfies this interface as is.
 * @dev `mint` and `burn` are agent-only on the token: the contract calling them must be a token agent.
 * Every transfer, mint and burn runs the token's own identity and compliance checks and reverts with the
 * rule's error; the settlement contracts rely on that and never re-implement the rules.
 */
interface ISettlementToken is IERC20 {
    /// @notice Mint `amount` to `to` (agent only; `to` must pass the token's compliance).
    function mint(address to, uint256 amount) external;

    /// @notice Burn `amount` from `from` (agent only).
    function burn(address from, uint256 amount) external;

    /// @notice Whether the whole wallet `account` is frozen.
    function isFrozen(address account) external view returns (bool);

    /// @notice How many of `account`'s tokens are frozen (partial freeze).
    function getFrozenTokens(address account) external view returns (uint256);

    /// @notice Token decimals (ERC-20 metadata; ERC-3643 tokens expose it too).
    function decimals() external view returns (uint8);

    /// @notice Freeze `amount` more of `account`'s tokens (agent only): they stay in the wallet but cannot move.
    function freezePartialTokens(address account, uint256 amount) external;

    /// @notice Unfreeze `amount` of `account`'s frozen tokens (agent only).
    function unfreezePartialTokens(address account, uint256 amount) external;

    /// @notice Whether transfers are paused.
    function paused() external view returns (bool);

    /// @notice The compliance that rules the token's moves (answers {ITransferRules-canTransfer}).
    function compliance() external view returns (address);
}

