"""How long the ``rwa`` command takes to start: ``rwa --help``, ``rwa token --help``, ``rwa toolchain``.

Each is run as a new process (as a user types it), several times; the best (lowest) wall-clock time is
reported. Goal: under 0.3 s each. The heavy modules (web3, pandas, pvlib, the oracle daemon) must
load only in the commands that need them; ``python -X importtime -m rwa_sdk.cli --help`` shows what
still loads.

    PYTHONPATH=$PWD .venv/bin/python bench/cli_start.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMANDS = {"help_s": ["--help"], "token_help_s": ["token", "--help"], "toolchain_s": ["toolchain"]}


def time_command(args: list[str], runs: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # the entry point's own code: what `.venv/bin/rwa ARGS` runs
    command = [sys.executable, "-c", "import sys; from rwa_sdk.cli import main; sys.exit(main())", *args]
    subprocess.run(command, env=env, cwd=ROOT, capture_output=True, check=True)  # warm the OS file cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return min(times)  # the least disturbed run: other processes only ever add time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    bare = min(_time([sys.executable, "-c", "pass"]) for _ in range(runs))
    results = {key: time_command(args, runs) for key, args in COMMANDS.items()}
    for key, seconds in results.items():
        print(f"rwa {' '.join(COMMANDS[key]):<14} {seconds:.3f} s (best of {runs})")
    print(f"python -c pass {bare:.3f} s (the interpreter alone)")
    print(" ".join(f"{key}={seconds:.3f}" for key, seconds in results.items()) + f" python_s={bare:.3f}")


def _time(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, capture_output=True, check=True)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
