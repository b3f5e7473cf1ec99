"""Every code block of README.md and docs/*.md runs as written, so the documentation cannot rot.

Convention for fenced blocks: ``python``, ``sh`` and ``bash`` blocks run; ``toml`` and ``json``
blocks are parsed; ``text``, ``console`` and untagged blocks are output or diagrams and are not
run. A block right after ``<!-- not run: reason -->`` is skipped (say why). The python blocks of one
file run in order as one program, from the project root; the shell blocks of one file run in one
bash (``set -e``) with ``rwa`` on PATH and ``--network localhost`` pointed at a free port
(``RWA_LOCALHOST_URL``), so ``rwa node &`` starts a node of its own. Records go to a temporary
folder (``RWA_DEPLOYMENTS``) and nothing may be left in the working tree.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from rwa_sdk.anvil import free_port

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RUN = {"python", "sh", "bash"}
PARSE = {"toml", "json"}
NOT_RUN = {"text", "console", ""}
FENCE = re.compile(r"^(```+)\s*([A-Za-z0-9_+-]*)[^\n]*$")
SKIP = re.compile(r"<!--\s*not run:\s*\S.*-->")


@dataclass(frozen=True)
class Block:
    file: Path
    line: int
    lang: str
    text: str
    skipped: bool


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a markdown file, with their language and first line."""
    found, lines = [], path.read_text().splitlines()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        fence, lang, start = match.group(1), match.group(2).lower(), index
        body = []
        index += 1
        while index < len(lines) and not lines[index].startswith(fence):
            body.append(lines[index])
            index += 1
        previous = next((lines[i] for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        found.append(Block(path, start + 1, lang, "\n".join(body) + "\n", bool(SKIP.search(previous))))
        index += 1
    return found


def test_every_block_is_tagged_with_a_known_language():
    for path in DOCS:
        for block in blocks(path):
            assert block.lang in RUN | PARSE | NOT_RUN, f"{path.name}:{block.line}: unknown block language {block.lang!r}"


def test_the_block_parser_finds_languages_and_skip_markers(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# t\n```python\nx = 1\n```\ntext\n<!-- not run: needs a device -->\n```sh\nexit 1\n```\n"
                    "````text\n```python\nnot code\n```\n````\n")
    found = blocks(page)
    assert [(b.lang, b.line, b.skipped) for b in found] == [("python", 2, False), ("sh", 7, True), ("text", 10, False)]
    assert found[2].text == "```python\nnot code\n```\n"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_toml_and_json_blocks_parse(path):
    for block in blocks(path):
        if block.skipped:
            continue
        if block.lang == "toml":
            tomllib.loads(block.text)
        elif block.lang == "json":
            json.loads(block.text)


def _tree_state() -> str:
    """Untracked and changed files of the working tree (what a run could leave behind)."""
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=ROOT,
                          capture_output=True, text=True).stdout


def _env(records: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RWA_PRIVATE_KEY", "RWA_KEYSTORE", "RWA_INVESTOR_KEY", "RWA_NETWORK", "RWA_ASSET")}
    env.update(PYTHONPATH=str(ROOT), RWA_DEPLOYMENTS=str(records), RWA_LOCALHOST_URL=f"http://127.0.0.1:{port}",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}")
    return env


def _run(command: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    """Run in a process group of its own, killed whole afterwards (a `rwa node &` never outlives it)."""
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        pytest.fail(f"{' '.join(command[:2])} timed out after {timeout} s:\n{output[-3000:]}")
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    return subprocess.CompletedProcess(command, process.returncode, output)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_python_blocks_run_as_one_program(path, compiled, tmp_path):
    code = [b for b in blocks(path) if b.lang == "python" and not b.skipped]
    if not code:
        pytest.skip(f"{path.name} has no python blocks")
    script = tmp_path / f"{path.stem}_blocks.py"
    # each block keeps its own line numbers in tracebacks: pad to where it sits in the markdown
    lines: list[str] = []
    for block in code:
        lines += [""] * (block.line - len(lines)) + block.text.splitlines()
    script.write_text("\n".join(lines) + "\n")
    before = _tree_state()
    result = _run([sys.executable, str(script)], _env(tmp_path / "records", free_port()), timeout=300)
    assert result.returncode == 0, f"{path.name} python blocks failed (line numbers are the markdown's):\n" \
                                   f"{result.stdout[-4000:]}"
    assert _tree_state() == before, f"{path.name}'s python blocks left files in the working tree"


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_shell_blocks_run_in_one_shell(path, compiled, tmp_path):
    shell = [b for b in blocks(path) if b.lang in ("sh", "bash") and not b.skipped]
    if not shell:
        pytest.skip(f"{path.name} has no shell blocks to run here")
    script = "set -euo pipefail\n" + "".join(f"# {path.name}:{b.line}\n{b.text}" for b in shell)
    before = _tree_state()
    result = _run(["bash", "-c", script], _env(tmp_path / "records", free_port()), timeout=400)
    assert result.returncode == 0, f"{path.name} shell blocks failed:\n{result.stdout[-4000:]}"
    assert _tree_state() == before, f"{path.name}'s shell blocks left files in the working tree"
