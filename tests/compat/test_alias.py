"""``labjoin.compat.alias_datajoint()``: code that imports ``datajoint`` runs on labjoin unchanged.

Every check runs in a fresh interpreter, because the alias must be installed before anything
imports ``datajoint`` (and, in the compatibility environment, the other tests import the real
one). These tests need no real DataJoint, so they run in the main environment too.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from compat_fixtures import MYSQL_URL, lj_mysql  # noqa: F401 - a fixture, used by name

import labjoin
from labjoin import compat, errors

HERE = Path(__file__).resolve().parent


def run(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter (with this directory importable); return the result."""
    full_env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]))
    full_env.update(env or {})
    return subprocess.run([sys.executable, *args, "-c", textwrap.dedent(code)] if code else
                          [sys.executable, *args], capture_output=True, text=True, env=full_env, timeout=120,
                          check=False)


def ok(code: str, *args: str) -> str:
    proc = run(code, *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_unchanged_datajoint_code_runs_on_labjoin(tmp_path: Path) -> None:
    """A pipeline written against ``import datajoint as dj`` declares, fills, populates and deletes."""
    out = ok(f"""
        import labjoin.compat
        labjoin.compat.alias_datajoint()

        import datajoint as dj
        import compat_pipeline as P
        import labjoin

        assert dj.__labjoin__ and dj.Manual is labjoin.Manual and dj.config is labjoin.config
        dj.config["safemode"] = False
        conn = dj.Connection("sqlite:///{tmp_path / 'alias.sqlite'}")
        p = P.declare(dj, dj.Schema("compat_alias", connection=conn))
        P.fill(p, range(4))
        assert p.SessionStats.populate()["success_count"] == 8
        (p.Subject & {{"subject_uuid": P.subject_uuid(1)}}).delete()
        print(len(p.Subject()), len(p.Session()), len(p.SessionStats()), p.Session.__module__)
    """)
    assert out.split() == ["3", "6", "6", "compat_pipeline"]


def test_datajoint_style_configuration(lj_mysql: labjoin.Connection) -> None:  # noqa: F811
    """The usual DataJoint preamble (``dj.config['database.host']`` ...) connects labjoin to MySQL."""
    from sqlalchemy.engine import make_url

    url = make_url(MYSQL_URL)
    schema = f"compat_cfg_{os.getpid()}"
    try:
        out = ok(f"""
            import labjoin.compat
            labjoin.compat.alias_datajoint()
            import datajoint as dj
            dj.config["database.host"] = {url.host!r}
            dj.config["database.port"] = {url.port or 3306}
            dj.config["database.user"] = {url.username!r}
            dj.config["database.password"] = {url.password or ""!r}
            dj.config["database.use_tls"] = False
            dj.config["safemode"] = False
            dj.config["display.limit"] = 5

            schema = dj.schema({schema!r})

            @schema
            class Mouse(dj.Manual):
                definition = \"\"\"
                mouse: int
                \"\"\"

            Mouse.insert1((7,))
            print(dj.conn().backend.name, Mouse.fetch1("mouse"), list(schema.log.fetch("event")))
        """)
    finally:
        lj_mysql.query(f"DROP DATABASE IF EXISTS `{schema}`")
    assert out.strip() == f"mysql 7 ['created', 'Declared `{schema}`.`mouse`']"


def test_datajoint_submodules_map_onto_labjoin() -> None:
    out = ok("""
        import labjoin.compat
        labjoin.compat.alias_datajoint()
        import labjoin, labjoin.heading.blob, labjoin.connection.connection
        import datajoint as dj
        from datajoint.errors import DuplicateError, DataJointError
        from datajoint.blob import pack, unpack
        from datajoint.schemas import Schema, VirtualModule
        from datajoint.user_tables import Manual, Lookup, Imported, Computed, Part
        from datajoint.table import Table, FreeTable, Log
        from datajoint.expression import QueryExpression, AndList, Not, U
        from datajoint.condition import AndList as AndList2
        from datajoint.connection import Connection, conn
        from datajoint.settings import config
        from datajoint.hash import key_hash, uuid_from_buffer
        from datajoint.utils import to_camel_case, from_camel_case, get_master, user_choice
        from datajoint.version import __version__
        import datajoint.autopopulate, datajoint.jobs, datajoint.heading, datajoint.diagram

        assert dj.errors is labjoin.errors and DuplicateError is labjoin.errors.DuplicateError
        assert dj.blob is labjoin.heading.blob and unpack(pack({"a": 1})) == {"a": 1}
        assert Schema is labjoin.Schema and Manual is labjoin.Manual and Part is labjoin.Part
        assert AndList is AndList2 is labjoin.AndList and U is labjoin.U and config is labjoin.config
        assert Connection is labjoin.Connection and Log.__name__ == "LogTable"
        assert __version__ == dj.__version__ == "0.14.10" and dj.__labjoin_version__ == labjoin.__version__
        assert key_hash({"a": 1}) == "c4ca4238a0b923820dcc509a6f75849b"
        assert str(uuid_from_buffer(b"abc")) == "90015098-3cd2-4fb0-d696-3f7d28e17f72"
        assert to_camel_case("all_the_things") == "AllTheThings" and from_camel_case("AllTheThings") == "all_the_things"
        assert get_master("`lab`.`#session__trial`") == "`lab`.`#session`" and get_master("`lab`.`x`") == ""
        # importing datajoint.connection must not replace labjoin's connection package
        assert labjoin.connection.__name__ == "labjoin.connection"
        assert dj.connection is labjoin.connection.connection
        assert dj.key == "KEY" and "Manual" in dir(dj)
        print("ok")
    """)
    assert out.strip() == "ok"


def test_unknown_modules_and_names_say_so() -> None:
    out = ok("""
        import labjoin.compat
        labjoin.compat.alias_datajoint()
        import datajoint as dj
        try:
            import datajoint.s3
        except ImportError as e:
            print(type(e).__name__, "|", e)
        try:
            from datajoint import NoSuchThing
        except ImportError as e:
            print(type(e).__name__, "|", e)
        try:
            dj.NoSuchThing
        except AttributeError as e:
            print(type(e).__name__, "|", e)
    """)
    lines = out.strip().splitlines()
    assert lines[0].startswith("CompatibilityError | labjoin's datajoint alias has no module 'datajoint.s3'")
    assert "datajoint.errors" in lines[0]
    assert lines[1].startswith("ImportError | cannot import name 'NoSuchThing' from 'datajoint'")
    assert lines[2].startswith("AttributeError | module 'datajoint' (labjoin's alias of DataJoint) has no attribute")


def test_refused_when_the_real_datajoint_is_imported() -> None:
    proc = run("""
        import sys, types
        fake = types.ModuleType("datajoint")
        fake.__file__ = "/site-packages/datajoint/__init__.py"
        sys.modules["datajoint"] = fake          # as if the real package had been imported
        import labjoin.compat
        labjoin.compat.alias_datajoint()
    """)
    assert proc.returncode != 0
    assert "CompatibilityError: The real datajoint package is already imported (datajoint from " \
           "/site-packages/datajoint/__init__.py)" in proc.stderr
    assert "before anything imports datajoint" in proc.stderr


@pytest.mark.skipif(importlib.util.find_spec("datajoint") is None,
                    reason="the real datajoint is not installed here (compatibility environment only)")
def test_alias_wins_over_the_installed_datajoint() -> None:
    """With the real package installed, the alias still decides what ``import datajoint`` gives."""
    out = ok("""
        import labjoin.compat
        labjoin.compat.alias_datajoint()
        import datajoint, datajoint.errors
        print(datajoint.__labjoin__, datajoint.errors.__name__)
    """)
    assert out.split() == ["True", "labjoin.errors"]
    proc = run("import datajoint, labjoin.compat; labjoin.compat.alias_datajoint()")
    assert proc.returncode != 0 and "The real datajoint package is already imported" in proc.stderr


def test_idempotent_and_undone() -> None:
    out = ok("""
        import sys
        import labjoin.compat as c
        c.alias_datajoint(); c.alias_datajoint()
        assert sys.meta_path.count(c._FINDER) == 1 and c.is_aliased()
        import datajoint, datajoint.errors, datajoint.utils
        c.unalias_datajoint()
        assert not c.is_aliased() and not [m for m in sys.modules if m.split(".")[0] == "datajoint"]
        assert "labjoin.errors" in sys.modules
        c.alias_datajoint()                     # the alias's own modules do not count as the real one
        import datajoint
        print(datajoint.__labjoin__)
    """)
    assert out.strip() == "True"


def test_run_a_script_unchanged(tmp_path: Path) -> None:
    """``python -m labjoin.compat script.py args`` runs a DataJoint script as it is."""
    script = tmp_path / "pipeline.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        import datajoint as dj
        dj.config["safemode"] = False
        schema = dj.Schema("compat_script", connection=dj.Connection("sqlite:///{tmp_path / 'script.sqlite'}"))

        @schema
        class Mouse(dj.Manual):
            definition = '''
            mouse: int
            '''

        Mouse.insert([(int(a),) for a in sys.argv[1:]])
        print(__name__, Mouse.fetch("mouse").tolist(), dj.__labjoin__)
    """))
    out = ok("", "-m", "labjoin.compat", str(script), "3", "1", "2")
    assert out.split() == ["__main__", "[1,", "2,", "3]", "True"]
    assert run("", "-m", "labjoin.compat").returncode == 2


def test_in_process_api() -> None:
    """What can be checked without importing datajoint here."""
    assert set(compat.MODULES) >= {"datajoint.errors", "datajoint.blob", "datajoint.schemas", "datajoint.table",
                                   "datajoint.user_tables", "datajoint.settings", "datajoint.connection",
                                   "datajoint.expression", "datajoint.condition", "datajoint.utils"}
    for targets in compat.MODULES.values():
        for target in targets:
            assert importlib.util.find_spec(target) is not None, target
    assert issubclass(errors.CompatibilityError, ModuleNotFoundError)
    assert issubclass(errors.CompatibilityError, labjoin.DataJointError)
    assert compat.to_camel_case("a_b1_c") == "AB1C" and compat.is_camel_case("Ab") and not compat.is_camel_case("ab")
