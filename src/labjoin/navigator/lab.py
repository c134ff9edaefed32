"""Data functions of registered pages: list pages, detail pages and their panels.

A viewer in the public view (anonymous, public mode on) sees each page's query restricted to
the public subset, and no panel marked ``public=False``. Figures are read, never computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import errors
from ..tables.query import U
from .config import PublicSubset
from .db import Tables
from .filters import compile_filters, count_rows, parse_table_query, sort_order
from .registry import FIELD_KINDS, DetailPage, Figure, Link, ListPage, Select, TablePanel
from .urls import Urls
from .values import figure_of, key_params, parse_key, to_json

__all__ = ["detail_page", "list_page", "select_panel"]

MAX_CHOICES = 500


class Viewer:
    """Who is looking: ``public`` is True for anonymous visitors of the public mode."""

    def __init__(self, public: bool, subset: PublicSubset) -> None:
        self.public = public
        self.subset = subset

    def restrict(self, query: Any) -> Any:
        return self.subset.restrict(query) if self.public else query

    def sees(self, panel: Any) -> bool:
        return not self.public or bool(getattr(panel, "public", True))


def _order(query: Any, order_by: str | Sequence[str] | None) -> list[str] | str:
    if order_by is None:
        return "KEY"
    return [order_by] if isinstance(order_by, str) else list(order_by)


def _link_url(link: Link | None, row: dict[str, Any], urls: Urls) -> str | None:
    if link is None:
        return None
    params = {}
    for target, attr in link.mapping().items():
        if row.get(attr) is None:
            return None
        params[target] = row[attr]
    return urls.lab(link.page, key_params(params))


def _needs(query: Any, names: Sequence[str], what: str) -> None:
    missing = [n for n in names if n not in query.heading.names]
    if missing:
        raise errors.ConfigError(f"{what}: its query lacks `{missing[0]}`, which it is restricted or linked by.")


def _figures(fig: Figure, db: Tables, key: dict[str, Any]) -> Any:
    """One figure (or a list, when ``many``) of ``fig`` for ``key``; None when not computed."""
    q = fig.query(db)
    _needs(q, list(key), f"Figure panel {fig.name!r}")
    q = q & key
    labels = [fig.label] if isinstance(fig.label, str) else list(fig.label or ())
    names = list(dict.fromkeys([fig.attribute, *labels]))
    rows = q.fetch(*names, as_dict=True, order_by=_order(q, fig.order_by),
                   limit=(fig.limit if fig.many else 1))
    items = [{"label": " ".join(str(to_json(r[n])) for n in labels), "figure": figure_of(r[fig.attribute])}
             for r in rows]
    items = [i for i in items if i["figure"] is not None]
    if fig.many:
        return items
    return items[0]["figure"] if items else None


def _panel_base(panel: Any) -> dict[str, Any]:
    return {"name": panel.name, "title": panel.title, "kind": panel.kind, "width": panel.width}


def _table_rows(panel: TablePanel, db: Tables, key: dict[str, Any], urls: Urls, viewer: Viewer) -> dict[str, Any]:
    q = panel.query(db)
    _needs(q, list(key), f"Table panel {panel.name!r}")
    q = q & key
    link_attrs = list(panel.link.mapping().values()) if panel.link else []
    names = list(dict.fromkeys([*panel.columns, *link_attrs, *q.heading.primary_key]))
    rows = q.fetch(*names, as_dict=True, order_by=_order(q, panel.order_by), limit=panel.limit + 1)
    return {
        "columns": list(panel.columns), "more": len(rows) > panel.limit, "count": len(q),
        "rows": [{"values": {c: to_json(r[c]) for c in panel.columns}, "url": _link_url(panel.link, r, urls),
                  "key": to_json({k: r[k] for k in q.heading.primary_key})} for r in rows[:panel.limit]],
    }


def list_page(page: ListPage, db: Tables, params: list[tuple[str, str]], urls: Urls, viewer: Viewer, *,
              count_limit: int | None = None) -> dict[str, Any]:
    """One page of a registered list: filters (declared fields only), sort, paging, thumbnails.

    Rows are counted up to ``count_limit`` (see :func:`~labjoin.navigator.filters.count_rows`)."""
    base = viewer.restrict(page.query(db))
    heading = base.heading
    fields = {f.attribute: f for f in page.filters}
    params = [_whole_day(heading, fields, name, value) for name, value in params]
    through = {a for a, f in fields.items() if f.via is not None}
    via_params = [(n, v) for n, v in params if n.partition("__")[0] in through]
    params = [(n, v) for n, v in params if n.partition("__")[0] not in through]
    q = parse_table_query(heading, params, default_size=page.page_size, max_size=max(page.page_size, 200))
    for f in q.filters:
        spec = fields.get(f.attribute)
        if spec is None or f.op not in FIELD_KINDS[spec.kind]:
            raise errors.DataError(
                f"This list cannot be filtered by `{f.param}`; its filters are "
                f"{', '.join(fields) or 'none'}."
            )
    for name, _ in q.sort:
        if name not in page.columns:
            raise errors.DataError(f"This list cannot be sorted by `{name}`; sort by one of its columns.")
    restricted = base & compile_filters(heading, q.filters, q.combine)
    applied = {f.param: f.value for f in q.filters}
    for attribute in sorted(through):
        mine = [(n, v) for n, v in via_params if n.partition("__")[0] == attribute]
        if not mine:
            continue
        spec = fields[attribute]
        via = spec.via(db)  # type: ignore[misc]
        vq = parse_table_query(via.heading, mine)
        for f in vq.filters:
            if f.op not in FIELD_KINDS[spec.kind]:
                raise errors.DataError(f"This list cannot be filtered by `{f.param}`.")
            applied[f.param] = f.value
        restricted = restricted & (via & compile_filters(via.heading, vq.filters))
    total, exact = count_rows(restricted, None if q.exact_count else count_limit)
    key_names = list(page.key or heading.primary_key)
    link_attrs = list(page.link.mapping().values()) if page.link else []
    names = list(dict.fromkeys([*page.columns, *key_names, *link_attrs]))
    if q.sort or page.order_by is None:
        order = sort_order(heading, q.sort)
    else:  # the page's own order, then the primary key, so that pages never overlap
        own = _order(base, page.order_by)
        named = {str(o).split()[0] for o in own}
        order = [*own, *(f"{k} ASC" for k in heading.primary_key if k not in named)]
    rows = restricted.fetch(*names, as_dict=True, order_by=order, limit=q.size + 1, offset=q.offset)
    has_next = len(rows) > q.size
    rows = rows[:q.size]
    keys = [{k: r[k] for k in key_names} for r in rows]
    thumbs: list[dict[str, Any]] = []
    for fig in page.thumbnails:
        if not viewer.sees(fig):
            continue
        thumbs.append({"name": fig.name, "title": fig.title, "by_row": _thumbnails(fig, db, keys)})
    pages = max(1, -(-total // q.size)) if exact else None
    choices = {}
    for spec in page.filters:
        if spec.kind == "choice":
            source = spec.via(db) if spec.via is not None else base
            choices[spec.attribute] = list(spec.choices) if spec.choices is not None else _choices(source, spec.attribute)
    return {
        "page": page.name, "title": page.title, "description": page.description, "kind": "list",
        "columns": list(page.columns),
        "attributes": {n: {"type": heading[n].declared_type, "category": heading[n].category.lower()}
                       for n in page.columns},
        "filters": [{"attribute": f.attribute, "label": f.label or f.attribute.replace("_", " "), "kind": f.kind,
                     "choices": choices.get(f.attribute)} for f in page.filters],
        "applied": applied,
        "sort": [{"attribute": n, "desc": d} for n, d in q.sort],
        "total": total, "total_exact": exact, "page_number": q.page, "size": q.size, "pages": pages,
        "rows": [{"values": {c: to_json(r[c]) for c in page.columns}, "key": to_json(keys[i]),
                  "url": _link_url(page.link, r, urls), "thumbnails": [t["by_row"][i] for t in thumbs]}
                 for i, r in enumerate(rows)],
        "thumbnails": [{"name": t["name"], "title": t["title"]} for t in thumbs],
        "next_url": urls.lab(page.name, q.params(page=q.page + 1) + via_params) if has_next else None,
        "prev_url": urls.lab(page.name, q.params(page=q.page - 1) + via_params) if q.page > 1 else None,
        "sort_urls": {c: urls.lab(page.name, q.params(page=1, sort=((c, bool(q.sort) and q.sort[0] == (c, False)),))
                                  + via_params) for c in page.columns},
        "url": urls.lab(page.name),
    }


def _whole_day(heading: Any, fields: dict[str, Any], name: str, value: str) -> tuple[str, str]:
    """A date field over a datetime attribute: "to <date>" includes that whole day."""
    attribute, _, op = name.partition("__")
    spec = fields.get(attribute)
    if (op == "lte" and spec is not None and spec.kind == "date" and len(value.strip()) == 10
            and attribute in heading.names and heading[attribute].category in ("DATETIME", "TIMESTAMP")):
        return name, value.strip() + " 23:59:59.999999"
    return name, value


def _thumbnails(fig: Figure, db: Tables, keys: list[dict[str, Any]]) -> list[Any]:
    if not keys:
        return []
    q = fig.query(db)
    names = list(keys[0])
    _needs(q, names, f"Thumbnail {fig.name!r}")
    rows = (q & keys).fetch(*names, fig.attribute, as_dict=True, order_by=_order(q, fig.order_by))
    found: dict[tuple[Any, ...], Any] = {}
    for r in rows:  # several figures per row (e.g. one per date): the first in order_by order, as on detail pages
        found.setdefault(tuple(to_json(r[n]) for n in names), r[fig.attribute])
    out = []
    for k in keys:
        value = found.get(tuple(to_json(k[n]) for n in names))
        out.append(figure_of(value) if value is not None else None)
    return out


def _choices(query: Any, attribute: str) -> list[Any]:
    values = (U(attribute) & query).fetch(attribute, order_by=attribute, limit=MAX_CHOICES)
    return [to_json(v) for v in values if v is not None]


def _detail_row(page: DetailPage, db: Tables, params: dict[str, str], viewer: Viewer) -> tuple[Any, dict[str, Any]]:
    q = viewer.restrict(page.query(db))
    key = parse_key(q.heading, params, list(page.key))
    return q, key


def detail_page(page: DetailPage, db: Tables, params: dict[str, str], urls: Urls,
                viewer: Viewer) -> dict[str, Any] | None:
    """A registered detail page for the row whose key is in ``params``; None when there is none."""
    q, key = _detail_row(page, db, params, viewer)
    heading = q.heading
    fields = list(page.fields) if page.fields is not None else [n for n in heading.names if not heading[n].is_blob]
    rows = (q & key).fetch(*dict.fromkeys([*page.key, *fields]), as_dict=True, limit=2)
    if len(rows) != 1:
        return None
    row = rows[0]
    values = {n: to_json(row[n]) for n in row}
    panels = []
    for panel in page.panels:
        if not viewer.sees(panel):
            continue
        entry = _panel_base(panel)
        if isinstance(panel, Figure):
            result = _figures(panel, db, key)
            entry.update(display=panel.display, many=panel.many,
                         figures=result if panel.many else ([{"label": "", "figure": result}] if result else []))
        elif isinstance(panel, TablePanel):
            entry.update(_table_rows(panel, db, key, urls, viewer))
        elif isinstance(panel, Select):
            entry.update(_table_rows(panel.rows, db, key, urls, viewer))
            entry["select_key"] = list(panel.key)
            entry["figure_titles"] = [{"name": f.name, "title": f.title} for f in panel.figures if viewer.sees(f)]
            entry["panel_url"] = urls.lab_panel(page.name, panel.name, key_params(key))
        panels.append(entry)
    links = [{"label": label, "url": _link_url(link, row, urls)} for label, link in page.links]
    return {
        "page": page.name, "kind": "detail", "title": page.title.format_map(_Missing(values)),
        "description": page.description, "key": to_json(key),
        "fields": [{"name": n, "value": values[n]} for n in fields],
        "panels": panels, "links": [link for link in links if link["url"]],
    }


def select_panel(page: DetailPage, panel_name: str, db: Tables, params: dict[str, str], urls: Urls,
                 viewer: Viewer) -> dict[str, Any] | None:
    """The figures of a Select panel for the page key plus the picked row's key."""
    panel = next((p for p in page.panels if p.name == panel_name and isinstance(p, Select)), None)
    if panel is None or not viewer.sees(panel):
        raise errors.MissingTableError(f"Page {page.name!r} has no panel {panel_name!r}.")
    q, key = _detail_row(page, db, params, viewer)
    if not (q & key):
        return None
    rows_q = panel.rows.query(db) & key
    sub = parse_key(rows_q.heading, params, list(panel.key))
    full = {**key, **sub}
    if not (rows_q & sub):
        return None
    figures = []
    for fig in panel.figures:
        if viewer.sees(fig):
            result = _figures(fig, db, full)
            figures.append({"name": fig.name, "title": fig.title, "display": fig.display, "many": fig.many,
                            "figures": result if fig.many else ([{"label": "", "figure": result}] if result else [])})
    return {"page": page.name, "panel": panel.name, "key": to_json(full), "figures": figures}


class _Missing(dict):  # type: ignore[type-arg]
    """``str.format_map`` helper: unknown names stay as written instead of raising."""

    def __missing__(self, name: str) -> str:
        return "{" + name + "}"
