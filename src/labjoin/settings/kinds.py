"""Value kinds of settings: what a setting accepts, how its text form parses, how it is masked.

A kind checks a Python value (assignment, JSON files) and parses text (environment variables and
secret files, which carry only strings). Kinds raise ``ValueError`` with a short reason; the
setting that owns the kind turns it into a :class:`~labjoin.errors.ConfigError` that names the
key, the value and where the value came from, so the message here never has to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "Boolean",
    "Dictionary",
    "Integer",
    "Kind",
    "Nullable",
    "Number",
    "OneOf",
    "Text",
    "Union",
    "Url",
]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_NONE = frozenset({"", "none", "null"})

MASK = "***"
# Attribute names inside store specs (and other nested dicts) whose values are credentials.
SECRET_FIELDS = frozenset({"password", "secret_key", "access_key", "secret", "token", "secret_access_key"})


def _parse_bool(text: str) -> bool:
    word = text.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise ValueError("expected one of true/false, yes/no, on/off, 1/0")


class Kind:
    """Base of all kinds. ``label`` is the type as written in errors and in the docs."""

    label = "any"

    def validate(self, value: Any) -> Any:
        """Return ``value`` normalised, or raise ValueError saying why it does not fit."""
        return value

    def parse(self, text: str) -> Any:
        """Turn the text of an environment variable or secret file into a valid value."""
        return self.validate(text)

    def mask(self, value: Any) -> Any:
        """Return ``value`` with credentials hidden, for display."""
        return value


class Boolean(Kind):
    label = "bool"

    def validate(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        raise ValueError("expected True or False")

    def parse(self, text: str) -> bool:
        return _parse_bool(text)


class Integer(Kind):
    def __init__(self, minimum: int | None = None, maximum: int | None = None) -> None:
        self.minimum, self.maximum = minimum, maximum
        self.label = "int"
        if minimum is not None and maximum is not None:
            self.label = f"int {minimum}..{maximum}"
        elif minimum is not None:
            self.label = f"int >= {minimum}"

    def validate(self, value: Any) -> int:
        # bool is an int subclass; True as a port or a limit is always a mistake.
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected {self.label}")
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            raise ValueError(f"expected {self.label}")
        return value

    def parse(self, text: str) -> int:
        try:
            number = int(text.strip())
        except ValueError:
            raise ValueError(f"expected {self.label}") from None
        return self.validate(number)


class Number(Kind):
    def __init__(self, minimum: float | None = None) -> None:
        self.minimum = minimum
        self.label = "number" if minimum is None else f"number >= {minimum:g}"

    def validate(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected {self.label}")
        if self.minimum is not None and value < self.minimum:
            raise ValueError(f"expected {self.label}")
        return float(value)

    def parse(self, text: str) -> float:
        try:
            number = float(text.strip())
        except ValueError:
            raise ValueError(f"expected {self.label}") from None
        return self.validate(number)


class Text(Kind):
    label = "str"

    def validate(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("expected a string")
        return value

    def parse(self, text: str) -> str:
        # Secret files usually end with a newline an editor added; it is never part of a value.
        return text.rstrip("\r\n")


class OneOf(Kind):
    """One of a fixed set of values; strings compare case-insensitively and aliases map."""

    def __init__(self, *choices: Any, aliases: Mapping[str, Any] | None = None) -> None:
        self.choices = choices
        self.aliases = dict(aliases or {})
        self.label = " | ".join(repr(c) for c in choices)

    def validate(self, value: Any) -> Any:
        if isinstance(value, str):
            word = value.strip()
            if word.lower() in self.aliases:
                return self.aliases[word.lower()]
            for choice in self.choices:
                if isinstance(choice, str) and choice.lower() == word.lower():
                    return choice
        else:
            for choice in self.choices:
                # type() match: True must not pass for 1, nor 1 for True.
                if type(choice) is type(value) and choice == value:
                    return choice
        raise ValueError(f"expected one of {self.label}")

    def parse(self, text: str) -> Any:
        try:
            return self.validate(text)
        except ValueError:
            if any(isinstance(c, bool) for c in self.choices):
                return self.validate(_parse_bool(text))
            raise


class Dictionary(Kind):
    """A JSON object (store specs, free-form ``custom`` settings). Parses JSON text."""

    label = "dict"

    def validate(self, value: Any) -> dict:
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            raise ValueError("expected a dict with string keys")
        return value

    def parse(self, text: str) -> dict:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"expected a JSON object ({err.msg} at column {err.colno})") from None
        return self.validate(data)

    def mask(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: (MASK if k.lower() in SECRET_FIELDS and v is not None else self.mask(v))
                for k, v in value.items()
            }
        return value


_URL = re.compile(r"^(?P<scheme>[a-z]+)(\+\w+)?://", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"^(?P<head>[^:/]+://[^:@/]*:)(?P<password>[^@]*)@")
URL_BACKENDS = {"sqlite": "sqlite", "postgresql": "postgresql", "postgres": "postgresql",
                "mysql": "mysql", "mariadb": "mysql"}  # fmt: skip


class Url(Kind):
    """A SQLAlchemy-style database URL with a scheme labjoin can serve."""

    label = "database URL"

    def validate(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("expected a URL string such as postgresql://user@host:5432/dbname")
        match = _URL.match(value.strip())
        if not match or match["scheme"].lower() not in URL_BACKENDS:
            raise ValueError(
                "expected sqlite:///path, postgresql://user@host:port/dbname or mysql://user@host:port"
            )
        return value.strip()

    def mask(self, value: Any) -> Any:
        if isinstance(value, str):
            return _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}@", value)
        return value


class Nullable(Kind):
    """``inner`` or None. In text, an empty string, ``none`` or ``null`` mean None."""

    def __init__(self, inner: Kind) -> None:
        self.inner = inner
        self.label = f"{inner.label} or None"

    def validate(self, value: Any) -> Any:
        return None if value is None else self.inner.validate(value)

    def parse(self, text: str) -> Any:
        # An empty string is a real value for text (an empty password), not "unset".
        if not isinstance(self.inner, Text | Url) and text.strip().lower() in _NONE:
            return None
        return self.inner.parse(text)

    def mask(self, value: Any) -> Any:
        return self.inner.mask(value)


class Union(Kind):
    """The first of several kinds that accepts the value."""

    def __init__(self, *kinds: Kind) -> None:
        self.kinds = kinds
        self.label = " or ".join(k.label for k in kinds)

    def validate(self, value: Any) -> Any:
        return self._first("validate", value)

    def parse(self, text: str) -> Any:
        return self._first("parse", text)

    def _first(self, method: str, value: Any) -> Any:
        for kind in self.kinds:
            try:
                return getattr(kind, method)(value)
            except ValueError:
                continue
        raise ValueError(f"expected {self.label}")

    def mask(self, value: Any) -> Any:
        for kind in self.kinds:
            value = kind.mask(value)
        return value
