"""Navigator accounts: users with argon2-hashed passwords and roles, API tokens, the cookie key.

Accounts live in the database the navigator serves, in hidden tables of one schema (default
``navigator``), so every server process and the ``labjoin users`` command see the same ones:

* ``~navigator_users``: user name, role (``admin`` or ``member``), argon2id password hash;
* ``~navigator_tokens``: SHA-256 digests of API tokens (a token is 256 random bits, so a plain
  digest is enough; the token itself is shown once and never stored);
* ``~navigator_settings``: the random key that signs session cookies, made on first use.

>>> store = UserStore(conn)                                   # doctest: +SKIP
>>> store.add("ana", "a long password", role="admin")          # doctest: +SKIP
>>> store.verify("ana", "a long password").role                # doctest: +SKIP
'admin'
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .. import errors
from ..schema import Schema, declare_hidden
from ..sql import catalog
from ..tables.table import FreeTable

__all__ = ["ROLES", "User", "UserStore"]

ROLES = ("admin", "member")
MIN_PASSWORD = 8
_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")

USERS_DEFINITION = """
# navigator accounts
username: varchar(64)
---
role: enum('admin', 'member')
password_hash: varchar(255)  # argon2id
"""
TOKENS_DEFINITION = """
# API tokens of navigator accounts (SHA-256 of the token; the token is never stored)
token_hash: char(64)
---
username: varchar(64)
label="": varchar(255)
"""
SETTINGS_DEFINITION = """
# navigator settings kept in the database (the cookie-signing key)
name: varchar(64)
---
value: varchar(255)
"""


@dataclass(frozen=True)
class User:
    """A logged-in account. ``fingerprint`` changes with the password, which ends old sessions."""

    username: str
    role: str
    fingerprint: str = ""

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class UserStore:
    """The accounts of one database.

    Parameters
    ----------
    conn
        A labjoin connection.
    schema
        The schema holding the account tables (created on first use).
    """

    _hasher = PasswordHasher()
    _dummy_hash: str | None = None

    def __init__(self, conn: Any, schema: str = "navigator") -> None:
        self.conn = conn
        self.schema = schema

    # -- tables ---------------------------------------------------------------------------------
    def ensure(self) -> UserStore:
        """Create the schema and its hidden tables when they are missing."""
        ready = ("navigator.users_ready", self.schema)  # dropped with the schema's catalog after DDL
        if self.conn._catalog_cache.get(ready):
            return self
        if not catalog.schema_exists(self.conn, self.schema):
            Schema(self.schema, connection=self.conn)
        for name, definition in (("~navigator_users", USERS_DEFINITION), ("~navigator_tokens", TOKENS_DEFINITION),
                                 ("~navigator_settings", SETTINGS_DEFINITION)):
            declare_hidden(self.conn, self.schema, name, definition)
        self.conn._catalog_cache[ready] = True
        return self

    def _t(self, name: str) -> FreeTable:
        return FreeTable(self.conn, f"`{self.schema}`.`~navigator_{name}`")

    # -- accounts -------------------------------------------------------------------------------
    def add(self, username: str, password: str, role: str = "member") -> User:
        """Create an account; DuplicateError when the name is taken."""
        _check_name(username)
        _check_role(role)
        _check_password(password)
        self.ensure()
        h = self._hasher.hash(password)
        self._t("users").insert1({"username": username, "role": role, "password_hash": h})
        return User(username, role, _fingerprint(h))

    def passwd(self, username: str, password: str, role: str | None = None) -> None:
        """Set a new password (and role, if given); ends the user's sessions and API tokens."""
        _check_password(password)
        if role is not None:
            _check_role(role)
        self._require(username)
        row = {"username": username, "password_hash": self._hasher.hash(password)}
        if role is not None:
            row["role"] = role
        with self.conn.transaction:
            self._t("users").update1(row)
            (self._t("tokens") & {"username": username}).delete_quick()

    def set_role(self, username: str, role: str) -> None:
        _check_role(role)
        self._require(username)
        self._t("users").update1({"username": username, "role": role})

    def remove(self, username: str) -> None:
        """Delete an account and its tokens."""
        self._require(username)
        with self.conn.transaction:
            (self._t("tokens") & {"username": username}).delete_quick()
            (self._t("users") & {"username": username}).delete_quick()

    def list(self) -> list[User]:
        self.ensure()
        rows = self._t("users").fetch("username", "role", "password_hash", as_dict=True, order_by="username")
        return [User(r["username"], r["role"], _fingerprint(r["password_hash"])) for r in rows]

    def get(self, username: str) -> User | None:
        self.ensure()
        rows = (self._t("users") & {"username": username}).fetch("role", "password_hash", as_dict=True)
        if not rows:
            return None
        return User(username, rows[0]["role"], _fingerprint(rows[0]["password_hash"]))

    def _require(self, username: str) -> None:
        if self.get(username) is None:
            raise errors.DataError(f"There is no navigator user {username!r}; `labjoin users list` shows them.")

    def verify(self, username: str, password: str) -> User | None:
        """The account if ``password`` is right, else None (the work is the same either way, so
        timing does not tell which user names exist)."""
        self.ensure()
        rows = (self._t("users") & {"username": username}).fetch("role", "password_hash", as_dict=True) \
            if _NAME.fullmatch(username or "") else []
        stored = rows[0]["password_hash"] if rows else self._dummy()
        try:
            self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if not rows:
            return None
        if self._hasher.check_needs_rehash(stored):
            stored = self._hasher.hash(password)
            self._t("users").update1({"username": username, "password_hash": stored})
        return User(username, rows[0]["role"], _fingerprint(stored))

    @classmethod
    def _dummy(cls) -> str:
        if cls._dummy_hash is None:
            cls._dummy_hash = cls._hasher.hash(secrets.token_hex(16))
        return cls._dummy_hash

    # -- API tokens -----------------------------------------------------------------------------
    def new_token(self, username: str, label: str = "") -> str:
        """A new API token for ``username`` (shown once: only its digest is kept)."""
        self._require(username)
        token = "lj_" + secrets.token_urlsafe(32)
        self._t("tokens").insert1({"token_hash": _digest(token), "username": username, "label": label[:255]})
        return token

    def tokens(self, username: str) -> list[dict[str, Any]]:
        self.ensure()
        rows = (self._t("tokens") & {"username": username}).fetch("token_hash", "label", as_dict=True)
        return [{"id": r["token_hash"][:12], "label": r["label"]} for r in rows]

    def revoke_token(self, username: str, token_id: str) -> int:
        """Delete the user's tokens whose digest starts with ``token_id``; the number deleted."""
        if not re.fullmatch(r"[0-9a-f]{12}", token_id):
            raise errors.DataError("A token id is the 12 hexadecimal digits shown in the token list.")
        mine = (self._t("tokens") & {"username": username}).fetch("token_hash")
        doomed = [{"token_hash": h} for h in mine if h.startswith(token_id)]
        if doomed:
            (self._t("tokens") & doomed).delete_quick()
        return len(doomed)

    def user_for_token(self, token: str) -> User | None:
        self.ensure()
        rows = (self._t("tokens") & {"token_hash": _digest(token)}).fetch("username", as_dict=True)
        return self.get(rows[0]["username"]) if rows else None

    # -- cookie key -----------------------------------------------------------------------------
    def secret(self) -> str:
        """The cookie-signing key, created once and shared by every server on this database."""
        self.ensure()
        t = self._t("settings")
        rows = (t & {"name": "cookie_secret"}).fetch("value")
        if len(rows):
            return str(rows[0])
        t.insert1({"name": "cookie_secret", "value": secrets.token_hex(32)}, skip_duplicates=True)
        return str((t & {"name": "cookie_secret"}).fetch1("value"))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_name(username: str) -> None:
    if not _NAME.fullmatch(username or ""):
        raise errors.DataError(
            f"User name {username!r}: use 1-64 letters, digits, '.', '_', '@' or '-'."
        )


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise errors.DataError(f"Role {role!r}: use one of {', '.join(ROLES)}.")


def _check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise errors.DataError(f"Passwords need at least {MIN_PASSWORD} characters.")
