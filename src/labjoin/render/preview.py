"""Text and HTML previews of a query (``repr`` and Jupyter's ``_repr_html_``), limited by
``display.limit`` and ``display.width``."""

from __future__ import annotations

import html
from typing import Any

__all__ = ["html_preview", "text_preview"]


def _rows(query: Any, limit: int) -> tuple[list[str], list[dict[str, Any]], bool]:
    heading = query.heading
    names = heading.names
    shown = [n for n in names if not heading[n].is_blob]
    rows = query.fetch(*shown, as_dict=True, limit=limit + 1, order_by="KEY") if shown else []
    more = len(rows) > limit
    return names, rows[:limit], more


def _cell(query: Any, row: dict[str, Any], name: str) -> str:
    if query.heading[name].is_blob:
        return "=BLOB="
    v = row.get(name)
    return "" if v is None else str(v)


def _settings() -> tuple[int, int, bool]:
    from ..settings import config

    return (int(config.get("display.limit", 12) or 12), int(config.get("display.width", 14) or 14),
            bool(config.get("display.show_tuple_count", True)))


def text_preview(query: Any, limit: int | None = None, width: int | None = None) -> str:
    dlimit, dwidth, show_count = _settings()
    limit = dlimit if limit is None else limit
    width = dwidth if width is None else width
    names, rows, more = _rows(query, limit)
    pk = set(query.heading.primary_key)
    fmt = "{:" + str(width) + "." + str(width) + "}"
    header = " ".join(fmt.format(("*" if n in pk else "") + n) for n in names)
    rule = " ".join("+" + "-" * (width - 2) + "+" for _ in names)
    lines = [header, rule]
    lines += [" ".join(fmt.format(_cell(query, r, n)) for n in names) for r in rows]
    if more:
        lines.append("   ...")
    if show_count:
        lines.append(f" (Total: {len(query)})")
    return "\n".join(lines) + "\n"


def html_preview(query: Any, limit: int | None = None) -> str:
    dlimit, _, show_count = _settings()
    limit = dlimit if limit is None else limit
    names, rows, more = _rows(query, limit)
    heading = query.heading
    head = "".join(
        f'<th title="{html.escape(heading[n].comment or "")}" class="{"pk" if heading[n].in_key else ""}">'
        f"{html.escape(n)}</th>" for n in names)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(query, r, n))}</td>" for n in names) + "</tr>"
                   for r in rows)
    comment = html.escape(heading.table_comment or "")
    footer = ("<p>...</p>" if more else "") + (f"<p>Total: {len(query)}</p>" if show_count else "")
    style = ("<style>.labjoin-preview th.pk{color:#2a6;} .labjoin-preview td,.labjoin-preview th"
             "{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;font-size:12px}</style>")
    return (f'{style}<div class="labjoin-preview"><b>{comment}</b><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>{footer}</div>")
