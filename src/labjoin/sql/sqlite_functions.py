"""SQL functions SQLite lacks, registered on every labjoin SQLite connection.

MySQL and PostgreSQL have standard deviation and variance aggregates and REGEXP; SQLite does
not, so the same fragment (``std(x)``, ``x regexp 'a.*'``) would fail there. Each function is
registered as deterministic so SQLite may use it in indexes and constant folding.
"""

from __future__ import annotations

import math
import re
import sqlite3
from functools import lru_cache

__all__ = ["register_functions"]


class _Moments:
    """Welford's online mean/variance: numerically stable in one pass."""

    ddof = 0

    def __init__(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0

    def step(self, value: float | None) -> None:
        if value is None:
            return
        self.n += 1
        delta = float(value) - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (float(value) - self.mean)

    def variance(self) -> float | None:
        if self.n - self.ddof <= 0:
            return None
        return self.m2 / (self.n - self.ddof)


class _VarPop(_Moments):
    def finalize(self) -> float | None:
        return self.variance()


class _VarSamp(_VarPop):
    ddof = 1


class _StdPop(_Moments):
    def finalize(self) -> float | None:
        v = self.variance()
        return None if v is None else math.sqrt(v)


class _StdSamp(_StdPop):
    ddof = 1


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    # MySQL's REGEXP is case-insensitive for case-insensitive collations, as our strings are.
    return re.compile(pattern, re.IGNORECASE)


def _regexp(pattern: str | None, value: str | None) -> int | None:
    if pattern is None or value is None:
        return None
    return 1 if _compiled(pattern).search(str(value)) else 0


def register_functions(raw: sqlite3.Connection) -> None:
    """Add the aggregate and scalar functions labjoin's SQL needs to one SQLite connection."""
    for name, cls in (("var_pop", _VarPop), ("var_samp", _VarSamp), ("variance", _VarPop),
                      ("stddev_pop", _StdPop), ("stddev_samp", _StdSamp), ("stddev", _StdPop),
                      ("std", _StdPop)):
        raw.create_aggregate(name, 1, cls)  # type: ignore[arg-type]
    raw.create_function("regexp", 2, _regexp, deterministic=True)
