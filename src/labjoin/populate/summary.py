"""What a ``populate`` call reports: DataJoint's return dict, an end summary and a progress bar."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from .runner import KeyResult, Outcome

__all__ = ["PopulateResult", "PopulateSummary", "progress_bar"]

logger = logging.getLogger("labjoin.populate")


@dataclass
class PopulateSummary:
    """Counts of one ``populate`` call, by what happened to each key.

    ``blocked`` counts keys left out because their ``~jobs`` row is an error or ignore row from an
    earlier run (delete those rows to retry them).
    """

    table: str
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    reserved_elsewhere: int = 0
    interrupted: int = 0
    blocked: int = 0
    stale_cleared: int = 0
    seconds: float = 0.0
    _t0: float = field(default_factory=time.perf_counter, repr=False)

    def add(self, result: KeyResult) -> None:
        o = result.outcome
        if o is Outcome.SUCCESS:
            self.succeeded += 1
        elif o is Outcome.ERROR:
            self.failed += 1
        elif o is Outcome.SKIPPED:
            self.skipped += 1
        elif o is Outcome.RESERVED:
            self.reserved_elsewhere += 1
        else:
            self.interrupted += 1

    def finish(self) -> PopulateSummary:
        self.seconds = time.perf_counter() - self._t0
        return self

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("_t0")
        return d

    def __str__(self) -> str:
        text = (f"{self.table}: {self.succeeded} succeeded, {self.failed} failed, {self.skipped} skipped, "
                f"{self.reserved_elsewhere} reserved elsewhere")
        if self.interrupted:
            text += f", {self.interrupted} interrupted"
        if self.blocked:
            text += f" ({self.blocked} left out: error/ignore rows in ~jobs)"
        if self.stale_cleared:
            text += f" ({self.stale_cleared} stale reservations taken over)"
        return text + f" in {self.seconds:.2f} s"


class PopulateResult(dict):  # type: ignore[type-arg]
    """DataJoint's ``{"success_count": n, "error_list": [...]}``, plus ``.summary`` (a `PopulateSummary`).

    It compares equal to the plain dict, so code written for DataJoint keeps working.
    """

    summary: PopulateSummary

    def __init__(self, summary: PopulateSummary, error_list: list[Any]) -> None:
        super().__init__(success_count=summary.succeeded, error_list=error_list)
        self.summary = summary


class _NoBar:
    def update(self, n: int = 1) -> None:
        return None

    def set_postfix_str(self, s: str) -> None:
        return None


@contextlib.contextmanager
def progress_bar(total: int, desc: str, enabled: bool) -> Iterator[Any]:
    """A tqdm bar (``tqdm.auto``: a widget in Jupyter, text in a terminal), or a stand-in."""
    if not enabled:
        yield _NoBar()
        return
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="key")
    try:
        yield bar
    finally:
        bar.close()


def log_summary(summary: PopulateSummary, display: bool) -> None:
    logger.info("%s", summary)
    if display:
        print(summary, flush=True)
