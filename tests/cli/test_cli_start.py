"""`rwa --help`, `rwa token --help` and `rwa toolchain` load no heavy module (the start-up time is in bench/cli_start.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from click.testing import CliRunner

from rwa_sdk.cli import LazyGroup, _lazy_summary, main

from ..conftest import ROOT

HEAVY = ("web3", "eth_account", "pandas", "scipy", "matplotlib", "pvlib", "numpy", "solcx", "requests",
         "rwa_sdk.oracle", "rwa_sdk.twin", "rwa_sdk.asset", "rwa_sdk.chain")


def _loaded_after(*args: str) -> set[str]:
    code = ("import sys, json\nfrom rwa_sdk.cli import main\ntry:\n    main(list(sys.argv[1:]))\nexcept SystemExit:\n"
            "    pass\nprint(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


def test_help_token_help_and_toolchain_load_no_heavy_module(compiled):
    for args in (["--help"], ["token", "--help"], ["toolchain"]):
        loaded = _loaded_after(*args)
        heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY))
        assert not heavy, f"rwa {' '.join(args)} loaded {heavy[:8]}"


def test_the_command_list_shows_each_lazy_groups_own_help_without_importing_it():
    listed = CliRunner().invoke(main, ["--help"]).stdout
    for name, target in LazyGroup.lazy.items():
        summary = _lazy_summary(target)
        command = LazyGroup.get_command(main, None, name)
        assert summary and command.help.strip().splitlines()[0].rstrip(".") == summary, name
        assert name in listed and summary.split()[0] in listed
