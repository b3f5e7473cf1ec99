"""Time a cold and a warm compile of the whole contracts/ tree.

Run by hand: `python bench/compile.py`. Last line: `cold_s=… warm_s=…` (goal: warm under 1 s).
"""

from __future__ import annotations

import shutil
import time

from rwa_sdk import toolchain
from rwa_sdk.compiler import collect_sources, compile_project


def main() -> None:
    root = toolchain.project_root()
    shutil.rmtree(root / "cache", ignore_errors=True)
    started = time.perf_counter()
    cold = compile_project(root)
    cold_s = time.perf_counter() - started
    started = time.perf_counter()
    warm = compile_project(root)
    warm_s = time.perf_counter() - started
    assert not cold.cached and warm.cached
    print(f"sources={len(collect_sources(root))} artifacts={len(cold.artifacts)} solc={toolchain.find_solc(root).kind}")
    print(f"cold_s={cold_s:.2f} warm_s={warm_s:.3f}")


if __name__ == "__main__":
    main()
