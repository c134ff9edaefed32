"""Every exception labjoin raises, in one tree.

Users catch these names; they never see a driver's exception (psycopg, pymysql, sqlite3):
the connection layer translates those at the boundary. The names match DataJoint's
(``dj.errors.DuplicateError`` ...), and where it fits an error also inherits the builtin a
Python programmer would reach for (``except KeyError`` catches an unknown attribute).

::

    DataJointError (LabjoinError)
    ├── ConfigError                              bad or missing configuration
    │   ├── UnknownSettingError(KeyError, AttributeError)  a setting name that does not exist
    │   └── MissingCredentialsError              no password/user and no way to ask
    ├── LostConnectionError                      the server went away
    ├── BackendUnavailableError                  server not reachable / driver missing
    ├── UnsupportedOperation(NotImplementedError) operation not available on this backend
    ├── DefinitionError                          a table definition does not parse/resolve
    ├── QueryError
    │   ├── QuerySyntaxError(ValueError)         a SQL fragment does not parse
    │   ├── UnknownAttributeError(KeyError)      an attribute that is not in the heading
    │   ├── MissingAttributeError(KeyError)      a required attribute has no value
    │   ├── SemanticError                        namesake attributes of different lineage
    │   └── AccessError(PermissionError)         the account may not do this
    ├── DataError(ValueError)                    a value does not fit its attribute's type
    ├── IntegrityError                           a foreign key or check constraint failed
    │   ├── DuplicateError                       the primary key or a unique index exists
    │   └── PartIntegrityError                   master-part integrity would be broken
    ├── MissingTableError                        the table is not declared in the database
    ├── MissingSchemaError                       the schema does not exist
    ├── TransactionError                         misuse of transactions (e.g. DDL inside one)
    ├── PopulateError                            make/key_source misuse, changed inputs
    ├── BlobError(ValueError)                    a blob cannot be packed or unpacked
    ├── StoreError                               object-store problems
    │   ├── MissingExternalFile(FileNotFoundError)
    │   ├── ChecksumError                        stored object differs from its recorded hash
    │   └── BucketInaccessible
    ├── MigrationError                           an alter plan that cannot be applied
    ├── CompatibilityError(ModuleNotFoundError)  the ``datajoint`` alias cannot provide a module
    └── ThreadSafetyError
"""

from __future__ import annotations

__all__ = [
    "AccessError",
    "BackendUnavailableError",
    "BlobError",
    "BucketInaccessible",
    "ChecksumError",
    "CompatibilityError",
    "ConfigError",
    "DataError",
    "DataJointError",
    "DefinitionError",
    "DuplicateError",
    "IntegrityError",
    "LabjoinError",
    "LostConnectionError",
    "MigrationError",
    "MissingAttributeError",
    "MissingCredentialsError",
    "MissingExternalFile",
    "MissingSchemaError",
    "MissingTableError",
    "PartIntegrityError",
    "PopulateError",
    "QueryError",
    "QuerySyntaxError",
    "SemanticError",
    "StoreError",
    "ThreadSafetyError",
    "TransactionError",
    "UnknownAttributeError",
    "UnknownSettingError",
    "UnsupportedOperation",
]


class DataJointError(Exception):
    """Base of every labjoin error (named as in DataJoint so existing ``except`` clauses work)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)

    def suggest(self, *args: object) -> DataJointError:
        """Return a copy of this error with more explanation appended (DataJoint's API)."""
        return self.__class__(*(self.args + args))

    def __str__(self) -> str:
        # KeyError's str() would quote the message; keep messages readable for every subclass.
        return "\n".join(str(a) for a in self.args)


LabjoinError = DataJointError


class ConfigError(DataJointError):
    """A setting is missing, malformed or contradicts another one."""


class UnknownSettingError(ConfigError, KeyError, AttributeError):
    """A setting name that does not exist (``config['x']`` or ``config.database.x``).

    It is a KeyError so that DataJoint-era ``except KeyError`` around ``dj.config[...]`` still
    works, and an AttributeError so that ``hasattr``/``getattr(..., default)`` work on
    ``config.database``.
    """


class MissingCredentialsError(ConfigError):
    """A server needs a user or password and none is configured (labjoin never prompts)."""


class LostConnectionError(DataJointError):
    """The connection to the database server was lost."""


class BackendUnavailableError(DataJointError):
    """The database server cannot be reached, or its driver is not installed."""


class UnsupportedOperation(DataJointError, NotImplementedError):
    """An operation this backend cannot do. ``op`` and ``backend`` say which."""

    def __init__(self, op: str, backend: str, hint: str = "") -> None:
        msg = f"{op} is not supported on {backend}."
        if hint:
            msg += " " + hint
        super().__init__(msg)
        self.op = op
        self.backend = backend


class DefinitionError(DataJointError):
    """A table definition is invalid. ``problems`` holds every located problem found."""

    def __init__(self, message: str, problems: list | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems or [])


class QueryError(DataJointError):
    """A query is malformed."""


class QuerySyntaxError(QueryError, ValueError):
    """A SQL fragment (restriction, projection or aggregate expression) does not parse."""


class UnknownAttributeError(QueryError, KeyError):
    """An attribute is named that is not in the heading."""


class MissingAttributeError(QueryError, KeyError):
    """A required attribute was not given a value."""


class SemanticError(QueryError):
    """Namesake attributes that do not share a lineage were matched (semantic join check)."""


class AccessError(QueryError, PermissionError):
    """The account is not allowed to do this."""


class DataError(DataJointError, ValueError):
    """A value does not fit the type of its attribute."""


class IntegrityError(DataJointError):
    """A referential (foreign key) or check constraint would be violated."""


class DuplicateError(IntegrityError):
    """A row with the same primary key (or unique index value) already exists."""


class PartIntegrityError(IntegrityError):
    """Master-part integrity would be broken (a part deleted without its master)."""


class MissingTableError(DataJointError):
    """The table is not declared in the database."""


class MissingSchemaError(DataJointError):
    """The schema does not exist in the database."""


class TransactionError(DataJointError):
    """Transactions used in a way that cannot work (for example a declaration inside one)."""


class PopulateError(DataJointError):
    """Misuse of make/populate, or inputs that changed while a make was computing."""


class BlobError(DataJointError, ValueError):
    """A value cannot be serialized, or stored bytes cannot be deserialized."""


class StoreError(DataJointError):
    """An object store is misconfigured or failed."""


class MissingExternalFile(StoreError, FileNotFoundError):
    """An object referenced by a row is missing from its store."""


class ChecksumError(StoreError):
    """An object in a store does not match the checksum recorded when it was stored."""


class BucketInaccessible(StoreError):
    """The configured bucket cannot be reached."""


class MigrationError(DataJointError):
    """A schema change cannot be planned or applied safely."""


class CompatibilityError(DataJointError, ModuleNotFoundError):
    """``labjoin.compat.alias_datajoint()`` cannot map a ``datajoint`` module onto labjoin."""


class ThreadSafetyError(DataJointError):
    """The global config/connection was used in thread-safe mode."""
