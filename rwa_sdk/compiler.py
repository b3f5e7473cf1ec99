"""Compile every contract under ``contracts/`` into Hardhat-format artifacts.

Imports are resolved here (relative paths, then npm packages in ``node_modules``), so the
standard-JSON input carries every source and the compiler never touches the file system. The
whole input is hashed: an unchanged tree is not compiled again.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from solcx import wrapper as solc_wrapper

from . import toolchain

OPTIMIZER_RUNS = 200
ARTIFACT_FORMAT = "hh-sol-artifact-1"
CACHE_FILE = Path("cache") / "rwa-compile.json"
_IMPORT = re.compile(r"""^\s*import\s+(?:[^"';]*?\s+from\s+)?["']([^"']+)["']""", re.MULTILINE)
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)


@dataclass(frozen=True)
class Diagnostic:
    """One compiler message, located as ``file:line:column``."""

    severity: str
    kind: str
    message: str
    file: str | None
    line: int | None
    column: int | None
    source_line: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}: " if self.file else ""
        code = f"\n    {self.source_line.strip()}" if self.source_line.strip() else ""
        return f"{where}{self.kind}: {self.message}{code}"


class CompilationError(Exception):
    """solc reported errors; ``diagnostics`` holds each with its location."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("\n".join(str(d) for d in diagnostics))


@dataclass(frozen=True)
class CompileResult:
    artifacts: list[Path]
    cached: bool
    seconds: float
    warnings: list[Diagnostic]


def settings() -> dict:
    """The solc settings every build uses (Hardhat's config mirrors them)."""
    return {
        "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
        "evmVersion": toolchain.EVM_VERSION,
        "outputSelection": {
            "*": {
                "*": [
                    "abi",
                    "evm.bytecode.object",
                    "evm.bytecode.linkReferences",
                    "evm.deployedBytecode.object",
                    "evm.deployedBytecode.linkReferences",
                    "evm.methodIdentifiers",
                ]
            }
        },
    }


def _resolve(importer: str, target: str) -> str:
    if target.startswith("./") or target.startswith("../"):
        return posixpath.normpath(posixpath.join(posixpath.dirname(importer), target))
    return target


def _read_unit(root: Path, unit: str) -> str:
    for candidate in (root / unit, root / "node_modules" / unit):
        if candidate.is_file():
            return candidate.read_text()
    raise CompilationError(
        [Diagnostic("error", "ImportError", f"cannot find {unit!r}", None, None, None)]
    )


def collect_sources(root: Path) -> dict[str, str]:
    """Every ``.sol`` under ``contracts/`` plus all it imports, keyed by source unit name."""
    pending = sorted(p.relative_to(root).as_posix() for p in (root / "contracts").rglob("*.sol"))
    sources: dict[str, str] = {}
    while pending:
        unit = pending.pop()
        if unit in sources:
            continue
        text = _read_unit(root, unit)
        sources[unit] = text
        for target in _IMPORT.findall(_COMMENT.sub("", text)):
            resolved = _resolve(unit, target)
            if resolved not in sources:
                pending.append(resolved)
    return dict(sorted(sources.items()))


def standard_input(sources: dict[str, str]) -> dict:
    return {
        "language": "Solidity",
        "sources": {unit: {"content": text} for unit, text in sources.items()},
        "settings": settings(),
    }


def _diagnostic(raw: dict, sources: dict[str, str]) -> Diagnostic:
    location = raw.get("sourceLocation") or {}
    file = location.get("file")
    line = column = None
    source_line = ""
    if file in sources and location.get("start", -1) >= 0:
        before = sources[file].encode()[: location["start"]].decode(errors="replace")
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        source_line = sources[file].splitlines()[line - 1]
    return Diagnostic(
        raw.get("severity", "error"),
        raw.get("type", "Error"),
        raw.get("message", ""),
        file,
        line,
        column,
        source_line,
    )


def _artifact(unit: str, name: str, output: dict) -> dict:
    evm = output.get("evm", {})
    bytecode = evm.get("bytecode", {})
    deployed = evm.get("deployedBytecode", {})
    return {
        "_format": ARTIFACT_FORMAT,
        "contractName": name,
        "sourceName": unit,
        "abi": output.get("abi", []),
        "bytecode": "0x" + bytecode.get("object", ""),
        "deployedBytecode": "0x" + deployed.get("object", ""),
        "linkReferences": bytecode.get("linkReferences", {}),
        "deployedLinkReferences": deployed.get("linkReferences", {}),
    }


def _write_artifacts(root: Path, output: dict) -> list[Path]:
    folder = root / "artifacts" / "contracts"
    if folder.exists():
        shutil.rmtree(folder)
    written = []
    for unit, contracts in output.get("contracts", {}).items():
        if not unit.startswith("contracts/"):
            continue
        for name, compiled in contracts.items():
            path = root / "artifacts" / unit / f"{name}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(_artifact(unit, name, compiled), indent=2))
            written.append(path)
    return sorted(written)


def compile_project(
    root: Path | None = None,
    *,
    force: bool = False,
    on_progress: Callable[[str], None] = lambda message: None,
) -> CompileResult:
    """Compile the tree under ``root/contracts``; skip the compiler when nothing changed.

    Raises :class:`CompilationError` (with ``file:line:column`` of each error) when solc fails.
    """
    started = time.perf_counter()
    root = (root or toolchain.project_root()).resolve()
    solc = toolchain.find_solc(root)
    sources = collect_sources(root)
    if not sources:
        return CompileResult([], False, time.perf_counter() - started, [])
    input_json = standard_input(sources)
    digest = hashlib.sha256(
        json.dumps([solc.version, solc.kind, input_json], sort_keys=True).encode()
    ).hexdigest()
    cache_path = root / CACHE_FILE
    if not force and cache_path.is_file():
        cache = json.loads(cache_path.read_text())
        paths = [root / p for p in cache.get("artifacts", [])]
        if cache.get("hash") == digest and all(p.is_file() for p in paths):
            return CompileResult(paths, True, time.perf_counter() - started, [])

    on_progress(f"compiling {len(sources)} files with solc {solc.version} ({solc.kind}); "
                "the first compile takes up to a minute, later ones are cached")
    stdout, _stderr, _command, _proc = solc_wrapper.solc_wrapper(
        solc_binary=solc.path, stdin=json.dumps(input_json), standard_json=True
    )
    output = json.loads(stdout)
    diagnostics = [_diagnostic(raw, sources) for raw in output.get("errors", [])]
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        raise CompilationError(errors)
    on_progress("writing artifacts")
    written = _write_artifacts(root, output)
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache_path.write_text(
        json.dumps({"hash": digest, "artifacts": [p.relative_to(root).as_posix() for p in written]})
    )
    warnings = [d for d in diagnostics if d.severity == "warning"]
    return CompileResult(written, False, time.perf_counter() - started, warnings)
