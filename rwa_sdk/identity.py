"""Investor identities and claims in the ONCHAINID format.

A claim says "issuer vouches that `identity` has property `topic` with `data`". The issuer's claim key signs
``keccak256(abi.encode(identity, topic, data))`` as an Ethereum signed message; the identity stores the claim
and any registry asks the issuer's contract whether it is still valid (signed by a current claim key, not
revoked). Everything here speaks the ERC-734/735 and ONCHAINID ``IClaimIssuer`` interfaces only, so it works
with any ONCHAINID-compatible identity and issuer, not just this project's contracts.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from eth_abi import encode as abi_encode
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract
from web3.exceptions import Web3Exception

from . import errors
from .chain import Chain, Sent

IDENTITY_ABI = "contracts/interfaces/IIdentity.sol:IIdentity"
CLAIM_ISSUER_ABI = "contracts/interfaces/IClaimIssuer.sol:IClaimIssuer"
FACTORY_ARTIFACT = "contracts/identity/IdentityFactory.sol:IdentityFactory"
ECDSA_SCHEME = 1

Sender = LocalAccount | str | int | None
"""Who signs a transaction: a local account, its address, its index in ``Chain.accounts``, or the deployer."""


class KeyPurpose(IntEnum):
    """ERC-734 key purposes (a management key holds every purpose)."""

    MANAGEMENT = 1
    ACTION = 2
    CLAIM = 3
    ENCRYPTION = 4


class ClaimTopic(IntEnum):
    """The claim topics this project's suites use (registries may require any subset)."""

    KYC = 1
    COUNTRY = 2
    RISK_TIER = 3
    PROFESSIONAL_INVESTOR = 4


@dataclass(frozen=True)
class Claim:
    """A signed claim, ready for ``addClaim`` on ``identity``."""

    identity: str
    topic: int
    issuer: str
    signature: bytes
    data: bytes
    uri: str = ""
    scheme: int = ECDSA_SCHEME

    @property
    def claim_id(self) -> bytes:
        return claim_id(self.issuer, self.topic)


def key_of(address: str) -> bytes:
    """The ERC-734 key of an Ethereum account: ``keccak256(abi.encode(address))``."""
    return keccak(abi_encode(["address"], [to_checksum_address(address)]))


def claim_id(issuer: str, topic: int) -> bytes:
    """ERC-735 claim id: ``keccak256(abi.encode(issuer, topic))`` (one claim per issuer and topic)."""
    return keccak(abi_encode(["address", "uint256"], [to_checksum_address(issuer), int(topic)]))


def claim_digest(identity: str, topic: int, data: bytes) -> bytes:
    """What the issuer's key signs (before the Ethereum signed-message prefix)."""
    return keccak(abi_encode(["address", "uint256", "bytes"], [to_checksum_address(identity), int(topic), data]))


def sign_claim(signer: LocalAccount, issuer: str, identity: str, topic: int, data: bytes = b"", uri: str = "") -> Claim:
    """Sign a claim of ``issuer`` (its contract) about ``identity`` with ``signer``, a claim key of that issuer."""
    signed = signer.sign_message(encode_defunct(primitive=claim_digest(identity, topic, data)))
    return Claim(to_checksum_address(identity), int(topic), to_checksum_address(issuer), bytes(signed.signature), data, uri)


# -- claim data --------------------------------------------------------------------------------

def kyc_data(reference: str = "") -> bytes:
    """KYC claim data: an opaque reference to the issuer's file (never personal data)."""
    return abi_encode(["string"], [reference])


def country_data(country: int) -> bytes:
    """Country-of-residence claim data (ISO 3166-1 numeric)."""
    return abi_encode(["uint16"], [country])


def risk_tier_data(tier: int) -> bytes:
    """Risk-tier claim data as ``InvestorSuitabilityModule`` reads it: ``abi.encode(uint256 tier)``, 1 to 5."""
    if not 1 <= tier <= 5:
        raise ValueError(f"risk tier must be between 1 and 5, got {tier}")
    return abi_encode(["uint256"], [tier])


def professional_data() -> bytes:
    """Professional-investor claim data."""
    return abi_encode(["bool"], [True])


# -- contracts ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoredClaim:
    """A claim as an identity returns it."""

    topic: int
    scheme: int
    issuer: str
    signature: bytes
    data: bytes
    uri: str

    @property
    def exists(self) -> bool:
        return int(self.issuer, 16) != 0


