"""Fail on any Slither finding of High or Medium impact in our contracts that the triage file does not accept.

Usage: slither_gate.py SLITHER_JSON TRIAGE_FILE

A finding is keyed ``detector Contract.member`` (no line numbers, so edits elsewhere keep the key). The triage
file has one accepted finding a line: ``detector Contract.member  reason`` (a reason is required). Findings in
node_modules (OpenZeppelin, audited upstream) and contracts/mocks (test doubles) are filtered before this.
Accepted entries that no longer match anything are listed so the file stays honest.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

GATED = {"High", "Medium"}


def finding_key(result: dict) -> str:
    element = next((e for e in result["elements"] if e.get("type") in ("function", "variable", "contract",
                                                                        "event", "node")), result["elements"][0])
    if element.get("type") == "node":
        element = element["type_specific_fields"]["parent"]
    parent = element.get("type_specific_fields", {}).get("parent", {})
    member = element.get("name", "?")
    if parent.get("type") == "function":  # a local variable: Contract.function.variable
        member = f"{parent.get('name')}.{member}"
        parent = parent.get("type_specific_fields", {}).get("parent", {})
    owner = parent.get("name") if parent.get("type") == "contract" else None
    return f"{result['check']} {owner}.{member}" if owner else f"{result['check']} {member}"


def read_triage(path: Path) -> dict[str, str]:
    accepted = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(None, 2)
        if len(parts) < 3:
            sys.exit(f"{path}:{number}: expected 'detector Contract.member reason', got {line!r}")
        accepted[f"{parts[0]} {parts[1]}"] = parts[2]
    return accepted


def in_our_code(result: dict) -> bool:
    files = {e.get("source_mapping", {}).get("filename_relative", "") for e in result["elements"]}
    return any(f.startswith("contracts/") and not f.startswith("contracts/mocks/") for f in files)


def main(report_path: str, triage_path: str) -> int:
    report = json.loads(Path(report_path).read_text())
    if not report.get("success", False):
        print(f"slither failed: {report.get('error')}", file=sys.stderr)
        return 2
    results = [r for r in report["results"].get("detectors", []) if r["impact"] in GATED and in_our_code(r)]
    accepted = read_triage(Path(triage_path))
    found = {finding_key(r): r for r in results}
    new = sorted(k for k in found if k not in accepted)
    stale = sorted(k for k in accepted if k not in found)
    for key in stale:
        print(f"triage entry matches nothing any more (remove it): {key}")
    for key in new:
        result = found[key]
        print(f"NEW {result['impact']}: {key}\n    {result['description'].splitlines()[0]}")
    print(f"slither: {len(found)} High/Medium findings in contracts/, {len(found) - len(new)} triaged, "
          f"{len(new)} new")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
