"""Diagram model: the algebra, topological order, attribute fallbacks, and the drawing outputs.

Every test builds its own dependency graph with the core's contract (networkx.DiGraph, node ids
are full table names, tier/class_name/schema/master/comment/primary_key node attributes and
primary/attr_map/aliased edge attributes); no database is involved.
"""

from __future__ import annotations

import random
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import networkx as nx
import pytest

from labjoin.errors import ConfigError, DataJointError, MissingTableError, UnsupportedOperation
from labjoin.graph.diagram import Diagram, SvgText, table_info

SVG = "{http://www.w3.org/2000/svg}"


def node(schema: str, table: str) -> str:
    return f"`{schema}`.`{table}`"


SUBJECT_TYPE, SUBJECT, LAB = node("lab", "#subject_type"), node("lab", "subject"), node("lab", "#lab")
JOBS, EXTERNAL = node("lab", "~jobs"), node("lab", "~external_store")
SESSION, TRIAL, EVENT = node("acq", "session"), node("acq", "session__trial"), node("acq", "session__event")
PAIRING, TASK = node("acq", "pairing"), node("acq", "#task")
PROBE, CHANNEL = node("ephys", "_probe"), node("ephys", "_probe__channel")
SPIKES, UNIT, SUMMARY = node("ephys", "__spikes"), node("ephys", "__spikes__unit"), node("ephys", "__summary")
HIDDEN = {JOBS, EXTERNAL}

TABLES = [
    # (node id, tier, class name, master, comment, primary key)
    (SUBJECT_TYPE, "Lookup", "SubjectType", None, "kinds of subject", ["subject_type"]),
    (LAB, "Lookup", "Lab", None, "labs", ["lab_name"]),
    (SUBJECT, "Manual", "Subject", None, "a mouse", ["subject_id"]),
    (JOBS, "Jobs", "Jobs", None, "", []),
    (EXTERNAL, "External", "External", None, "", []),
    (TASK, "Lookup", "Task", None, "behavioural task", ["task"]),
    (SESSION, "Manual", "Session", None, "one recording session", ["subject_id", "session_id"]),
    (TRIAL, "Part", "Session.Trial", SESSION, "", ["subject_id", "session_id", "trial_id"]),
    (EVENT, "Part", "Session.Event", SESSION, "", ["subject_id", "session_id", "event_id"]),
    (PAIRING, "Manual", "Pairing", None, "two cage mates", ["subject_a", "subject_b"]),
    (PROBE, "Imported", "Probe", None, "probe insertion", ["subject_id", "session_id", "probe"]),
    (CHANNEL, "Part", "Probe.Channel", PROBE, "", ["subject_id", "session_id", "probe", "channel"]),
    (SPIKES, "Computed", "Spikes", None, "sorted spikes", ["subject_id", "session_id", "probe"]),
    (UNIT, "Part", "Spikes.Unit", SPIKES, "", ["subject_id", "session_id", "probe", "unit"]),
    (SUMMARY, "Computed", "Summary", None, "per-session summary", ["subject_id", "session_id", "probe"]),
]
EDGES = [
    # (parent, child, primary, attr_map)
    (SUBJECT_TYPE, SUBJECT, False, {"subject_type": "subject_type"}),
    (LAB, SUBJECT, False, {"lab_name": "lab_name"}),
    (SUBJECT, SESSION, True, {"subject_id": "subject_id"}),
    (SESSION, TRIAL, True, {"subject_id": "subject_id", "session_id": "session_id"}),
    (SESSION, EVENT, True, {"subject_id": "subject_id", "session_id": "session_id"}),
    (SUBJECT, PAIRING, True, {"subject_a": "subject_id", "subject_b": "subject_id"}),
    (SESSION, PROBE, True, {"subject_id": "subject_id", "session_id": "session_id"}),
    (PROBE, CHANNEL, True, {"probe": "probe"}),
    (PROBE, SPIKES, True, {"probe": "probe"}),
    (SPIKES, UNIT, True, {"probe": "probe"}),
    (SPIKES, SUMMARY, True, {"probe": "probe"}),
    (TASK, SUMMARY, False, {"task": "task"}),
    (SUBJECT, SUMMARY, False, {"experimenter_subject": "subject_id"}),
]


