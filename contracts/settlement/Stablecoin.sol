// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";

/**
 * @title Stablecoin
 * @notice Fiat-backed USD stablecoin (6 decimals) modelled on Circle's USDC (FiatTokenV2_2), built on
 * OpenZeppelin Contracts 5: role-gated minting with per-minter allowances, blacklist, pause, token rescue,
 * EIP-2612 permit and EIP-3009 transfer/receive/cancel with authorization.
 * @dev Not upgradeable (no proxy). Every balance change goes through {_update} and every allowance change
 * through {_approve}; the pause and blacklist rules live in those two overrides, so transfer, transferFrom,
 * mint, burn, approve, permit and EIP-3009 all obey them without per-function checks.
 *
 * EIP-712 domain: name = token name, version = {EIP712_VERSION} ("1", fixed by OZ {ERC20Permit}; USDC
 * uses "2"), chainId and verifyingContract = this. Off-chain code should read {eip712Domain} (ERC-5267).
 *
 * Signatures (permit and EIP-3009, both the (v, r, s) and the `bytes` overloads) are checked with
 * {SignatureChecker}: ECDSA for EOAs, ERC-1271 for contract wallets. The (v, r, s) overloads pack the
 * signature as `abi.encodePacked(r, s, v)`, like USDC v2.2.
 */
