"""Passwords and server sessions: ``dj.set_password()`` and ``dj.admin.kill()`` (DataJoint 0.14's API).

``kill`` lists the other sessions on the server and ends the ones you pick, interactively;
``kill_quick`` ends every session matching a restriction without asking. Sessions are read from
``information_schema.processlist`` (MySQL) or ``pg_stat_activity`` (PostgreSQL) and shown with
the same columns on both: ``id, user, host, db, command, time, state, info``.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Mapping
from typing import Any

from .. import errors
from .accounts import _conn, _is_mariadb, _pg_literal, _server, run_secret, scram_sha256

__all__ = ["COLUMNS", "kill", "kill_connection", "kill_quick", "list_connections", "set_password"]

COLUMNS = ("id", "user", "host", "db", "command", "time", "state", "info")

_SOURCES = {
    "mysql": "SELECT id AS id, user AS user, host AS host, db AS db, command AS command, time AS time, "
             "state AS state, info AS info FROM information_schema.processlist WHERE id <> connection_id()",
    "postgresql": "SELECT pid AS id, usename AS \"user\", coalesce(host(client_addr), 'local') AS host, "
                  "datname AS db, state AS command, "
                  "coalesce(extract(epoch FROM now() - query_start)::bigint, 0) AS time, "
                  "coalesce(wait_event, '') AS state, query AS info FROM pg_stat_activity "
                  "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'",
}


def set_password(new_password: str | None = None, connection: Any = None, update_config: bool | None = None) -> str:
    """Change the password of the account ``connection`` is logged in as.

    Parameters
    ----------
    new_password : str, optional
        The new password. When omitted, it is asked for (twice) on a terminal; without a
        terminal this is an error, never a hidden prompt.
    update_config : bool, optional
        Also remember it for this user and host (OS keyring, else labjoin's owner-only
        credentials file; see ``labjoin config set-password``).

    Returns
    -------
    str
        Where the password was stored (``'keyring'`` or a file path), or ``''`` if not stored.
    """
    conn = _conn(connection)
    backend = _server(conn, "set_password")
    if new_password is None:
        if not (sys.stdin and sys.stdin.isatty()):
            raise errors.MissingCredentialsError(
                "set_password() needs the new password: pass new_password=..., or run it in a terminal to be "
                "asked for it (labjoin never prompts without one)."
            )
        new_password = getpass.getpass("New password: ")
        if getpass.getpass("Confirm password: ") != new_password:
            raise errors.DataJointError("The passwords do not match; nothing was changed.")
    if backend == "postgresql":
        run_secret(conn, "ALTER ROLE CURRENT_USER PASSWORD " + _pg_literal(conn, scram_sha256(new_password)))
    elif _is_mariadb(conn):  # MariaDB's ALTER USER needs CREATE USER even for one's own account
        run_secret(conn, "SET PASSWORD = PASSWORD(%s)", (new_password,))
    else:
        run_secret(conn, "ALTER USER CURRENT_USER() IDENTIFIED BY %s", (new_password,))
    if not update_config:
        return ""
    from sqlalchemy.engine import make_url

    from ..credentials import store_password

    url = make_url(conn.url)
    return store_password(url.username or conn.get_user(), url.host or "localhost", new_password)


def list_connections(restriction: str | Mapping[str, Any] | None = None, connection: Any = None,
                     order_by: str | None = None) -> list[dict[str, Any]]:
    """The other sessions on the server, as dicts with :data:`COLUMNS`.

    ``restriction`` is SQL over those columns (``"db = 'lab'"``; quote ``"user"`` on PostgreSQL,
    where ``user`` is a keyword) or a dict of column values (bound as parameters).
    """
    conn = _conn(connection)
    backend = _server(conn, "listing connections")
    sql = f"SELECT * FROM ({_SOURCES[backend]}) sessions"
    params: tuple[Any, ...] = ()
    if isinstance(restriction, Mapping):
        unknown = [k for k in restriction if k not in COLUMNS]
        if unknown:
            raise errors.UnknownAttributeError(f"No session column {unknown[0]!r}; use {', '.join(COLUMNS)}.")
        if restriction:
            sql += " WHERE " + " AND ".join(f"{conn.backend.qident(k)} = %s" for k in restriction)
            params = tuple(restriction.values())
    elif restriction:
        sql += f" WHERE ({restriction})"
    order = order_by or "id"
    if order.strip("-") not in COLUMNS:
        raise errors.UnknownAttributeError(f"Cannot order sessions by {order!r}; use one of {', '.join(COLUMNS)}.")
    sql += f" ORDER BY {conn.backend.qident(order.strip('-'))}" + (" DESC" if order.startswith("-") else "")
    return list(conn.query(sql, params, as_dict=True).fetchall())


def kill_connection(connection_id: int, connection: Any = None) -> None:
    """End one session by its id."""
    conn = _conn(connection)
    if _server(conn, "ending connections") == "postgresql":
        # with a timeout, PostgreSQL waits until the session is gone (else it only signals it)
        ok = conn.query("SELECT pg_terminate_backend(%s, 5000)", (int(connection_id),)).fetchone()[0]
        if not ok:
            raise errors.DataJointError(f"No session {connection_id} to end (it may have ended already).")
    else:
        conn.query("KILL %s", (int(connection_id),))


def kill_quick(restriction: str | Mapping[str, Any] | None = None, connection: Any = None) -> int:
    """End every other session matching ``restriction`` without asking; return how many."""
    sessions = list_connections(restriction, connection)
    for s in sessions:
        kill_connection(s["id"], connection)
    return len(sessions)


def _table(sessions: list[dict[str, Any]]) -> str:
    lines = ["  ID USER         HOST            STATE         TIME  INFO"]
    for s in sessions:
        info = " ".join(str(s["info"] or "").split())[:40]
        lines.append(f"{s['id']:>4} {str(s['user'])[:12]:12} {str(s['host'])[:15]:15} "
                     f"{str(s['state'] or s['command'] or '')[:12]:12} {s['time']!s:>5}  {info}")
    return "\n".join(lines)


def kill(restriction: str | Mapping[str, Any] | None = None, connection: Any = None,
         order_by: str | None = None) -> None:
    """List the other sessions and end the ones you type the id of (``q`` quits)."""
    if not (sys.stdin and sys.stdin.isatty()):
        raise errors.DataJointError(
            "kill() asks which sessions to end and there is no terminal; use "
            "dj.admin.kill_quick(restriction) or `labjoin admin kill ID`."
        )
    while True:
        sessions = list_connections(restriction, connection, order_by)
        print(_table(sessions))
        answer = input('session to end, or "q" to quit > ').strip()
        if answer.lower() in ("q", ""):
            return
        try:
            kill_connection(int(answer), connection)
        except ValueError:
            print(f"Not a session id: {answer!r}")
        except errors.DataJointError as e:
            print(f"Could not end session {answer}: {e}")
