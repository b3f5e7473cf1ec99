"""Deploy the stablecoin (Brownie-style script: `python scripts/deploy.py` or `brownie run scripts/deploy.py`).

Under Brownie the script deploys to the network Brownie connected (``--network anvil-rwa``); run
as plain Python, to ``RWA_NETWORK`` (default ``anvil``, which starts a private node for the run).
Keys: ``RWA_PRIVATE_KEY`` or ``RWA_KEYSTORE``; on a development chain (chain id 31337) without
them, the public development accounts, as ``--dev-accounts`` does.
"""

from __future__ import annotations

import os
import sys

from eth_account import Account

from rwa_sdk.anvil import DEV_PRIVATE_KEYS
from rwa_sdk.chain import DEV_CHAIN_ID, ChainError, connect
from rwa_sdk.compiler import compile_project
from rwa_sdk.settlement.stablecoin import deploy_stablecoin


def brownie_network_url() -> str | None:
    """The RPC URL of the network Brownie is connected to, when this runs under `brownie run`."""
    brownie = sys.modules.get("brownie")  # never import it: plain Python runs need no Brownie
    if brownie is None:
        return None
    try:
        if not brownie.network.is_connected():
            return None
        return str(brownie.web3.provider.endpoint_uri)
    except AttributeError:
        return None


def main() -> dict[str, str]:
    compile_project()
    network = brownie_network_url() or os.environ.get("RWA_NETWORK", "anvil")
    with connect(network) as chain:
        if not chain.accounts:
            if chain.chain_id != DEV_CHAIN_ID:
                raise ChainError(f"no signing key for chain {chain.chain_id}: set RWA_PRIVATE_KEY or RWA_KEYSTORE")
            chain.accounts[:] = [Account.from_key(key) for key in DEV_PRIVATE_KEYS]
        usd = deploy_stablecoin(chain)
        print(f"Stablecoin {usd.symbol} deployed at {usd.address} on chain {chain.chain_id} "
              f"(signed by {chain.deployer.address})")
        return {"Stablecoin": usd.address}


if __name__ == "__main__":
    main()
