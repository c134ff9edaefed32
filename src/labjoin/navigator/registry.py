"""The page registry: how a pipeline package adds its own pages to the navigator.

The generic navigator imports nothing from any pipeline. A package (brainlab, or a lab's own)
describes its pages with the dataclasses below and registers them from a function::

    from labjoin.navigator import registry as nav

    def register(reg: nav.Registry) -> None:
        reg.add(nav.ListPage(
            name="mice", title="Mice", access="public",
            query=lambda db: db["lab_subject.Subject"] * db["lab_subject.SubjectLab"],
            columns=["lab_name", "subject_nickname", "sex", "subject_birth_date"],
            filters=[nav.Field("lab_name", kind="choice"), nav.Field("subject_nickname")],
            link=nav.Link("mouse", ["subject_uuid"]),
        ))

``labjoin serve`` finds registration functions through the ``labjoin.navigator`` entry-point
group (``[project.entry-points."labjoin.navigator"] brainlab = "brainlab.navigator:register"``)
and through ``--pages module:function``.

Every query is built by a function of a :class:`~labjoin.navigator.db.Tables` lookup (``db``),
so that it runs on the navigator's connection for the request's thread, and is only *built*
there: the navigator restricts, pages and fetches it. Figures are read from tables that hold
precomputed plotly figures (a dict ``{"data": [...], "layout": {...}}`` in a blob, a json
attribute or JSON text); a page load does no analysis.
"""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .. import errors

__all__ = ["DetailPage", "Field", "Figure", "Link", "ListPage", "Registry", "Select", "TablePanel", "discover"]

ENTRY_POINT_GROUP = "labjoin.navigator"
Access = Literal["public", "member", "admin"]
QueryFn = Callable[[Any], Any]
FIELD_KINDS = {"text": ("contains", "exact"), "choice": ("exact",), "date": ("exact", "gte", "lte"),
               "number": ("exact", "gte", "lte"), "bool": ("exact",)}
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-")


@dataclass(frozen=True)
class Field:
    """A filter of a list page.

    ``kind``: ``text`` (contains), ``choice`` (one of the values the rows have, or ``choices``),
    ``date`` and ``number`` (from/to range), ``bool`` (yes/no).

    ``via``: filter through another query instead of the list's own attributes: the list keeps
    the rows that match a row of ``via(db)`` meeting the condition (a semijoin on the attributes
    both share), e.g. sessions with a probe in a brain region.
    """

    attribute: str
    label: str = ""
    kind: str = "text"
    choices: Sequence[str] | None = None
    via: QueryFn | None = None

    def __post_init__(self) -> None:
        if self.kind not in FIELD_KINDS:
            raise errors.ConfigError(f"Field {self.attribute!r}: kind must be one of {', '.join(FIELD_KINDS)}.")


@dataclass(frozen=True)
class Link:
    """A link from a row to a registered page: ``params`` maps the target's URL parameters to
    the row's attributes (a list means the same names)."""

    page: str
    params: Sequence[str] | Mapping[str, str] = ()

    def mapping(self) -> dict[str, str]:
        return dict(self.params) if isinstance(self.params, Mapping) else {p: p for p in self.params}


@dataclass(frozen=True)
class Figure:
    """A panel of precomputed plotly figures.

    ``query(db)`` gives the table (or query) holding the figure in ``attribute``; the page
    restricts it by its key, so its heading must contain the page's key attributes. ``many``
    shows every row under the key (``order_by``, ``limit``, each labelled by ``label``) as
    separate plots (``display="all"``), as a drop-down (``"select"``) or as a slider
    (``"slider"``). ``public=False`` hides the panel from anonymous visitors in the public mode.
    """

    name: str
    title: str
    query: QueryFn
    attribute: str = "plotting_data"
    public: bool = True
    width: str = "half"
    many: bool = False
    order_by: str | Sequence[str] | None = None
    limit: int | None = None
    label: str | Sequence[str] | None = None
    display: str = "all"
    kind: str = field(default="figure", init=False)


@dataclass(frozen=True)
class TablePanel:
    """Rows related to the page's row (restricted by its key), each optionally linking to a page."""

    name: str
    title: str
    query: QueryFn
    columns: Sequence[str]
    link: Link | None = None
    order_by: str | Sequence[str] | None = None
    limit: int = 200
    public: bool = True
    width: str = "full"
    kind: str = field(default="table", init=False)