class Identity:
    """An ONCHAINID identity: keys and claims."""

    def __init__(self, chain: Chain, address: str):
        self.chain = chain
        self.contract: Contract = chain.contract(IDENTITY_ABI, address)
        self.address = self.contract.address

    def add_claim(self, claim: Claim, sender: Sender = None) -> Sent:
        """Store ``claim`` (sender needs a claim key of this identity)."""
        fn = self.contract.functions.addClaim(claim.topic, claim.scheme, claim.issuer, claim.signature, claim.data, claim.uri)
        return self.chain.transact(fn, sender=sender)

    def remove_claim(self, issuer: str, topic: int, sender: Sender = None) -> Sent:
        return self.chain.transact(self.contract.functions.removeClaim(claim_id(issuer, topic)), sender=sender)

    def get_claim(self, issuer: str, topic: int) -> StoredClaim:
        topic_, scheme, issuer_, signature, data, uri = self.chain.call(self.contract.functions.getClaim(claim_id(issuer, topic)))
        return StoredClaim(topic_, scheme, to_checksum_address(issuer_), bytes(signature), bytes(data), uri)

    def claim_ids(self, topic: int) -> list[bytes]:
        return [bytes(c) for c in self.chain.call(self.contract.functions.getClaimIdsByTopic(int(topic)))]

    def add_key(self, address: str, purpose: KeyPurpose, sender: Sender = None) -> Sent:
        return self.chain.transact(self.contract.functions.addKey(key_of(address), int(purpose), 1), sender=sender)

    def remove_key(self, address: str, purpose: KeyPurpose, sender: Sender = None) -> Sent:
        return self.chain.transact(self.contract.functions.removeKey(key_of(address), int(purpose)), sender=sender)

    def has_purpose(self, address: str, purpose: KeyPurpose) -> bool:
        return self.chain.call(self.contract.functions.keyHasPurpose(key_of(address), int(purpose)))


class ClaimIssuer(Identity):
    """An ONCHAINID claim issuer: signs claims with its claim keys and revokes them."""

    def __init__(self, chain: Chain, address: str):
        super().__init__(chain, address)
        self.contract = chain.contract(CLAIM_ISSUER_ABI, address)

    def sign(self, signer: LocalAccount, identity: str, topic: int, data: bytes = b"", uri: str = "") -> Claim:
        """A claim of this issuer, signed off-chain by ``signer`` (one of its claim keys)."""
        return sign_claim(signer, self.address, identity, topic, data, uri)

    def is_claim_valid(self, claim: Claim) -> bool:
        fn = self.contract.functions.isClaimValid(claim.identity, claim.topic, claim.signature, claim.data)
        return self.chain.call(fn)

    def is_revoked(self, signature: bytes) -> bool:
        return self.chain.call(self.contract.functions.isClaimRevoked(signature))

    def revoke(self, signature: bytes, sender: Sender = None) -> Sent:
        """Revoke every claim carrying ``signature`` (sender needs a management key of the issuer)."""
        return self.chain.transact(self.contract.functions.revokeClaimBySignature(signature), sender=sender)


class IdentityFactory:
    """Creates investor identities (cheap clones, one per wallet) and claim issuers."""

    def __init__(self, chain: Chain, address: str):
        self.chain = chain
        self.contract: Contract = chain.contract(FACTORY_ARTIFACT, address)
        self.address = self.contract.address

    def identity_of(self, wallet: str) -> str:
        """The identity address of ``wallet``, known before it is created."""
        return self.chain.call(self.contract.functions.identityOf(to_checksum_address(wallet)))

    def create_identity(self, wallet: str, claim_key: str | None = None, sender: Sender = None) -> Identity:
        """Create ``wallet``'s identity; ``claim_key`` (e.g. the onboarding agent) may manage its claims."""
        claim_key = claim_key or "0x" + "00" * 20
        self.chain.transact(self.contract.functions.createIdentity(to_checksum_address(wallet), to_checksum_address(claim_key)), sender=sender)
        return Identity(self.chain, self.identity_of(wallet))

    def batch_create_identities(self, wallets: list[str], claim_key: str | None = None, sender: Sender = None) -> list[Identity]:
        claim_key = to_checksum_address(claim_key or "0x" + "00" * 20)
        wallets = [to_checksum_address(w) for w in wallets]
        self.chain.transact(self.contract.functions.batchCreateIdentity(wallets, [claim_key] * len(wallets)), sender=sender)
        return [Identity(self.chain, self.identity_of(w)) for w in wallets]

    def create_claim_issuer(self, manager: str, sender: Sender = None) -> ClaimIssuer:
        """Create a claim issuer managed by ``manager`` (factory owner only)."""
        sent = self.chain.transact(self.contract.functions.createClaimIssuer(to_checksum_address(manager)), sender=sender)
        (event,) = sent.events(self.contract, "ClaimIssuerCreated")
        return ClaimIssuer(self.chain, event["issuer"])


# -- registry -------------------------------------------------------------------------------------

