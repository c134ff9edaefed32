"""The DataJoint Elements from PyPI, unchanged, on labjoin through ``alias_datajoint()``.

element-lab, element-animal, element-session and element-event activate the way DataJoint's
workflow pipelines activate them, declare every table, and take a row in each (inserted through
their own classes), on SQLite, PostgreSQL and MySQL. Each backend runs in a fresh process
(``elements_driver.py``), since the alias must come before anything imports ``datajoint``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from compat_fixtures import MARKS

import labjoin as dj

pytestmark = MARKS

ELEMENTS = ("element_lab", "element_animal", "element_session", "element_event")
DRIVER = Path(__file__).with_name("elements_driver.py")
ORDER = ["lab", "project", "subject", "genotyping", "surgery", "session", "event", "trial"]


@pytest.fixture(autouse=True)
def _need_elements() -> None:
    missing = [e for e in ELEMENTS if importlib.util.find_spec(e) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed here; the Elements test runs in the compatibility "
                    "environment: `python3 run.py compat`")


def test_elements_activate_declare_and_insert(backend: dj.Connection) -> None:
    prefix = f"compat_el{uuid.uuid4().hex[:6]}_"
    env = dict(os.environ, LABJOIN_DATABASE_URL=backend.url, PYTHONWARNINGS="ignore")
    try:
        proc = subprocess.run([sys.executable, str(DRIVER), prefix], env=env, capture_output=True, text=True,
                              timeout=300, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        report = json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        made = set(dj.list_schemas(backend))
        for name in reversed(ORDER):  # dependents first: MySQL will not drop a referenced table
            if prefix + name in made:
                dj.Schema(prefix + name, connection=backend, create_schema=False).drop(force=True)
    assert report["backend"] == backend.backend.name and report["is_labjoin"] is True
    classes = set(report["classes"])
    assert len(classes) == 74, "the 74 tables of the pinned Element versions (run.py COMPAT_PACKAGES)"
    # every table of every Element is declared, and nothing else
    assert set(report["declared"]) == classes
    # and each took its row (Lookups keep their contents besides)
    assert set(report["rows"]) == classes
    assert all(n >= 1 for n in report["rows"].values())
    assert all(n == 1 for t, n in report["rows"].items() if "`#" not in t)
