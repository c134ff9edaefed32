"""Importing brainlab never connects; the first use of a table binds it; IBL-style code runs.

Each case runs in a fresh interpreter, as a notebook would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from brainlab import schemas

IBL_NOTEBOOK = """
from brainlab import subject, acquisition, behavior, reference
from brainlab.analyses import behavior as behavior_analyses

subjects = subject.Subject * subject.SubjectLab & 'lab_name = "larkinlab"'
sessions = acquisition.Session & 'task_protocol LIKE "%trainingChoiceWorld%"'
print("subjects", len(subjects), "training sessions", len(sessions))
trials = behavior.TrialSet.Trial & sessions
choice, contrast_l, contrast_r = trials.fetch(
    'trial_response_choice', 'trial_stim_contrast_left', 'trial_stim_contrast_right')
print("trials", len(choice))
psych = (behavior_analyses.PsychResults * acquisition.Session * subject.Subject).proj(
    'subject_nickname', 'performance_easy', 'threshold', 'bias', session_date='DATE(session_start_time)')
df = psych.fetch(format='frame', order_by='session_start_time')
print("fits", len(df))
status = behavior_analyses.SessionTrainingStatus * acquisition.Session & 'training_status = "ready4recording"'
print("ready4recording", len(status))
by_date = behavior_analyses.BehavioralSummaryByDate.aggr(
    behavior_analyses.BehavioralSummaryByDate.PsychResults, n_blocks='count(*)')
print("days", len(by_date))
print(reference.Lab.fetch('lab_name'))
"""


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=full, timeout=120)


def test_import_does_not_connect(tmp_path: Path) -> None:
    db = tmp_path / "never.sqlite"
    code = """
    import brainlab
    from brainlab import reference, subject, action, acquisition, data, behavior, ephys, histology, qc, public
    from brainlab.analyses import behavior as ab, ephys as ae
    from brainlab.plotting import behavior as pb, ephys as pe
    from brainlab.group_shared import wheel
    from brainlab.ingest import bookkeeping
    assert brainlab.active() is None
    assert subject.Subject.__name__ == "Subject" and behavior.TrialSet.Trial.__name__ == "Trial"
    """
    out = _run(code, {"LABJOIN_DATABASE_URL": f"sqlite:///{db}"})
    assert out.returncode == 0, out.stderr
    assert not db.exists()


def test_first_use_activates_with_the_configured_prefix(tmp_path: Path) -> None:
    db = tmp_path / "lazy.sqlite"
    code = """
    import labjoin as dj
    from brainlab import subject
    print(len(subject.Subject))
    print(sorted(s for s in dj.list_schemas() if s.startswith("blx_"))[:3])
    """
    out = _run(code, {"LABJOIN_DATABASE_URL": f"sqlite:///{db}", "BRAINLAB_SCHEMA_PREFIX": "blx_"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "0"
    assert "blx_acquisition" in out.stdout


def test_auto_activation_can_be_turned_off(tmp_path: Path) -> None:
    code = """
    from brainlab import subject
    try:
        len(subject.Subject)
    except Exception as e:
        print(type(e).__name__, e)
    """
    out = _run(code, {"LABJOIN_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite'}", "BRAINLAB_AUTO_ACTIVATE": "0"})
    assert "DataJointError" in out.stdout and "brainlab.activate" in out.stdout


def test_an_ibl_notebook_runs_after_changing_its_imports(pipeline: schemas.Activation) -> None:
    out = _run(IBL_NOTEBOOK, {"LABJOIN_DATABASE_URL": f"sqlite:///{_sqlite_path(pipeline)}",
                              "BRAINLAB_SCHEMA_PREFIX": pipeline.prefix})
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    assert int(lines["fits"]) > 0 and int(lines["trials"]) > 0 and int(lines["days"]) > 0
    assert "larkinlab" in out.stdout


def _sqlite_path(activation: schemas.Activation) -> str:
    rows = activation.connection.query("PRAGMA database_list").fetchall()
    return next(r[2] for r in rows if r[1] == "main")
