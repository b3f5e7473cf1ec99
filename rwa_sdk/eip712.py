"""EIP-712 domains as contracts report them (ERC-5267), so signatures match whatever the contract uses."""

from __future__ import annotations

from web3.contract import Contract


def read_domain(contract: Contract) -> dict:
    """``{name, version, chainId, verifyingContract}`` from the contract's ``eip712Domain()``."""
    _, name, version, chain_id, verifying_contract, _, _ = contract.functions.eip712Domain().call()
    return {"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying_contract}
