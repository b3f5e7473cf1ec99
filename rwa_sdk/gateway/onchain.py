"""The chain side of certified meters: the P-256 key in DeviceRegistry, OCMF signatures checked by OcmfVerifier."""

from __future__ import annotations

from typing import Any

from web3.contract import Contract

from ..chain import Chain
from .ocmf import onchain_signature, p256_point


def deploy_ocmf_verifier(chain: Chain, registry: str, sender: Any = None) -> Contract:
    verifier, _ = chain.deploy("OcmfVerifier", registry, sender=sender)
    return verifier


def set_meter_key(chain: Chain, registry: Contract, device: str, public_key: str, operator: Any = None) -> tuple[bytes, bytes]:
    """Record the meter's P-256 key (hex/base64 DER or uncompressed point) for ``device``; returns (qx, qy)."""
    qx, qy = p256_point(public_key)
    chain.transact(registry.functions.setMeterKey(device, qx, qy), sender=operator)
    return qx, qy


def meter_key_of(registry: Contract, device: str) -> tuple[bytes, bytes] | None:
    qx, qy = registry.functions.meterKeyOf(device).call()
    return None if qx == bytes(32) and qy == bytes(32) else (qx, qy)


def verify_call(verifier: Contract, record: str, public_key: str | tuple[bytes, bytes]):
    """The ``verify(payload, r, s, qx, qy)`` call of ``record`` (call it, or estimate its gas)."""
    payload, r, s = onchain_signature(record)
    qx, qy = public_key if isinstance(public_key, tuple) else p256_point(public_key)
    return verifier.functions.verify(payload, r, s, qx, qy)


def verify_for_device_call(verifier: Contract, device: str, record: str):
    payload, r, s = onchain_signature(record)
    return verifier.functions.verifyForDevice(device, payload, r, s)


def precompile_present(chain: Chain) -> bool:
    """Whether P256VERIFY (RIP-7212 / EIP-7951, address 0x100) answers: it returns 1 for a valid input."""
    import hashlib

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    key = ec.generate_private_key(ec.SECP256R1())
    message = b"P256VERIFY probe"
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    numbers = key.public_key().public_numbers()
    data = hashlib.sha256(message).digest() + b"".join(v.to_bytes(32, "big") for v in (r, s, numbers.x, numbers.y))
    out = chain.w3.eth.call({"to": "0x" + "00" * 18 + "0100", "data": data})
    return bytes(out)[-1:] == b"\x01"
