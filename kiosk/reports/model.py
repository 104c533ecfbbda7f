"""The shape every report has: a title, headline figures and named tables. The HTML page,
the CSV and the XLSX are all rendered from one Report, so they hold the same numbers."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    chart: str | None = None  # "bar" | "stacked" | None
    collapse: bool = True  # a long table folds under its chart / a "Table" toggle on the page
    chart_column: int | None = None  # the column a bar chart plots (default: the first numeric one)


@dataclass
class Kpi:
    key: str
    label: str
    value: Any
    previous: Any = None
    unit: str = ""

    @property
    def change(self) -> Any:
        if isinstance(self.value, (int, float)) and isinstance(self.previous, (int, float)):
            return round(self.value - self.previous, 4)
        return None


@dataclass
class Report:
    kind: str  # daily | monthly
    period: str  # YYYY-MM-DD | YYYY-MM
    title: str
    generated_at: str
    kpis: list[Kpi] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)

    def kpi(self, key: str) -> Kpi:
        return next(k for k in self.kpis if k.key == key)


def median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def p90(values: Sequence[float]) -> float | None:
    """Nearest-rank 90th percentile: the smallest value with at least 90 % of values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)], 1)


def share(part: int, whole: int) -> float | None:
    """A percentage with one decimal, None when there is nothing to count."""
    return round(100.0 * part / whole, 1) if whole else None


def mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None
