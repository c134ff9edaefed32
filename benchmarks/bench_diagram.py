"""Benchmark: lay out and render schema diagrams of synthetic pipelines without Graphviz.

Run ``python benchmarks/bench_diagram.py`` (add ``--save DIR`` to keep the drawings). It prints a
markdown table: for each pipeline size, the time to build the Diagram, lay it out, and render SVG
and Mermaid, the best of a few repeats.

The pipelines are fan-out trees (each table references an earlier one, mostly a recent one) with
cross links (secondary and renamed foreign keys), lookup tables, part tables under a fifth of the
masters, and a hidden jobs table per schema.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import networkx as nx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from labjoin.graph.diagram import Diagram
from labjoin.render.diagram_svg import layout_view, render_mermaid, render_svg

TIERS_BY_DEPTH = ["Manual", "Manual", "Imported", "Computed", "Computed"]


def make_pipeline_graph(n_tables: int, n_schemas: int = 1, seed: int = 0) -> nx.DiGraph:
    """A synthetic dependency graph with about ``n_tables`` visible tables."""
    rng = random.Random(seed)
    g = nx.DiGraph()
    schemas = [f"bench_s{k}" for k in range(n_schemas)]
    masters: list[tuple[str, int]] = []  # (node id, depth)
    count = 0

    def add(schema: str, table: str, tier: str, cls: str, master: str | None = None) -> str:
        node = f"`{schema}`.`{table}`"
        g.add_node(node, tier=tier, class_name=cls, schema=schema, master=master,
                   comment=f"{cls} table", primary_key=[f"{table.strip('#_')}_id"], attributes=[])
        return node

    n_lookups = max(2, n_tables // 12)
    for k in range(n_lookups):
        schema = schemas[0]
        masters.append((add(schema, f"#lookup_{k}", "Lookup", f"Lookup{k}"), 0))
        count += 1
    while count < n_tables:
        k = count
        # Schemas follow the pipeline: later tables live in later schemas.
        schema = schemas[min(n_schemas - 1, k * n_schemas // n_tables)]
        candidates = masters[-25:] if rng.random() < 0.8 else masters
        parent, depth = rng.choice([m for m in candidates if g.nodes[m[0]]["tier"] != "Lookup"] or candidates)
        depth += 1
        tier = TIERS_BY_DEPTH[min(depth, len(TIERS_BY_DEPTH) - 1)]
        prefix = {"Manual": "", "Imported": "_", "Computed": "__"}[tier]
        node = add(schema, f"{prefix}table_{k}", tier, f"Table{k}")
        g.add_edge(parent, node, primary=True, attr_map={}, aliased=False, nullable=False, unique=False)
        if rng.random() < 0.5:
            lookup = masters[rng.randrange(n_lookups)][0]
            g.add_edge(lookup, node, primary=False, attr_map={}, aliased=False, nullable=False, unique=False)
        if rng.random() < 0.15 and len(masters) > 5:
            other = rng.choice(masters[:-1])[0]
            if other != parent and not nx.has_path(g, node, other):
                aliased = rng.random() < 0.4
                g.add_edge(other, node, primary=False, attr_map={"x": "y"} if aliased else {},
                           aliased=aliased, nullable=True, unique=False)
        masters.append((node, depth))
        count += 1
        if rng.random() < 0.2 and count < n_tables:
            for p in range(rng.randint(1, 3)):
                part = add(schema, f"{prefix}table_{k}__part{p}", "Part", f"Table{k}.Part{p}", master=node)
                g.add_edge(node, part, primary=True, attr_map={}, aliased=False, nullable=False, unique=False)
                count += 1
    for schema in schemas:
        add(schema, "~jobs", "Jobs", "Jobs")
    return g


def best_of(repeats: int, fn: object) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--save", type=Path, help="directory to write the SVG drawings to")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cases = [(30, 1), (100, 1), (100, 4), (250, 1), (500, 1), (500, 8)]
    print("| tables | schemas | edges | build view (s) | layout (s) | SVG (s) | Mermaid (s) | total (s) | SVG size |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n_tables, n_schemas in cases:
        g = make_pipeline_graph(n_tables, n_schemas, seed=n_tables)
        diagram = Diagram.from_graph(g)
        t_view, view = best_of(args.repeats, diagram.view)
        t_layout, lay = best_of(args.repeats, lambda v=view: layout_view(v))
        t_svg, svg = best_of(args.repeats, lambda v=view, la=lay: render_svg(v, layout=la))
        t_mmd, _ = best_of(args.repeats, lambda v=view: render_mermaid(v))
        t_total, _ = best_of(args.repeats, diagram.make_svg)
        print(
            f"| {len(view.nodes)} | {n_schemas} | {len(view.edges)} | {t_view:.3f} | {t_layout:.3f} | "
            f"{t_svg:.3f} | {t_mmd:.3f} | {t_total:.3f} | {len(svg) // 1024} KiB |"
        )
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"bench_{n_tables}_{n_schemas}.svg").write_text(svg, encoding="utf-8")
    print("\n(total = Diagram.make_svg(): view, layout and SVG together; best of "
          f"{args.repeats}; Python {sys.version.split()[0]})")


if __name__ == "__main__":
    main()
