"""Strict spec files: every section and key must be one the spec knows.

A misspelt section (``[complaince]``) or key (``lockup_dayz``) would otherwise be ignored and
silently drop a rule, so each unknown name is reported with the file, its line, and the closest
valid name. A schema is a dict of the allowed names: ``None`` for a value, a dict for a table,
``[dict]`` for an array of tables and :data:`OPEN` for a table whose keys are free.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

OPEN = object()  # a table whose keys are not checked (e.g. free-form model inputs)


@dataclass(frozen=True)
class UnknownName:
    """One section or key that the schema does not know."""

    path: tuple[str | int, ...]  # e.g. ("compliance", "lockup_dayz") or ("devices", 0, "cuont")
    is_section: bool
    suggestion: str | None
    line: int | None
    file: str | None

    @property
    def name(self) -> str:
        return str(self.path[-1])

    @property
    def dotted(self) -> str:
        return dotted(self.path)

    @property
    def message(self) -> str:
        """``x.toml: unknown key `lockup_dayz` in [compliance] (line 38); did you mean `lockup_days`?``"""
        parent = dotted(self.path[:-1])
        if self.is_section:
            what = f"unknown section [{dotted(self.path)}]"
        else:
            where_in = (f" in {parent}" if "[" in parent else f" in [{parent}]") if parent else ""
            what = f"unknown key `{self.name}`{where_in}"
        where = f" (line {self.line})" if self.line else ""
        hint = ""
        if self.suggestion:
            hint = (f"; did you mean [{dotted((*self.path[:-1], self.suggestion))}]?" if self.is_section
                    else f"; did you mean `{self.suggestion}`?")
        prefix = f"{self.file}: " if self.file else ""
        return f"{prefix}{what}{where}{hint}"


def dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def unknown_names(data: Any, schema: Any, text: str | None = None, file: str | Path | None = None) -> list[UnknownName]:
    """Every name in ``data`` that ``schema`` does not allow, in file order when ``text`` is given."""
    found: list[tuple[tuple, bool, list[str], dict[str, bool]]] = []
    _walk(data, schema, (), found)
    lines = _TomlLines(text) if text is not None else None
    name = str(file) if file is not None else None
    result = []
    for path, is_section, valid, missing in found:
        result.append(UnknownName(path, is_section, _suggest(str(path[-1]), is_section, valid, missing),
                                  lines.line_of(path) if lines else None, name))
    return sorted(result, key=lambda u: (u.line or 0))


def _suggest(name: str, is_section: bool, valid: list[str], missing: dict[str, bool]) -> str | None:
    """The valid name meant: a close one not used yet, else the only unused one of the same kind, else a close one."""
    unused = [k for k in missing]
    close = difflib.get_close_matches(name, unused, n=1, cutoff=0.6)
    if close:
        return close[0]
    same_kind = [k for k, section in missing.items() if section == is_section]
    if len(same_kind) == 1 and is_section:
        return same_kind[0]
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.75)
    return close[0] if close else None


def _walk(data: Any, schema: Any, path: tuple, found: list) -> None:
    if schema is None or schema is OPEN:
        return
    if isinstance(schema, list):
        if isinstance(data, list):
            for index, item in enumerate(data):
                _walk(item, schema[0], (*path, index), found)
        return
    if not isinstance(data, dict):
        return  # the type is the parser's business; it names the field
    missing = {k: isinstance(v, (dict, list)) or v is OPEN for k, v in schema.items() if k not in data}
    for key, value in data.items():
        if key not in schema:
            is_section = isinstance(value, dict) or (isinstance(value, list) and bool(value)
                                                     and all(isinstance(v, dict) for v in value))
            found.append(((*path, key), is_section, list(schema), missing))
        else:
            _walk(value, schema[key], (*path, key), found)


def schema_of(cls: type, nested: dict[str, Any] | None = None) -> dict[str, Any]:
    """The schema of a dataclass's fields; ``nested`` gives the sub-schema of table-valued fields."""
    nested = nested or {}
    assert is_dataclass(cls)
    return {f.name: nested.get(f.name) for f in fields(cls)}


class _TomlLines:
    """Where each table header and key sits in a TOML (or YAML) text, 1-based."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]#]+?)\s*\]\]?")
    _KEY = re.compile(r"^\s*(?:-\s+)?[\"']?([A-Za-z0-9_.-]+?)[\"']?\s*[=:]")

    def __init__(self, text: str):
        self.lines: dict[tuple, int] = {}
        self.text_lines = text.splitlines()
        counters: dict[tuple, int] = {}
        table: tuple = ()
        for number, line in enumerate(self.text_lines, start=1):
            header = self._HEADER.match(line)
            if header:
                names = tuple(part.strip().strip("\"'") for part in header.group(2).split("."))
                if header.group(1) == "[[":
                    index = counters.get(names, 0)
                    counters[names] = index + 1
                    table = (*names, index)
                    self.lines.setdefault(names, number)  # the array itself starts at its first [[header]]
                else:
                    table = names
                self.lines.setdefault(table, number)
                continue
            key = self._KEY.match(line)
            if key:
                path = (*table, *key.group(1).split("."))
                for depth in range(len(table) + 1, len(path) + 1):
                    self.lines.setdefault(path[:depth], number)

    def line_of(self, path: tuple) -> int | None:
        if path in self.lines:
            return self.lines[path]
        # inline tables and YAML nesting: the first line after the parent's that names the key
        start = 0
        for depth in range(len(path) - 1, 0, -1):
            if path[:depth] in self.lines:
                start = self.lines[path[:depth]]
                break
        pattern = re.compile(rf"(^|[\s{{,])[\"']?{re.escape(str(path[-1]))}[\"']?\s*[=:]")
        for number in range(max(start, 1), len(self.text_lines) + 1):
            if pattern.search(self.text_lines[number - 1]):
                return number
        return None
