"""Accounts and grants enforced on PostgreSQL and MySQL; sessions listed and ended; SQLite says no."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import make_url

import labjoin as dj
from labjoin import admin, errors

pytestmark = pytest.mark.backends


@pytest.fixture
def schema_name() -> str:
    return f"tools_adm_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def accounts(backend: dj.Connection) -> Iterator[list[tuple[str, str]]]:
    """Users and roles made by a test ((kind, name)), dropped afterwards whatever happens."""
    made: list[tuple[str, str]] = []
    yield made
    for kind, name in reversed(made):
        (admin.drop_role if kind == "role" else admin.drop_user)(name, connection=backend)


def login(backend: dj.Connection, user: str, password: str | None = None) -> dj.Connection:
    url = make_url(backend.url).set(username=user, password=password)
    return dj.Connection(url.render_as_string(hide_password=False))


def filled_table(make_schema) -> type:
    schema = make_schema()

    @schema
    class Mouse(dj.Manual):
        definition = """
        mouse: int
        ---
        name: varchar(16)
        """

    Mouse.insert([(1, "a"), (2, "b")])
    return Mouse


def server_only(backend: dj.Connection) -> None:
    if backend.backend.name == "sqlite":
        pytest.skip("accounts exist on PostgreSQL and MySQL only")


def test_sqlite_says_not_applicable(backend: dj.Connection) -> None:
    if backend.backend.name != "sqlite":
        pytest.skip("SQLite only")
    calls = [lambda: admin.create_user("x", connection=backend),
             lambda: admin.grant("x", "s", "read-only", connection=backend),
             lambda: admin.revoke("x", "s", connection=backend),
             lambda: admin.create_role("r", connection=backend),
             lambda: admin.list_connections(connection=backend),
             lambda: admin.kill_quick(connection=backend),
             lambda: dj.set_password("p", connection=backend)]
    for call in calls:
        with pytest.raises(errors.UnsupportedOperation, match="not applicable on SQLite"):
            call()


def test_read_only_then_read_write_then_revoked(backend, make_schema, accounts) -> None:
    server_only(backend)
    Mouse = filled_table(make_schema)
    user = f"tools_ro_{uuid.uuid4().hex[:6]}"
    admin.create_user(user, "s3cret-ro", connection=backend)
    accounts.append(("user", user))
    admin.grant(user, Mouse.database, "read-only", connection=backend)
    other = login(backend, user, "s3cret-ro")
    try:
        vm = dj.VirtualModule("ro", Mouse.database, connection=other)
        assert sorted(vm.Mouse.fetch("name")) == ["a", "b"]
        with pytest.raises(errors.AccessError):
            vm.Mouse.insert1((3, "c"))
        with pytest.raises(errors.AccessError):
            (vm.Mouse & "mouse=1").delete_quick()
    finally:
        other.close()
    admin.grant(user, Mouse.database, "read-write", connection=backend)
    other = login(backend, user, "s3cret-ro")
    try:
        vm = dj.VirtualModule("rw", Mouse.database, connection=other)
        vm.Mouse.insert1((3, "c"))
        (vm.Mouse & "mouse=3").delete_quick()
        assert len(vm.Mouse) == 2
    finally:
        other.close()
    # tables declared later are covered too (PostgreSQL: default privileges)
    schema = dj.Schema(Mouse.database, connection=backend)

    @schema
    class Later(dj.Manual):
        definition = """
        k: int
        """

    other = login(backend, user, "s3cret-ro")
    try:
        other.query(f"INSERT INTO {backend.backend.qtable(Mouse.database, 'later')} VALUES (1)")
    finally:
        other.close()
    admin.revoke(user, Mouse.database, connection=backend)
    other = login(backend, user, "s3cret-ro")
    try:
        with pytest.raises(errors.AccessError):
            other.query(f"SELECT * FROM {backend.backend.qtable(Mouse.database, 'mouse')}").fetchall()
    finally:
        other.close()


def test_role_grants_reach_its_members(backend, make_schema, accounts) -> None:
    server_only(backend)
    Mouse = filled_table(make_schema)
    tag = uuid.uuid4().hex[:6]
    role, user = f"tools_readers_{tag}", f"tools_member_{tag}"
    admin.create_role(role, connection=backend)
    accounts.append(("role", role))
    admin.create_user(user, "pw-member", connection=backend)
    accounts.append(("user", user))
    admin.grant(role, Mouse.database, "read-only", connection=backend)
    admin.grant_role(role, user, connection=backend)
    names = {u["name"] for u in admin.list_users(connection=backend)}
    assert role in names and any(n.split("@")[0] == user for n in names)
    other = login(backend, user, "pw-member")
    try:
        table = other.backend.qtable(Mouse.database, "mouse")
        assert len(other.query(f"SELECT * FROM {table}").fetchall()) == 2
        with pytest.raises(errors.AccessError):
            other.query(f"INSERT INTO {table} VALUES (5, 'e')")
    finally:
        other.close()


def test_grant_checks_its_arguments(backend, accounts) -> None:
    server_only(backend)
    with pytest.raises(errors.DataJointError, match="read-only"):
        admin.grant("x", "y", "owner", connection=backend)
    with pytest.raises(errors.MissingSchemaError):
        admin.grant("x", f"tools_nosuch_{uuid.uuid4().hex[:6]}", connection=backend)


def test_set_password(backend, accounts, tmp_path, monkeypatch) -> None:
    server_only(backend)
    user = f"tools_pw_{uuid.uuid4().hex[:6]}"
    admin.create_user(user, "first-pw", connection=backend)
    accounts.append(("user", user))
    other = login(backend, user, "first-pw")
    import labjoin.credentials as credentials

    # no OS keyring in tests: the file is the store (and another test's keyring backend cannot leak in)
    monkeypatch.setattr(credentials, "_keyring_set", lambda username, password: False)
    monkeypatch.setattr(credentials, "_keyring_get", lambda username: None)
    with dj.config(home=str(tmp_path)):
        where = dj.set_password("second-pw", connection=other, update_config=True)
        assert where == str(tmp_path / "credentials.json")
        host = make_url(backend.url).host
        assert credentials.get_password(user, host, backend.backend.name) == "second-pw"
    other.close()
    if backend.backend.name == "mysql":
        # the server refuses the old password (the core does not translate login errors yet,
        # so this is the driver's exception or labjoin's, whichever reaches here)
        with pytest.raises(Exception, match="Access denied"):
            login(backend, user, "first-pw").ping()
        again = login(backend, user, "second-pw")
        again.ping()
        again.close()
    else:  # the test server trusts local logins: check the stored SCRAM verifier instead
        stored = backend.query("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (user,)).fetchone()[0]
        iterations, rest = stored.split("$")[1].split(":")
        salt = base64.b64decode(rest)
        assert stored == admin.scram_sha256("second-pw", iterations=int(iterations), salt=salt)
    with pytest.raises(errors.MissingCredentialsError, match="new_password"):
        dj.set_password(connection=backend)


def _driver_session(backend: dj.Connection) -> tuple[object, int]:
    """A plain driver connection and its server-side id (a labjoin Connection that the server
    ends would try to roll back when garbage-collected)."""
    url = make_url(backend.url)
    if backend.backend.name == "postgresql":
        import psycopg

        raw = psycopg.connect(host=url.host, port=url.port or 5432, user=url.username,
                              dbname=url.database or "postgres", autocommit=True)
        return raw, raw.execute("SELECT pg_backend_pid()").fetchone()[0]
    import pymysql

    raw = pymysql.connect(host=url.host, port=url.port or 3306, user=url.username, password=url.password or "")
    with raw.cursor() as cur:
        cur.execute("SELECT connection_id()")
        return raw, cur.fetchone()[0]


def test_list_and_end_sessions(backend) -> None:
    server_only(backend)
    raw, target = _driver_session(backend)
    found = admin.list_connections({"id": target}, connection=backend)
    assert len(found) == 1 and set(found[0]) == set(admin.sessions.COLUMNS)
    assert all(s["id"] != backend.connection_id for s in admin.list_connections(connection=backend))
    assert admin.kill_quick({"id": target}, connection=backend) == 1
    for _ in range(50):  # MySQL marks the session killed; it leaves the list a moment later
        if not admin.list_connections({"id": target}, connection=backend):
            break
        time.sleep(0.05)
    assert admin.list_connections({"id": target}, connection=backend) == []
    cur = raw.cursor()
    with pytest.raises(Exception, match=r"(?i)terminat|lost|gone|closed"):
        cur.execute("SELECT 1")
    with pytest.raises(errors.UnknownAttributeError):
        admin.list_connections({"nosuch": 1}, connection=backend)
    with pytest.raises(errors.DataJointError, match="no terminal"):
        admin.kill(connection=backend)
