"""Fixtures of the brainlab tests: a small simulated cohort and the pipeline run on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import labjoin as dj
from brainlab import schemas, settings
from brainlab.demo import demo_config
from brainlab.simulate import simulate


@pytest.fixture(scope="session")
def small_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's small cohort: 1 mouse, 36 days, 20 sessions, one recording (8-12 clusters)."""
    out = tmp_path_factory.mktemp("brainlab_cohort")
    simulate(out, demo_config(small=True))
    return out


@pytest.fixture(scope="session")
def sqlite_pipeline(small_cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[schemas.Activation]:
    """The small cohort ingested day by day (``run_daily``) into a fresh SQLite file."""
    from brainlab.ingest.daily import run_daily

    path = tmp_path_factory.mktemp("brainlab_db") / "pipeline.sqlite"
    conn = dj.Connection(f"sqlite:///{path}")
    with dj.config(safemode=False):
        activation = schemas.activate(prefix="blt_", connection=conn)
        run_daily(small_cohort, backtrack_days=30)
    yield activation
    settings.set_data_root(None)


@pytest.fixture
def pipeline(sqlite_pipeline: schemas.Activation, small_cohort: Path) -> schemas.Activation:
    """The SQLite pipeline, made the active binding again (another test may have rebound)."""
    settings.set_data_root(small_cohort)
    return schemas.activate(prefix=sqlite_pipeline.prefix, connection=sqlite_pipeline.connection)
