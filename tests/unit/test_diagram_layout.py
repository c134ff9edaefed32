"""The layered layout: layering, no overlaps, grouping, clusters, routes, determinism, errors."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labjoin.errors import ConfigError, DataJointError
from labjoin.render.diagram_layout import (
    DIRECTIONS,
    Layout,
    LayoutOptions,
    _count_inversions,
    _isotonic,
    layered_layout,
)


def random_pipeline(seed: int, n: int = 60, n_clusters: int = 1):
    """A DAG like a pipeline: a fan-out tree, cross links, lookups, parts grouped by master."""
    rng = random.Random(seed)
    nodes = [f"t{k}" for k in range(n)]
    edges = set()
    groups = {}
    for k in range(1, n):
        if rng.random() < 0.2 and k > 1:
            master = f"t{rng.randrange(k)}"
            edges.add((master, f"t{k}"))
            groups[f"t{k}"] = master
        else:
            edges.add((f"t{rng.randrange(max(0, k - 8), k)}", f"t{k}"))
        if rng.random() < 0.3:
            edges.add((f"t{rng.randrange(k)}", f"t{k}"))
    sizes = {name: (40.0 + 7.0 * rng.randrange(3, 20), 20.0 + 8 * rng.randrange(2)) for name in nodes}
    clusters = {name: f"s{int(name[1:]) * n_clusters // n}" for name in nodes} if n_clusters > 1 else None
    return nodes, sorted(edges), sizes, clusters, groups


def overlap(a, b) -> bool:
    eps = 1e-6
    return a[0] < b[2] - eps and b[0] < a[2] - eps and a[1] < b[3] - eps and b[1] < a[3] - eps


def check_layout(layout: Layout, nodes, edges) -> None:
    boxes = {n: layout.box(n) for n in nodes}
    for a, b in itertools.combinations(nodes, 2):
        assert not overlap(boxes[a], boxes[b]), (a, b, boxes[a], boxes[b])
    for u, v in edges:
        assert layout.layers[u] < layout.layers[v], (u, v)
    for x0, y0, x1, y1 in boxes.values():
        assert x0 >= 0
        assert x1 <= layout.width
        assert y0 >= 0
        assert y1 <= layout.height
    for points in layout.routes.values():
        for x, y in points:
            assert 0 <= x <= layout.width
            assert 0 <= y <= layout.height


def test_layering_no_overlap_routes_in_every_direction():
    nodes, edges, sizes, _, groups = random_pipeline(seed=7)
    for direction in DIRECTIONS:
        layout = layered_layout(nodes, edges, sizes, groups=groups, options=LayoutOptions(direction=direction))
        check_layout(layout, nodes, edges)
        assert set(layout.routes) == set(edges)
        for u, v in edges:
            (ux, uy), (vx, vy) = layout.positions[u], layout.positions[v]
            start, end = layout.routes[(u, v)][0], layout.routes[(u, v)][-1]
            (uw, uh), (vw, vh) = sizes[u], sizes[v]
            expected = {
                "LR": ((ux + uw / 2, uy), (vx - vw / 2, vy)),
                "RL": ((ux - uw / 2, uy), (vx + vw / 2, vy)),
                "TB": ((ux, uy + uh / 2), (vx, vy - vh / 2)),
                "BT": ((ux, uy - uh / 2), (vx, vy + vh / 2)),
            }[direction]
            assert start == pytest.approx(expected[0], abs=0.02)
            assert end == pytest.approx(expected[1], abs=0.02)


def segments_clear_of_nodes(layout: Layout, nodes, horizontal: bool) -> None:
    """Every route bends only where no node is, and runs straight past no node but its own ends."""
    r, c = (0, 1) if horizontal else (1, 0)  # rank and cross axis indices
    eps = 0.01
    boxes = {n: layout.box(n) for n in nodes}
    for (u, v), points in layout.routes.items():
        for a, b in itertools.pairwise(points):
            lo, hi = sorted((a[r], b[r]))
            for name, box in boxes.items():
                if hi - lo < eps or box[r + 2] <= lo + eps or box[r] >= hi - eps:
                    continue  # the segment's rank range does not reach this node
                if abs(a[c] - b[c]) > eps:
                    raise AssertionError(f"edge {u}->{v} bends across {name}")
                if name not in (u, v) and box[c] < a[c] < box[c + 2]:
                    raise AssertionError(f"edge {u}->{v} runs through {name}")


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("n_clusters", [1, 3])
def test_edges_never_cross_nodes(direction, n_clusters):
    nodes, edges, sizes, clusters, groups = random_pipeline(seed=5, n=70, n_clusters=n_clusters)
    layout = layered_layout(nodes, edges, sizes, clusters=clusters, groups=groups,
                            options=LayoutOptions(direction=direction))
    segments_clear_of_nodes(layout, nodes, horizontal=direction in ("LR", "RL"))


def test_layers_follow_the_rank_axis():
    nodes, edges = ["a", "b", "c"], [("a", "b"), ("b", "c")]
    sizes = dict.fromkeys(nodes, (50.0, 20.0))
    xs = [layered_layout(nodes, edges, sizes).positions[n][0] for n in nodes]
    assert xs == sorted(xs)
    assert len(set(xs)) == 3
    ys = [layered_layout(nodes, edges, sizes, options=LayoutOptions(direction="TB")).positions[n][1]
          for n in nodes]
    assert ys == sorted(ys)
    assert len(set(ys)) == 3
    rl = [layered_layout(nodes, edges, sizes, options=LayoutOptions(direction="RL")).positions[n][0]
          for n in nodes]
    assert rl == sorted(rl, reverse=True)


def test_sources_are_pulled_next_to_their_first_child():
    # chain a -> b -> c -> d, and a lookup used only by d: it belongs in the layer before d
    nodes = ["a", "b", "c", "d", "lookup", "lonely"]
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("lookup", "d")]
    layout = layered_layout(nodes, edges, dict.fromkeys(nodes, (40.0, 20.0)))
    assert layout.layers == {"a": 0, "b": 1, "c": 2, "d": 3, "lookup": 2, "lonely": 0}


def test_long_edges_are_routed_through_every_layer_they_cross():
    nodes = ["a", "b", "c", "d"]
    edges = [("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")]
    layout = layered_layout(nodes, edges, dict.fromkeys(nodes, (40.0, 20.0)))
    assert len(layout.routes[("a", "b")]) == 2
    route = layout.routes[("a", "d")]
    assert len(route) == 2 + 2 * 2  # border, entry and exit of layers 1 and 2, border
    xs = [x for x, _ in route]
    assert xs == sorted(xs)
    # the long edge does not run through b or c
    for name in ("b", "c"):
        x0, y0, x1, y1 = layout.box(name)
        assert not any(x0 <= x <= x1 and y0 <= y <= y1 for x, y in route[1:-1])


def test_parts_of_one_master_stay_adjacent():
    # p0 and p1 also reference a and b, so by barycenter alone x would fall between them
    nodes = ["a", "m", "b", "p0", "x", "p1"]
    edges = [("m", "p0"), ("m", "p1"), ("m", "x"), ("a", "p0"), ("b", "p1")]
    groups = {"p0": "m", "p1": "m"}
    sizes = dict.fromkeys(nodes, (40.0, 20.0))
    for direction in ("LR", "TB"):
        layout = layered_layout(nodes, edges, sizes, groups=groups, options=LayoutOptions(direction=direction))
        axis = 1 if direction == "LR" else 0
        column = sorted(("p0", "x", "p1"), key=lambda n: layout.positions[n][axis])
        assert column.index("x") in (0, 2), column
    ungrouped = layered_layout(nodes, edges, sizes)
    assert sorted(("p0", "x", "p1"), key=lambda n: ungrouped.positions[n][1]).index("x") == 1


def test_clusters_get_boxes_that_hold_their_nodes_and_never_overlap():
    nodes, edges, sizes, clusters, groups = random_pipeline(seed=3, n=80, n_clusters=4)
    for direction in DIRECTIONS:
        layout = layered_layout(nodes, edges, sizes, clusters=clusters, groups=groups,
                                options=LayoutOptions(direction=direction))
        check_layout(layout, nodes, edges)
        assert sorted(layout.clusters) == ["s0", "s1", "s2", "s3"]
        for a, b in itertools.combinations(layout.clusters.values(), 2):
            assert not overlap(a, b)
        for name in nodes:
            x0, y0, x1, y1 = layout.clusters[clusters[name]]
            bx0, by0, bx1, by1 = layout.box(name)
            assert x0 <= bx0
            assert bx1 <= x1
            assert y0 <= by0
            assert by1 <= y1
            for other, box in layout.clusters.items():
                if other != clusters[name]:
                    assert not overlap(box, layout.box(name))


def test_one_cluster_draws_no_box():
    nodes, edges, sizes, _, _ = random_pipeline(seed=1, n=10)
    layout = layered_layout(nodes, edges, sizes, clusters=dict.fromkeys(nodes, "only"))
    assert layout.clusters == {}


def test_layout_is_deterministic():
    nodes, edges, sizes, clusters, groups = random_pipeline(seed=11, n=70, n_clusters=3)
    first = layered_layout(nodes, edges, sizes, clusters=clusters, groups=groups)
    again = layered_layout(nodes, list(reversed(edges)), dict(sizes), clusters=clusters, groups=groups)
    assert first == again


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 40),
    n_clusters=st.integers(1, 3),
    direction=st.sampled_from(DIRECTIONS),
)
def test_random_pipelines_never_overlap(seed, n, n_clusters, direction):
    nodes, edges, sizes, clusters, groups = random_pipeline(seed, n, n_clusters)
    layout = layered_layout(nodes, edges, sizes, clusters=clusters, groups=groups,
                            options=LayoutOptions(direction=direction))
    check_layout(layout, nodes, edges)
    segments_clear_of_nodes(layout, nodes, horizontal=direction in ("LR", "RL"))


def test_empty_and_single_node():
    empty = layered_layout([], [], {})
    assert empty.positions == {}
    assert empty.width > 0
    one = layered_layout(["a"], [("a", "a"), ("a", "ghost")], {"a": (50.0, 20.0)})
    assert one.routes == {}
    assert one.layers == {"a": 0}


def test_errors_name_the_problem():
    sizes = dict.fromkeys("abc", (10.0, 10.0))
    with pytest.raises(DataJointError, match="cycle"):
        layered_layout(["a", "b", "c"], [("a", "b"), ("b", "c"), ("c", "a")], sizes)
    with pytest.raises(DataJointError, match="listed twice"):
        layered_layout(["a", "a"], [], sizes)
    with pytest.raises(DataJointError, match="no size given for node 'z'"):
        layered_layout(["a", "z"], [], sizes)
    with pytest.raises(ConfigError, match="diagram_direction"):
        layered_layout(["a"], [], sizes, options=LayoutOptions(direction="up"))


def brute_isotonic(targets, weights):
    """Reference: exhaustive search of block partitions (tiny inputs only)."""
    n = len(targets)
    best, best_cost = None, float("inf")
    for cuts in itertools.product([0, 1], repeat=n - 1):
        blocks, start = [], 0
        for k, cut in enumerate(cuts, start=1):
            if cut:
                blocks.append((start, k))
                start = k
        blocks.append((start, n))
        fit = []
        for a, b in blocks:
            w = sum(weights[a:b])
            fit += [sum(t * w_ for t, w_ in zip(targets[a:b], weights[a:b])) / w] * (b - a)
        if any(x > y + 1e-9 for x, y in itertools.pairwise(fit)):
            continue
        cost = sum(w * (f - t) ** 2 for f, t, w in zip(fit, targets, weights))
        if cost < best_cost - 1e-12:
            best, best_cost = fit, cost
    return best


@pytest.mark.parametrize("seed", range(20))
def test_isotonic_fit_is_the_least_squares_monotone_fit(seed):
    rng = random.Random(seed)
    n = rng.randrange(1, 7)
    targets = [rng.uniform(-10, 10) for _ in range(n)]
    weights = [rng.choice([0.05, 1.0, 2.5, 8.0]) for _ in range(n)]
    assert _isotonic(targets, weights) == pytest.approx(brute_isotonic(targets, weights))


@pytest.mark.parametrize("seed", range(10))
def test_count_inversions(seed):
    rng = random.Random(seed)
    seq = [rng.randrange(6) for _ in range(rng.randrange(0, 30))]
    expected = sum(1 for i, j in itertools.combinations(range(len(seq)), 2) if seq[i] > seq[j])
    assert _count_inversions(seq, 6) == expected
