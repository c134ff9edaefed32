"""Lexical helpers for definition text: quote-aware searching, splitting, quoting and unquoting.

Definitions put quotes in defaults (``= "a:b"``), enum values (``enum('#1', 'it''s')``) and
foreign-key projections (``Parent.proj(x='y')``), so every search for ``#``, ``:``, ``,`` or
``)`` must skip quoted text. Inside quotes, ``\\\\``, ``\\'`` and ``\\"`` are escapes and a doubled
quote stands for one quote (as in SQL); any other backslash is kept as written.
"""

from __future__ import annotations

__all__ = [
    "find_close_paren",
    "find_unquoted",
    "quote_literal",
    "quote_sql",
    "split_top_level",
    "unquote_literal",
]


def find_unquoted(text: str, char: str, start: int = 0) -> tuple[int, int | None]:
    """Index of the first ``char`` outside quotes (-1 if none), and where an unclosed quote opened."""
    quote: str | None = None
    opened = 0
    i = start
    while i < len(text):
        ch = text[i]
        if quote is not None:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch == char:
            return i, None
        elif ch in "'\"":
            quote, opened = ch, i
        i += 1
    return -1, (opened if quote is not None else None)


def find_close_paren(text: str, i: int) -> int:
    """Index of the ")" matching the "(" at ``i``, honouring quotes; -1 if unclosed."""
    depth = 0
    quote: str | None = None
    j = i
    while j < len(text):
        ch = text[j]
        if quote is not None:
            if ch == "\\":
                j += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return -1


def split_top_level(text: str, start: int, end: int) -> list[tuple[str, int, int]]:
    """Split ``text[start:end]`` at top-level commas into stripped (value, start, end) parts."""
    parts: list[tuple[str, int, int]] = []
    quote: str | None = None
    piece = start
    j = start
    while j <= end:
        ch = text[j] if j < end else ","
        if quote is not None:
            if ch == "\\" and j + 1 < end:
                j += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == ",":
            raw = text[piece:j]
            lead = len(raw) - len(raw.lstrip())
            value = raw.strip()
            parts.append((value, piece + lead, piece + lead + len(value)))
            piece = j + 1
        j += 1
    return parts


def quote_sql(value: str) -> str:
    """Single-quote an enum value the way labjoin writes it (doubling quotes, escaping '\\')."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def unquote_literal(raw: str) -> str | None:
    """The value of a quoted literal ('...' or "..."), or None when ``raw`` is not one.

    Inside the quotes, ``\\\\``, ``\\'`` and ``\\"`` are escapes and a doubled quote stands for
    one quote (as in SQL); any other backslash is kept as written.
    """
    if len(raw) < 2 or raw[0] not in "'\"" or raw[-1] != raw[0]:
        return None
    quote, body, out, k = raw[0], raw[1:-1], [], 0
    while k < len(body):
        ch = body[k]
        if ch == "\\" and k + 1 < len(body) and body[k + 1] in "\\'\"":
            out.append(body[k + 1])
            k += 2
        elif ch == quote:
            if k + 1 < len(body) and body[k + 1] == quote:
                out.append(quote)
                k += 2
            else:
                return None  # a lone quote inside: two literals run together
        else:
            out.append(ch)
            k += 1
    return "".join(out)


def quote_literal(text: str) -> str:
    """Quote a string default for a definition line.

    Double quotes unless the text contains ``"`` and no ``'``; backslashes (and, when both
    quote kinds occur, double quotes) are escaped with a backslash, which the parser undoes.
    """
    escaped = text.replace("\\", "\\\\")
    if '"' not in text:
        return f'"{escaped}"'
    if "'" not in text:
        return f"'{escaped}'"
    return '"' + escaped.replace('"', '\\"') + '"'
