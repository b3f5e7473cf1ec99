"""The signed meter Reading: its EIP-712 hash, fast signing and fast recovery.

The type is defined once in Solidity (``ReadingOracle.Reading``) and once here; a test checks that
both hash alike. The hot path avoids eth-account's generic typed-data encoder (about 200 recoveries
a second) and calls libsecp256k1 through coincurve with precomputed type hash and domain separator;
keccak is a C extension (safe-pysha3) when installed: one call instead of pycryptodome's several
Python-level steps per hash, which under the ingest daemon's threads was a third of the GIL-held time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import coincurve

try:
    from sha3 import keccak_256 as _keccak_256
except ImportError:  # pragma: no cover - the pure fallback, same digests
    _keccak_256 = None
    from Crypto.Hash import keccak as _keccak_mod


READING_TYPE = (
    "Reading(address device,bytes32 assetId,uint64 seq,uint64 periodStart,uint64 periodEnd,"
    "uint64 energyWh,uint64 meterWh,uint32 flags)"
)
DOMAIN_NAME = "RWA ReadingOracle"
DOMAIN_VERSION = "1"

FLAG_METER_RESET = 1 << 0  # the cumulative register restarted (meter replaced or reset)
FLAG_CLOCK_UNSYNCED = 1 << 1  # the device clock had lost its time source
FLAG_ESTIMATED = 1 << 2  # the value was estimated (e.g. gap filled), not measured

UINT64_MAX = 2**64 - 1
UINT32_MAX = 2**32 - 1
_SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
_ZERO12 = bytes(12)


class ReadingError(ValueError):
    """A reading or signature is malformed (wrong sizes, out-of-range values)."""


def keccak256(data: bytes) -> bytes:
    """Keccak-256 (Ethereum's hash)."""
    if _keccak_256 is not None:
        return _keccak_256(data).digest()
    return _keccak_mod.new(digest_bits=256, data=data).digest()


READING_TYPEHASH = keccak256(READING_TYPE.encode())
_DOMAIN_TYPEHASH = keccak256(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)


def _u(value: int) -> bytes:
    return value.to_bytes(32, "big")


def address_bytes(address: str | bytes) -> bytes:
    """20 raw bytes of an address given as hex string (any case) or bytes."""
    if isinstance(address, bytes):
        if len(address) != 20:
            raise ReadingError(f"address must be 20 bytes, got {len(address)}")
        return address
    text = address[2:] if address[:2] in ("0x", "0X") else address
    if len(text) != 40:
        raise ReadingError(f"address must be 40 hex digits: {address!r}")
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise ReadingError(f"address is not hex: {address!r}") from None


def to_checksum(raw: bytes) -> str:
    """EIP-55 checksum form of a 20-byte address."""
    hex_addr = raw.hex()
    digest = keccak256(hex_addr.encode()).hex()
    return "0x" + "".join(c.upper() if int(d, 16) >= 8 else c for c, d in zip(hex_addr, digest))


@dataclass(frozen=True, slots=True)
class Reading:
    """One meter reading as a device signs it (energies in Wh, times in unix seconds).

    ``energy_wh`` is the energy delivered in [period_start, period_end); ``meter_wh`` the cumulative
    register at period_end, so a verifier sees gaps (register jumps) and resets (register drops).
    """

    device: bytes  # 20 raw bytes: the address of the device's signing key
    asset_id: bytes  # 32 bytes
    seq: int
    period_start: int
    period_end: int
    energy_wh: int
    meter_wh: int
    flags: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.device, bytes) or len(self.device) != 20:
            raise ReadingError("device must be 20 bytes")
        if not isinstance(self.asset_id, bytes) or len(self.asset_id) != 32:
            raise ReadingError("asset_id must be 32 bytes")
        for name in ("seq", "period_start", "period_end", "energy_wh", "meter_wh"):
            value = getattr(self, name)
            if type(value) is not int or not 0 <= value <= UINT64_MAX:
                raise ReadingError(f"{name} must be an integer in [0, 2**64)")
        if type(self.flags) is not int or not 0 <= self.flags <= UINT32_MAX:
            raise ReadingError("flags must be an integer in [0, 2**32)")

    @property
    def device_address(self) -> str:
        return to_checksum(self.device)

    def as_tuple(self) -> tuple:
        """The Solidity struct as web3 expects it."""
        return (
            self.device_address, self.asset_id, self.seq, self.period_start, self.period_end,
            self.energy_wh, self.meter_wh, self.flags,
        )

    def content_key(self) -> bytes:
        """Canonical encoding (the struct's ABI words) used to compare two readings' content."""
        return struct_encoding(self)

    def to_json(self) -> dict[str, Any]:
        """The ingest API's JSON form (without signature)."""
        return {
            "device": self.device_address,
            "assetId": "0x" + self.asset_id.hex(),
            "seq": self.seq,
            "periodStart": self.period_start,
            "periodEnd": self.period_end,
            "energyWh": self.energy_wh,
            "meterWh": self.meter_wh,
            "flags": self.flags,
        }

    @classmethod
    def from_json(cls, data: Any) -> Reading:
        """Parse the API's JSON form strictly; raises :class:`ReadingError` on anything odd."""
        if not isinstance(data, dict):
            raise ReadingError("reading must be an object")
        try:
            device = address_bytes(_str(data, "device"))
            asset = _hex32(_str(data, "assetId"))
            return cls(
                device, asset, _int(data, "seq"), _int(data, "periodStart"), _int(data, "periodEnd"),
                _int(data, "energyWh"), _int(data, "meterWh"), _int(data, "flags", 0, bits=32),
            )
        except KeyError as exc:
            raise ReadingError(f"missing field {exc.args[0]}") from None

    def with_(self, **changes: Any) -> Reading:
        return replace(self, **changes)


