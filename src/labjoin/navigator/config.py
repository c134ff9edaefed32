"""The navigator's settings and the public subset.

:class:`NavigatorConfig` holds everything ``labjoin serve`` needs: which database, whether the
public mode is on and what it shows, where accounts live, cookie and rate-limit parameters.
The command line fills it; tests build it directly.

The **public subset** says what anonymous visitors may see when the public mode is on, as IBL
published a list of subjects: a list of keys (``[{"subject_nickname": "m1", "lab_name": "a"}]``)
read from a JSON or CSV file, or the rows of a table (``table:schema.table_name``). Every public
page restricts its query by it; a page whose query lacks the subset's attributes is refused to
anonymous visitors rather than shown unrestricted.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import errors

__all__ = ["NavigatorConfig", "PublicSubset"]


@dataclass(frozen=True)
class PublicSubset:
    """What anonymous visitors see in the public mode.

    Parameters
    ----------
    keys
        The visible keys: dicts over ``attributes`` (e.g. subject nicknames and their labs).
    table
        Instead of ``keys``: the full name of a table whose rows are the visible keys
        (```schema`.`table```); its primary key gives ``attributes``.
    attributes
        The attribute names every key has.
    """

    keys: tuple[dict[str, Any], ...] = ()
    table: str | None = None
    attributes: tuple[str, ...] = ()

    @classmethod
    def from_keys(cls, keys: list[dict[str, Any]]) -> PublicSubset:
        """A subset from a list of key dicts, which must all name the same attributes."""
        if not keys:
            return cls()
        names = tuple(keys[0])
        for k in keys:
            if set(k) != set(names):
                raise errors.ConfigError(
                    f"Public subset keys must all name the same attributes; {dict(k)} differs from {names}."
                )
        return cls(keys=tuple(dict(k) for k in keys), attributes=names)

    @classmethod
    def load(cls, spec: str) -> PublicSubset:
        """Read ``spec``: a ``.json`` file (a list of dicts), a ``.csv`` file with a header row,
        or ``table:schema.table`` naming a table whose rows are the subset."""
        if spec.startswith("table:"):
            name = spec[len("table:"):].strip()
            schema, sep, table = name.replace("`", "").partition(".")
            if not sep or not schema or not table:
                raise errors.ConfigError(f"--public-subset {spec!r}: write table:schema.table_name.")
            return cls(table=f"`{schema}`.`{table}`")
        path = Path(spec).expanduser()
        if not path.exists():
            raise errors.ConfigError(f"Public subset file {path} does not exist.")
        if path.suffix.lower() == ".csv":
            with path.open(newline="") as f:
                return cls.from_keys([dict(r) for r in csv.DictReader(f)])
        data = json.loads(path.read_text())
        if isinstance(data, dict):
            data = data.get("keys", [])
        if not isinstance(data, list) or not all(isinstance(k, dict) for k in data):
            raise errors.ConfigError(f"Public subset file {path}: expected a list of objects (one key each).")
        return cls.from_keys(data)

    @property
    def empty(self) -> bool:
        return self.table is None and not self.keys

    def restrict(self, query: Any) -> Any:
        """``query`` restricted to the subset; refuses queries that cannot be restricted.

        DataJoint ignores dict keys that are not in the heading, so restricting a query that
        lacks the subset's attributes would silently show everything: that raises AccessError.
        """
        if self.table is not None:
            from ..tables.table import FreeTable

            subset = FreeTable(query.connection, self.table)
            missing = [a for a in subset.primary_key if a not in query.heading.names]
            if missing:
                raise errors.AccessError(
                    f"This page cannot be restricted to the public subset (it lacks `{missing[0]}`), "
                    "so it is not public. Log in to see it."
                )
            return query & subset.proj()
        if not self.keys:
            return query & False
        missing = [a for a in self.attributes if a not in query.heading.names]
        if missing:
            raise errors.AccessError(
                f"This page cannot be restricted to the public subset (it lacks `{missing[0]}`), "
                "so it is not public. Log in to see it."
            )
        return query & [dict(k) for k in self.keys]

    def applies_to(self, query: Any) -> bool:
        """True when ``query`` has every attribute the subset restricts by."""
        if self.table is not None:
            from ..tables.table import FreeTable

            names = FreeTable(query.connection, self.table).primary_key
        else:
            names = list(self.attributes)
        return all(a in query.heading.names for a in names)


@dataclass
class NavigatorConfig:
    """Settings of one navigator app.

    Parameters
    ----------
    url
        Database URL; None means the configured default (``dj.config``/``LABJOIN_DATABASE_URL``).
    public
        Serve the public subset to anonymous visitors (``--public``).
    public_subset
        What anonymous visitors may see in the public mode.
    users_schema
        Schema holding the hidden ``~navigator_users`` and ``~navigator_tokens`` tables.
    secret
        Key that signs session cookies. None: ``LABJOIN_NAVIGATOR_SECRET``, else a random key
        generated once and kept in the users schema (so restarts keep people logged in).
    secure_cookies
        Mark cookies ``Secure`` (set this behind HTTPS).
    session_max_age
        Seconds a login lasts.
    login_attempts, login_window
        At most ``login_attempts`` failed logins per client address and per user name within
        ``login_window`` seconds; further attempts get HTTP 429 until the window passes.
    page_size, max_page_size
        Rows per table page by default, and the largest page a client may ask for.
    max_export_rows
        The most rows one download may hold.
    count_limit
        Table and list pages count matching rows up to this many (then show "more than ...";
        ``_count=exact`` counts them all). None: always count every row.
    schema_count_limit
        The same for the row counts on schema pages.
    catalog_ttl
        Seconds after which the cached table catalog is re-read (tables declared while the
        server runs then appear).
    plugins
        Extra page registration functions (``module:function``), besides the entry points of
        the ``labjoin.navigator`` group.
    entry_points
        Load registrations from installed entry points (tests turn this off).
    """

    url: str | None = None
    public: bool = False
    public_subset: PublicSubset = field(default_factory=PublicSubset)
    users_schema: str = "navigator"
    secret: str | None = None
    secure_cookies: bool = False
    session_max_age: int = 14 * 24 * 3600
    login_attempts: int = 5
    login_window: float = 60.0
    page_size: int = 25
    max_page_size: int = 500
    max_export_rows: int = 1_000_000
    count_limit: int | None = 10_000
    schema_count_limit: int | None = 100_000
    catalog_ttl: float = 30.0
    plugins: tuple[str, ...] = ()
    entry_points: bool = True
    title: str = "labjoin navigator"

    def secret_from_env(self) -> str | None:
        return self.secret or os.environ.get("LABJOIN_NAVIGATOR_SECRET") or None