def pipeline(order_seed: int | None = None) -> nx.DiGraph:
    """Three schemas with parts, lookups, hidden tables and renamed foreign keys."""
    tables, edges = list(TABLES), list(EDGES)
    if order_seed is not None:
        random.Random(order_seed).shuffle(tables)
        random.Random(order_seed).shuffle(edges)
    g = nx.DiGraph()
    for nid, tier, cls, master, comment, pk in tables:
        schema = nid.split("`")[1]
        g.add_node(nid, tier=tier, class_name=cls, schema=schema, master=master, comment=comment,
                   primary_key=pk, attributes=[(a, "int", True, "") for a in pk])
    for parent, child, primary, attr_map in edges:
        g.add_edge(parent, child, primary=primary, attr_map=attr_map,
                   aliased=any(k != v for k, v in attr_map.items()), nullable=False, unique=False)
    return g


@pytest.fixture
def g() -> nx.DiGraph:
    return pipeline()


def shown(d: Diagram) -> set[str]:
    return set(d.nodes_to_show)


# ---- algebra -------------------------------------------------------------------------------


def test_from_graph_shows_every_node_by_default_and_copies_the_graph(g):
    d = Diagram.from_graph(g)
    assert shown(d) == set(g.nodes)
    assert isinstance(d, nx.DiGraph)
    g.add_node("`lab`.`late`")
    assert "`lab`.`late`" not in d  # a copy: later changes to the source do not leak in


def test_expand_downstream(g):
    d = Diagram.from_graph(g, [SESSION])
    assert shown(d + 1) == {SESSION, TRIAL, EVENT, PROBE}
    assert shown(d + 2) == {SESSION, TRIAL, EVENT, PROBE, CHANNEL, SPIKES}
    assert shown(d + 10) == {SESSION, TRIAL, EVENT, PROBE, CHANNEL, SPIKES, UNIT, SUMMARY}
    assert shown(d + 0) == {SESSION}


def test_expand_upstream(g):
    d = Diagram.from_graph(g, [SESSION])
    assert shown(d - 1) == {SESSION, SUBJECT}
    assert shown(d - 2) == {SESSION, SUBJECT, SUBJECT_TYPE, LAB}
    assert shown(Diagram.from_graph(g, [SUMMARY]) - 1) == {SUMMARY, SPIKES, TASK, SUBJECT}


def test_negative_levels_mirror_the_other_operator(g):
    d = Diagram.from_graph(g, [SESSION])
    assert shown(d + (-1)) == shown(d - 1)
    assert shown(d - (-1)) == shown(d + 1)


def test_union_difference_intersection(g):
    a = Diagram.from_graph(g, [SUBJECT, SESSION, PROBE])
    b = Diagram.from_graph(g, [PROBE, SPIKES])
    assert shown(a + b) == {SUBJECT, SESSION, PROBE, SPIKES}
    assert shown(a - b) == {SUBJECT, SESSION}
    assert shown(a * b) == {PROBE}
    assert shown((a + 1) * (b - 1)) == {SESSION, PROBE, SPIKES} & shown(a + 1)


def test_operators_accept_node_ids_and_never_mutate_operands(g):
    a = Diagram.from_graph(g, [SESSION])
    assert shown(a + TRIAL) == {SESSION, TRIAL}
    assert shown((a + 1) - [TRIAL, EVENT]) == {SESSION, PROBE}
    assert shown((a + 1) * {PROBE, SUBJECT}) == {PROBE}
    assert shown(a) == {SESSION}


def test_union_of_diagrams_over_different_graphs_merges_the_graphs(g):
    other = nx.DiGraph()
    other.add_node("`extra`.`thing`", tier="Manual", class_name="Thing", schema="extra")
    merged = Diagram.from_graph(g, [SESSION]) + Diagram.from_graph(other)
    assert shown(merged) == {SESSION, "`extra`.`thing`"}
    assert "`extra`.`thing`" in merged.visible_nodes


def test_add_parts(g):
    d = Diagram.from_graph(g, [SESSION, PROBE]).add_parts()
    assert shown(d) == {SESSION, TRIAL, EVENT, PROBE, CHANNEL}
    assert shown(Diagram.from_graph(g, [SUBJECT]).add_parts()) == {SUBJECT}


