"""Ground-truth files written next to the data, and a reader for them.

Layout under ``<out_dir>/ground_truth/``:

* ``subjects.json``: one object per trained mouse (learning traits, status transitions, cull).
* ``sessions.json``: one object per session written to disk, including habituation sessions and
  the scripted mistaken session (``"deleted": true``); true psychometric parameters per block,
  the status the rules give, and the measures behind it.
* ``edits.json``: the scripted LIMS edits and the culls, in day order.
* ``clusters/<session_uuid>_<probe>.json``: the truth of each cluster of a probe.

:class:`GroundTruth` reads them back. The exact fields are listed in docs/brainlab-simulator.md.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labjoin.errors import DataError

__all__ = ["GROUND_TRUTH_DIR", "GroundTruth", "dump_json", "read_ground_truth"]

GROUND_TRUTH_DIR = "ground_truth"


def dump_json(path: Path, content: Any) -> None:
    """Write JSON deterministically (sorted keys, one-space indent, no NaN)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=1, sort_keys=True, allow_nan=False) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class GroundTruth:
    """The ground truth of one simulation.

    Attributes
    ----------
    root : pathlib.Path
        ``<out_dir>/ground_truth``.
    subjects, sessions, edits : list of dict
        Contents of the three JSON files.
    """

    root: Path
    subjects: list[dict[str, Any]] = field(repr=False)
    sessions: list[dict[str, Any]] = field(repr=False)
    edits: list[dict[str, Any]] = field(repr=False)

    def subject(self, nickname: str) -> dict[str, Any]:
        """The subject with this (final) nickname."""
        for s in self.subjects:
            if s["nickname"] == nickname:
                return s
        raise DataError(f"No subject {nickname!r} in the ground truth; known: {[s['nickname'] for s in self.subjects]}.")

    def sessions_of(self, subject_uuid: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        """A subject's sessions in start order (without the deleted one unless asked)."""
        out = [s for s in self.sessions if s["subject_uuid"] == subject_uuid and (include_deleted or not s["deleted"])]
        return sorted(out, key=lambda s: s["start_time"])

    def clusters(self, session_uuid: str, probe_label: str) -> list[dict[str, Any]]:
        """Cluster truth of one probe of one session."""
        path = self.root / "clusters" / f"{session_uuid}_{probe_label}.json"
        if not path.exists():
            raise DataError(f"No cluster truth for session {session_uuid} {probe_label}; ephys sessions are listed "
                            "in sessions.json with their probes.")
        return json.loads(path.read_text(encoding="utf-8"))


def read_ground_truth(out_dir: Path | str) -> GroundTruth:
    """Read the ground truth written by :func:`brainlab.simulate.simulate` into ``out_dir``."""
    root = Path(out_dir) / GROUND_TRUTH_DIR
    if not (root / "sessions.json").exists():
        raise DataError(f"No ground truth in {root}; run brainlab.simulate.simulate(out_dir, config) first.")

    def load(name: str) -> list[dict[str, Any]]:
        return json.loads((root / name).read_text(encoding="utf-8"))

    return GroundTruth(root, load("subjects.json"), load("sessions.json"), load("edits.json"))
