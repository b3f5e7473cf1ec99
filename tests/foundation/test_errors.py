from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak

from rwa_sdk import errors
from rwa_sdk.errors import ErrorDecoder

ABI = [
    {
        "type": "error",
        "name": "ERC20InsufficientBalance",
        "inputs": [
            {"name": "sender", "type": "address"},
            {"name": "balance", "type": "uint256"},
            {"name": "needed", "type": "uint256"},
        ],
    },
    {"type": "error", "name": "Nested", "inputs": [{"name": "pair", "type": "tuple", "components": [
        {"name": "a", "type": "uint8"}, {"name": "b", "type": "bytes32"}]}]},
]


def _data(signature: str, types: list[str], values: list) -> bytes:
    return keccak(text=signature)[:4] + encode(types, values)


def test_custom_error_decodes_to_named_exception_with_arguments():
    sender = "0x" + "ab" * 20
    data = _data("ERC20InsufficientBalance(address,uint256,uint256)", ["address", "uint256", "uint256"], [sender, 5, 9])
    error = ErrorDecoder([ABI]).decode(data)
    assert isinstance(error, errors.ERC20InsufficientBalance)
    assert isinstance(error, errors.ContractError)
    assert error.sender == "0x" + "Ab" * 20 or error.sender.lower() == sender
    assert (error.balance, error.needed) == (5, 9)
    assert str(error) == f"ERC20InsufficientBalance(sender='{error.sender}', balance=5, needed=9)"


def test_tuple_arguments_decode():
    data = _data("Nested((uint8,bytes32))", ["(uint8,bytes32)"], [(7, b"\x01" * 32)])
    error = ErrorDecoder([ABI]).decode(data)
    assert error.error_name == "Nested" and error.pair == (7, b"\x01" * 32)


def test_revert_string_and_panic_decode_without_abi():
    decoder = ErrorDecoder()
    revert = decoder.decode("0x" + _data("Error(string)", ["string"], ["not allowed"]).hex())
    assert isinstance(revert, errors.Revert) and revert.reason == "not allowed"
    panic = decoder.decode(_data("Panic(uint256)", ["uint256"], [0x11]))
    assert isinstance(panic, errors.Panic) and panic.code == 0x11 and "overflow" in panic.reason


def test_unknown_or_malformed_data_keeps_raw_bytes():
    decoder = ErrorDecoder([ABI])
    unknown = decoder.decode(b"\xde\xad\xbe\xef" + b"\x00" * 32)
    assert isinstance(unknown, errors.UnknownError) and unknown.data.startswith(b"\xde\xad\xbe\xef")
    truncated = _data("ERC20InsufficientBalance(address,uint256,uint256)", ["address"], ["0x" + "00" * 20])
    assert isinstance(decoder.decode(truncated), errors.UnknownError)


def test_error_classes_are_one_per_name():
    assert errors.SomethingFailed is errors.error_class("SomethingFailed")
    assert errors.SomethingFailed is not errors.OtherFailure
    with pytest.raises(AttributeError):
        errors.not_an_error_name
