"""Deploy the stablecoin (Brownie-style script: `python scripts/deploy.py` or `brownie run scripts/deploy.py`).

Network and keys come from the environment: RWA_NETWORK (default anvil, which starts a private
node for the run), RWA_PRIVATE_KEY or RWA_KEYSTORE for remote RPC URLs.
"""

from __future__ import annotations

import os

from rwa_sdk.chain import connect
from rwa_sdk.compiler import compile_project
from rwa_sdk.settlement.stablecoin import deploy_stablecoin


def main() -> dict[str, str]:
    compile_project()
    with connect(os.environ.get("RWA_NETWORK", "anvil")) as chain:
        usd = deploy_stablecoin(chain)
        print(f"Stablecoin {usd.symbol} deployed at {usd.address} on chain {chain.chain_id}")
        return {"Stablecoin": usd.address}


if __name__ == "__main__":
    main()
