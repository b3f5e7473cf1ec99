// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IToken} from "../interfaces/IToken.sol";
import {IIdentity} from "../interfaces/IIdentity.sol";
import {IIdentityRegistry} from "../interfaces/IIdentityRegistry.sol";
import {IModularCompliance} from "../interfaces/IModularCompliance.sol";
import {IVerificationCache} from "../interfaces/IVerificationCache.sol";
import {IRevenueHook} from "../settlement/interfaces/IRevenueHook.sol";
import {AgentRole} from "./AgentRole.sol";

/// @title ERC-3643 permissioned asset token
/// @notice An ERC-20 that moves only to verified investors and only when every compliance rule agrees. Agents mint,
/// burn, freeze, force transfers and recover lost wallets; the owner wires the registry and compliance.
/// @dev A holder's balance, frozen amount and frozen flag share one storage slot, so a transfer reads two slots
/// for its two parties. Verification goes through the registry's `verify`, which caches provably-current results.
/// Free balance = balance - frozen tokens. Every state change funnels through `_move`, `_mint` or `_burn`.
contract AssetToken is AgentRole, IToken, IERC20Metadata, IERC20Errors {
    /// @dev Transfers are paused.
    error EnforcedPause();
    /// @dev Transfers are not paused.
    error ExpectedPause();
    /// @dev `wallet` is frozen.
    error TokenWalletFrozen(address wallet);
    /// @dev `wallet` has only `free` unfrozen tokens, `needed` asked.
    error TokenInsufficientFreeBalance(address wallet, uint256 free, uint256 needed);
    /// @dev `to` is not a verified investor.
    error TokenRecipientNotVerified(address to);
    /// @dev A compliance rule refuses moving `amount` from `from` to `to`.
    error TokenTransferNotCompliant(address from, address to, uint256 amount);
    /// @dev The zero address was given.
    error TokenInvalidAddress();
    /// @dev An empty name or symbol.
    error TokenEmptyString();
    /// @dev Batch arrays differ in length.
    error TokenLengthMismatch(uint256 first, uint256 second);
    /// @dev Supply may not exceed 2^128 - 1; `supply` would.
    error TokenSupplyOverflow(uint256 supply);
    /// @dev Freezing `amount` more would exceed the `balance` of `wallet`.
    error TokenFreezeExceedsBalance(address wallet, uint256 balance, uint256 frozenAfter);
    /// @dev `wallet` has only `frozen` tokens frozen, `amount` asked.
    error TokenUnfreezeExceedsFrozen(address wallet, uint256 frozen, uint256 amount);
    /// @dev `lostWallet` holds nothing.
    error TokenNothingToRecover(address lostWallet);
    /// @dev `newWallet` is not a management key of `onchainID`.
    error TokenRecoveryNotAuthorized(address newWallet, address onchainID);
    /// @dev `wallet` is registered to `registered`, not to `onchainID`.
    error TokenRecoveryIdentityMismatch(address wallet, address registered, address onchainID);
    /// @dev Recovery onto the lost wallet itself (`wallet`) would delete the balance it credits.
    error TokenRecoverySameWallet(address wallet);

    /// @notice The revenue distributor told of every balance change is now `hook` (zero: none).
    event RevenueHookSet(address indexed hook);

    struct Account {
        uint128 balance;
        uint120 frozenTokens;
        bool frozen;
    }

    string private constant VERSION = "1.0.0";

    IIdentityRegistry private _registry;
    bool private _paused;
    uint8 private immutable _decimals;
    IModularCompliance private _compliance;
    uint256 private _totalSupply;
    mapping(address => Account) private _accounts;
    mapping(address => mapping(address => uint256)) private _allowances;
    address private _onchainID;
    string private _name;
    string private _symbol;
    IRevenueHook private _revenueHook;

    constructor(
        string memory name_,
        string memory symbol_,
        uint8 decimals_,
        address identityRegistry_,
        address compliance_,
        address onchainID_,
        address initialOwner
    ) AgentRole(initialOwner) {
        if (bytes(name_).length == 0 || bytes(symbol_).length == 0) revert TokenEmptyString();
        _name = name_;
        _symbol = symbol_;
        _decimals = decimals_;
        _onchainID = onchainID_;
        _setIdentityRegistry(identityRegistry_);
        _setCompliance(compliance_);
        emit UpdatedTokenInformation(name_, symbol_, decimals_, VERSION, onchainID_);
    }

    // -- ERC-20 -------------------------------------------------------------------------------

    /// @inheritdoc IERC20
    /// @dev Needs: not paused, neither party frozen, enough free balance, a verified receiver, compliance.
    function transfer(address to, uint256 amount) external returns (bool) {
        _transfer(msg.sender, to, amount);
        return true;
    }

    /// @inheritdoc IERC20
    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = _allowances[from][msg.sender];
        if (allowed != type(uint256).max) {
            if (allowed < amount) revert ERC20InsufficientAllowance(msg.sender, allowed, amount);
            unchecked {
                _allowances[from][msg.sender] = allowed - amount;
            }
        }
        _transfer(from, to, amount);
        return true;
    }

    /// @inheritdoc IERC20
    function approve(address spender, uint256 amount) external returns (bool) {
        if (spender == address(0)) revert ERC20InvalidSpender(spender);
        _allowances[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    /// @inheritdoc IERC20
    function totalSupply() external view returns (uint256) {
        return _totalSupply;
    }

    /// @inheritdoc IERC20
    function balanceOf(address account) external view returns (uint256) {
        return _accounts[account].balance;
    }

    /// @inheritdoc IERC20
    function allowance(address owner_, address spender) external view returns (uint256) {
        return _allowances[owner_][spender];
    }

    /// @inheritdoc IToken
    function batchTransfer(address[] calldata toList, uint256[] calldata amounts) external {
        _sameLength(toList.length, amounts.length);
        for (uint256 i; i < toList.length; ++i) {
            _transfer(msg.sender, toList[i], amounts[i]);
        }
    }

    // -- agent operations -----------------------------------------------------------------------

    /// @inheritdoc IToken
    function mint(address to, uint256 amount) external onlyAgent {
        _mint(to, amount);
    }

    /// @inheritdoc IToken
    function batchMint(address[] calldata toList, uint256[] calldata amounts) external onlyAgent {
        _sameLength(toList.length, amounts.length);
        for (uint256 i; i < toList.length; ++i) {
            _mint(toList[i], amounts[i]);
        }
    }

    /// @inheritdoc IToken
    function burn(address userAddress, uint256 amount) external onlyAgent {
        _burn(userAddress, amount);
    }

    /// @inheritdoc IToken
    function batchBurn(address[] calldata userAddresses, uint256[] calldata amounts) external onlyAgent {
        _sameLength(userAddresses.length, amounts.length);
        for (uint256 i; i < userAddresses.length; ++i) {
            _burn(userAddresses[i], amounts[i]);
        }
    }

    /// @inheritdoc IToken
    /// @dev Ignores pause, frozen flags and compliance checks; the receiver must still be verified.
    function forcedTransfer(address from, address to, uint256 amount) external onlyAgent returns (bool) {
        _forcedTransfer(from, to, amount);
        return true;
    }

    /// @inheritdoc IToken
    function batchForcedTransfer(address[] calldata fromList, address[] calldata toList, uint256[] calldata amounts) external onlyAgent {
        _sameLength(fromList.length, toList.length);
        _sameLength(fromList.length, amounts.length);
        for (uint256 i; i < fromList.length; ++i) {
            _forcedTransfer(fromList[i], toList[i], amounts[i]);
        }
    }

    /// @inheritdoc IToken
    function setAddressFrozen(address userAddress, bool freeze) external onlyAgent {
        _setFrozen(userAddress, freeze);
    }

    /// @inheritdoc IToken
    function batchSetAddressFrozen(address[] calldata userAddresses, bool[] calldata freeze) external onlyAgent {
        _sameLength(userAddresses.length, freeze.length);
        for (uint256 i; i < userAddresses.length; ++i) {
            _setFrozen(userAddresses[i], freeze[i]);
        }
    }

    /// @inheritdoc IToken
    function freezePartialTokens(address userAddress, uint256 amount) external onlyAgent {
        _freezeTokens(userAddress, amount);
    }

    /// @inheritdoc IToken
    function batchFreezePartialTokens(address[] calldata userAddresses, uint256[] calldata amounts) external onlyAgent {
        _sameLength(userAddresses.length, amounts.length);
        for (uint256 i; i < userAddresses.length; ++i) {
            _freezeTokens(userAddresses[i], amounts[i]);
        }
    }

    /// @inheritdoc IToken
    function unfreezePartialTokens(address userAddress, uint256 amount) external onlyAgent {
        _unfreezeTokens(userAddress, amount);
    }

    /// @inheritdoc IToken
    function batchUnfreezePartialTokens(address[] calldata userAddresses, uint256[] calldata amounts) external onlyAgent {
        _sameLength(userAddresses.length, amounts.length);
        for (uint256 i; i < userAddresses.length; ++i) {
            _unfreezeTokens(userAddresses[i], amounts[i]);
        }
    }

    /// @inheritdoc IToken
    function pause() external onlyAgent {
        if (_paused) revert EnforcedPause();
        _paused = true;
        emit Paused(msg.sender);
    }

    /// @inheritdoc IToken
    function unpause() external onlyAgent {
        if (!_paused) revert ExpectedPause();
        _paused = false;
        emit Unpaused(msg.sender);
    }

    /// @inheritdoc IToken
    /// @dev `newWallet` must be a management key of `investorOnchainID`, and `lostWallet` (if still registered)
    /// a wallet of it. The whole balance, the frozen amount and the frozen flag move; the new wallet is registered
    /// with the lost wallet's country (this token must be an agent of its identity registry) and the lost one removed.
    /// `newWallet == lostWallet` is refused: the final `delete` would wipe the credited balance.
    function recoveryAddress(address lostWallet, address newWallet, address investorOnchainID) external onlyAgent returns (bool) {
        Account memory lost = _accounts[lostWallet];
        if (lost.balance == 0) revert TokenNothingToRecover(lostWallet);
        if (newWallet == address(0)) revert TokenInvalidAddress();
        if (newWallet == lostWallet) revert TokenRecoverySameWallet(newWallet);
        if (!IIdentity(investorOnchainID).keyHasPurpose(keccak256(abi.encode(newWallet)), 1)) {
            revert TokenRecoveryNotAuthorized(newWallet, investorOnchainID);
        }
        IIdentityRegistry registry = _registry;
        _requireIdentity(registry, lostWallet, investorOnchainID);
        bool lostRegistered = registry.contains(lostWallet);
        if (registry.contains(newWallet)) {
            _requireIdentity(registry, newWallet, investorOnchainID);
        } else {
            registry.registerIdentity(newWallet, IIdentity(investorOnchainID), registry.investorCountry(lostWallet));
        }

        _notifyRevenueHook(lostWallet, newWallet);
        Account storage next = _accounts[newWallet];
        next.balance += lost.balance;
        next.frozenTokens += lost.frozenTokens;
        delete _accounts[lostWallet];
        emit Transfer(lostWallet, newWallet, lost.balance);
        if (lost.frozenTokens != 0) {
            emit TokensUnfrozen(lostWallet, lost.frozenTokens);
            emit TokensFrozen(newWallet, lost.frozenTokens);
        }
        if (lost.frozen) {
            emit AddressFrozen(lostWallet, false, msg.sender);
            if (!next.frozen) {
                next.frozen = true;
                emit AddressFrozen(newWallet, true, msg.sender);
            }
        }
        _compliance.transferred(lostWallet, newWallet, lost.balance);
        if (lostRegistered) registry.deleteIdentity(lostWallet);
        emit RecoverySuccess(lostWallet, newWallet, investorOnchainID);
        return true;
    }

    // -- owner configuration --------------------------------------------------------------------

    /// @inheritdoc IToken
    function setName(string calldata name_) external onlyOwner {
        if (bytes(name_).length == 0) revert TokenEmptyString();
        _name = name_;
        emit UpdatedTokenInformation(name_, _symbol, _decimals, VERSION, _onchainID);
    }

    /// @inheritdoc IToken
    function setSymbol(string calldata symbol_) external onlyOwner {
        if (bytes(symbol_).length == 0) revert TokenEmptyString();
        _symbol = symbol_;
        emit UpdatedTokenInformation(_name, symbol_, _decimals, VERSION, _onchainID);
    }

    /// @inheritdoc IToken
    function setOnchainID(address onchainID_) external onlyOwner {
        _onchainID = onchainID_;
        emit UpdatedTokenInformation(_name, _symbol, _decimals, VERSION, onchainID_);
    }

    /// @inheritdoc IToken
    function setIdentityRegistry(address identityRegistry_) external onlyOwner {
        _setIdentityRegistry(identityRegistry_);
    }

    /// @inheritdoc IToken
    /// @dev Unbinds the previous compliance; the new one's owner must bind it to this token (`bindToken`).
    function setCompliance(address compliance_) external onlyOwner {
        _setCompliance(compliance_);
    }

    /**
     * @notice Set the revenue distributor that must see every balance change (zero to stop).
     * @dev The hook is called before balances change on mint, burn, transfers, forced transfers and recovery,
     * so revenue accrues at the old balances; a reverting hook reverts the balance change. Never change it
     * while revenue is outstanding.
     */
    function setRevenueHook(address hook) external onlyOwner {
        _revenueHook = IRevenueHook(hook);
        emit RevenueHookSet(hook);
    }

    /// @notice The revenue distributor told of every balance change (zero: none).
    function revenueHook() external view returns (address) {
        return address(_revenueHook);
    }

    // -- views ----------------------------------------------------------------------------------

    /// @inheritdoc IToken
    function name() external view override(IToken, IERC20Metadata) returns (string memory) {
        return _name;
    }

    /// @inheritdoc IToken
    function symbol() external view override(IToken, IERC20Metadata) returns (string memory) {
        return _symbol;
    }

    /// @inheritdoc IToken
    function decimals() external view override(IToken, IERC20Metadata) returns (uint8) {
        return _decimals;
    }

    /// @inheritdoc IToken
    function onchainID() external view returns (address) {
        return _onchainID;
    }

    /// @inheritdoc IToken
    function version() external pure returns (string memory) {
        return VERSION;
    }

    /// @inheritdoc IToken
    function identityRegistry() external view returns (IIdentityRegistry) {
        return _registry;
    }

    /// @inheritdoc IToken
    function compliance() external view returns (IModularCompliance) {
        return _compliance;
    }

    /// @inheritdoc IToken
    function paused() external view returns (bool) {
        return _paused;
    }

    /// @inheritdoc IToken
    function isFrozen(address userAddress) external view returns (bool) {
        return _accounts[userAddress].frozen;
    }

    /// @inheritdoc IToken
    function getFrozenTokens(address userAddress) external view returns (uint256) {
        return _accounts[userAddress].frozenTokens;
    }

    // -- internal -------------------------------------------------------------------------------

    function _transfer(address from, address to, uint256 amount) private {
        if (_paused) revert EnforcedPause();
        if (to == address(0)) revert ERC20InvalidReceiver(to);
        Account memory sender = _accounts[from];
        if (sender.frozen) revert TokenWalletFrozen(from);
        if (_accounts[to].frozen) revert TokenWalletFrozen(to);
        if (amount > sender.balance) revert ERC20InsufficientBalance(from, sender.balance, amount);
        uint256 free = sender.balance - sender.frozenTokens;
        if (amount > free) revert TokenInsufficientFreeBalance(from, free, amount);
        if (!IVerificationCache(address(_registry)).verify(to)) revert TokenRecipientNotVerified(to);
        IModularCompliance rules = _compliance;
        if (!rules.canTransfer(from, to, amount)) revert TokenTransferNotCompliant(from, to, amount);
        _move(from, to, amount);
        rules.transferred(from, to, amount);
    }

    function _forcedTransfer(address from, address to, uint256 amount) private {
        if (to == address(0)) revert ERC20InvalidReceiver(to);
        _spendFrozenIfNeeded(from, amount);
        if (!IVerificationCache(address(_registry)).verify(to)) revert TokenRecipientNotVerified(to);
        _move(from, to, amount);
        _compliance.transferred(from, to, amount);
    }

    function _mint(address to, uint256 amount) private {
        if (to == address(0)) revert ERC20InvalidReceiver(to);
        if (!IVerificationCache(address(_registry)).verify(to)) revert TokenRecipientNotVerified(to);
        IModularCompliance rules = _compliance;
        if (!rules.canTransfer(address(0), to, amount)) revert TokenTransferNotCompliant(address(0), to, amount);
        uint256 supply = _totalSupply + amount;
        if (supply > type(uint128).max) revert TokenSupplyOverflow(supply);
        _notifyRevenueHook(address(0), to);
        _totalSupply = supply;
        unchecked {
            _accounts[to].balance += uint128(amount);
        }
        emit Transfer(address(0), to, amount);
        rules.created(to, amount);
    }

    function _burn(address from, uint256 amount) private {
        _spendFrozenIfNeeded(from, amount);
        _notifyRevenueHook(from, address(0));
        unchecked {
            _accounts[from].balance -= uint128(amount);
            _totalSupply -= amount;
        }
        emit Transfer(from, address(0), amount);
        _compliance.destroyed(from, amount);
    }

    /// @dev Agents may take frozen tokens: the part of `amount` beyond the free balance is unfrozen first.
    function _spendFrozenIfNeeded(address from, uint256 amount) private {
        Account memory account = _accounts[from];
        if (amount > account.balance) revert ERC20InsufficientBalance(from, account.balance, amount);
        uint256 free = account.balance - account.frozenTokens;
        if (amount > free) {
            uint256 unfreeze = amount - free;
            _accounts[from].frozenTokens = uint120(account.frozenTokens - unfreeze);
            emit TokensUnfrozen(from, unfreeze);
        }
    }

    /// @dev Balances fit in 128 bits because the supply does; `from == to` leaves the balance unchanged.
    function _move(address from, address to, uint256 amount) private {
        _notifyRevenueHook(from, to);
        unchecked {
            _accounts[from].balance -= uint128(amount);
            _accounts[to].balance += uint128(amount);
        }
        emit Transfer(from, to, amount);
    }

    /// @dev Before any balance changes: the distributor settles both holders at their old balances.
    function _notifyRevenueHook(address from, address to) private {
        IRevenueHook hook = _revenueHook;
        if (address(hook) != address(0)) hook.onBalanceChange(from, to);
    }

    function _setFrozen(address wallet, bool freeze) private {
        _accounts[wallet].frozen = freeze;
        emit AddressFrozen(wallet, freeze, msg.sender);
    }

    function _freezeTokens(address wallet, uint256 amount) private {
        Account memory account = _accounts[wallet];
        uint256 frozenAfter = uint256(account.frozenTokens) + amount;
        if (frozenAfter > account.balance) revert TokenFreezeExceedsBalance(wallet, account.balance, frozenAfter);
        _accounts[wallet].frozenTokens = uint120(frozenAfter);
        emit TokensFrozen(wallet, amount);
    }

    function _unfreezeTokens(address wallet, uint256 amount) private {
        uint256 frozen = _accounts[wallet].frozenTokens;
        if (amount > frozen) revert TokenUnfreezeExceedsFrozen(wallet, frozen, amount);
        _accounts[wallet].frozenTokens = uint120(frozen - amount);
        emit TokensUnfrozen(wallet, amount);
    }

    function _setIdentityRegistry(address registry) private {
        if (registry == address(0)) revert TokenInvalidAddress();
        _registry = IIdentityRegistry(registry);
        emit IdentityRegistryAdded(registry);
    }

    /// @dev The compliance's owner binds it to this token (`bindToken` is owner-gated); until then every move
    /// reverts in the compliance's `onlyToken` hooks, so a forgotten binding fails closed.
    function _setCompliance(address compliance_) private {
        if (compliance_ == address(0)) revert TokenInvalidAddress();
        IModularCompliance old = _compliance;
        if (address(old) != address(0) && old.getTokenBound() == address(this)) old.unbindToken(address(this));
        _compliance = IModularCompliance(compliance_);
        emit ComplianceAdded(compliance_);
    }

    function _requireIdentity(IIdentityRegistry registry, address wallet, address onchainID_) private view {
        address registered = address(registry.identity(wallet));
        if (registered != address(0) && registered != onchainID_) {
            revert TokenRecoveryIdentityMismatch(wallet, registered, onchainID_);
        }
    }

    function _sameLength(uint256 first, uint256 second) private pure {
        if (first != second) revert TokenLengthMismatch(first, second);
    }
}
