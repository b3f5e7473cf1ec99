"""OCMF (Open Charge Metering Format) records: parse, verify against the registered meter key, write.

A certified meter signs each transaction's readings itself: ``OCMF|{payload}|{signature}``, the
signature covering the payload section's exact bytes. Parsing and verification are pyocmf's; this
module adds what the gateway decides on top: the key must be the one registered for the device,
every refusal carries a stable reason, the billable energy comes from the begin/end readings, and
P-256 signatures are put in the (r, low s) form the on-chain verifier (OpenZeppelin P256) accepts.
Records signed with other curves (brainpool, secp384r1, ...) are verified here and flagged
``onchain=False``: no EVM precompile or library checks them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import warnings
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P256_ALGORITHM = "ECDSA-secp256r1-SHA256"

# Stable refusal reasons (clients and tests switch on them).
MALFORMED = "malformed"
UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
KEY_NOT_REGISTERED = "key_not_registered"
BAD_SIGNATURE = "bad_signature"
NO_METER_KEY = "no_meter_key"


class OcmfRefused(ValueError):
    """An OCMF record that does not count, with the reason code and a sentence."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class MeterSample:
    """One reading of an OCMF record, in the units the gateway uses."""

    time: int  # unix seconds
    register_wh: int
    transaction: str | None  # B(egin), C(harging), E(nd), ... (OCMF TX)
    status: str | None  # G(ood), S(ubstitute), ... (OCMF ST)
    clock_synced: bool  # the time status is S(ynchronized)


@dataclass(frozen=True)
class VerifiedRecord:
    """A record whose meter signature checked out under the registered key."""

    record: str
    payload: str  # the signed bytes, as text
    algorithm: str
    onchain: bool  # ECDSA-secp256r1-SHA256: the OcmfVerifier contract can check it too
    samples: tuple[MeterSample, ...]
    pagination: str | None
    meter_serial: str | None

    @property
    def sha256(self) -> bytes:
        return hashlib.sha256(self.record.encode()).digest()

    @property
    def billable_wh(self) -> int | None:
        """Energy of the transaction from its begin and end readings (None if the record lacks one)."""
        return billable_wh(self.samples)


def billable_wh(samples: tuple[MeterSample, ...] | list[MeterSample]) -> int | None:
    begin = next((s for s in samples if s.transaction == "B"), None)
    end = next((s for s in reversed(samples) if s.transaction == "E"), None)
    if begin is None or end is None or end.register_wh < begin.register_wh:
        return None
    return end.register_wh - begin.register_wh


# -- keys -------------------------------------------------------------------------------------------

def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """A meter key given as hex or base64 DER SubjectPublicKeyInfo, or hex uncompressed point (P-256)."""
    raw = _decode_key_text(text)
    try:
        if raw[:1] == b"\x04" and len(raw) == 65:
            return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        key = serialization.load_der_public_key(raw)
    except (ValueError, TypeError) as exc:
        raise OcmfRefused(MALFORMED, f"public key is not a DER EC key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise OcmfRefused(MALFORMED, "public key is not an elliptic-curve key")
    return key


def _decode_key_text(text: str) -> bytes:
    body = "".join(text.split())
    body = body[2:] if body[:2] in ("0x", "0X") else body
    try:
        return bytes.fromhex(body)
    except ValueError:
        import base64
        import binascii

        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise OcmfRefused(MALFORMED, "public key is neither hex nor base64") from None


def spki_hex(key: ec.EllipticCurvePublicKey) -> str:
    """The key as hex DER SubjectPublicKeyInfo (what OCPP's publicKey field and OCMF tools carry)."""
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo).hex().upper()


def p256_point(key: ec.EllipticCurvePublicKey | str) -> tuple[bytes, bytes]:
    """(qx, qy) as 32-byte big-endian words, as DeviceRegistry.setMeterKey takes them."""
    if isinstance(key, str):
        key = load_public_key(key)
    if not isinstance(key.curve, ec.SECP256R1):
        raise OcmfRefused(UNSUPPORTED_ALGORITHM, f"only P-256 keys go on chain, not {key.curve.name}")
    numbers = key.public_numbers()
    return numbers.x.to_bytes(32, "big"), numbers.y.to_bytes(32, "big")


def same_key(a: ec.EllipticCurvePublicKey, b: ec.EllipticCurvePublicKey) -> bool:
    return a.curve.name == b.curve.name and a.public_numbers() == b.public_numbers()


# -- parse and verify ---------------------------------------------------------------------------------

