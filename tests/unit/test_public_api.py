"""The public API is explicit: every name in __all__ exists, and DataJoint's names are there."""

from __future__ import annotations

import labjoin as dj

DATAJOINT_014_NAMES = [
    "Schema", "schema", "VirtualModule", "create_virtual_module", "list_schemas", "Manual", "Lookup",
    "Imported", "Computed", "Part", "Table", "FreeTable", "U", "AndList", "Not", "Top", "Diagram", "ERD",
    "config", "conn", "Connection", "errors", "DataJointError", "MatCell", "MatStruct",
]
DATAJOINT_2_NAMES = ["Entry", "Ingest", "Compute", "virtual_schema"]


def test_all_names_exist() -> None:
    for name in dj.__all__:
        assert getattr(dj, name) is not None, name


def test_datajoint_names_are_exported() -> None:
    for name in DATAJOINT_014_NAMES + DATAJOINT_2_NAMES:
        assert name in dj.__all__, name


def test_errors_reachable_both_ways() -> None:
    assert dj.errors.DuplicateError is dj.errors.DuplicateError
    assert issubclass(dj.errors.UnknownAttributeError, KeyError)
    assert issubclass(dj.errors.DuplicateError, dj.DataJointError)


def test_import_does_not_connect() -> None:
    import subprocess
    import sys

    code = ("import labjoin, labjoin.connection.connection as c; "
            "assert c._default is None; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
