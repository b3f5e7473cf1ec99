"""``python -m rwa_sdk.oracle run|simulate|proof``: the same commands as ``rwa oracle``."""

from .cli import oracle_cli

if __name__ == "__main__":
    oracle_cli(prog_name="python -m rwa_sdk.oracle")
