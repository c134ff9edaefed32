"""Users, roles and per-schema grants on PostgreSQL (roles) and MySQL/MariaDB (accounts and grants).

Two access levels per schema, the ones a lab needs:

* ``read-only``: read every table of the schema (and tables created in it later);
* ``read-write``: also insert, update and delete rows (not declare or drop tables).

PostgreSQL: ``GRANT USAGE`` on the schema, ``SELECT`` (plus ``INSERT, UPDATE, DELETE`` and the
sequences of auto-increment keys) on all its tables, and the same as default privileges for
tables created later by the account running the grant. MySQL: ``GRANT ... ON `schema`.*``,
with ``_`` and ``%`` escaped so the grant covers exactly that schema. SQLite has no accounts:
every function raises :class:`~labjoin.errors.UnsupportedOperation`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import unicodedata
from collections.abc import Sequence
from typing import Any

from .. import errors

__all__ = ["ACCESS_LEVELS", "create_role", "create_user", "drop_role", "drop_user", "grant", "grant_role",
           "list_users", "revoke", "run_secret", "scram_sha256", "split_account"]

ACCESS_LEVELS = ("read-only", "read-write")
_PG_PRIVILEGES = {"read-only": "SELECT", "read-write": "SELECT, INSERT, UPDATE, DELETE"}
_MYSQL_PRIVILEGES = _PG_PRIVILEGES


def _server(conn: Any, op: str) -> str:
    name = conn.backend.name
    if name == "sqlite":
        raise errors.UnsupportedOperation(
            op, "sqlite", "It is not applicable on SQLite: the database is one file with no accounts; "
            "control access with the file's permissions."
        )
    return str(name)


def split_account(name: str) -> tuple[str, str]:
    """``'alice@10.0.%'`` -> ``('alice', '10.0.%')``; the host defaults to ``'%'`` (any host)."""
    user, sep, host = name.partition("@")
    if not user:
        raise errors.DataJointError(f"Not an account name: {name!r}. Use NAME or NAME@HOST.")
    return user, host if sep else "%"


def scram_sha256(password: str, *, iterations: int = 4096, salt: bytes | None = None) -> str:
    """PostgreSQL's SCRAM-SHA-256 verifier of ``password``, so the password itself never reaches
    the server (or its logs): ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>``."""
    salt = os.urandom(16) if salt is None else salt
    normalized = unicodedata.normalize("NFKC", password).encode()  # SASLprep's normalization step
    salted = hashlib.pbkdf2_hmac("sha256", normalized, salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def run_secret(conn: Any, sql: str, args: Sequence[Any] = ()) -> None:
    """Run a statement that carries a password on the raw cursor: never traced nor logged."""
    from ..sql.dialects import translate_error

    cur = conn.raw.cursor()
    try:
        cur.execute(sql, tuple(args)) if args else cur.execute(sql)
    except Exception as e:  # translated: users never see driver exceptions
        if conn._is_driver_error(e):
            raise translate_error(conn.backend, e, None) from e
        raise
    finally:
        cur.close()


def _pg_literal(conn: Any, text: str) -> str:
    """A PostgreSQL string literal (for DDL, which takes no bound parameters)."""
    from psycopg import sql

    return sql.Literal(text).as_string(conn.raw)


def _is_mariadb(conn: Any) -> bool:
    key = "is_mariadb"
    if key not in conn._catalog_cache:
        conn._catalog_cache[key] = "mariadb" in str(conn.query("SELECT VERSION()").fetchone()[0]).lower()
    return bool(conn._catalog_cache[key])


def _mysql_grantee(conn: Any, name: str) -> tuple[str, tuple[str, ...]]:
    """The grantee clause and its parameters: MariaDB roles have no host part."""
    user, host = split_account(name)
    if "@" not in name and _is_mariadb(conn):
        row = conn.query("SELECT is_role FROM mysql.user WHERE user = %s LIMIT 1", (user,)).fetchone()
        if row is not None and row[0] == "Y":
            return "%s", (user,)
    return "%s@%s", (user, host)


def _mysql_schema(conn: Any, schema: str) -> str:
    """The database name of a GRANT, with the wildcards ``_`` and ``%`` escaped."""
    return conn.backend.qident(schema.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%"))


# -- users and roles ---------------------------------------------------------------------------------
def create_user(name: str, password: str | None = None, *, connection: Any = None) -> None:
    """Create a login account (PostgreSQL: a role with LOGIN; MySQL: ``NAME@HOST``, host ``%``)."""
    conn = _conn(connection)
    b = _server(conn, "creating users")
    if b == "postgresql":
        sql = f"CREATE ROLE {conn.backend.qident(name)} LOGIN"
        if password is not None:
            sql += " PASSWORD " + _pg_literal(conn, scram_sha256(password))
        run_secret(conn, sql)
    else:
        user, host = split_account(name)
        if password is None:
            conn.query("CREATE USER %s@%s", (user, host))
        else:
            run_secret(conn, "CREATE USER %s@%s IDENTIFIED BY %s", (user, host, password))


def create_role(name: str, *, connection: Any = None) -> None:
    """Create a role (no login) to grant access to, then give to users with :func:`grant_role`."""
    conn = _conn(connection)
    if _server(conn, "creating roles") == "postgresql":
        conn.query(f"CREATE ROLE {conn.backend.qident(name)} NOLOGIN")
    else:
        conn.query("CREATE ROLE %s", (name,))


def drop_user(name: str, *, connection: Any = None) -> None:
    """Drop an account and the privileges granted to it (PostgreSQL: refuses if it owns objects)."""
    conn = _conn(connection)
    if _server(conn, "dropping users") == "postgresql":
        _pg_drop_role(conn, name)
    else:
        user, host = split_account(name)
        conn.query("DROP USER %s@%s", (user, host))


def drop_role(name: str, *, connection: Any = None) -> None:
    """Drop a role and the privileges granted to it."""
    conn = _conn(connection)
    if _server(conn, "dropping roles") == "postgresql":
        _pg_drop_role(conn, name)
    else:
        conn.query("DROP ROLE %s", (name,))


def _pg_drop_role(conn: Any, name: str) -> None:
    owned = conn.query(
        "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE r.rolname = %s",
        (name,)).fetchone()[0]
    if owned:
        raise errors.DataJointError(
            f"Role {name!r} owns {owned} tables or other relations; dropping it would drop them. Give them "
            f"to another role first (REASSIGN OWNED BY {name} TO <owner>)."
        )
    q = conn.backend.qident(name)
    with conn.transaction:
        conn.query(f"DROP OWNED BY {q}")  # its privileges and default privileges in this database
        conn.query(f"DROP ROLE {q}")


def grant_role(role: str, user: str, *, connection: Any = None) -> None:
    """Make ``user`` a member of ``role`` (MariaDB: also its default role, active at login)."""
    conn = _conn(connection)
    if _server(conn, "granting roles") == "postgresql":
        q = conn.backend.qident
        conn.query(f"GRANT {q(role)} TO {q(user)}")
        return
    u, h = split_account(user)
    conn.query("GRANT %s TO %s@%s", (role, u, h))
    if _is_mariadb(conn):
        conn.query("SET DEFAULT ROLE %s FOR %s@%s", (role, u, h))
    else:
        conn.query("SET DEFAULT ROLE ALL TO %s@%s", (u, h))


def list_users(*, connection: Any = None) -> list[dict[str, Any]]:
    """Accounts and roles on the server: ``{'name', 'login', 'roles'}`` each."""
    conn = _conn(connection)
    if _server(conn, "listing users") == "postgresql":
        rows = conn.query(
            "SELECT r.rolname, r.rolcanlogin, coalesce(array(SELECT g.rolname FROM pg_auth_members m "
            "JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY g.rolname), '{}') "
            "FROM pg_roles r WHERE r.rolname !~ '^pg_' ORDER BY r.rolname").fetchall()
        return [{"name": n, "login": bool(login), "roles": list(roles)} for n, login, roles in rows]
    if _is_mariadb(conn):
        rows = conn.query("SELECT user, host, is_role FROM mysql.user ORDER BY user, host").fetchall()
        return [{"name": u if r == "Y" else f"{u}@{h}", "login": r != "Y", "roles": []} for u, h, r in rows]
    rows = conn.query("SELECT user, host FROM mysql.user ORDER BY user, host").fetchall()
    return [{"name": f"{u}@{h}", "login": True, "roles": []} for u, h in rows]


# -- grants --------------------------------------------------------------------------------------------
def grant(name: str, schema: str, access: str = "read-only", *, connection: Any = None) -> list[str]:
    """Give ``name`` (a user or role) ``access`` to ``schema``; replaces its earlier grant there.

    Returns the statements run.
    """
    if access not in ACCESS_LEVELS:
        raise errors.DataJointError(f"access must be one of {', '.join(ACCESS_LEVELS)}, not {access!r}.")
    conn = _conn(connection)
    b = _server(conn, "granting access")
    from ..sql.catalog import schema_exists

    if not schema_exists(conn, schema):
        raise errors.MissingSchemaError(f"Schema `{schema}` does not exist; check the name (labjoin schemas).")
    stmts = revoke(name, schema, connection=conn, _run=False)
    if b == "postgresql":
        q = conn.backend.qident
        s, who, privs = q(schema), q(name), _PG_PRIVILEGES[access]
        stmts += [f"GRANT USAGE ON SCHEMA {s} TO {who}",
                  f"GRANT {privs} ON ALL TABLES IN SCHEMA {s} TO {who}",
                  f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT {privs} ON TABLES TO {who}"]
        if access == "read-write":
            stmts += [f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {who}",
                      f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT ON SEQUENCES TO {who}"]
        with conn.transaction:
            for sql in stmts:
                conn.query(sql)
        return stmts
    grantee, params = _mysql_grantee(conn, name)
    sql = f"GRANT {_MYSQL_PRIVILEGES[access]} ON {_mysql_schema(conn, schema)}.* TO {grantee}"
    stmts = _mysql_revoke(conn, name, schema)
    conn.query(sql, params)
    return [*stmts, sql]


def revoke(name: str, schema: str, *, connection: Any = None, _run: bool = True) -> list[str]:
    """Take away every privilege ``name`` has on ``schema`` (and on tables created there later)."""
    conn = _conn(connection)
    b = _server(conn, "revoking access")
    if b == "postgresql":
        q = conn.backend.qident
        s, who = q(schema), q(name)
        stmts = [f"REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {who}",
                 f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {s} FROM {who}",
                 f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} REVOKE ALL ON TABLES FROM {who}",
                 f"ALTER DEFAULT PRIVILEGES IN SCHEMA {s} REVOKE ALL ON SEQUENCES FROM {who}",
                 f"REVOKE USAGE ON SCHEMA {s} FROM {who}"]
        if _run:
            with conn.transaction:
                for sql in stmts:
                    conn.query(sql)
        return stmts
    if _run:
        return _mysql_revoke(conn, name, schema)
    return []


def _mysql_revoke(conn: Any, name: str, schema: str) -> list[str]:
    grantee, params = _mysql_grantee(conn, name)
    user, host = params[0], params[1] if len(params) > 1 else ""
    label = f"'{user}'@'{host}'" if host else f"'{user}'"
    escaped = schema.replace("_", "\\_").replace("%", "\\%")
    held = conn.query("SELECT count(*) FROM information_schema.schema_privileges WHERE grantee = %s "
                      "AND table_schema IN (%s, %s)", (label, schema, escaped)).fetchone()[0]
    if not held:
        return []
    sql = f"REVOKE ALL PRIVILEGES ON {_mysql_schema(conn, schema)}.* FROM {grantee}"
    conn.query(sql, params)
    return [sql]


def _conn(connection: Any) -> Any:
    if connection is not None:
        return connection
    from ..connection.connection import conn

    return conn()