contract Stablecoin is ERC20, ERC20Permit, Ownable2Step, Pausable {
    using SafeERC20 for IERC20;

    // ------------------------------------------------------------------ errors

    /// @dev `account` is blacklisted and cannot send, receive, approve, be approved or sign authorizations.
    error StablecoinBlacklisted(address account);
    /// @dev `caller` is not a configured minter.
    error StablecoinNotMinter(address caller);
    /// @dev `caller` is not the master minter.
    error StablecoinNotMasterMinter(address caller);
    /// @dev `caller` is not the pauser.
    error StablecoinNotPauser(address caller);
    /// @dev `caller` is not the blacklister.
    error StablecoinNotBlacklister(address caller);
    /// @dev `caller` is not the rescuer.
    error StablecoinNotRescuer(address caller);
    /// @dev `minter` tried to mint `needed` but only has `allowance` left.
    error StablecoinMintAllowanceExceeded(address minter, uint256 allowance, uint256 needed);
    /// @dev Mint and burn amounts must be greater than zero.
    error StablecoinZeroAmount();
    /// @dev The master minter role cannot be given to the zero address.
    error StablecoinInvalidMasterMinter(address account);
    /// @dev The pauser role cannot be given to the zero address.
    error StablecoinInvalidPauser(address account);
    /// @dev The blacklister role cannot be given to the zero address.
    error StablecoinInvalidBlacklister(address account);
    /// @dev The rescuer role cannot be given to the zero address.
    error StablecoinInvalidRescuer(address account);
    /// @dev EIP-3009: the authorization is only valid once `block.timestamp > validAfter`.
    error AuthorizationNotYetValid(uint256 validAfter);
    /// @dev EIP-3009: the authorization was only valid while `block.timestamp < validBefore`.
    error AuthorizationExpired(uint256 validBefore);
    /// @dev EIP-3009: `nonce` of `authorizer` was already used or canceled.
    error AuthorizationAlreadyUsed(address authorizer, bytes32 nonce);
    /// @dev EIP-3009: the signature is not valid for the authorizer (ECDSA or ERC-1271).
    error InvalidAuthorizationSignature();
    /// @dev EIP-3009: receiveWithAuthorization must be sent by the payee (`to`) to prevent front-running.
    error CallerMustBePayee(address caller, address payee);

    // ------------------------------------------------------------------ events

    event MinterConfigured(address indexed minter, uint256 minterAllowedAmount);
    event MinterRemoved(address indexed oldMinter);
    event Mint(address indexed minter, address indexed to, uint256 amount);
    event Burn(address indexed burner, uint256 amount);
    event Blacklisted(address indexed account);
    event UnBlacklisted(address indexed account);
    event MasterMinterChanged(address indexed newMasterMinter);
    event PauserChanged(address indexed newAddress);
    event BlacklisterChanged(address indexed newBlacklister);
    event RescuerChanged(address indexed newRescuer);
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);
    event AuthorizationCanceled(address indexed authorizer, bytes32 indexed nonce);

    // ------------------------------------------------------------------ constants and storage

    /// @notice EIP-712 domain version. Hard-coded to "1" by OpenZeppelin's ERC20Permit constructor.
    string public constant EIP712_VERSION = "1";

    bytes32 public constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    bytes32 public constant TRANSFER_WITH_AUTHORIZATION_TYPEHASH =
        keccak256(
            "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
        );
    bytes32 public constant RECEIVE_WITH_AUTHORIZATION_TYPEHASH =
        keccak256(
            "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
        );
    bytes32 public constant CANCEL_AUTHORIZATION_TYPEHASH =
        keccak256("CancelAuthorization(address authorizer,bytes32 nonce)");

    /// @notice Configures minters and their allowances.
    address public masterMinter;
    /// @notice Can pause and unpause the token.
    address public pauser;
    /// @notice Can blacklist and unblacklist accounts.
    address public blacklister;
    /// @notice Can rescue ERC-20 tokens sent to this contract by mistake.
    address public rescuer;

    mapping(address minter => bool) private _minters;
    mapping(address minter => uint256) private _minterAllowances;
    mapping(address account => bool) private _blacklisted;
    mapping(address authorizer => mapping(bytes32 nonce => bool used)) private _authorizationStates;

    // ------------------------------------------------------------------ modifiers

    modifier onlyMinters() {
        if (!_minters[_msgSender()]) revert StablecoinNotMinter(_msgSender());
        _;
    }

    modifier onlyMasterMinter() {
        if (_msgSender() != masterMinter) revert StablecoinNotMasterMinter(_msgSender());
        _;
    }

    modifier onlyPauser() {
        if (_msgSender() != pauser) revert StablecoinNotPauser(_msgSender());
        _;
    }

    modifier onlyBlacklister() {
        if (_msgSender() != blacklister) revert StablecoinNotBlacklister(_msgSender());
        _;
    }

    modifier onlyRescuer() {
        if (_msgSender() != rescuer) revert StablecoinNotRescuer(_msgSender());
        _;
    }

    // ------------------------------------------------------------------ constructor

    /**
     * @dev Role events are emitted here too, so an indexer can rebuild the role history from logs alone.
     * `tokenName` is also the EIP-712 domain name; it is immutable there, so it must never change.
     */
    constructor(
        string memory tokenName,
        string memory tokenSymbol,
        address initialOwner,
        address initialMasterMinter,
        address initialPauser,
        address initialBlacklister,
        address initialRescuer
    ) ERC20(tokenName, tokenSymbol) ERC20Permit(tokenName) Ownable(initialOwner) {
        _setMasterMinter(initialMasterMinter);
        _setPauser(initialPauser);
        _setBlacklister(initialBlacklister);
        _setRescuer(initialRescuer);
    }

    // ------------------------------------------------------------------ external: minting

    /**
     * @notice Make `minter` a minter allowed to mint up to `minterAllowedAmount` (replaces, does not add).
     * @dev Master minter only; reverts while paused, like USDC.
     */
    function configureMinter(
        address minter,
        uint256 minterAllowedAmount
    ) external whenNotPaused onlyMasterMinter returns (bool) {
        _minters[minter] = true;
        _minterAllowances[minter] = minterAllowedAmount;
        emit MinterConfigured(minter, minterAllowedAmount);
        return true;
    }

    /// @notice Revoke `minter` and zero its allowance. Master minter only; allowed while paused.
    function removeMinter(address minter) external onlyMasterMinter returns (bool) {
        _minters[minter] = false;
        _minterAllowances[minter] = 0;
        emit MinterRemoved(minter);
        return true;
    }

    /**
     * @notice Mint `amount` to `to`, spending the caller's minter allowance.
     * @dev Pause and blacklist (caller and `to`) are enforced in {_update}.
     */
    function mint(address to, uint256 amount) external onlyMinters returns (bool) {
        if (amount == 0) revert StablecoinZeroAmount();
        address minter = _msgSender();
        uint256 allowed = _minterAllowances[minter];
        if (amount > allowed) revert StablecoinMintAllowanceExceeded(minter, allowed, amount);
        unchecked {
            _minterAllowances[minter] = allowed - amount;
        }
        emit Mint(minter, to, amount);
        _mint(to, amount);
        return true;
    }

    /**
     * @notice Burn `amount` of the caller's own balance. Minters only.
     * @dev Does not restore minter allowance (same as USDC). Reverts with ERC20InsufficientBalance.
     */
    function burn(uint256 amount) external onlyMinters {
        if (amount == 0) revert StablecoinZeroAmount();
        emit Burn(_msgSender(), amount);
        _burn(_msgSender(), amount);
    }

    /// @notice Whether `account` is a configured minter.
    function isMinter(address account) external view returns (bool) {
        return _minters[account];
    }

    /// @notice How much `minter` may still mint.
    function minterAllowance(address minter) external view returns (uint256) {
        return _minterAllowances[minter];
    }

    // ------------------------------------------------------------------ external: blacklist, pause, rescue

    /// @notice Block `account` from sending, receiving, approving and signing authorizations. Blacklister only.
    function blacklist(address account) external onlyBlacklister {
        _blacklisted[account] = true;
        emit Blacklisted(account);
    }

    /// @notice Lift the blacklist on `account`. Blacklister only.
    function unBlacklist(address account) external onlyBlacklister {
        _blacklisted[account] = false;
        emit UnBlacklisted(account);
    }

    /// @notice Whether `account` is blacklisted.
    function isBlacklisted(address account) external view returns (bool) {
        return _blacklisted[account];
    }

    /// @notice Stop transfers, mint, burn, approvals, permit, EIP-3009 and configureMinter. Pauser only.
    function pause() external onlyPauser {
        _pause();
    }

    /// @notice Resume normal operation. Pauser only.
    function unpause() external onlyPauser {
        _unpause();
    }

    /**
     * @notice Send `amount` of `token` held by this contract to `to`. Rescuer only.
     * @dev SafeERC20 handles tokens that return no bool. Allowed while paused (unless `token` is this one).
     */
    function rescueERC20(IERC20 token, address to, uint256 amount) external onlyRescuer {
        token.safeTransfer(to, amount);
    }

    // ------------------------------------------------------------------ external: role management

    /// @notice Give the master minter role to `newMasterMinter`. Owner only.
    function updateMasterMinter(address newMasterMinter) external onlyOwner {
        _setMasterMinter(newMasterMinter);
    }

    /// @notice Give the pauser role to `newPauser`. Owner only.
    function updatePauser(address newPauser) external onlyOwner {
        _setPauser(newPauser);
    }

    /// @notice Give the blacklister role to `newBlacklister`. Owner only.
    function updateBlacklister(address newBlacklister) external onlyOwner {
        _setBlacklister(newBlacklister);
    }

    /// @notice Give the rescuer role to `newRescuer`. Owner only.
    function updateRescuer(address newRescuer) external onlyOwner {
        _setRescuer(newRescuer);
    }

    // ------------------------------------------------------------------ external: EIP-2612 / EIP-3009

    /**
     * @notice EIP-2612 permit with a `bytes` signature (65-byte ECDSA or any ERC-1271 blob).
     * @dev Uses the same nonces as {permit}. On failure reverts with ERC2612InvalidSigner(recovered, holder),
     * where `recovered` is the ECDSA-recovered address or zero (for an ERC-1271 holder it means nothing).
     */
    function permit(
        address holder,
        address spender,
        uint256 value,
        uint256 deadline,
        bytes calldata signature
    ) external {
        _permit(holder, spender, value, deadline, signature);
    }

    /**
     * @notice Execute a transfer signed by `from` (EIP-3009). Anyone may submit it.
     * @dev Valid only while validAfter < block.timestamp < validBefore; `nonce` is a random 32-byte value.
     */
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        _transferWithAuthorization(
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, abi.encodePacked(r, s, v)
        );
    }

    /// @notice Same as {transferWithAuthorization} with a `bytes` signature (ECDSA or ERC-1271).
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external {
        _transferWithAuthorization(
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, signature
        );
    }

    /**
     * @notice Execute a transfer signed by `from`; must be sent by the payee `to` (EIP-3009).
     * @dev The caller check stops a front-runner from executing the authorization outside the payee's own
     * transaction (e.g. a contract that pulls a deposit and then acts on it).
     */
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        if (to != _msgSender()) revert CallerMustBePayee(_msgSender(), to);
        _transferWithAuthorization(
            RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, abi.encodePacked(r, s, v)
        );
    }

    /// @notice Same as {receiveWithAuthorization} with a `bytes` signature (ECDSA or ERC-1271).
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external {
        if (to != _msgSender()) revert CallerMustBePayee(_msgSender(), to);
        _transferWithAuthorization(
            RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, signature
        );
    }

    /**
     * @notice Invalidate an unused authorization nonce of `authorizer`, signed by `authorizer` (EIP-3009).
     * @dev Reverts while paused or if `authorizer` is blacklisted.
     */
    function cancelAuthorization(address authorizer, bytes32 nonce, uint8 v, bytes32 r, bytes32 s) external {
        _cancelAuthorization(authorizer, nonce, abi.encodePacked(r, s, v));
    }

    /// @notice Same as {cancelAuthorization} with a `bytes` signature (ECDSA or ERC-1271).
    function cancelAuthorization(address authorizer, bytes32 nonce, bytes calldata signature) external {
        _cancelAuthorization(authorizer, nonce, signature);
    }

    /// @notice Whether `nonce` of `authorizer` has been used or canceled (EIP-3009).
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool) {
        return _authorizationStates[authorizer][nonce];
    }

    // ------------------------------------------------------------------ public

    /// @notice Token decimals: 6, like USD Coin.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /**
     * @notice EIP-2612 permit with a (v, r, s) signature.
     * @dev Overrides OZ to go through {SignatureChecker} so ERC-1271 wallets work too (USDC v2.2 behaviour).
     */
    function permit(
        address holder,
        address spender,
        uint256 value,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) public override {
        _permit(holder, spender, value, deadline, abi.encodePacked(r, s, v));
    }

    // ------------------------------------------------------------------ internal

    /// @dev Single choke point for balances: blocks everything while paused and any blacklisted party
    /// (sender, recipient, or the caller, which covers transferFrom spenders, minters and relayers).
    function _update(address from, address to, uint256 value) internal override whenNotPaused {
        _requireNotBlacklisted(_msgSender());
        if (from != address(0)) _requireNotBlacklisted(from);
        if (to != address(0)) _requireNotBlacklisted(to);
        super._update(from, to, value);
    }

    /// @dev Single choke point for allowances (approve, permit, transferFrom's allowance decrease).
    function _approve(address holder, address spender, uint256 value, bool emitEvent) internal override whenNotPaused {
        _requireNotBlacklisted(holder);
        _requireNotBlacklisted(spender);
        super._approve(holder, spender, value, emitEvent);
    }

    function _permit(address holder, address spender, uint256 value, uint256 deadline, bytes memory signature) internal {
        if (block.timestamp > deadline) revert ERC2612ExpiredSignature(deadline);
        bytes32 hash = _hashTypedDataV4(
            keccak256(abi.encode(PERMIT_TYPEHASH, holder, spender, value, _useNonce(holder), deadline))
        );
        if (!SignatureChecker.isValidSignatureNow(holder, hash, signature)) {
            (address recovered, , ) = ECDSA.tryRecover(hash, signature);
            revert ERC2612InvalidSigner(recovered, holder);
        }
        _approve(holder, spender, value);
    }

    /// @dev Checks in USDC order: time window, unused nonce, signature; then burns the nonce and transfers.
    function _transferWithAuthorization(
        bytes32 typeHash,
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) internal {
        if (block.timestamp <= validAfter) revert AuthorizationNotYetValid(validAfter);
        if (block.timestamp >= validBefore) revert AuthorizationExpired(validBefore);
        _requireUnusedAuthorization(from, nonce);
        _requireValidSignature(
            from,
            keccak256(abi.encode(typeHash, from, to, value, validAfter, validBefore, nonce)),
            signature
        );
        _authorizationStates[from][nonce] = true;
        emit AuthorizationUsed(from, nonce);
        _transfer(from, to, value);
    }

    function _cancelAuthorization(address authorizer, bytes32 nonce, bytes memory signature) internal whenNotPaused {
        _requireNotBlacklisted(authorizer);
        _requireUnusedAuthorization(authorizer, nonce);
        _requireValidSignature(authorizer, keccak256(abi.encode(CANCEL_AUTHORIZATION_TYPEHASH, authorizer, nonce)), signature);
        _authorizationStates[authorizer][nonce] = true;
        emit AuthorizationCanceled(authorizer, nonce);
    }

    function _requireUnusedAuthorization(address authorizer, bytes32 nonce) internal view {
        if (_authorizationStates[authorizer][nonce]) revert AuthorizationAlreadyUsed(authorizer, nonce);
    }

    function _requireValidSignature(address signer, bytes32 structHash, bytes memory signature) internal view {
        if (!SignatureChecker.isValidSignatureNow(signer, _hashTypedDataV4(structHash), signature)) {
            revert InvalidAuthorizationSignature();
        }
    }

    function _requireNotBlacklisted(address account) internal view {
        if (_blacklisted[account]) revert StablecoinBlacklisted(account);
    }

    function _setMasterMinter(address account) internal {
        if (account == address(0)) revert StablecoinInvalidMasterMinter(account);
        masterMinter = account;
        emit MasterMinterChanged(account);
    }

    function _setPauser(address account) internal {
        if (account == address(0)) revert StablecoinInvalidPauser(account);
        pauser = account;
        emit PauserChanged(account);
    }

    function _setBlacklister(address account) internal {
        if (account == address(0)) revert StablecoinInvalidBlacklister(account);
        blacklister = account;
        emit BlacklisterChanged(account);
    }

    function _setRescuer(address account) internal {
        if (account == address(0)) revert StablecoinInvalidRescuer(account);
        rescuer = account;
        emit RescuerChanged(account);
    }
}
