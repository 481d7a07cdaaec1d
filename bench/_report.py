"""Shared helpers for benchmark modules: timing, medians and the ``BENCH`` line format.

``ratio`` is always ``baseline / value``: how many times better (faster)
Nimbus is than its baseline. Above 1 is faster, below 1 is slower.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed(function: Callable[[], object]) -> tuple[float, object]:
    """(seconds ``function()`` took, its result), on the monotonic high-resolution clock."""
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def note(text: str) -> None:
    """A context line printed before the figures: what was measured and how; never parsed."""
    print(f"# {text}", flush=True)


@dataclass(frozen=True)
class Figure:
    topic: str
    name: str
    value: float
    baseline: float
    unit: str
    goal: str
    met: bool

    @property
    def ratio(self) -> float:
        return self.baseline / self.value if self.value else float("inf")

    def line(self) -> str:
        return (
            f"BENCH {self.topic}.{self.name} value={_number(self.value)}{self.unit} "
            f"baseline={_number(self.baseline)}{self.unit} ratio={self.ratio:.2f} goal={self.goal} "
            f"{'MET' if self.met else 'MISSED'}"
        )


def _number(value: float) -> str:
    # Three significant digits: enough to compare runs, no false precision (and no exponent).
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def report(figures: list[Figure]) -> None:
    """Print the figures last, one line each, as CONVENTIONS.md requires."""
    for figure in figures:
        print(figure.line())
    sys.stdout.flush()