def test_from_sequence_is_the_union(g):
    d = Diagram.from_sequence([Diagram.from_graph(g, [SUBJECT]), Diagram.from_graph(g, [UNIT])])
    assert shown(d) == {SUBJECT, UNIT}
    with pytest.raises(DataJointError, match="at least one"):
        Diagram.from_sequence([])


def test_unknown_node_names_the_closest_match(g):
    with pytest.raises(MissingTableError, match=r"`acq`\.`sesion`.*Did you mean `acq`\.`session`"):
        Diagram.from_graph(g, ["`acq`.`sesion`"])
    with pytest.raises(MissingTableError):
        Diagram.from_graph(g, [SESSION]) + "`acq`.`nope`"


def test_base_diagram_cannot_resolve_objects_without_a_connection(g):
    with pytest.raises(DataJointError, match="from_graph"):
        Diagram(object())
    with pytest.raises(DataJointError, match="from_graph"):
        Diagram.from_graph(g) + 1.5


def test_resolve_hook_lets_a_subclass_accept_schemas(g):
    class SchemaDiagram(Diagram):
        """What the core does: resolve a source (here a schema name) into graph and nodes."""

        def _resolve(self, source, context):
            if isinstance(source, str) and source.startswith("schema:"):
                name = source.removeprefix("schema:")
                return g, {n for n, d in g.nodes(data=True) if d["schema"] == name}
            return super()._resolve(source, context)

        def _default_direction(self):
            return "TB"

    d = SchemaDiagram("schema:acq")
    assert shown(d) == {SESSION, TRIAL, EVENT, PAIRING, TASK}
    assert shown(d + "schema:ephys") >= {PROBE, SPIKES, SESSION}
    assert shown(SchemaDiagram("schema:ephys") - 1) >= {SESSION, TASK, SUBJECT}
    assert type(d + 1) is SchemaDiagram
    assert d.make_mermaid().startswith("flowchart TB")
    assert shown(d + SESSION) == shown(d)  # node ids still go through the base resolution


def test_networkx_operations_work_on_a_diagram(g):
    d = Diagram.from_graph(g, [SESSION])
    assert set(d.copy().nodes) == set(g.nodes)
    assert set(d.subgraph([SESSION, TRIAL]).edges) == {(SESSION, TRIAL)}
    assert d.reverse().has_edge(TRIAL, SESSION)
    assert Diagram().number_of_nodes() == 0


# ---- order and attributes ------------------------------------------------------------------


def test_topo_sort_is_topological_with_parts_after_their_master(g):
    d = Diagram.from_graph(g)
    order = d.topo_sort()
    assert set(order) == set(g.nodes)
    position = {n: k for k, n in enumerate(order)}
    assert all(position[u] < position[v] for u, v in g.edges)
    assert order[position[SESSION] + 1 : position[SESSION] + 3] == [EVENT, TRIAL]
    assert order[position[PROBE] + 1] == CHANNEL


def test_topo_sort_goes_through_tables_that_are_not_shown(g):
    order = Diagram.from_graph(g, [SUBJECT, SUMMARY, UNIT]).topo_sort()
    assert order.index(SUBJECT) < order.index(SUMMARY)
    assert order.index(SUBJECT) < order.index(UNIT)


def test_topo_sort_and_drawings_do_not_depend_on_insertion_order():
    first = Diagram.from_graph(pipeline())
    for seed in (1, 2, 3):
        other = Diagram.from_graph(pipeline(order_seed=seed))
        assert other.topo_sort() == first.topo_sort()
        assert other.make_svg() == first.make_svg()
        assert other.make_mermaid() == first.make_mermaid()


def test_hidden_tables_are_kept_in_the_selection_but_never_visible(g):
    d = Diagram.from_graph(g)
    assert shown(d) >= HIDDEN
    assert not HIDDEN & set(d.visible_nodes)


