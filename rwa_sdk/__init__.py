"""rwa-sdk: tokenize new-energy assets as ERC-3643 security tokens with device-signed data."""

__version__ = "0.1.0"
