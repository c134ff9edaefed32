#!/usr/bin/env python3
"""The two commands of the README, with all the set-up they need.

    python3 run.py demo     # the main job on the embedded SQLite database
    python3 run.py test     # the test suite (SQLite always; PostgreSQL/MySQL when reachable)
    python3 run.py compat   # tests/compat against the real DataJoint 0.14 and the DataJoint Elements

Each creates ./.venv if needed and installs the project into it (editable, with test extras),
then runs inside it. `compat` uses its own ./.venv-compat instead, which also holds
datajoint==0.14.10 from PyPI and the Elements, so the main environment never has the real
`datajoint` package. Only Python 3.11+ is required.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
# The compatibility environment: the real DataJoint next to labjoin. The Elements are installed
# with their dependencies: they accept datajoint 0.14, so pip keeps the pinned one, and
# labjoin.compat.alias_datajoint() puts its import hook ahead of the installed package.
COMPAT_VENV = ROOT / ".venv-compat"
COMPAT_PACKAGES = ["datajoint==0.14.10", "element-lab==0.3.0", "element-animal==0.1.8",
                   "element-session==0.1.6", "element-event==0.2.3"]


def ensure_venv(venv_dir: Path = VENV, extras: str = "test,brainlab", more: tuple[str, ...] = ()) -> Path:
    """Create ``venv_dir`` if needed and (re)install the project when pyproject.toml changed."""
    if sys.version_info < (3, 11):  # noqa: UP036 - run.py must explain itself on old Pythons
        sys.exit(f"labjoin needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    py = venv_dir / PY.relative_to(VENV)
    if not py.exists():
        print(f"run.py: creating the virtual environment {venv_dir}", flush=True)
        venv.EnvBuilder(with_pip=True).create(venv_dir)
    stamp = venv_dir / ".labjoin-installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + " ".join(more).encode()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        print(f"run.py: installing labjoin and its dependencies into {venv_dir.name}", flush=True)
        subprocess.check_call([str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
        subprocess.check_call([str(py), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[{extras}]", *more])
        stamp.write_text(digest)
    return py


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "compat"):
        print(__doc__)
        return 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "compat":
        py = ensure_venv(COMPAT_VENV, "test", tuple(COMPAT_PACKAGES))
        return subprocess.call([str(py), "-m", "pytest", "tests/compat", *rest], cwd=ROOT)
    ensure_venv()
    if cmd == "test":
        return subprocess.call([str(PY), "-m", "pytest", *rest], cwd=ROOT)
    serve = "--no-serve" not in rest
    rest = [a for a in rest if a != "--no-serve"]
    status = subprocess.call([str(BIN / "labjoin"), "demo", *rest], cwd=ROOT)
    if status or not serve:
        return status
    url = [a for a in rest if a.startswith("--url")]  # the navigator opens the demo's database
    url_args = url if "=" in "".join(url) else rest[rest.index("--url"): rest.index("--url") + 2] if url else []
    print("run.py: starting the navigator at http://127.0.0.1:8000 (Ctrl-C stops it)", flush=True)
    try:
        return subprocess.call([str(BIN / "labjoin"), "serve", *url_args], cwd=ROOT)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
