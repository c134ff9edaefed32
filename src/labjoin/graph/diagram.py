"""The Diagram model: a selection of tables in the dependency graph, with DataJoint's algebra.

A :class:`Diagram` is a copy of the dependency graph (a ``networkx.DiGraph`` whose nodes are full
table names and whose edges run from the referenced table to the referencing one) plus the set of
nodes to show. The algebra only changes that set::

    d + 2          # also show everything up to two foreign keys downstream
    d - 1          # also show the direct parents
    d1 + d2        # union;  d1 - d2: difference;  d1 * d2: intersection
    d.add_parts()  # also show the part tables of every master shown

Drawing needs no Graphviz: ``make_svg()``, ``make_mermaid()`` and ``make_dot()`` return text,
``save("pipeline.svg")`` picks the format from the suffix, and notebooks show the SVG inline.

Node attributes come from the dependency graph (``tier``, ``class_name``, ``schema``, ``master``,
``comment``, ``primary_key``); any that are missing are derived from DataJoint's naming
conventions for table names (``#lookup``, ``_imported``, ``__computed``, ``master__part``,
``~hidden``), so a bare graph of table names still draws correctly.

This class knows nothing about connections and schemas. ``labjoin.Diagram(schema)`` is a subclass
that overrides :meth:`Diagram._resolve` to turn a schema, module or table into a graph and a set of
nodes, and may override :meth:`Diagram._default_direction` to read ``display.diagram_direction``.
"""

from __future__ import annotations

import difflib
import heapq
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import Any

import networkx as nx

from labjoin.errors import ConfigError, DataJointError, MissingTableError, UnsupportedOperation
from labjoin.render.diagram_layout import DIRECTIONS, Layout
from labjoin.render.diagram_svg import (
    DiagramView,
    ViewEdge,
    ViewNode,
    layout_view,
    render_dot,
    render_mermaid,
    render_svg,
)

__all__ = ["DRAWN_TIERS", "HIDDEN_TIERS", "Diagram", "SvgText", "TableInfo", "table_info"]

HIDDEN_TIERS = frozenset({"Jobs", "External", "Hidden"})
DRAWN_TIERS = frozenset({"Manual", "Lookup", "Imported", "Computed", "Part"})

_QUOTED_NAME = re.compile(r'^(?:`(?P<s1>[^`]*)`|"(?P<s2>[^"]*)"|(?P<s3>[^.`"]*))\.(?P<table>.+)$')
_PART_NAME = re.compile(r"^(?P<master>(?:#|__|_)?[a-z][a-z0-9]*(?:_[a-z0-9]+)*)__(?P<part>[a-z][a-z0-9]*(?:_[a-z0-9]+)*)$")
_SAVE_FORMATS = {"svg": "svg", "mmd": "mermaid", "mermaid": "mermaid", "dot": "dot", "gv": "dot", "png": "png"}


class SvgText(str):
    """SVG markup as a ``str`` that Jupyter displays as a picture."""

    __slots__ = ()

    def _repr_svg_(self) -> str:
        return str(self)


@dataclass(frozen=True)
class TableInfo:
    """What the diagram needs to know about one node of the dependency graph."""

    tier: str
    class_name: str
    schema: str
    master: str | None
    comment: str
    primary_key: tuple[str, ...]

    @property
    def hidden(self) -> bool:
        """True for jobs, external and other ``~`` tables, which diagrams never show."""
        return self.tier in HIDDEN_TIERS


def _camel(snake: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in snake.split("_") if word)


def _split_name(node: str) -> tuple[str, str, Callable[[str], str]]:
    """Schema, bare table name, and a function that rebuilds a node id for another table."""
    match = _QUOTED_NAME.match(node)
    if not match:
        return "", node.strip('`"'), lambda table: table
    schema = match["s1"] if match["s1"] is not None else match["s2"] if match["s2"] is not None else match["s3"]
    raw = match["table"]
    quote = raw[0] if raw[:1] in ('`', '"') and raw[-1:] == raw[:1] and len(raw) > 1 else ""
    prefix = node[: match.start("table")]
    return schema, raw.strip('`"'), lambda table: f"{prefix}{quote}{table}{quote}"


def _infer_tier(table: str) -> str:
    if table.startswith("~"):
        if "jobs" in table or table.startswith("~~"):
            return "Jobs"
        return "External" if table.startswith("~external") else "Hidden"
    if _PART_NAME.match(table):
        return "Part"
    if table.startswith("#"):
        return "Lookup"
    if table.startswith("__"):
        return "Computed"
    return "Imported" if table.startswith("_") else "Manual"