def split_record(record: str) -> tuple[str, dict]:
    """(payload text, signature object) of ``OCMF|payload|signature`` (no other parsing)."""
    parts = record.strip().split("|", 2)
    if len(parts) != 3 or parts[0] != "OCMF":
        raise OcmfRefused(MALFORMED, "not an OCMF record (OCMF|{payload}|{signature})")
    try:
        signature = json.loads(parts[2])
    except ValueError:
        raise OcmfRefused(MALFORMED, "signature section is not JSON") from None
    if not isinstance(signature, dict):
        raise OcmfRefused(MALFORMED, "signature section is not an object")
    return parts[1], signature


def verify_record(record: str, registered_key: str | ec.EllipticCurvePublicKey | None,
                  offered_key: str | None = None) -> VerifiedRecord:
    """Check ``record`` was signed by the meter key registered for its device.

    ``offered_key`` is the key the charger sent along (OCPP ``publicKey``); it must equal the
    registered one. Raises :class:`OcmfRefused` with a reason otherwise.
    """
    from pyocmf import OCMF
    from pyocmf.enums.crypto import SignatureMethod
    from pyocmf.exceptions import PyOCMFError, SignatureVerificationError

    if registered_key is None:
        raise OcmfRefused(NO_METER_KEY, "no meter key is registered for this device")
    key = registered_key if isinstance(registered_key, ec.EllipticCurvePublicKey) else load_public_key(registered_key)
    if offered_key and not same_key(load_public_key(offered_key), key):
        raise OcmfRefused(KEY_NOT_REGISTERED, "the record names a meter key other than the registered one")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # spec deviations the Transparenzsoftware accepts are not ours to refuse
        try:
            parsed = OCMF.from_string(record)
        except PyOCMFError as exc:
            raise OcmfRefused(MALFORMED, str(exc).splitlines()[0]) from None
        if parsed.embedded_public_key and not same_key(load_public_key(parsed.embedded_public_key), key):
            raise OcmfRefused(KEY_NOT_REGISTERED, "the record embeds a meter key other than the registered one")
        algorithm = parsed.signature.SA
        if not isinstance(algorithm, SignatureMethod):
            raise OcmfRefused(UNSUPPORTED_ALGORITHM, f"signature algorithm {str(algorithm)!r} is not one OCMF defines")
        if _canonical_curve(algorithm.curve.value) != _canonical_curve(key.curve.name):
            raise OcmfRefused(KEY_NOT_REGISTERED,
                              f"record signed with {algorithm.value} but the registered key is on {key.curve.name}")
        try:
            valid = parsed.verify_signature(spki_hex(key))
        except SignatureVerificationError as exc:
            raise OcmfRefused(BAD_SIGNATURE, str(exc).splitlines()[0]) from None
    if not valid:
        raise OcmfRefused(BAD_SIGNATURE, "the meter signature does not match the payload")
    payload, _ = split_record(record)
    return VerifiedRecord(
        record=record.strip(), payload=payload, algorithm=algorithm.value,
        onchain=algorithm.value == P256_ALGORITHM,
        samples=tuple(_samples(parsed)), pagination=parsed.payload.PG, meter_serial=parsed.payload.MS,
    )


def record_samples(record: str) -> list[MeterSample]:
    """The energy readings of a record (no signature check: for records already verified and stored)."""
    from pyocmf import OCMF
    from pyocmf.exceptions import PyOCMFError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _samples(OCMF.from_string(record))
        except PyOCMFError as exc:
            raise OcmfRefused(MALFORMED, str(exc).splitlines()[0]) from None


def transaction_billable_wh(records: list[str]) -> int | None:
    """Billable energy of a transaction whose begin and end readings may sit in separate records."""
    samples = [s for record in records for s in record_samples(record)]
    return billable_wh(sorted(samples, key=lambda s: s.time))


def _canonical_curve(name: str) -> str:
    """OCMF writes brainpool curves both as ``brainpool256r1`` and ``brainpoolP256r1``."""
    return name.replace("brainpoolP", "brainpool")


_UNIT_WH = {"kWh": Decimal(1000), "Wh": Decimal(1)}