@dataclass(frozen=True)
class Select:
    """Pick one row of ``rows``; ``figures`` are then shown for the page key plus that row's
    ``key`` (e.g. pick a cluster, see its raster, PSTH and waveform). The figures load through
    the panel's JSON endpoint when a row is picked."""

    name: str
    title: str
    rows: TablePanel
    key: Sequence[str]
    figures: Sequence[Figure]
    public: bool = True
    width: str = "full"
    kind: str = field(default="select", init=False)


@dataclass(frozen=True)
class ListPage:
    """A filterable, paged list of rows with optional thumbnail figures per row."""

    name: str
    title: str
    query: QueryFn
    columns: Sequence[str]
    filters: Sequence[Field] = ()
    link: Link | None = None
    key: Sequence[str] | None = None
    thumbnails: Sequence[Figure] = ()
    order_by: str | Sequence[str] | None = None
    page_size: int = 25
    access: Access = "member"
    nav: bool = True
    description: str = ""
    requires: Sequence[str] = ()
    kind: str = field(default="list", init=False)


@dataclass(frozen=True)
class DetailPage:
    """One row (found by ``key`` from the URL), its fields, panels and links to other pages.

    ``title`` may name attributes of the row: ``"Mouse {subject_nickname}"``.
    """

    name: str
    title: str
    query: QueryFn
    key: Sequence[str]
    fields: Sequence[str] | None = None
    panels: Sequence[Figure | TablePanel | Select] = ()
    links: Sequence[tuple[str, Link]] = ()
    access: Access = "member"
    nav: bool = False
    description: str = ""
    requires: Sequence[str] = ()
    kind: str = field(default="detail", init=False)


Page = ListPage | DetailPage


class Registry:
    """The registered pages, by name, in registration order."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.sources: list[str] = []

    def add(self, page: Page) -> Page:
        if not page.name or set(page.name) - _NAME_CHARS:
            raise errors.ConfigError(f"Page name {page.name!r}: use lower-case letters, digits, '_' and '-'.")
        if page.name in self.pages:
            raise errors.ConfigError(f"A page named {page.name!r} is already registered.")
        if page.access not in ("public", "member", "admin"):
            raise errors.ConfigError(f"Page {page.name!r}: access must be 'public', 'member' or 'admin'.")
        if isinstance(page, DetailPage):
            names = [p.name for p in page.panels]
            if len(set(names)) != len(names):
                raise errors.ConfigError(f"Page {page.name!r}: two panels share a name.")
        self.pages[page.name] = page
        return page

    def get(self, name: str) -> Page:
        try:
            return self.pages[name]
        except KeyError:
            raise errors.ConfigError(f"No page named {name!r} is registered.") from None

    def nav_pages(self) -> list[Page]:
        return [p for p in self.pages.values() if p.nav]

    def check(self) -> None:
        """Every link names a registered page (run after all registrations)."""
        for page in self.pages.values():
            links = [page.link] if isinstance(page, ListPage) and page.link else []
            if isinstance(page, DetailPage):
                links += [link for _, link in page.links]
                for panel in page.panels:
                    rows = panel.rows if isinstance(panel, Select) else panel
                    if isinstance(rows, TablePanel) and rows.link:
                        links.append(rows.link)
            for link in links:
                if link.page not in self.pages:
                    raise errors.ConfigError(f"Page {page.name!r} links to {link.page!r}, which is not registered.")


def _load(spec: str) -> Callable[[Registry], Any]:
    module, sep, attr = spec.partition(":")
    if not sep:
        raise errors.ConfigError(f"Page registration {spec!r}: write module:function.")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise errors.ConfigError(f"Cannot load page registration {spec!r}: {e}.") from e
    return obj


def discover(plugins: Sequence[str] = (), *, entry_points: bool = True) -> Registry:
    """A registry filled by every ``labjoin.navigator`` entry point and each ``module:function``
    in ``plugins``."""
    reg = Registry()
    if entry_points:
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            ep.load()(reg)
            reg.sources.append(f"{ep.name} ({ep.value})")
    for spec in plugins:
        _load(spec)(reg)
        reg.sources.append(spec)
    reg.check()
    return reg