def test_table_info_falls_back_to_naming_conventions():
    bare = nx.DiGraph()
    names = ["`lab`.`#kind`", "`lab`.`animal`", '"lab"."_scan"', "`lab`.`__fit`", "`lab`.`__fit__param`",
             "`lab`.`~jobs`", "`lab`.`~external_raw`", "`lab`.`~log`", "`lab`.`animal__note`"]
    bare.add_nodes_from(names)
    bare.add_node("`lab`.`weird`", tier="Unknown")
    info = {n: table_info(bare, n) for n in [*names, "`lab`.`weird`"]}
    assert [info[n].tier for n in names] == [
        "Lookup", "Manual", "Imported", "Computed", "Part", "Jobs", "External", "Hidden", "Part"]
    assert info["`lab`.`#kind`"].class_name == "Kind"
    assert info["`lab`.`__fit__param`"].class_name == "Fit.Param"
    assert info["`lab`.`__fit__param`"].master == "`lab`.`__fit`"
    assert info["`lab`.`animal__note`"].master == "`lab`.`animal`"
    assert info['"lab"."_scan"'].schema == "lab"
    assert info["`lab`.`weird`"].tier == "Manual"
    assert [n for n in names if info[n].hidden] == ["`lab`.`~jobs`", "`lab`.`~external_raw`", "`lab`.`~log`"]
    # A bare graph (no attributes at all) still draws.
    svg = ET.fromstring(Diagram.from_graph(bare).make_svg())
    assert len(svg.findall(f".//{SVG}a")) == 7


def test_edge_kind_is_inferred_when_attributes_are_missing():
    bare = nx.DiGraph()
    bare.add_node("`s`.`a`", primary_key=["x"])
    bare.add_node("`s`.`b`", primary_key=["x", "y"])
    bare.add_node("`s`.`c`", primary_key=["z"])
    bare.add_edge("`s`.`a`", "`s`.`b`", attr_map={"x": "x"})
    bare.add_edge("`s`.`a`", "`s`.`c`", attr_map={"w": "x"})
    kinds = {(e.source, e.target): e.kind for e in Diagram.from_graph(bare).view().edges}
    assert kinds == {("`s`.`a`", "`s`.`b`"): "primary", ("`s`.`a`", "`s`.`c`"): "aliased"}


# ---- SVG -----------------------------------------------------------------------------------


def svg_nodes(svg: str) -> list[ET.Element]:
    return [a for a in ET.fromstring(svg).iter(f"{SVG}a") if "node" in a.get("class", "").split()]


def test_svg_is_well_formed_with_a_viewbox_and_every_visible_node_once(g):
    d = Diagram.from_graph(g)
    svg = d.make_svg()
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    width, height = float(root.get("width")), float(root.get("height"))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"
    assert width > 100
    assert height > 50
    tables = [a.get("data-table") for a in svg_nodes(svg)]
    assert sorted(tables) == sorted(set(g.nodes) - HIDDEN)
    assert "~jobs" not in svg
    assert "~external" not in svg


def test_svg_nodes_carry_data_attributes_labels_and_hover_titles(g):
    nodes = {a.get("data-table"): a for a in svg_nodes(Diagram.from_graph(g).make_svg())}
    session = nodes[SESSION]
    assert session.get("data-schema") == "acq"
    assert session.get("data-class") == "Session"
    assert session.get("data-tier") == "Manual"
    assert "lj-manual" in session.get("class")
    assert session.find(f"{SVG}text").text == "acq.Session"  # several schemas: qualified labels
    title = session.find(f"{SVG}title").text
    assert "one recording session" in title
    assert "primary key: subject_id, session_id" in title
    assert nodes[PROBE].find(f"{SVG}ellipse") is not None
    assert nodes[SUBJECT_TYPE].find(f"{SVG}rect").get("fill") == "#dfdfdf"
    assert nodes[TRIAL].find(f"{SVG}text").get("font-size") == "10"


def test_single_schema_diagram_has_plain_labels_and_no_clusters(g):
    d = Diagram.from_graph(g, [SESSION, TRIAL, EVENT, PAIRING])
    svg = d.make_svg()
    labels = {a.get("data-table"): a.find(f"{SVG}text").text for a in svg_nodes(svg)}
    assert labels == {SESSION: "Session", TRIAL: "Session.Trial", EVENT: "Session.Event", PAIRING: "Pairing"}
    assert ET.fromstring(svg).find(f".//{SVG}g[@class='clusters']") is None


