"""The end-to-end scenario (Brownie-style script): `python scripts/demo.py`, `make demo` or `rwa demo`."""

from rwa_sdk.demo import main

if __name__ == "__main__":
    main()
