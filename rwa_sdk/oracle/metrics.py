"""A few thread-safe counters, gauges and histograms rendered in the Prometheus text format (no dependency)."""

from __future__ import annotations

import threading
from collections import defaultdict
from bisect import bisect_left
from collections.abc import Callable, Sequence

# Seconds: from a fast in-memory group (0.5 ms) to a stalled disk (10 s).
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Histogram:
    __slots__ = ("bounds", "counts", "total", "n")

    def __init__(self, bounds: Sequence[float]):
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.total = 0.0
        self.n = 0

    def add(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value
        self.n += 1


class Metrics:
    """Counters (monotonic) and gauges (sampled when rendered), each with optional labels."""

    def __init__(self, prefix: str = "rwa_oracle"):
        self.prefix = prefix
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self._help: dict[str, tuple[str, str]] = {}
        self._gauges: dict[str, Callable[[], dict[str, float]]] = {}
        self._histograms: dict[str, _Histogram] = {}
        self._included: list[Callable[[], str]] = []

    def inc(self, name: str, amount: float = 1, help_text: str = "", **labels: str) -> None:
        key = (name, tuple(sorted(labels.items())))
        with self._lock:
            self._counters[key] += amount
            self._help.setdefault(name, ("counter", help_text))

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._counters.get((name, tuple(sorted(labels.items()))), 0.0)

    def observe(self, name: str, value: float, help_text: str = "",
                buckets: Sequence[float] = LATENCY_BUCKETS) -> None:
        """Add ``value`` to histogram ``name`` (its buckets are fixed by the first call)."""
        with self._lock:
            h = self._histograms.get(name)
            if h is None:
                h = self._histograms[name] = _Histogram(buckets)
                self._help[name] = ("histogram", help_text)
            h.add(value)

    def histogram(self, name: str) -> tuple[int, float]:
        """(count, sum) of histogram ``name`` so far."""
        with self._lock:
            h = self._histograms.get(name)
            return (h.n, h.total) if h is not None else (0, 0.0)

    def gauges(self, name: str, sample: Callable[[], dict[str, float]], help_text: str = "") -> None:
        """Register ``sample()`` -> {label value: number}, read at each render (label ``kind``)."""
        with self._lock:
            self._gauges[name] = sample
            self._help[name] = ("gauge", help_text)

    def include(self, text: Callable[[], str]) -> None:
        """Append ``text()`` (already rendered, e.g. by another process) to every render."""
        with self._lock:
            self._included.append(text)

    def render(self) -> str:
        with self._lock:
            included = list(self._included)
            counters = dict(self._counters)
            gauges = dict(self._gauges)
            helps = dict(self._help)
            histograms = {name: (h.bounds, list(h.counts), h.total, h.n) for name, h in self._histograms.items()}
        lines: list[str] = []
        seen: set[str] = set()
        for (name, labels), value in sorted(counters.items()):
            full = f"{self.prefix}_{name}"
            if name not in seen:
                kind, text = helps[name]
                lines += [f"# HELP {full} {text or name}", f"# TYPE {full} {kind}"]
                seen.add(name)
            lines.append(f"{full}{_labels(labels)} {value:g}")
        for name, (bounds, counts, total, n) in sorted(histograms.items()):
            full = f"{self.prefix}_{name}"
            kind, text = helps[name]
            lines += [f"# HELP {full} {text or name}", f"# TYPE {full} histogram"]
            running = 0
            for bound, count in zip(bounds, counts):
                running += count
                lines.append(f'{full}_bucket{{le="{bound:g}"}} {running}')
            lines += [f'{full}_bucket{{le="+Inf"}} {n}', f"{full}_sum {total:g}", f"{full}_count {n}"]
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
        for text in included:
            try:
                part = text()
            except Exception:  # like a gauge: never breaks the scrape
                continue
            if part.strip():
                lines.append(part.rstrip("\n"))
        return "\n".join(lines) + "\n"


def _labels(labels: tuple[tuple[str, str], ...]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