def test_multi_schema_diagram_draws_one_cluster_per_schema(g):
    root = ET.fromstring(Diagram.from_graph(g).make_svg())
    clusters = root.findall(f".//{SVG}g[@class='cluster']")
    assert sorted(c.get("data-schema") for c in clusters) == ["acq", "ephys", "lab"]
    titles = root.findall(f".//{SVG}g[@class='cluster-label']")
    assert {t.get("data-schema"): t.find(f"{SVG}text").text for t in titles} == {
        "acq": "acq", "ephys": "ephys", "lab": "lab"}
    # upstream schemas are packed first: lab's band starts at the top
    boxes = {c.get("data-schema"): float(c.find(f"{SVG}rect").get("y")) for c in clusters}
    assert boxes["lab"] == min(boxes.values())


def test_svg_edges_are_styled_by_kind(g):
    root = ET.fromstring(Diagram.from_graph(g).make_svg())
    edges = {(e.get("data-source"), e.get("data-target")): e for e in root.iter(f"{SVG}g")
             if "edge" in e.get("class", "").split()}
    assert set(edges) == {(u, v) for u, v in g.edges}
    primary = edges[(SESSION, PROBE)].find(f"{SVG}path")
    secondary = edges[(TASK, SUMMARY)].find(f"{SVG}path")
    aliased = edges[(SUBJECT, SUMMARY)]
    assert "edge-primary" in edges[(SESSION, PROBE)].get("class")
    assert primary.get("stroke-width") == "2"
    assert primary.get("stroke-dasharray") is None
    assert secondary.get("stroke-width") == "1"
    assert secondary.get("stroke-dasharray") is None
    assert "edge-aliased" in aliased.get("class")
    assert aliased.find(f"{SVG}path").get("stroke-dasharray")
    assert aliased.find(f"{SVG}circle[@class='alias-mark']") is not None
    assert "experimenter_subject" in aliased.find(f"{SVG}title").text
    assert edges[(SUBJECT, PAIRING)].find(f"{SVG}path").get("stroke-width") == "2"  # aliased and primary
    markers = {m.get("id") for m in root.iter(f"{SVG}marker")}
    for e in edges.values():
        assert re.fullmatch(r"url\(#(.+)\)", e.find(f"{SVG}path").get("marker-end"))[1] in markers


def test_svg_escapes_every_name():
    nasty = nx.DiGraph()
    a, b = '`we<ird`.`a&b"c`', "`we<ird`.`plain`"
    nasty.add_node(a, tier="Manual", class_name='A<&>"\'B', schema="we<ird", comment="x < y & \x07 z",
                   primary_key=["k<1>"])
    nasty.add_node(b, tier="Computed", class_name="Plain", schema="we<ird")
    nasty.add_edge(a, b, primary=True, attr_map={"k<2>": "k<1>"}, aliased=True)
    d = Diagram.from_graph(nasty)
    (first,) = [n for n in svg_nodes(d.make_svg()) if n.get("data-table") == a]
    assert first.get("data-class") == 'A<&>"\'B'
    assert first.find(f"{SVG}text").text == 'A<&>"\'B'
    assert "x < y &  z" in first.find(f"{SVG}title").text
    assert '#quot;' in d.make_mermaid()
    assert "A<" not in d.make_mermaid()
    assert '\\"' in d.make_dot()


def test_svg_links_and_legend(g):
    d = Diagram.from_graph(g, [SESSION, PROBE, TRIAL])
    svg = d.make_svg(link=lambda n: f"/table/{n}?x=1&y=2" if n != TRIAL else None)
    hrefs = {a.get("data-table"): a.get("href") for a in svg_nodes(svg)}
    assert hrefs == {SESSION: f"/table/{SESSION}?x=1&y=2", PROBE: f"/table/{PROBE}?x=1&y=2", TRIAL: None}
    legend = ET.fromstring(svg).find(f".//{SVG}g[@class='legend']")
    texts = [t.text for t in legend.iter(f"{SVG}text")]
    assert texts == ["Manual", "Imported", "Part", "primary key FK"]  # only what occurs
    assert ET.fromstring(d.make_svg(legend=False)).find(f".//{SVG}g[@class='legend']") is None


def test_empty_diagram_draws_an_empty_picture(g):
    svg = Diagram.from_graph(g, [JOBS]).make_svg()
    assert svg_nodes(svg) == []
    assert Diagram().make_mermaid() == "flowchart LR\n"