REGISTRY_ABI = "contracts/interfaces/IIdentityRegistry.sol:IIdentityRegistry"
TOPICS_ABI = "contracts/interfaces/IClaimTopicsRegistry.sol:IClaimTopicsRegistry"
ISSUERS_ABI = "contracts/interfaces/ITrustedIssuersRegistry.sol:ITrustedIssuersRegistry"
ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class Investor:
    """A wallet to register: its identity and country (ISO 3166-1 numeric)."""

    wallet: str
    identity: str
    country: int


class IdentityRegistry:
    """An ERC-3643 identity registry: registration (agents) and verification, explained."""

    def __init__(self, chain: Chain, address: str):
        self.chain = chain
        self.contract: Contract = chain.contract(REGISTRY_ABI, address)
        self.address = self.contract.address

    def register(self, investor: Investor, sender: Sender = None) -> Sent:
        fn = self.contract.functions.registerIdentity(to_checksum_address(investor.wallet), investor.identity, investor.country)
        return self.chain.transact(fn, sender=sender)

    def batch_register(self, investors: list[Investor], sender: Sender = None) -> Sent:
        """Register several wallets in one transaction: all or none."""
        fn = self.contract.functions.batchRegisterIdentity(
            [to_checksum_address(i.wallet) for i in investors], [i.identity for i in investors], [i.country for i in investors]
        )
        return self.chain.transact(fn, sender=sender)

    def update_country(self, wallet: str, country: int, sender: Sender = None) -> Sent:
        return self.chain.transact(self.contract.functions.updateCountry(to_checksum_address(wallet), country), sender=sender)

    def update_identity(self, wallet: str, identity: str, sender: Sender = None) -> Sent:
        return self.chain.transact(self.contract.functions.updateIdentity(to_checksum_address(wallet), identity), sender=sender)

    def delete(self, wallet: str, sender: Sender = None) -> Sent:
        return self.chain.transact(self.contract.functions.deleteIdentity(to_checksum_address(wallet)), sender=sender)

    def contains(self, wallet: str) -> bool:
        return self.chain.call(self.contract.functions.contains(to_checksum_address(wallet)))

    def is_verified(self, wallet: str) -> bool:
        return self.chain.call(self.contract.functions.isVerified(to_checksum_address(wallet)))

    def identity_of(self, wallet: str) -> str:
        return self.chain.call(self.contract.functions.identity(to_checksum_address(wallet)))

    def country_of(self, wallet: str) -> int:
        return self.chain.call(self.contract.functions.investorCountry(to_checksum_address(wallet)))

    def required_topics(self) -> list[int]:
        topics = self.chain.contract(TOPICS_ABI, self.chain.call(self.contract.functions.topicsRegistry()))
        return list(self.chain.call(topics.functions.getClaimTopics()))

    def why_not_verified(self, wallet: str) -> list[str]:
        """What keeps ``wallet`` from being verified, in words (empty when it is verified)."""
        wallet = to_checksum_address(wallet)
        if self.is_verified(wallet):
            return []
        if not self.contains(wallet):
            return [f"{wallet} is not registered in the identity registry"]
        identity_address = self.identity_of(wallet)
        issuers = self.chain.contract(ISSUERS_ABI, self.chain.call(self.contract.functions.issuersRegistry()))
        identity = Identity(self.chain, identity_address)
        gaps = []
        for topic in self.required_topics():
            trusted = self.chain.call(issuers.functions.getTrustedIssuersForClaimTopic(topic))
            problem = _topic_problem(self.chain, identity, topic, trusted)
            if problem:
                gaps.append(problem)
        return gaps or [f"{wallet} is not verified"]


def _topic_name(topic: int) -> str:
    try:
        return f"{ClaimTopic(topic).name} (topic {topic})"
    except ValueError:
        return f"topic {topic}"


def _topic_problem(chain: Chain, identity: Identity, topic: int, trusted: list[str]) -> str | None:
    """Why no claim on ``topic`` counts, or None when one does."""
    name = _topic_name(topic)
    if not trusted:
        return f"no issuer is trusted for the required claim {name}"
    problems = []
    for issuer_address in trusted:
        stored = identity.get_claim(issuer_address, topic)
        if not stored.exists or stored.topic != topic:
            continue
        issuer = ClaimIssuer(chain, issuer_address)
        claim = Claim(identity.address, topic, issuer_address, stored.signature, stored.data, stored.uri, stored.scheme)
        try:
            if issuer.is_claim_valid(claim):
                return None
            revoked = issuer.is_revoked(stored.signature)
        except (errors.ContractError, Web3Exception, ValueError):  # a broken issuer does not vouch
            revoked = False
        if revoked:
            problems.append(f"the {name} claim from issuer {issuer_address} was revoked")
        else:
            problems.append(f"the {name} claim from issuer {issuer_address} is no longer valid (its signing key was removed)")
    if problems:
        return "; ".join(problems)
    return f"the identity holds no {name} claim from a trusted issuer"