def _samples(parsed: Any) -> list[MeterSample]:
    out = []
    for rd in parsed.payload.RD or []:
        unit = str(getattr(rd.RU, "value", rd.RU)) if rd.RU is not None else None
        if rd.RV is None or unit not in _UNIT_WH:
            continue  # not an energy register (or an error event without a value)
        time_status = getattr(rd.TM.status, "value", rd.TM.status)
        out.append(MeterSample(
            time=int(rd.TM.timestamp.timestamp()),
            register_wh=int(Decimal(str(rd.RV)) * _UNIT_WH[unit]),
            transaction=getattr(rd.TX, "value", rd.TX),
            status=getattr(rd.ST, "value", rd.ST),
            clock_synced=str(time_status) == "S",
        ))
    return out


def onchain_signature(record: str) -> tuple[bytes, bytes, bytes]:
    """(payload bytes, r, s) for OcmfVerifier.verify, with ``s`` flipped to the low half if needed.

    ECDSA's (r, s) and (r, n - s) verify alike; OpenZeppelin's P256 accepts only s <= n/2.
    """
    payload, signature = split_record(record)
    sd = signature.get("SD")
    if not isinstance(sd, str):
        raise OcmfRefused(MALFORMED, "signature has no SD")
    encoding = signature.get("SE", "hex")
    try:
        der = bytes.fromhex(sd) if encoding == "hex" else __import__("base64").b64decode(sd)
        r, s = decode_dss_signature(der)
    except ValueError:
        raise OcmfRefused(MALFORMED, "signature data is not a DER ECDSA signature") from None
    if s > P256_N // 2:
        s = P256_N - s
    return payload.encode(), r.to_bytes(32, "big"), s.to_bytes(32, "big")


# -- writing (meters in tests, demos and benches; a real meter signs in its own hardware) -------------

def ocmf_time(unix: int, synced: bool = True) -> str:
    """OCMF's timestamp form: ``2024-05-01T10:00:00,000+0000 S``."""
    stamp = dt.datetime.fromtimestamp(unix, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S,000+0000")
    return f"{stamp} {'S' if synced else 'U'}"


def sign_payload(payload: dict | str, key: ec.EllipticCurvePrivateKey, algorithm: str = P256_ALGORITHM) -> str:
    """An OCMF record of ``payload`` signed by ``key`` (DER signature, hex), as a meter writes it."""
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    digest = hashes.SHA512() if algorithm.endswith("SHA512") else hashes.SHA256()
    der = key.sign(text.encode(), ec.ECDSA(digest))
    signature: dict[str, str] = {"SD": der.hex().upper()}
    if algorithm != P256_ALGORITHM:
        signature = {"SA": algorithm, **signature}
    return f"OCMF|{text}|{json.dumps(signature, separators=(',', ':'))}"


def transaction_payload(*, gateway_id: str, meter_serial: str, pagination: int,
                        readings: list[tuple[int, int, str]], id_tag: str = "") -> dict:
    """A payload with ``readings`` as (unix time, register Wh, TX code), registers in kWh like most meters."""
    return {
        "FV": "1.0", "GI": gateway_id, "GS": meter_serial, "GV": "1.0", "PG": f"T{pagination}",
        "MV": "rwa", "MM": "sim-meter", "MS": meter_serial, "MF": "1.0",
        "IS": bool(id_tag), "IL": "NONE" if not id_tag else "VERIFIED", "IF": ["RFID_PLAIN"] if id_tag else [],
        "IT": "ISO14443" if id_tag else "NONE", "ID": id_tag,
        # RV in kWh: a float's repr is the shortest text that reads back to it, i.e. the exact Wh / 1000
        "RD": [{"TM": ocmf_time(t), "TX": tx, "RV": wh / 1000, "RI": "1-b:1.8.0", "RU": "kWh",
                "RT": "AC", "EF": "", "ST": "G"} for t, wh, tx in readings],
    }


def flip_s(der_hex: str) -> str:
    """The same ECDSA signature with ``s`` replaced by ``n - s`` (both verify)."""
    r, s = decode_dss_signature(bytes.fromhex(der_hex))
    return encode_dss_signature(r, P256_N - s).hex().upper()


def verify_p256_raw(payload: bytes, r: bytes, s: bytes, qx: bytes, qy: bytes) -> bool:
    """What OcmfVerifier.verify computes, in Python (P-256, SHA-256, low s only)."""
    si = int.from_bytes(s, "big")
    ri = int.from_bytes(r, "big")
    if not (0 < ri < P256_N and 0 < si <= P256_N // 2):
        return False
    try:
        key = ec.EllipticCurvePublicNumbers(int.from_bytes(qx, "big"), int.from_bytes(qy, "big"), ec.SECP256R1()).public_key()
        key.verify(encode_dss_signature(ri, si), payload, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True
