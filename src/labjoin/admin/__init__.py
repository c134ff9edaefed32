"""Accounts, grants and sessions on PostgreSQL and MySQL (``dj.admin``; DataJoint 0.14's
``dj.set_password`` and ``dj.admin.kill``). Not applicable on SQLite. See docs/admin.md.
"""

from __future__ import annotations

from .accounts import (
    ACCESS_LEVELS,
    create_role,
    create_user,
    drop_role,
    drop_user,
    grant,
    grant_role,
    list_users,
    revoke,
    scram_sha256,
)
from .sessions import kill, kill_connection, kill_quick, list_connections, set_password

__all__ = ["ACCESS_LEVELS", "create_role", "create_user", "drop_role", "drop_user", "grant", "grant_role",
           "kill", "kill_connection", "kill_quick", "list_connections", "list_users", "revoke", "scram_sha256",
           "set_password"]
