// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IRevenueHook} from "../settlement/interfaces/IRevenueHook.sol";

/**
 * @title SecurityTokenMock
 * @notice TEST DOUBLE of an ERC-3643 security token for the settlement tests. Not for deployment.
 * @dev Models only what settlement depends on: agent-only mint/burn/forcedTransfer, a per-wallet frozen
 * flag, one compliance rule (recipients must be on a `verified` allow-list) and the revenue hook, called
 * in {_update} before balances change. Decimals are a constructor argument (0 is usual for ERC-3643).
 */
contract SecurityTokenMock is ERC20, Ownable2Step {
    /// @dev `caller` is not an agent of the token.
    error CallerNotAgent(address caller);
    /// @dev The compliance rule: `recipient` is not a verified investor.
    error RecipientNotVerified(address recipient);
    /// @dev `account` is frozen and cannot send or receive.
    error WalletFrozen(address account);
    /// @dev `account` tried to move `amount` but only `free` tokens are not frozen.
    error InsufficientFreeTokens(address account, uint256 free, uint256 amount);

    event AgentSet(address indexed agent, bool enabled);
    event VerifiedSet(address indexed account, bool verified);
    event AddressFrozen(address indexed account, bool frozen);
    event TokensFrozen(address indexed account, uint256 amount);
    event RevenueHookSet(address indexed hook);

    mapping(address => bool) public isAgent;
    mapping(address => bool) public verified;
    /// @notice Wallets whose tokens a lock-up holds.
    mapping(address => bool) public locked;
    /// @notice Whether ordinary transfers are paused.
    bool public paused;
    mapping(address => bool) private _frozen;
    mapping(address => uint256) private _frozenTokens;
    /// @notice The distributor notified before every balance change (zero = none).
    IRevenueHook public revenueHook;

    bool private _forced;
    uint8 private immutable _decimals;

    modifier onlyAgent() {
        if (!isAgent[msg.sender]) revert CallerNotAgent(msg.sender);
        _;
    }

    constructor(address owner_, uint8 decimals_) ERC20("Solar Asset Mock", "SAM") Ownable(owner_) {
        _decimals = decimals_;
        isAgent[owner_] = true;
        emit AgentSet(owner_, true);
    }

    /// @notice Grant or revoke the agent role. Owner only.
    function setAgent(address agent, bool enabled) external onlyOwner {
        isAgent[agent] = enabled;
        emit AgentSet(agent, enabled);
    }

    /// @notice Mark `account` verified (or not). Agent only.
    function setVerified(address account, bool ok) external onlyAgent {
        verified[account] = ok;
        emit VerifiedSet(account, ok);
    }

    /// @notice Freeze or unfreeze the whole wallet. Agent only.
    function setAddressFrozen(address account, bool frozen) external onlyAgent {
        _frozen[account] = frozen;
        emit AddressFrozen(account, frozen);
    }

    /// @notice Set the number of frozen tokens of `account`. Agent only.
    function setFrozenTokens(address account, uint256 amount) external onlyAgent {
        _frozenTokens[account] = amount;
        emit TokensFrozen(account, amount);
    }

    /// @notice Freeze `amount` more tokens of `account` (what a redemption escrow does). Agent only.
    function freezePartialTokens(address account, uint256 amount) external onlyAgent {
        if (_frozenTokens[account] + amount > balanceOf(account)) revert InsufficientFreeTokens(account, balanceOf(account) - _frozenTokens[account], amount);
        _frozenTokens[account] += amount;
        emit TokensFrozen(account, _frozenTokens[account]);
    }

    /// @notice Unfreeze `amount` of `account`'s frozen tokens. Agent only.
    function unfreezePartialTokens(address account, uint256 amount) external onlyAgent {
        if (amount > _frozenTokens[account]) revert InsufficientFreeTokens(account, _frozenTokens[account], amount);
        _frozenTokens[account] -= amount;
        emit TokensFrozen(account, _frozenTokens[account]);
    }

    /// @notice Pause or resume ordinary transfers. Agent only.
    function setPaused(bool paused_) external onlyAgent {
        paused = paused_;
    }

    /// @notice Lock (or release) every token of `account` as a lock-up rule would. Agent only.
    function setLocked(address account, bool locked_) external onlyAgent {
        locked[account] = locked_;
    }

    /// @notice This double is its own compliance.
    function compliance() external view returns (address) {
        return address(this);
    }

    /// @notice The mock's lock-up rule: a locked wallet cannot move tokens.
    function canTransfer(address from, address, uint256) external view returns (bool) {
        return !locked[from];
    }

    /// @notice Set the revenue hook. Owner only.
    function setRevenueHook(IRevenueHook hook) external onlyOwner {
        revenueHook = hook;
        emit RevenueHookSet(address(hook));
    }

    /// @notice Mint to a verified investor. Agent only.
    function mint(address to, uint256 amount) external onlyAgent {
        _mint(to, amount);
    }

    /// @notice Burn from any wallet (frozen or not). Agent only.
    function burn(address from, uint256 amount) external onlyAgent {
        _forced = true;
        _burn(from, amount);
        _forced = false;
    }

    /// @notice Move tokens ignoring freezes (recovery, court order); the recipient must be verified. Agent only.
    function forcedTransfer(address from, address to, uint256 amount) external onlyAgent returns (bool) {
        _forced = true;
        _transfer(from, to, amount);
        _forced = false;
        return true;
    }

    /// @notice Whether the wallet is frozen.
    function isFrozen(address account) external view returns (bool) {
        return _frozen[account];
    }

    /// @notice Frozen token amount of `account`.
    function getFrozenTokens(address account) external view returns (uint256) {
        return _frozenTokens[account];
    }

    /// @notice The decimals chosen at deployment.
    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    /// @dev The hook runs first (old balances), then the rules, then the balance change.
    function _update(address from, address to, uint256 value) internal override {
        if (address(revenueHook) != address(0)) revenueHook.onBalanceChange(from, to);
        if (to != address(0) && !verified[to]) revert RecipientNotVerified(to);
        if (!_forced) {
            if (paused && from != address(0) && to != address(0)) revert WalletFrozen(from);
            if (from != address(0)) {
                if (_frozen[from]) revert WalletFrozen(from);
                uint256 bal = balanceOf(from);
                uint256 free = bal > _frozenTokens[from] ? bal - _frozenTokens[from] : 0;
                if (value > free) revert InsufficientFreeTokens(from, free, value);
            }
            if (to != address(0) && _frozen[to]) revert WalletFrozen(to);
        }
        super._update(from, to, value);
    }
}
