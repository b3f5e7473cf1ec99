"""Turn revert data into Python exceptions named after the Solidity error.

Every custom error in a compiled ABI becomes a subclass of :class:`ContractError` with the same
name, carrying the decoded arguments: a revert with ``ERC20InsufficientBalance(sender, balance,
needed)`` raises ``ERC20InsufficientBalance(sender=..., balance=..., needed=...)``, which can be
caught by class (``except errors.ERC20InsufficientBalance``) or inspected (``error.args_dict``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak, to_checksum_address
from eth_utils.abi import abi_to_signature, get_abi_input_names, get_abi_input_types

ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)
PANIC_REASONS = {
    0x00: "generic compiler panic",
    0x01: "assert failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "invalid storage byte array",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to zero-initialized function",
}


class ContractError(Exception):
    """A contract call or transaction reverted; subclasses are named after the Solidity error."""

    error_name = "ContractError"

    def __init__(self, args: dict[str, Any] | None = None, data: bytes = b"", message: str | None = None):
        self.args_dict = dict(args or {})
        self.data = data
        self.message = message
        super().__init__(str(self))

    def __getattr__(self, item: str) -> Any:
        try:
            return self.__dict__["args_dict"][item]
        except KeyError:
            raise AttributeError(item) from None

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={_show(v)}" for k, v in self.args_dict.items())
        text = f"{self.error_name}({inner})"
        return f"{text}: {self.message}" if self.message else text

    def __repr__(self) -> str:
        return str(self)


class Revert(ContractError):
    """``revert("reason")`` / ``require(cond, "reason")``: ``reason`` holds the string."""

    error_name = "Error"


class Panic(ContractError):
    """A Solidity panic (overflow, assert, bad index...): ``code`` and ``reason``."""

    error_name = "Panic"


class UnknownError(ContractError):
    """Revert data whose selector no known ABI declares (``data`` keeps the raw bytes)."""

    error_name = "UnknownError"


class TransactionFailed(ContractError):
    """A mined transaction failed and the chain gave no revert data (e.g. out of gas)."""

    error_name = "TransactionFailed"


_classes: dict[str, type[ContractError]] = {}


def error_class(name: str) -> type[ContractError]:
    """The exception class for Solidity error ``name`` (one class per name, made on first use)."""
    if name not in _classes:
        _classes[name] = type(name, (ContractError,), {"error_name": name, "__module__": __name__})
    return _classes[name]


def __getattr__(name: str) -> type[ContractError]:
    """``errors.ERC20InsufficientBalance`` is the class for that Solidity error."""
    if name[:1].isupper() and name.isidentifier():
        return error_class(name)
    raise AttributeError(name)


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value) if isinstance(value, str) else str(value)


def _normalize(abi_type: str, value: Any) -> Any:
    if abi_type == "address" and isinstance(value, str):
        return to_checksum_address(value)
    return value


class ErrorDecoder:
    """Maps 4-byte selectors to error definitions gathered from ABIs."""

    def __init__(self, abis: Iterable[list] = ()):
        self._errors: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for abi in abis:
            self.add_abi(abi)

    def add_abi(self, abi: list) -> None:
        for entry in abi:
            if entry.get("type") != "error":
                continue
            selector = keccak(text=abi_to_signature(entry))[:4]
            names = [n or f"arg{i}" for i, n in enumerate(get_abi_input_names(entry))]
            self._errors[selector] = (entry["name"], get_abi_input_types(entry), names)

    def knows(self, data: bytes) -> bool:
        return data[:4] in self._errors or data[:4] in (ERROR_STRING_SELECTOR, PANIC_SELECTOR)

    def decode(self, data: bytes | str, message: str | None = None) -> ContractError:
        """The exception for revert ``data`` (bytes or 0x-hex)."""
        if isinstance(data, str):
            data = bytes.fromhex(data.removeprefix("0x"))
        selector, body = data[:4], data[4:]
        try:
            if selector == ERROR_STRING_SELECTOR:
                (reason,) = abi_decode(["string"], body)
                return Revert({"reason": reason}, data, message)
            if selector == PANIC_SELECTOR:
                (code,) = abi_decode(["uint256"], body)
                return Panic({"code": code, "reason": PANIC_REASONS.get(code, "unknown")}, data, message)
            if selector in self._errors:
                name, types, names = self._errors[selector]
                values = abi_decode(types, body)
                decoded = {n: _normalize(t, v) for n, t, v in zip(names, types, values)}
                return error_class(name)(decoded, data, message)
        except Exception:  # malformed revert data: keep the raw bytes rather than fail here
            pass
        return UnknownError({"selector": selector}, data, message)


def revert_data(exc: BaseException) -> bytes | None:
    """Dig the raw revert bytes out of a web3.py / RPC exception, if it carries any."""
    candidates: list[Any] = [getattr(exc, "data", None)]
    response = getattr(exc, "rpc_response", None)
    if isinstance(response, dict):
        candidates.append((response.get("error") or {}).get("data"))
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, dict):
            candidates.append(arg.get("data"))
    for candidate in candidates:
        if isinstance(candidate, dict):
            candidate = candidate.get("data")
        if isinstance(candidate, (bytes, bytearray)) and candidate:
            return bytes(candidate)
        if isinstance(candidate, str) and candidate.startswith("0x") and len(candidate) >= 10:
            try:
                return bytes.fromhex(candidate[2:])
            except ValueError:
                continue
    return None