def test_notebook_representations(g):
    d = Diagram.from_graph(g, [SESSION])
    svg = d.make_svg()
    assert isinstance(svg, SvgText)
    assert isinstance(svg, str)
    assert svg._repr_svg_() == str(svg) == d.svg_string() == d._repr_svg_()
    html = d._repr_html_()
    assert html.startswith("<div")
    assert "<svg" in html
    assert html.endswith("</div>")
    assert repr(d) == "<Diagram: 1 tables: Session>"


def test_direction_is_validated(g):
    with pytest.raises(ConfigError, match="LR, TB, RL, BT"):
        Diagram.from_graph(g, direction="XY").make_svg()
    tb = Diagram.from_graph(g, [SESSION, PROBE], direction="tb")
    layout = tb.layout()
    assert layout.positions[SESSION][1] < layout.positions[PROBE][1]
    assert (tb + 1).direction == "tb"  # kept through the algebra


# ---- Mermaid and DOT -----------------------------------------------------------------------


def test_mermaid_has_every_node_and_edge_with_tier_classes(g):
    d = Diagram.from_graph(g)
    text = d.make_mermaid()
    assert text.startswith("flowchart LR\n")
    ids = dict(re.findall(r"%% (n\d+): (.+)", text))
    assert sorted(ids.values()) == sorted(set(g.nodes) - HIDDEN)
    by_table = {v: k for k, v in ids.items()}
    for tier in ("manual", "lookup", "imported", "computed", "part"):
        assert f"classDef {tier} " in text
    assert f'{by_table[SESSION]}["acq.Session"]:::manual' in text
    assert f'{by_table[SPIKES]}(["ephys.Spikes"]):::computed' in text
    assert f"{by_table[SESSION]} ==> {by_table[PROBE]}" in text
    assert f"{by_table[TASK]} --> {by_table[SUMMARY]}" in text
    assert f"{by_table[SUBJECT]} -.-> {by_table[SUMMARY]}" in text
    assert len(re.findall(r"^    n\d+ (==>|-->|-\.->) n\d+$", text, re.M)) == g.number_of_edges()
    assert text.count("subgraph ") == 3
    assert text.count("\n    end\n") == 3


def test_dot_text(g):
    text = Diagram.from_graph(g).make_dot()
    assert text.startswith('digraph "labjoin" {')
    assert text.rstrip().endswith("}")
    for n in set(g.nodes) - HIDDEN:
        assert len(re.findall(rf'^\s*"{re.escape(n)}" \[label=', text, re.M)) == 1
    assert text.count(" -> ") == g.number_of_edges()
    assert "subgraph cluster_" in text
    assert "rankdir=LR" in text
    assert re.search(rf'"{re.escape(SUBJECT)}" -> "{re.escape(SUMMARY)}" \[style=dashed', text)


# ---- save ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "check"), [
    ("d.svg", lambda p: ET.parse(p).getroot().tag == f"{SVG}svg"),
    ("d.mmd", lambda p: p.read_text().startswith("flowchart")),
    ("d.dot", lambda p: p.read_text().startswith("digraph")),
])
def test_save_text_formats(g, tmp_path: Path, name, check):
    path = tmp_path / name
    Diagram.from_graph(g).save(path)
    assert check(path)


def test_save_with_explicit_format(g, tmp_path: Path):
    path = tmp_path / "diagram.txt"
    Diagram.from_graph(g).save(path, format="mermaid")
    assert path.read_text().startswith("flowchart")
    with pytest.raises(UnsupportedOperation, match=r"\.svg, \.mmd, \.dot or \.png"):
        Diagram.from_graph(g).save(tmp_path / "d.pdf")


def test_save_png_without_cairosvg_names_the_fix(g, tmp_path: Path, monkeypatch):
    monkeypatch.setitem(sys.modules, "cairosvg", None)  # makes `import cairosvg` fail
    with pytest.raises(UnsupportedOperation, match="pip install cairosvg") as info:
        Diagram.from_graph(g).save(tmp_path / "d.png")
    assert isinstance(info.value.__cause__, ImportError)
    assert not (tmp_path / "d.png").exists()


def test_save_png_with_cairosvg(g, tmp_path: Path):
    pytest.importorskip("cairosvg", reason="the optional PNG converter cairosvg is not installed")
    Diagram.from_graph(g).save(tmp_path / "d.png")
    assert (tmp_path / "d.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
