"""Draw a schema diagram as SVG, Mermaid or Graphviz DOT text, with no external program.

The input is a :class:`DiagramView`: the tables to draw, already resolved to labels, tiers and
hover text, and the foreign keys between them. :class:`labjoin.graph.diagram.Diagram` builds the
view from the dependency graph; this module only draws it, so the navigator and the notebook
show exactly the same picture.

Styles follow DataJoint's drawings: Manual tables are green boxes, Lookup tables grey boxes,
Imported tables blue ellipses, Computed tables red ellipses and Part tables small plain boxes.
Foreign keys in the child's primary key are thick lines, secondary ones thin lines, and renamed
(aliased) ones dashed orange lines with a dot in the middle, where DataJoint draws its alias node.

Every table is an ``<a class="node">`` element with ``data-table`` (the full table name),
``data-schema``, ``data-class`` and ``data-tier``, so a web page can make the nodes clickable;
pass ``link=`` to :func:`render_svg` to give each node an ``href``.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable
from dataclasses import dataclass

from labjoin.render.diagram_layout import Layout, LayoutOptions, layered_layout

__all__ = [
    "TIER_STYLES",
    "DiagramView",
    "TierStyle",
    "ViewEdge",
    "ViewNode",
    "layout_view",
    "node_size",
    "render_dot",
    "render_mermaid",
    "render_svg",
    "text_width",
]

FONT_FAMILY = "Helvetica, Arial, sans-serif"


@dataclass(frozen=True)
class TierStyle:
    """How the tables of one tier are drawn."""

    shape: str  # "box" or "ellipse"
    fill: str
    stroke: str
    text: str
    font_size: float
    css: str  # class name suffix: "manual", "lookup", ...


# DataJoint's translucent Graphviz colours, composed over white so that PNG converters and
# browsers agree and edges passing behind a node stay hidden.
TIER_STYLES: dict[str, TierStyle] = {
    "Manual": TierStyle("box", "#cfffcf", "#5cae5c", "#006400", 12.0, "manual"),
    "Lookup": TierStyle("box", "#dfdfdf", "#a0a0a0", "#000000", 12.0, "lookup"),
    "Imported": TierStyle("ellipse", "#bfbfdf", "#6b6bb0", "#00007f", 12.0, "imported"),
    "Computed": TierStyle("ellipse", "#ffdfdf", "#d08080", "#7f0000", 12.0, "computed"),
    "Part": TierStyle("box", "#ffffff", "#b0b0b0", "#000000", 10.0, "part"),
}
EDGE_COLOR = "#606060"
CLUSTER_FILL = "#f6f6fa"
ALIAS_COLOR = "#e07b00"
EDGE_KINDS = ("primary", "secondary", "aliased")


@dataclass(frozen=True)
class ViewNode:
    """One table as it is drawn.

    Attributes
    ----------
    id : str
        The full table name (the dependency graph's node id).
    label : str
        The text in the node: the class name, schema-qualified in multi-schema diagrams.
    tier : str
        One of the keys of :data:`TIER_STYLES`.
    schema, class_name : str
        Database schema and Python class name (``Session.Trial`` for a part).
    master : str or None
        The master's node id for a part table.
    comment : str
        The table comment.
    primary_key : tuple of str
        Names of the primary-key attributes.
    """

    id: str
    label: str
    tier: str
    schema: str
    class_name: str
    master: str | None = None
    comment: str = ""
    primary_key: tuple[str, ...] = ()

    @property
    def title(self) -> str:
        """Hover text: label and tier, comment, primary key."""
        lines = [f"{self.label} ({self.tier})"]
        if self.comment:
            lines.append(self.comment)
        if self.primary_key:
            lines.append("primary key: " + ", ".join(self.primary_key))
        return "\n".join(lines)


@dataclass(frozen=True)
class ViewEdge:
    """One foreign key, drawn from the referenced (parent) table to the referencing one."""

    source: str
    target: str
    primary: bool
    aliased: bool = False
    attr_map: tuple[tuple[str, str], ...] = ()  # (child attribute, parent attribute)

    @property
    def kind(self) -> str:
        """``"aliased"``, ``"primary"`` or ``"secondary"``: the drawing style of the edge."""
        if self.aliased:
            return "aliased"
        return "primary" if self.primary else "secondary"


@dataclass(frozen=True)
class DiagramView:
    """Everything needed to draw a diagram: nodes in a topological order, edges, direction."""

    nodes: tuple[ViewNode, ...]
    edges: tuple[ViewEdge, ...]
    direction: str = "LR"

    @property
    def schemas(self) -> list[str]:
        """The schemas of the nodes, in order of first appearance."""
        return list(dict.fromkeys(n.schema for n in self.nodes))

    @property
    def clustered(self) -> bool:
        """True when the diagram spans several schemas (each gets a cluster box)."""
        return len(self.schemas) > 1


# ---- measuring -------------------------------------------------------------------------------

_NARROW = frozenset("iljtfrI.,:;'!|()[]{} ")
_WIDE = frozenset("mwMW@%")


def text_width(text: str, font_size: float) -> float:
    """Estimate the width of ``text`` in a Helvetica-like font, in pixels.

    No font metrics are available without a renderer, so this uses three character classes;
    it errs on the wide side so labels never overflow their boxes.
    """
    em = 0.0
    for ch in text:
        if ch in _NARROW:
            em += 0.3
        elif ch in _WIDE:
            em += 0.86
        elif ch.isupper() or ch.isdigit():
            em += 0.67
        else:
            em += 0.58
    return em * font_size


def node_size(node: ViewNode) -> tuple[float, float]:
    """Width and height of a node, from its label and its tier's shape."""
    style = TIER_STYLES.get(node.tier, TIER_STYLES["Manual"])
    width = text_width(node.label, style.font_size)
    if node.tier == "Part":
        return (max(width + 16.0, 30.0), 20.0)
    if style.shape == "ellipse":
        return (max(width * 1.12 + 26.0, 50.0), 32.0)
    return (max(width + 20.0, 40.0), 28.0)


def layout_view(view: DiagramView, options: LayoutOptions | None = None) -> Layout:
    """Lay out ``view`` (parts grouped next to each other, one cluster per schema)."""
    opts = options or LayoutOptions(direction=view.direction)
    shown = {n.id for n in view.nodes}
    groups = {n.id: n.master for n in view.nodes if n.master in shown}
    clusters = {n.id: n.schema for n in view.nodes} if view.clustered else None
    return layered_layout(
        [n.id for n in view.nodes],
        [(e.source, e.target) for e in view.edges],
        {n.id: node_size(n) for n in view.nodes},
        clusters=clusters,
        groups=groups,
        options=opts,
    )


# ---- SVG -------------------------------------------------------------------------------------

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _esc(text: str) -> str:
    """Escape text for XML content or a double-quoted attribute."""
    return html.escape(_INVALID_XML.sub("", str(text)), quote=True)


def _num(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _path(points: list[tuple[float, float]], horizontal: bool) -> str:
    """A smooth path through ``points``: cubic segments whose tangents follow the rank axis."""
    x0, y0 = points[0]
    parts = [f"M{_num(x0)},{_num(y0)}"]
    for x1, y1 in points[1:]:
        if (horizontal and abs(y1 - y0) < 0.01) or (not horizontal and abs(x1 - x0) < 0.01):
            parts.append(f"L{_num(x1)},{_num(y1)}")
        elif horizontal:
            mx = (x0 + x1) / 2
            parts.append(f"C{_num(mx)},{_num(y0)} {_num(mx)},{_num(y1)} {_num(x1)},{_num(y1)}")
        else:
            my = (y0 + y1) / 2
            parts.append(f"C{_num(x0)},{_num(my)} {_num(x1)},{_num(my)} {_num(x1)},{_num(y1)}")
        x0, y0 = x1, y1
    return " ".join(parts)


def _midpoint(points: list[tuple[float, float]]) -> tuple[float, float]:
    # The middle segment's midpoint is on the curve: each cubic segment is point-symmetric.
    k = (len(points) - 1) // 2
    (xa, ya), (xb, yb) = points[k], points[k + 1]
    return ((xa + xb) / 2, (ya + yb) / 2)


def _shape(style: TierStyle, x: float, y: float, w: float, h: float) -> str:
    attrs = f'fill="{style.fill}" stroke="{style.stroke}" stroke-width="1"'
    if style.shape == "ellipse":
        return f'<ellipse cx="{_num(x)}" cy="{_num(y)}" rx="{_num(w / 2)}" ry="{_num(h / 2)}" {attrs}/>'
    radius = "2" if style.css == "part" else "3"
    return (
        f'<rect x="{_num(x - w / 2)}" y="{_num(y - h / 2)}" width="{_num(w)}" height="{_num(h)}" '
        f'rx="{radius}" {attrs}/>'
    )


def _text(x: float, y: float, text: str, size: float, fill: str, anchor: str = "middle") -> str:
    # A baseline offset instead of dominant-baseline: PNG converters ignore the latter.
    return (
        f'<text x="{_num(x)}" y="{_num(y + size * 0.35)}" text-anchor="{anchor}" '
        f'font-size="{_num(size)}" fill="{fill}">{_esc(text)}</text>'
    )


def render_svg(
    view: DiagramView,
    *,
    layout: Layout | None = None,
    legend: bool = True,
    link: Callable[[str], str | None] | None = None,
) -> str:
    """Draw ``view`` as a standalone SVG document.

    Parameters
    ----------
    view : DiagramView
        The tables and foreign keys to draw.
    layout : Layout, optional
        A precomputed layout of ``view`` (computed with :func:`layout_view` when omitted).
    legend : bool
        Draw a legend of the tiers and edge kinds that occur, below the diagram.
    link : callable, optional
        Maps a node id to the URL its ``<a>`` element points to (no ``href`` when it returns None).

    Returns
    -------
    str
        The SVG text, well-formed XML with every name escaped.
    """
    lay = layout if layout is not None else layout_view(view)
    horizontal = lay.direction in ("LR", "RL")
    digest = hashlib.sha1("\n".join(n.id for n in view.nodes).encode()).hexdigest()[:8]
    arrow, alias_arrow = f"lj-arrow-{digest}", f"lj-arrow-alias-{digest}"
    body: list[str] = []

    if lay.clusters:
        body.append('<g class="clusters">')
        for schema, (x0, y0, x1, y1) in lay.clusters.items():
            body.append(
                f'<g class="cluster" data-schema="{_esc(schema)}">'
                f'<rect x="{_num(x0)}" y="{_num(y0)}" width="{_num(x1 - x0)}" height="{_num(y1 - y0)}" '
                f'rx="6" fill="{CLUSTER_FILL}" stroke="#b8b8c8" stroke-width="1"/></g>'
            )
        body.append("</g>")

    labels = {n.id: n.label for n in view.nodes}
    body.append('<g class="edges">')
    for edge in view.edges:
        points = lay.routes.get((edge.source, edge.target))
        if not points:
            continue
        kind = edge.kind
        color = ALIAS_COLOR if kind == "aliased" else EDGE_COLOR
        width = "2" if edge.primary else "1"
        dash = ' stroke-dasharray="5,3"' if kind == "aliased" else ""
        title = f"{labels[edge.source]} \u2192 {labels[edge.target]} ({kind} foreign key)"
        renamed = [f"{child} \u2190 {parent}" for child, parent in edge.attr_map if child != parent]
        if renamed:
            title += "\nrenamed: " + ", ".join(renamed)
        body.append(
            f'<g class="edge edge-{kind}" data-source="{_esc(edge.source)}" '
            f'data-target="{_esc(edge.target)}"><title>{_esc(title)}</title>'
            f'<path d="{_path(points, horizontal)}" fill="none" stroke="{color}" '
            f'stroke-width="{width}"{dash} marker-end="url(#{alias_arrow if kind == "aliased" else arrow})"/>'
        )
        if kind == "aliased":
            mx, my = _midpoint(points)
            body.append(
                f'<circle class="alias-mark" cx="{_num(mx)}" cy="{_num(my)}" r="3.5" '
                f'fill="{ALIAS_COLOR}" fill-opacity="0.7"/>'
            )
        body.append("</g>")
    body.append("</g>")

    if lay.clusters:
        # Titles go above the edges, on a patch of the cluster's colour, so edges never hide them.
        body.append('<g class="cluster-labels">')
        for schema, (x0, y0, _x1, _y1) in lay.clusters.items():
            body.append(
                f'<g class="cluster-label" data-schema="{_esc(schema)}">'
                f'<rect x="{_num(x0 + 4)}" y="{_num(y0 + 3)}" width="{_num(text_width(schema, 11.0) + 8)}" '
                f'height="14" fill="{CLUSTER_FILL}" fill-opacity="0.85"/>'
                + _text(x0 + 8, y0 + 10, schema, 11.0, "#505060", anchor="start")
                + "</g>"
            )
        body.append("</g>")

    body.append('<g class="nodes">')
    for node in view.nodes:
        style = TIER_STYLES.get(node.tier, TIER_STYLES["Manual"])
        (x, y), (w, h) = lay.positions[node.id], lay.sizes[node.id]
        href = link(node.id) if link is not None else None
        body.append(
            f'<a class="node lj-{style.css}" data-table="{_esc(node.id)}" '
            f'data-schema="{_esc(node.schema)}" data-class="{_esc(node.class_name)}" '
            f'data-tier="{_esc(node.tier)}"' + (f' href="{_esc(href)}"' if href else "") + ">"
            f"<title>{_esc(node.title)}</title>"
            + _shape(style, x, y, w, h)
            + _text(x, y, node.label, style.font_size, style.text)
            + "</a>"
        )
    body.append("</g>")

    width, height = lay.width, lay.height
    if legend and view.nodes:
        items, legend_height = _legend(view, lay.height, max(lay.width, 420.0), arrow, alias_arrow)
        body.append(items)
        height += legend_height
    defs = (
        "<defs>"
        f'<marker id="{arrow}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        f'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,1 L10,5 L0,9 z" fill="{EDGE_COLOR}"/></marker>'
        f'<marker id="{alias_arrow}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        f'markerUnits="userSpaceOnUse" orient="auto"><path d="M0,1 L10,5 L0,9 z" fill="{ALIAS_COLOR}"/></marker>'
        "</defs>"
    )
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="labjoin-diagram" '
        f'width="{_num(width)}" height="{_num(height)}" viewBox="0 0 {_num(width)} {_num(height)}" '
        f'font-family="{FONT_FAMILY}" role="img" aria-label="schema diagram">'
    )
    return "\n".join([head, defs, *body, "</svg>"]) + "\n"


def _legend(
    view: DiagramView, top: float, max_width: float, arrow: str, alias_arrow: str
) -> tuple[str, float]:
    """The legend group and the height it adds below a drawing that ends at ``top``."""
    tiers = [t for t in TIER_STYLES if any(n.tier == t for n in view.nodes)]
    kinds = [k for k in EDGE_KINDS if any(e.kind == k for e in view.edges)]
    entries: list[tuple[str, str, float]] = []  # (kind of sample, label, width)
    for tier in tiers:
        entries.append(("tier:" + tier, tier, 30.0 + 6.0 + text_width(tier, 11.0)))
    captions = {"primary": "primary key FK", "secondary": "secondary FK", "aliased": "renamed FK"}
    for kind in kinds:
        entries.append(("edge:" + kind, captions[kind], 30.0 + 6.0 + text_width(captions[kind], 11.0)))
    out = ['<g class="legend">']
    x, y, row_height, margin = 12.0, top + 4.0, 24.0, 12.0
    for sample, label, width in entries:
        if x + width > max_width - margin and x > 12.0:
            x, y = 12.0, y + row_height
        cy = y + row_height / 2
        if sample.startswith("tier:"):
            style = TIER_STYLES[sample[5:]]
            out.append(_shape(style, x + 15, cy, 30.0, 16.0 if style.css != "part" else 12.0))
        else:
            kind = sample[5:]
            color = ALIAS_COLOR if kind == "aliased" else EDGE_COLOR
            stroke = "2" if kind == "primary" else "1"
            dash = ' stroke-dasharray="5,3"' if kind == "aliased" else ""
            marker = alias_arrow if kind == "aliased" else arrow
            out.append(
                f'<path d="M{_num(x)},{_num(cy)} L{_num(x + 30)},{_num(cy)}" stroke="{color}" '
                f'stroke-width="{stroke}"{dash} marker-end="url(#{marker})"/>'
            )
        out.append(_text(x + 36, cy, label, 11.0, "#303030", anchor="start"))
        x += width + 16.0
    out.append("</g>")
    return "".join(out), (y + row_height + 8.0) - top


# ---- Mermaid and DOT -------------------------------------------------------------------------


def _mermaid_label(text: str) -> str:
    # Mermaid entity codes: '#' first, since the other replacements introduce it.
    text = text.replace("#", "#35;").replace('"', "#quot;")
    return text.replace("<", "#lt;").replace(">", "#gt;").replace("\n", " ")


def render_mermaid(view: DiagramView) -> str:
    """Return a Mermaid ``flowchart`` for ``view``, one class definition per tier.

    Nodes are named ``n0``, ``n1``... in the view's order (a comment line maps each to its full
    table name); schemas become subgraphs when the view spans several of them.
    """
    ids = {n.id: f"n{k}" for k, n in enumerate(view.nodes)}
    lines = [f"flowchart {view.direction}"]
    for tier, style in TIER_STYLES.items():
        if any(n.tier == tier for n in view.nodes):
            lines.append(
                f"    classDef {style.css} fill:{style.fill},stroke:{style.stroke},"
                f"color:{style.text},font-size:{int(style.font_size)}px"
            )

    def declare(node: ViewNode, indent: str) -> None:
        style = TIER_STYLES.get(node.tier, TIER_STYLES["Manual"])
        label = _mermaid_label(node.label)
        shape = f'(["{label}"])' if style.shape == "ellipse" else f'["{label}"]'
        lines.append(f"{indent}%% {ids[node.id]}: {node.id.replace(chr(10), ' ')}")
        lines.append(f"{indent}{ids[node.id]}{shape}:::{style.css}")

    if view.clustered:
        for k, schema in enumerate(view.schemas):
            lines.append(f'    subgraph s{k}["{_mermaid_label(schema)}"]')
            for node in view.nodes:
                if node.schema == schema:
                    declare(node, "        ")
            lines.append("    end")
    else:
        for node in view.nodes:
            declare(node, "    ")
    arrows = {"primary": "==>", "secondary": "-->", "aliased": "-.->"}
    for edge in view.edges:
        if edge.source in ids and edge.target in ids:
            lines.append(f"    {ids[edge.source]} {arrows[edge.kind]} {ids[edge.target]}")
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    text = _INVALID_XML.sub("", text).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\n", "\\n") + '"'


def render_dot(view: DiagramView) -> str:
    """Return Graphviz DOT text for ``view`` (for users who have Graphviz; none is needed here)."""
    lines = [
        'digraph "labjoin" {',
        f'    graph [rankdir={view.direction}, fontname="Helvetica", fontsize=10, nodesep=0.2, ranksep=0.5];',
        '    node [fontname="Helvetica", fontsize=10, height=0.3];',
        '    edge [arrowsize=0.6, color="#606060"];',
    ]

    def declare(node: ViewNode, indent: str) -> None:
        style = TIER_STYLES.get(node.tier, TIER_STYLES["Manual"])
        shape = "ellipse" if style.shape == "ellipse" else "box"
        size = ", height=0.2" if node.tier == "Part" else ""
        lines.append(
            f"{indent}{_dot_string(node.id)} [label={_dot_string(node.label)}, shape={shape}, "
            f'style="filled", fillcolor="{style.fill}", color="{style.stroke}", '
            f'fontcolor="{style.text}", fontsize={int(style.font_size) - 2}{size}, '
            f"tooltip={_dot_string(node.title)}];"
        )

    if view.clustered:
        for k, schema in enumerate(view.schemas):
            lines.append(f"    subgraph cluster_{k} {{")
            lines.append(f'        label={_dot_string(schema)}; style="rounded"; color="#b8b8c8";')
            for node in view.nodes:
                if node.schema == schema:
                    declare(node, "        ")
            lines.append("    }")
    else:
        for node in view.nodes:
            declare(node, "    ")
    for edge in view.edges:
        if edge.kind == "aliased":
            style = f'style=dashed, color="{ALIAS_COLOR}"'
        else:
            style = "style=solid"
        width = 2 if edge.primary else 1
        lines.append(
            f"    {_dot_string(edge.source)} -> {_dot_string(edge.target)} [{style}, penwidth={width}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"
