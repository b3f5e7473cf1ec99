"""Device keys in eth-account keystores (one encrypted JSON file per device), never in the config.

The password comes from an environment variable named in the config (default
``RWA_DEVICE_PASSWORD``), so neither the key nor its password is written to the config, a log or
an error message.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..oracle.reading import DeviceSigner

DEFAULT_PASSWORD_ENV = "RWA_DEVICE_PASSWORD"


class KeystoreError(RuntimeError):
    """A keystore is missing, unreadable or its password is wrong (the message never holds a secret)."""


def password_from_env(name: str = DEFAULT_PASSWORD_ENV) -> str:
    value = os.environ.get(name)
    if not value:
        raise KeystoreError(f"set {name} to the device keystores' password")
    return value


def create_keystore(path: str | Path, password: str, *, kdf: str = "scrypt", iterations: int | None = None) -> DeviceSigner:
    """A new random device key, written encrypted to ``path`` (refuses to overwrite)."""
    from eth_account import Account

    path = Path(path)
    if path.exists():
        raise KeystoreError(f"{path} already exists: a device key is never replaced in place")
    signer = DeviceSigner.generate()
    secret = signer.key.secret
    keystore = Account.encrypt(secret, password, kdf=kdf, iterations=iterations)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(keystore, out)
    return signer


def load_signer(path: str | Path, password: str) -> DeviceSigner:
    """The device key in keystore ``path``."""
    from eth_account import Account

    try:
        keystore = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise KeystoreError(f"cannot read keystore {path}: {type(exc).__name__}") from None
    try:
        secret = Account.decrypt(keystore, password)
    except (ValueError, KeyError, TypeError):
        raise KeystoreError(f"cannot decrypt keystore {path}: wrong password or damaged file") from None
    return DeviceSigner.from_secret(bytes(secret))


def keystore_address(path: str | Path) -> str | None:
    """The address a keystore declares (readable without the password), if any."""
    try:
        value = json.loads(Path(path).read_text()).get("address")
    except (OSError, ValueError, AttributeError):
        return None
    return "0x" + value.removeprefix("0x") if isinstance(value, str) else None