def _str(data: dict, key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise ReadingError(f"{key} must be a string")
    return value


def _int(data: dict, key: str, default: int | None = None, bits: int = 64) -> int:
    """A uint field as a JSON number, a decimal string ("42") or a 0x-hex string ("0x2a").

    JavaScript clients hold uint64 values as BigInt, which JSON numbers cannot carry exactly; strings
    can. Only plain digits are accepted (no sign, spaces, underscores or exponent), at most as many as
    the type's largest value has (docs/reading.schema.json says the same)."""
    value = data.get(key, default) if default is not None else data[key]
    if type(value) is int:
        return value
    if isinstance(value, str) and value.isascii():
        if value[:2] in ("0x", "0X"):
            digits = value[2:]
            if 0 < len(digits) <= bits // 4 and all(c in _HEX_DIGITS for c in digits):
                return int(digits, 16)
        elif 0 < len(value) <= (20 if bits == 64 else 10) and value.isdigit():
            return int(value)
    raise ReadingError(f"{key} must be an integer (JSON number, decimal or 0x-hex string)")


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _hex32(text: str) -> bytes:
    body = text[2:] if text[:2] in ("0x", "0X") else text
    if len(body) != 64:
        raise ReadingError("assetId must be 32 bytes of hex")
    try:
        return bytes.fromhex(body)
    except ValueError:
        raise ReadingError("assetId is not hex") from None


def struct_encoding(r: Reading) -> bytes:
    """``abi.encode(READING_TYPEHASH, reading)`` without the type hash."""
    return b"".join((
        _ZERO12, r.device, r.asset_id, _u(r.seq), _u(r.period_start), _u(r.period_end),
        _u(r.energy_wh), _u(r.meter_wh), _u(r.flags),
    ))


def struct_hash(r: Reading) -> bytes:
    """EIP-712 ``hashStruct(reading)``."""
    return keccak256(READING_TYPEHASH + struct_encoding(r))


def domain_separator(chain_id: int, verifying_contract: str | bytes, name: str = DOMAIN_NAME,
                     version: str = DOMAIN_VERSION) -> bytes:
    """The ReadingOracle's EIP-712 domain separator (name, version, chainId, verifyingContract)."""
    return keccak256(
        _DOMAIN_TYPEHASH + keccak256(name.encode()) + keccak256(version.encode())
        + _u(chain_id) + _ZERO12 + address_bytes(verifying_contract)
    )


_ERC5267_FIELDS = 0x0F  # name, version, chainId, verifyingContract: the fields this domain type has


@dataclass(frozen=True)
class ReadingDomain:
    """Hashing, signing and recovery for one oracle deployment (chain id + contract address).

    ``name``/``version`` default to the contract's constants; :meth:`from_contract` reads them from the
    deployed oracle (ERC-5267 ``eip712Domain()``), so a redeployed oracle with another version verifies."""

    chain_id: int
    verifying_contract: str
    name: str = DOMAIN_NAME
    version: str = DOMAIN_VERSION

    def __post_init__(self) -> None:
        object.__setattr__(self, "_prefix", b"\x19\x01" + domain_separator(
            self.chain_id, self.verifying_contract, self.name, self.version))

    @classmethod
    def from_contract(cls, oracle: Any) -> ReadingDomain:
        """The domain the oracle contract itself reports (``eip712Domain()``, ERC-5267)."""
        fields, name, version, chain_id, verifying, _salt, extensions = oracle.functions.eip712Domain().call()
        fields = fields[0] if isinstance(fields, (bytes, bytearray)) else int(fields)
        if fields != _ERC5267_FIELDS or extensions:
            raise ReadingError(f"oracle EIP-712 domain has fields {fields:#04x}; expected name, version, "
                               "chainId, verifyingContract")
        if address_bytes(verifying) != address_bytes(oracle.address):
            raise ReadingError("oracle EIP-712 domain names another verifying contract")
        return cls(int(chain_id), to_checksum(address_bytes(verifying)), name, version)

    @property
    def separator(self) -> bytes:
        return self._prefix[2:]  # type: ignore[attr-defined]

    def digest(self, r: Reading) -> bytes:
        """The 32-byte EIP-712 digest the device signs."""
        return keccak256(self._prefix + struct_hash(r))  # type: ignore[attr-defined]

    def sign(self, r: Reading, key: coincurve.PrivateKey) -> bytes:
        """65-byte signature ``r || s || v`` (v = 27/28) of the reading by ``key``."""
        return sign_digest(self.digest(r), key)

    def typed_data(self, r: Reading) -> dict[str, Any]:
        """The full EIP-712 message (for eth-account's ``sign_typed_data`` and wallets)."""
        return {
            "types": {
                "EIP712Domain": [
                    {"name": "name", "type": "string"},
                    {"name": "version", "type": "string"},
                    {"name": "chainId", "type": "uint256"},
                    {"name": "verifyingContract", "type": "address"},
                ],
                "Reading": [
                    {"name": "device", "type": "address"},
                    {"name": "assetId", "type": "bytes32"},
                    {"name": "seq", "type": "uint64"},
                    {"name": "periodStart", "type": "uint64"},
                    {"name": "periodEnd", "type": "uint64"},
                    {"name": "energyWh", "type": "uint64"},
                    {"name": "meterWh", "type": "uint64"},
                    {"name": "flags", "type": "uint32"},
                ],
            },
            "primaryType": "Reading",
            "domain": {
                "name": self.name,
                "version": self.version,
                "chainId": self.chain_id,
                "verifyingContract": to_checksum(address_bytes(self.verifying_contract)),
            },
            "message": {
                "device": r.device_address,
                "assetId": r.asset_id,
                "seq": r.seq,
                "periodStart": r.period_start,
                "periodEnd": r.period_end,
                "energyWh": r.energy_wh,
                "meterWh": r.meter_wh,
                "flags": r.flags,
            },
        }


def sign_digest(digest: bytes, key: coincurve.PrivateKey) -> bytes:
    """Sign a 32-byte digest; libsecp256k1 produces low-s signatures as Ethereum requires."""
    sig = key.sign_recoverable(digest, hasher=None)
    return sig[:64] + bytes((sig[64] + 27,))


class PubkeyCache:
    """Public key -> address, so repeat devices skip one keccak per reading (bounded size)."""

    def __init__(self, max_entries: int = 1_000_000):
        self._map: dict[bytes, bytes] = {}
        self._max = max_entries

    def address(self, pubkey: bytes) -> bytes:
        addr = self._map.get(pubkey)
        if addr is None:
            addr = keccak256(pubkey[1:])[12:]
            if len(self._map) >= self._max:
                self._map.clear()
            self._map[pubkey] = addr
        return addr


def is_canonical(signature: bytes) -> bool:
    """A 65-byte ECDSA signature in Ethereum's one canonical form: v in {27, 28}, 0 < s <= n/2."""
    return (len(signature) == 65 and signature[64] in (27, 28)
            and 0 < int.from_bytes(signature[32:64], "big") <= _SECP256K1_HALF_N)


def recover(digest: bytes, signature: bytes, cache: PubkeyCache | None = None) -> bytes | None:
    """The 20-byte signer of ``digest``, or None if the signature is malformed or high-s.

    One canonical form, as the chain's ``ecrecover`` and OpenZeppelin's ECDSA: 65 bytes ``r || s || v``
    with v in {27, 28} and s in the lower half (v = 0/1 would give proofs that ``verifyReading`` refuses).
    """
    if len(signature) != 65 or not is_canonical(signature):
        return None
    v = signature[64] - 27
    try:
        pub = coincurve.PublicKey.from_signature_and_message(signature[:64] + bytes((v,)), digest, hasher=None)
    except Exception:  # coincurve raises a plain Exception for signatures that match no point
        return None
    raw = pub.format(compressed=False)
    return cache.address(raw) if cache is not None else keccak256(raw[1:])[12:]


def key_address(key: coincurve.PrivateKey) -> bytes:
    """The 20-byte Ethereum address of a private key."""
    return keccak256(key.public_key.format(compressed=False)[1:])[12:]


@dataclass(frozen=True)
class DeviceSigner:
    """A device's signing key with its address; signs readings for one oracle domain."""

    key: coincurve.PrivateKey = field(repr=False)
    address: bytes

    @classmethod
    def from_secret(cls, secret: bytes) -> DeviceSigner:
        key = coincurve.PrivateKey(secret)
        return cls(key, key_address(key))

    @classmethod
    def generate(cls) -> DeviceSigner:
        key = coincurve.PrivateKey()
        return cls(key, key_address(key))

    @property
    def checksum(self) -> str:
        return to_checksum(self.address)

    def __repr__(self) -> str:  # never show the key
        return f"DeviceSigner({self.checksum})"