def table_info(graph: nx.DiGraph, node: str) -> TableInfo:
    """Describe ``node`` from its attributes, filling gaps from DataJoint's naming conventions."""
    data = graph.nodes[node]
    schema, table, rebuild = _split_name(node)
    part = _PART_NAME.match(table)
    tier = data.get("tier")
    if tier not in DRAWN_TIERS and tier not in HIDDEN_TIERS:
        tier = _infer_tier(table)  # missing or unrecognised ("Unknown"): the name's prefix decides
    class_name = data.get("class_name")
    if not class_name:
        if part:
            class_name = _camel(part["master"].lstrip("#_")) + "." + _camel(part["part"])
        else:
            class_name = _camel(table.lstrip("#_~"))
    master = data.get("master")
    if master is None and tier == "Part" and part:
        candidate = rebuild(part["master"])
        master = candidate if candidate in graph else None
    return TableInfo(
        tier=tier,
        class_name=class_name,
        schema=data.get("schema") or schema,
        master=master,
        comment=data.get("comment") or "",
        primary_key=tuple(data.get("primary_key") or ()),
    )


class Diagram(nx.DiGraph):
    """A drawable selection of tables in the dependency graph (DataJoint's ``dj.Diagram``).

    Parameters
    ----------
    source : networkx.DiGraph, Diagram or anything :meth:`_resolve` accepts, optional
        The dependency graph (all its nodes are shown unless ``nodes`` is given), or a diagram to
        copy. ``Diagram()`` with no source is empty (networkx needs that for copies).
    context : object, optional
        Kept for subclasses that resolve table names (DataJoint's ``context``).
    nodes : iterable of str, optional
        The node ids to show, when ``source`` is a graph or a diagram.
    direction : str, optional
        ``"LR"``, ``"TB"``, ``"RL"`` or ``"BT"``; None means :meth:`_default_direction`.

    Attributes
    ----------
    nodes_to_show : set of str
        The node ids the diagram draws (hidden tiers are dropped when drawing).
    """

    def __init__(
        self,
        source: Any = None,
        context: Any = None,
        *,
        nodes: Iterable[str] | None = None,
        direction: str | None = None,
    ) -> None:
        super().__init__()
        self.context = context
        self.direction = direction
        self.nodes_to_show: set[str] = set()
        if source is None:
            if nodes is not None:
                raise DataJointError("Diagram(nodes=...) needs a graph: use Diagram.from_graph(graph, nodes).")
            return
        if isinstance(source, Diagram):
            shown = set(source.nodes_to_show) if nodes is None else set(nodes)
            self.context = source.context if context is None else context
            self.direction = source.direction if direction is None else direction
            graph: nx.DiGraph = source
        elif isinstance(source, nx.DiGraph):
            graph, shown = source, set(source.nodes) if nodes is None else set(nodes)
        else:
            if nodes is not None:
                raise DataJointError("Diagram(source, nodes=...): nodes= only applies to a graph source.")
            graph, shown = self._resolve(source, context)
        self._adopt(graph)
        self.nodes_to_show = self._checked(shown)

    # ---- construction -----------------------------------------------------------------------
    @classmethod
    def from_graph(
        cls,
        graph: nx.DiGraph,
        nodes: Iterable[str] | None = None,
        *,
        context: Any = None,
        direction: str | None = None,
    ) -> Diagram:
        """Make a diagram of ``graph`` showing ``nodes`` (all nodes when None)."""
        return cls(graph, context, nodes=nodes, direction=direction)

    @classmethod
    def from_sequence(cls, sequence: Iterable[Any]) -> Diagram:
        """The union of the diagrams of every item in ``sequence`` (DataJoint's API)."""
        diagrams = [item if isinstance(item, Diagram) else cls(item) for item in sequence]
        if not diagrams:
            raise DataJointError("Diagram.from_sequence needs at least one item to draw.")
        return reduce(lambda a, b: a + b, diagrams)

    def _resolve(self, source: Any, context: Any) -> tuple[nx.DiGraph, set[str]]:
        """Turn ``source`` into (dependency graph, node ids to show).

        The core's ``labjoin.Diagram`` overrides this to accept schemas, modules and tables
        (calling ``super()._resolve`` for anything else). This base class knows no connection:
        it only resolves node ids (a string or a collection of strings) in its own graph.
        """
        names: list[str] | None = None
        if isinstance(source, str):
            names = [source]
        elif isinstance(source, (list, tuple, set, frozenset)) and all(isinstance(s, str) for s in source):
            names = list(source)
        if names is not None and len(self):
            return self, self._checked(names)
        raise DataJointError(
            f"Cannot make a diagram of {type(source).__name__} {source!r:.60}: this Diagram has no "
            "connection. Use labjoin.Diagram(schema_or_table), or Diagram.from_graph(graph, nodes)."
        )

    def _default_direction(self) -> str:
        """The direction used when none was given; subclasses read ``display.diagram_direction``."""
        return "LR"

    def _adopt(self, graph: nx.DiGraph) -> None:
        """Copy the nodes and edges of ``graph`` that this diagram does not have yet."""
        self.graph.update(graph.graph)
        self.add_nodes_from((n, d) for n, d in graph.nodes(data=True) if n not in self._node)
        self.add_edges_from(
            (u, v, d) for u, v, d in graph.edges(data=True) if not self.has_edge(u, v)
        )

    def _checked(self, nodes: Iterable[str]) -> set[str]:
        wanted = set(nodes)
        unknown = sorted(n for n in wanted if n not in self._node)
        if unknown:
            close = difflib.get_close_matches(unknown[0], [str(n) for n in self._node], n=1)
            hint = f" Did you mean {close[0]}?" if close else ""
            raise MissingTableError(
                f"Table {unknown[0]} is not in the dependency graph of this diagram.{hint}"
            )
        return wanted

    def _copy(self) -> Diagram:
        return type(self)(self)

    def _operand(self, arg: Any) -> set[str]:
        """Node ids named by the right operand of ``+``, ``-`` or ``*``, adopting its graph.

        ``self`` is the (copied) result of the operation.
        """
        if isinstance(arg, Diagram):
            self._adopt(arg)
            return set(arg.nodes_to_show)
        graph, nodes = self._resolve(arg, self.context)
        if graph is not self:
            self._adopt(graph)
        return self._checked(nodes)

    # ---- algebra ----------------------------------------------------------------------------
    def __add__(self, arg: Any) -> Diagram:
        """``d + n``: expand ``n`` levels downstream; ``d + other``: union."""
        result = self._copy()
        if isinstance(arg, int) and not isinstance(arg, bool):
            return result._expand(arg) if arg >= 0 else result._expand(arg, upstream=True)
        result.nodes_to_show |= result._operand(arg)
        return result

    def __sub__(self, arg: Any) -> Diagram:
        """``d - n``: expand ``n`` levels upstream; ``d - other``: difference."""
        result = self._copy()
        if isinstance(arg, int) and not isinstance(arg, bool):
            return result._expand(arg, upstream=True) if arg >= 0 else result._expand(-arg)
        result.nodes_to_show -= result._operand(arg)
        return result

    def __mul__(self, arg: Any) -> Diagram:
        """``d1 * d2``: the tables shown in both."""
        result = self._copy()
        result.nodes_to_show &= result._operand(arg)
        return result

    def _expand(self, levels: int, *, upstream: bool = False) -> Diagram:
        neighbours = self._pred if upstream else self._succ
        shown = self.nodes_to_show
        for _ in range(abs(levels)):
            new = {m for n in shown for m in neighbours[n]} - shown
            if not new:
                break
            shown |= new
        return self

    def add_parts(self) -> Diagram:
        """Return a copy that also shows the part tables of every master shown."""
        result = self._copy()
        shown = result.nodes_to_show
        result.nodes_to_show = shown | {n for n in result._node if table_info(result, n).master in shown}
        return result

    def topo_sort(self) -> list[str]:
        """The shown nodes in topological order, each master's parts right after the master.

        The order is computed on the whole dependency graph, so it stays valid through tables
        that are not shown; ties are broken by name, so it is deterministic.
        """
        infos = {n: table_info(self, n) for n in self._node}
        indegree = {n: len(self._pred[n]) for n in self._node}
        emitted: set[str] = set()

        def entry(n: str) -> tuple[int, str, str]:
            # A part whose master is out jumps the queue, so it lands next to its master.
            return (0 if infos[n].master in emitted else 1, infos[n].schema, n)

        ready = [entry(n) for n, d in indegree.items() if d == 0]
        heapq.heapify(ready)
        order: list[str] = []
        while ready:
            *_, n = heapq.heappop(ready)
            order.append(n)
            emitted.add(n)
            for m in self._succ[n]:
                indegree[m] -= 1
                if indegree[m] == 0:
                    heapq.heappush(ready, entry(m))
        if len(order) != len(self._node):
            raise DataJointError("The dependency graph has a cycle; foreign keys must form a DAG.")
        return [n for n in order if n in self.nodes_to_show]

    @property
    def visible_nodes(self) -> list[str]:
        """The nodes that are drawn: shown, not hidden, in :meth:`topo_sort` order."""
        return [n for n in self.topo_sort() if not table_info(self, n).hidden]

    # ---- drawing ----------------------------------------------------------------------------
    def _resolved_direction(self) -> str:
        direction = str(self.direction or self._default_direction()).upper()
        if direction not in DIRECTIONS:
            raise ConfigError(
                f"Diagram direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}. "
                "Set display.diagram_direction or pass direction= accordingly."
            )
        return direction

    def view(self) -> DiagramView:
        """What is drawn: visible tables with labels and hover text, and the edges among them."""
        order = self.visible_nodes
        infos = {n: table_info(self, n) for n in order}
        multi = len({i.schema for i in infos.values()}) > 1
        nodes = tuple(
            ViewNode(
                id=n,
                label=f"{i.schema}.{i.class_name}" if multi and i.schema else i.class_name,
                tier=i.tier,
                schema=i.schema,
                class_name=i.class_name,
                master=i.master,
                comment=i.comment,
                primary_key=i.primary_key,
            )
            for n, i in infos.items()
        )
        position = {n: k for k, n in enumerate(order)}
        edges = []
        for u, v, data in self.edges(data=True):
            if u in position and v in position:
                attr_map = dict(data.get("attr_map") or {})
                aliased = data.get("aliased")
                if aliased is None:
                    aliased = any(child != parent for child, parent in attr_map.items())
                primary = data.get("primary")
                if primary is None:
                    primary = bool(attr_map) and set(attr_map) <= set(infos[v].primary_key)
                edges.append(ViewEdge(u, v, bool(primary), bool(aliased), tuple(sorted(attr_map.items()))))
        edges.sort(key=lambda e: (position[e.source], position[e.target]))
        return DiagramView(nodes=nodes, edges=tuple(edges), direction=self._resolved_direction())

    def layout(self) -> Layout:
        """Node positions, edge routes and cluster boxes of the drawing."""
        return layout_view(self.view())

    def make_svg(self, *, legend: bool = True, link: Callable[[str], str | None] | None = None) -> SvgText:
        """The diagram as SVG text (a ``str`` that notebooks display as a picture).

        ``link`` maps a node id to the URL its ``<a class="node">`` element points to.
        """
        return SvgText(render_svg(self.view(), legend=legend, link=link))

    def svg_string(self) -> str:
        """The diagram as a plain SVG string (DataJoint 2.x's name)."""
        return str(self.make_svg())

    def make_mermaid(self) -> str:
        """The diagram as a Mermaid ``flowchart``, with one class definition per tier."""
        return render_mermaid(self.view())

    def make_dot(self) -> str:
        """The diagram as Graphviz DOT text (no Graphviz needed to produce it)."""
        return render_dot(self.view())

    def make_png(self) -> io.BytesIO:
        """The diagram as PNG bytes; needs the optional package cairosvg.

        Raises
        ------
        UnsupportedOperation
            If cairosvg (or the cairo library it needs) is not installed.
        """
        try:
            import cairosvg  # optional dependency, imported on use
        except (ImportError, OSError) as exc:
            raise UnsupportedOperation(
                "Saving a diagram as PNG",
                "this installation",
                "It needs the optional package cairosvg: pip install cairosvg "
                "(or pip install 'labjoin[png]'). SVG, Mermaid (.mmd) and DOT need nothing extra.",
            ) from exc
        return io.BytesIO(cairosvg.svg2png(bytestring=self.svg_string().encode("utf-8")))

    def save(self, filename: str | Path, format: str | None = None) -> None:
        """Write the diagram to ``filename``; the format comes from ``format`` or the suffix.

        Formats: ``svg``, ``mmd`` (Mermaid), ``dot`` (Graphviz text) and ``png`` (needs cairosvg).
        """
        path = Path(filename)
        key = (format or path.suffix.lstrip(".")).lower()
        kind = _SAVE_FORMATS.get(key)
        if kind is None:
            raise UnsupportedOperation(
                f"Saving a diagram as {key or 'a file without suffix'!r}",
                "labjoin's diagram renderer",
                "Use a file name ending in .svg, .mmd, .dot or .png, or pass format=.",
            )
        if kind == "png":
            path.write_bytes(self.make_png().getvalue())
        elif kind == "svg":
            path.write_text(self.svg_string(), encoding="utf-8")
        elif kind == "mermaid":
            path.write_text(self.make_mermaid(), encoding="utf-8")
        else:
            path.write_text(self.make_dot(), encoding="utf-8")

    def _repr_svg_(self) -> str:
        return self.svg_string()

    def _repr_html_(self) -> str:
        # Inline SVG (rather than an <img>) keeps the hover titles and the links working.
        return f'<div class="labjoin-diagram" style="overflow:auto;max-width:100%">{self.svg_string()}</div>'

    def __repr__(self) -> str:
        shown = self.visible_nodes
        names = ", ".join(table_info(self, n).class_name for n in shown[:8])
        more = ", ..." if len(shown) > 8 else ""
        return f"<{type(self).__name__}: {len(shown)} tables: {names}{more}>"
