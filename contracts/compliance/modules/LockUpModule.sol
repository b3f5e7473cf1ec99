// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IModule} from "../../interfaces/IModule.sol";
import {IToken} from "../../interfaces/IToken.sol";
import {AbstractModule} from "./AbstractModule.sol";

/// @title Rule: subscribed tokens stay with the subscriber for `lockPeriod` seconds after the last subscription
/// @dev One lock per wallet (amount, end): a new subscription adds to the amount and restarts the period, which is
/// conservative and O(1). Forced transfers and burns shrink the lock to what is left. Frozen tokens do not count
/// towards the locked amount (a redemption escrow freezes what it will burn).
contract LockUpModule is AbstractModule {
    event LockPeriodSet(address indexed compliance, uint64 lockPeriod);
    event TokensLocked(address indexed compliance, address indexed wallet, uint256 amount, uint64 until);

    struct Lock {
        uint192 amount;
        uint64 until;
    }

    mapping(address => uint64) private _period;
    mapping(address => mapping(address => Lock)) private _locks;

    /// @notice Lock each subscription for `lockPeriod` seconds (bound compliance only).
    function setLockPeriod(uint64 lockPeriod_) external onlyBoundCompliance {
        _period[msg.sender] = lockPeriod_;
        emit LockPeriodSet(msg.sender, lockPeriod_);
    }

    /// @notice The period under `compliance`.
    function lockPeriod(address compliance) external view returns (uint64) {
        return _period[compliance];
    }

    /// @notice The amount of `wallet` still locked under `compliance` and when the lock ends.
    function lockOf(address compliance, address wallet) public view returns (uint256 amount, uint64 until) {
        Lock memory lock = _locks[compliance][wallet];
        if (lock.until <= block.timestamp) return (0, 0);
        return (lock.amount, lock.until);
    }

    /// @inheritdoc IModule
    function moduleCheck(address from, address, uint256 value, address compliance) external view returns (bool) {
        if (from == address(0)) return true;
        (uint256 locked,) = lockOf(compliance, from);
        if (locked == 0) return true;
        // frozen tokens (e.g. escrowed for a redemption) are on their way out: they cannot cover the lock
        IToken token = _token(compliance);
        uint256 balance = token.balanceOf(from);
        uint256 frozen = token.getFrozenTokens(from);
        return balance > frozen && balance - frozen >= locked + value;
    }

    /// @inheritdoc IModule
    function moduleMintAction(address to, uint256 value) external override onlyBoundCompliance {
        uint64 period = _period[msg.sender];
        if (period == 0 || value == 0) return;
        Lock storage lock = _locks[msg.sender][to];
        uint256 amount = lock.until > block.timestamp ? lock.amount + value : value;
        uint64 until = uint64(block.timestamp) + period;
        lock.amount = uint192(amount);
        lock.until = until;
        emit TokensLocked(msg.sender, to, amount, until);
    }

    /// @inheritdoc IModule
    function moduleTransferAction(address from, address, uint256) external override onlyBoundCompliance {
        _shrink(from);
    }

    /// @inheritdoc IModule
    function moduleBurnAction(address from, uint256) external override onlyBoundCompliance {
        _shrink(from);
    }

    /// @inheritdoc IModule
    function name() external pure returns (string memory) {
        return "LockUpModule";
    }

    function _shrink(address wallet) private {
        Lock storage lock = _locks[msg.sender][wallet];
        if (lock.until <= block.timestamp) return;
        uint256 balance = _token(msg.sender).balanceOf(wallet);
        if (balance < lock.amount) {
            lock.amount = uint192(balance);
            emit TokensLocked(msg.sender, wallet, balance, lock.until);
        }
    }
}
