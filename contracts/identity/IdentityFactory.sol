// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {IClaimEpochs} from "../interfaces/IClaimEpochs.sol";
import {AgentRole} from "../token/AgentRole.sol";
import {Identity} from "./Identity.sol";

/// @title Cheap investor identities and claim issuers as EIP-1167 clones
/// @notice One identity per wallet (CREATE2 salted with the wallet, the chain id and this factory), so its address is
/// known before it exists, and the same wallet gets distinct identities on other chains or deployments: a claim
/// signed for one (claims are bound to the identity address) cannot be replayed onto another.
/// Every clone runs known code that reports its changes, so it is tracked in `claimEpochs` and registries may
/// cache its verification.
contract IdentityFactory is AgentRole {
    /// @dev `implementation` reports to another `ClaimEpochs` than this factory.
    error IdentityFactoryEpochsMismatch(address implementation);
    /// @dev `account` is neither the owner nor an agent.
    error IdentityFactoryUnauthorized(address account);
    /// @dev Batch arrays differ in length.
    error IdentityFactoryLengthMismatch(uint256 wallets, uint256 claimKeys);

    event IdentityCreated(address indexed wallet, address indexed identity, address claimKey);
    event ClaimIssuerCreated(address indexed manager, address indexed issuer);

    address public immutable identityImplementation;
    address public immutable claimIssuerImplementation;
    IClaimEpochs public immutable claimEpochs;

    /// @param identityImplementation_ an `Identity` deployed with a zero management key
    /// @param claimIssuerImplementation_ a `ClaimIssuer` deployed with a zero management key
    /// @param epochs the change counters both implementations report to
    constructor(address identityImplementation_, address claimIssuerImplementation_, IClaimEpochs epochs, address initialOwner)
        AgentRole(initialOwner)
    {
        if (Identity(identityImplementation_).claimEpochs() != epochs) revert IdentityFactoryEpochsMismatch(identityImplementation_);
        if (Identity(claimIssuerImplementation_).claimEpochs() != epochs) revert IdentityFactoryEpochsMismatch(claimIssuerImplementation_);
        identityImplementation = identityImplementation_;
        claimIssuerImplementation = claimIssuerImplementation_;
        claimEpochs = epochs;
    }

    /// @notice Create the identity of `wallet` (its management key); `claimKey` (optional, e.g. the issuer's
    /// onboarding agent) may add and remove claims (owner or agents).
    function createIdentity(address wallet, address claimKey) external returns (address) {
        _checkOperator();
        return _createIdentity(wallet, claimKey);
    }

    /// @notice Create identities for several wallets; all or none (owner or agents).
    function batchCreateIdentity(address[] calldata wallets, address[] calldata claimKeys) external returns (address[] memory identities) {
        _checkOperator();
        if (wallets.length != claimKeys.length) revert IdentityFactoryLengthMismatch(wallets.length, claimKeys.length);
        identities = new address[](wallets.length);
        for (uint256 i; i < wallets.length; ++i) {
            identities[i] = _createIdentity(wallets[i], claimKeys[i]);
        }
    }

    /// @notice Create a claim issuer managed by `manager` (owner only).
    function createClaimIssuer(address manager) external onlyOwner returns (address issuer) {
        issuer = Clones.clone(claimIssuerImplementation);
        Identity(issuer).initialize(manager, address(0));
        if (address(claimEpochs) != address(0)) claimEpochs.track(issuer, IClaimEpochs.Role.TrustSource);
        emit ClaimIssuerCreated(manager, issuer);
    }

    /// @notice The address the identity of `wallet` has (or will have).
    function identityOf(address wallet) external view returns (address) {
        return Clones.predictDeterministicAddress(identityImplementation, _salt(wallet));
    }

    function _createIdentity(address wallet, address claimKey) private returns (address identity) {
        identity = Clones.cloneDeterministic(identityImplementation, _salt(wallet));
        Identity(identity).initialize(wallet, claimKey);
        if (address(claimEpochs) != address(0)) claimEpochs.track(identity, IClaimEpochs.Role.Identity);
        emit IdentityCreated(wallet, identity, claimKey);
    }

    function _checkOperator() private view {
        if (msg.sender != owner() && !isAgent(msg.sender)) revert IdentityFactoryUnauthorized(msg.sender);
    }

    /// @dev A factory redeployed at the same address on another chain (same deployer and nonce) would otherwise
    /// hand out identical identity addresses there.
    function _salt(address wallet) private view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), wallet));
    }
}
