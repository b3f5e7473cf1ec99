"""A few thread-safe counters and gauges rendered in the Prometheus text format (no dependency)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable


class Metrics:
    """Counters (monotonic) and gauges (sampled when rendered), each with optional labels."""

    def __init__(self, prefix: str = "rwa_oracle"):
        self.prefix = prefix
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self._help: dict[str, tuple[str, str]] = {}
        self._gauges: dict[str, Callable[[], dict[str, float]]] = {}

    def inc(self, name: str, amount: float = 1, help_text: str = "", **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._counters[key] += amount
            self._help.setdefault(name, ("counter", help_text))

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._counters.get((name, tuple(sorted(labels.items()))), 0.0)

    def gauges(self, name: str, sample: Callable[[], dict[str, float]], help_text: str = "") -> None:
        """Register ``sample()`` -> {label value: number}, read at each render (label ``kind``)."""
        with self._lock:
            self._gauges[name] = sample
            self._help[name] = ("gauge", help_text)

    def render(self) -> str:
        with self._lock:
            counters = dict(self._counters)
            gauges = dict(self._gauges)
            helps = dict(self._help)
        lines: list[str] = []
        seen: set[str] = set()
        for (name, labels), value in sorted(counters.items()):
            full = f"{self.prefix}_{name}"
            if name not in seen:
                kind, text = helps[name]
                lines += [f"# HELP {full} {text or name}", f"# TYPE {full} {kind}"]
                seen.add(name)
            lines.append(f"{full}{_labels(labels)} {value:g}")
        for name, sample in sorted(gauges.items()):
            full = f"{self.prefix}_{name}"
            kind, text = helps[name]
            lines += [f"# HELP {full} {text or name}", f"# TYPE {full} {kind}"]
            try:
                values = sample()
            except Exception:  # a gauge must never break the scrape
                continue
            for label, value in sorted(values.items()):
                lines.append(f"{full}{_labels((('kind', label),))} {value:g}")
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
