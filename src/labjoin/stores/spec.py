"""Store specifications: the ``stores`` entries of the configuration, parsed and checked.

A spec is the dict DataJoint 0.14 keeps in ``dj.config["stores"][name]``::

    {"protocol": "file", "location": "/data/external"}
    {"protocol": "s3", "endpoint": "s3.amazonaws.com", "bucket": "lab-data",
     "location": "pipeline", "access_key": "...", "secret_key": "...", "secure": True}

with the optional keys ``subfolding`` (default ``(2, 2)``), ``stage`` (the local root of
``filepath@store`` files) and, for S3, ``proxy_server``. :func:`StoreSpec.from_dict` accepts
exactly the keys DataJoint accepts and raises :class:`~labjoin.errors.ConfigError` naming the
store and the key that is missing, unknown or malformed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from labjoin.errors import ConfigError

__all__ = ["DEFAULT_SUBFOLDING", "StoreSpec", "store_spec"]

DEFAULT_SUBFOLDING: tuple[int, ...] = (2, 2)
STORE_NAME = re.compile(r"[a-z][\-\w]*\Z")  # the name part of blob@name in a definition

_REQUIRED = {
    "file": ("protocol", "location"),
    "s3": ("protocol", "endpoint", "bucket", "access_key", "secret_key", "location"),
}
_OPTIONAL = {
    "file": ("subfolding", "stage"),
    "s3": ("secure", "subfolding", "stage", "proxy_server"),
}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


@dataclass(frozen=True)
class StoreSpec:
    """A validated store specification.

    Attributes
    ----------
    name
        The store's name, as used in ``blob@name``.
    protocol
        ``"file"`` (a local or mounted directory) or ``"s3"`` (an S3-compatible server).
    location
        The directory (``file``) or key prefix inside the bucket (``s3``) under which objects live.
    endpoint, bucket, access_key, secret_key, secure, proxy_server
        S3 connection settings (``secure`` selects https).
    subfolding
        Lengths of the nested folder names taken from an object's hash: ``(2, 2)`` stores
        ``0123abcd...`` under ``01/23/``.
    stage
        The local directory that ``filepath@store`` paths are relative to.
    """

    name: str
    protocol: str
    location: str
    endpoint: str | None = None
    bucket: str | None = None
    access_key: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    secure: bool = False
    subfolding: tuple[int, ...] = DEFAULT_SUBFOLDING
    stage: str | None = None
    proxy_server: str | None = None

    @classmethod
    def from_dict(cls, name: str, spec: Mapping[str, Any]) -> StoreSpec:
        """Parse and validate one ``stores`` entry.

        Raises
        ------
        ConfigError
            The name is not a valid store name, the protocol is missing or unknown, a required
            key is missing, a key is not one DataJoint defines, or a value has the wrong type.
        """
        where = f'dj.config["stores"]["{name}"]'
        if not isinstance(name, str) or not STORE_NAME.match(name):
            raise ConfigError(
                f"Invalid store name {name!r}: a store name starts with a lowercase letter and has "
                "only letters, digits, '_' and '-' (it appears in types such as blob@name)."
            )
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where} must be a dict of store settings, not {type(spec).__name__}.")
        spec = {str(k).lower(): v for k, v in spec.items()}
        protocol = str(spec.get("protocol", "")).lower()
        if protocol not in _REQUIRED:
            raise ConfigError(
                f'{where} has a missing or invalid "protocol" ({spec.get("protocol")!r}); use "file" or "s3".'
            )
        missing = [k for k in _REQUIRED[protocol] if spec.get(k) is None]
        if missing:
            raise ConfigError(f'{where} is missing "{missing[0]}" (required for protocol "{protocol}").')
        allowed = set(_REQUIRED[protocol]) | set(_OPTIONAL[protocol])
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise ConfigError(
                f'Invalid key "{unknown[0]}" in {where}; a "{protocol}" store takes {", ".join(sorted(allowed))}.'
            )
        return cls(
            name=name,
            protocol=protocol,
            location=_text(spec, "location", where),
            endpoint=_opt_text(spec, "endpoint", where),
            bucket=_opt_text(spec, "bucket", where),
            access_key=_opt_text(spec, "access_key", where),
            secret_key=_opt_text(spec, "secret_key", where),
            secure=_flag(spec.get("secure", False), where),
            subfolding=_subfolding(spec.get("subfolding"), where),
            stage=_opt_text(spec, "stage", where),
            proxy_server=_opt_text(spec, "proxy_server", where),
        )

    def to_dict(self) -> dict[str, Any]:
        """The spec as a DataJoint ``stores`` entry (only the keys that apply to its protocol)."""
        keys = _REQUIRED[self.protocol] + _OPTIONAL[self.protocol]
        out = {k: getattr(self, k) for k in keys if getattr(self, k) is not None}
        out["subfolding"] = list(self.subfolding)
        return out


def store_spec(stores: Mapping[str, Any], name: str) -> StoreSpec:
    """Look up ``name`` in a ``stores`` configuration dict and parse it.

    Raises
    ------
    ConfigError
        No store of that name is configured, or its spec is invalid.
    """
    if name not in stores:
        configured = sorted(k for k, v in stores.items() if isinstance(v, Mapping))
        raise ConfigError(
            f"Store '{name}' is requested but not configured. Add it to dj.config['stores'] "
            f"(configured: {', '.join(configured) or 'none'})."
        )
    return StoreSpec.from_dict(name, stores[name])


def _text(spec: Mapping[str, Any], key: str, where: str) -> str:
    value = spec[key]
    if not isinstance(value, str):
        raise ConfigError(f'{where}["{key}"] must be a string, not {type(value).__name__}.')
    return value


def _opt_text(spec: Mapping[str, Any], key: str, where: str) -> str | None:
    return None if spec.get(key) is None else _text(spec, key, where)


def _flag(value: Any, where: str) -> bool:
    # Secret files and environment variables deliver text; JSON files deliver booleans.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigError(f'{where}["secure"] must be true or false, not {value!r}.')


def _subfolding(value: Any, where: str) -> tuple[int, ...]:
    if value is None:
        return DEFAULT_SUBFOLDING
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = None
    ok = isinstance(value, (list, tuple)) and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    )
    if not ok or sum(value) > 32:
        raise ConfigError(
            f'{where}["subfolding"] must be a list of positive folder-name lengths totalling at most '
            f"32 (the hash length), e.g. [2, 2]; got {value!r}."
        )
    return tuple(value)
