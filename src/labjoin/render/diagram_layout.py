"""Layered (Sugiyama-style) layout of a directed acyclic graph, in pure Python.

Schema diagrams need a layout that reads like a pipeline: every foreign key points the same way,
from upstream tables to downstream ones. This module computes one without Graphviz, in four
classic phases:

1. **Layering.** Longest path from the sources, then every node that has children is pulled as
   close to its nearest child as the layering allows, so a lookup table sits next to the first
   table that uses it instead of in the first column.
2. **Dummy nodes.** An edge that spans several layers gets one dummy node per layer it crosses,
   so that long edges take part in ordering and get routed between the nodes.
3. **Crossing reduction.** Barycenter sweeps, down and up, keeping the ordering with the fewest
   crossings. Members of a *group* (the part tables of one master) stay next to each other.
4. **Coordinates.** Within a layer the order is fixed; each node is pulled to the mean position of
   its neighbours in the adjacent layer, subject to minimum separations. That is a weighted
   isotonic regression, solved exactly by pool-adjacent-violators, so every pass is linear.

Nodes can belong to *clusters* (one per schema). Each cluster is laid out on its own as a band,
then the bands are packed along the cross axis with a skyline, so cluster boxes never overlap and
schemas that occupy different layers share the same rows. An edge between clusters runs inside
the source's band as long as that band lasts and then inside the target's, so it changes band
in the free gap between two layers and never crosses a node.

The layout is deterministic: the same input (including the order of ``nodes``) gives the same
coordinates. Coordinates are computed on abstract axes (the *rank* axis runs along the layers,
the *cross* axis within them) and mapped to x/y for the direction: ``LR`` (left to right),
``TB`` (top to bottom), ``RL`` and ``BT``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from labjoin.errors import ConfigError, DataJointError

__all__ = ["DIRECTIONS", "Layout", "LayoutOptions", "layered_layout"]

DIRECTIONS = ("LR", "TB", "RL", "BT")

Point = tuple[float, float]
Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class LayoutOptions:
    """Spacing and effort of the layered layout (distances in pixels).

    ``direction`` is where the edges point (one of :data:`DIRECTIONS`). The gaps are free space:
    ``layer_gap`` between layers, ``node_gap`` between the nodes of a layer, ``dummy_gap`` next to
    the point where a long edge crosses a layer, ``cluster_gap`` between cluster boxes. A cluster
    box has ``cluster_pad`` of padding and ``cluster_label`` of room for its title; ``margin``
    surrounds the drawing; ``iterations`` is the number of down-and-up barycenter sweeps.
    """

    direction: str = "LR"
    layer_gap: float = 60.0
    node_gap: float = 12.0
    dummy_gap: float = 4.0
    cluster_pad: float = 10.0
    cluster_label: float = 18.0
    cluster_gap: float = 18.0
    margin: float = 12.0
    iterations: int = 6


@dataclass(frozen=True)
class Layout:
    """The result of :func:`layered_layout`.

    ``width``/``height`` include the margins; ``positions`` maps a node to its centre (x, y),
    ``sizes`` to its (width, height), ``layers`` to its layer (0 for sources; every edge goes to
    a higher layer). ``routes`` maps (source, target) to the points the edge passes through: the
    source's border, the entry and exit of every layer on the way, the target's border.
    ``clusters`` maps a cluster key to its box (x0, y0, x1, y1), empty with at most one cluster.
    """

    direction: str
    width: float
    height: float
    positions: dict[str, Point]
    sizes: dict[str, Point]
    layers: dict[str, int]
    routes: dict[tuple[str, str], list[Point]]
    clusters: dict[str, Box]

    def box(self, node: str) -> Box:
        """Return the bounding box (x0, y0, x1, y1) of ``node``."""
        (x, y), (w, h) = self.positions[node], self.sizes[node]
        return (x - w / 2, y - h / 2, x + w / 2, y + h / 2)


def layered_layout(
    nodes: Sequence[str],
    edges: Iterable[tuple[str, str]],
    sizes: Mapping[str, Point],
    *,
    clusters: Mapping[str, str] | None = None,
    groups: Mapping[str, str] | None = None,
    options: LayoutOptions | None = None,
) -> Layout:
    """Lay out a DAG in layers.

    Parameters
    ----------
    nodes : sequence of str
        Node ids. Their order breaks ties, so a topological order gives the most natural drawing.
    edges : iterable of (str, str)
        Directed edges. Edges that name a node outside ``nodes`` and self loops are ignored.
    sizes : mapping
        Node id to (width, height) in pixels.
    clusters : mapping, optional
        Node id to cluster key. With two or more keys every cluster is drawn as its own band.
    groups : mapping, optional
        Node id to group key; nodes of one group in the same layer are kept adjacent (used to
        keep the parts of one master together).
    options : LayoutOptions, optional
        Spacing, direction and effort.

    Returns
    -------
    Layout

    Raises
    ------
    ConfigError
        If the direction is not one of ``DIRECTIONS``.
    DataJointError
        If a node is listed twice, has no size, or the edges form a cycle.
    """
    opt = options or LayoutOptions()
    if opt.direction not in DIRECTIONS:
        raise ConfigError(
            f"Diagram direction must be one of {', '.join(DIRECTIONS)}, not {opt.direction!r}. "
            "Set display.diagram_direction or pass direction= accordingly."
        )
    builder = _Builder(nodes, edges, sizes, clusters or {}, groups or {}, opt)
    return builder.run()


class _Builder:
    """Working state of one layout run; nodes are integers, dummies follow the real nodes."""

    def __init__(
        self,
        nodes: Sequence[str],
        edges: Iterable[tuple[str, str]],
        sizes: Mapping[str, Point],
        clusters: Mapping[str, str],
        groups: Mapping[str, str],
        opt: LayoutOptions,
    ) -> None:
        self.opt = opt
        self.ids = list(nodes)
        self.index = {name: i for i, name in enumerate(self.ids)}
        if len(self.index) != len(self.ids):
            raise DataJointError("Diagram layout: a node is listed twice; pass each node id once.")
        missing = [name for name in self.ids if name not in sizes]
        if missing:
            raise DataJointError(f"Diagram layout: no size given for node {missing[0]!r}.")
        n = len(self.ids)
        self.n = n
        horizontal = opt.direction in ("LR", "RL")
        # rank_size is the extent along the layers' axis, cross_size the extent within a layer
        self.rank_size = [sizes[k][0] if horizontal else sizes[k][1] for k in self.ids]
        self.cross_size = [sizes[k][1] if horizontal else sizes[k][0] for k in self.ids]
        self.sizes = {k: (float(sizes[k][0]), float(sizes[k][1])) for k in self.ids}
        keys = [clusters.get(k, "") for k in self.ids]
        self.cluster_keys = list(dict.fromkeys(keys))
        rank_of_key = {key: r for r, key in enumerate(self.cluster_keys)}
        self.cluster = [rank_of_key[k] for k in keys]
        self.clustered = len(self.cluster_keys) > 1
        group_ids: dict[str, int] = {}
        self.group = [
            group_ids.setdefault(groups[k], len(group_ids)) if k in groups else -1 for k in self.ids
        ]
        self.succ: list[list[int]] = [[] for _ in range(n)]
        self.pred: list[list[int]] = [[] for _ in range(n)]
        self.edges: list[tuple[int, int]] = []
        # Sorted by node position, so the result depends on the edge set, not on its order.
        pairs = {
            (self.index[u], self.index[v])
            for u, v in edges
            if u in self.index and v in self.index and u != v
        }
        for e in sorted(pairs):
            self.edges.append(e)
            self.succ[e[0]].append(e[1])
            self.pred[e[1]].append(e[0])

    # -- phase 1: layers ------------------------------------------------------------------------
    def _topological_order(self) -> list[int]:
        indegree = [len(p) for p in self.pred]
        ready = [i for i in range(self.n) if indegree[i] == 0]
        heapq.heapify(ready)
        order: list[int] = []
        while ready:
            i = heapq.heappop(ready)
            order.append(i)
            for j in self.succ[i]:
                indegree[j] -= 1
                if indegree[j] == 0:
                    heapq.heappush(ready, j)
        if len(order) != self.n:
            stuck = sorted(self.ids[i] for i in range(self.n) if indegree[i] > 0)
            raise DataJointError(
                f"Diagram layout: the foreign keys form a cycle through {stuck[:3]}; "
                "a dependency graph must be acyclic."
            )
        return order

    def _assign_layers(self, order: list[int]) -> list[int]:
        layer = [0] * self.n
        for i in order:
            for j in self.succ[i]:
                layer[j] = max(layer[j], layer[i] + 1)
        # Pull nodes towards their children: shortens edges from lookups and other sources.
        for i in reversed(order):
            if self.succ[i]:
                layer[i] = max(layer[i], min(layer[j] for j in self.succ[i]) - 1)
        return layer

    # -- phase 2: dummies -----------------------------------------------------------------------
    def _insert_dummies(self, layer: list[int]) -> None:
        self.layer = layer
        self.psucc: list[list[int]] = [[] for _ in range(self.n)]
        self.ppred: list[list[int]] = [[] for _ in range(self.n)]
        self.chains: dict[tuple[int, int], list[int]] = {}
        first: dict[int, int] = {}
        last: dict[int, int] = {}
        for i in range(self.n):
            c = self.cluster[i]
            first[c] = min(first.get(c, layer[i]), layer[i])
            last[c] = max(last.get(c, layer[i]), layer[i])
        for u, v in self.edges:
            cu, cv = self.cluster[u], self.cluster[v]
            chain: list[int] = []
            prev = u
            for lay in range(layer[u] + 1, layer[v]):
                # An edge between clusters runs inside the source's band while that band lasts,
                # then inside the target's; it changes band in the free gap between two layers.
                c = cu if (lay <= last[cu] or lay < first[cv]) else cv
                d = len(self.layer)
                self.layer.append(lay)
                self.cluster.append(c)
                self.group.append(-1)
                self.rank_size.append(0.0)
                self.cross_size.append(2.0)
                self.psucc.append([])
                self.ppred.append([])
                self._link(prev, d)
                chain.append(d)
                prev = d
            self._link(prev, v)
            self.chains[(u, v)] = chain

    def _link(self, a: int, b: int) -> None:
        """Record a one-layer edge; only edges within a cluster steer ordering and placement."""
        if self.cluster[a] == self.cluster[b]:
            self.psucc[a].append(b)
            self.ppred[b].append(a)

    # -- phase 3: ordering ----------------------------------------------------------------------
    def _order(self, order: list[int]) -> list[list[list[int]]]:
        """Return rows[cluster][layer] = node indices in their final order."""
        n_layers = max(self.layer, default=-1) + 1
        rows = [[[] for _ in range(n_layers)] for _ in self.cluster_keys]
        topo_pos = {node: p for p, node in enumerate(order)}
        for i in order + list(range(self.n, len(self.layer))):
            rows[self.cluster[i]][self.layer[i]].append(i)
        for c in range(len(rows)):
            rows[c] = [sorted(r, key=lambda i: topo_pos.get(i, i)) for r in rows[c]]
            rows[c] = self._reduce_crossings(rows[c])
        return rows

    def _reduce_crossings(self, rows: list[list[int]]) -> list[list[int]]:
        pos = [0] * len(self.layer)
        for r in rows:
            for p, i in enumerate(r):
                pos[i] = p
        self._sweep(rows, pos, down=True)
        best = [list(r) for r in rows]
        best_crossings = self._crossings(rows, pos)
        for _ in range(self.opt.iterations):
            if best_crossings == 0:
                break
            self._sweep(rows, pos, down=False)
            self._sweep(rows, pos, down=True)
            crossings = self._crossings(rows, pos)
            if crossings < best_crossings:
                best, best_crossings = [list(r) for r in rows], crossings
        return best

    def _sweep(self, rows: list[list[int]], pos: list[int], *, down: bool) -> None:
        sequence = range(1, len(rows)) if down else range(len(rows) - 2, -1, -1)
        neighbours = self.ppred if down else self.psucc
        for lay in sequence:
            row = rows[lay]
            if len(row) < 2:
                continue
            bary: dict[int, float] = {}
            for i in row:
                nb = neighbours[i]
                bary[i] = sum(pos[j] for j in nb) / len(nb) if nb else float(pos[i])
            group_bary: dict[int, list[float]] = {}
            for i in row:
                if self.group[i] >= 0:
                    group_bary.setdefault(self.group[i], []).append(bary[i])
            group_first: dict[int, int] = {}
            for i in row:
                if self.group[i] >= 0:
                    group_first.setdefault(self.group[i], i)

            keys: dict[int, tuple[float, int, float, int]] = {}
            for i in row:
                g = self.group[i]
                if g >= 0:
                    members = group_bary[g]
                    keys[i] = (sum(members) / len(members), group_first[g], bary[i], pos[i])
                else:
                    keys[i] = (bary[i], -1, bary[i], pos[i])
            row.sort(key=keys.__getitem__)
            for p, i in enumerate(row):
                pos[i] = p

    def _crossings(self, rows: list[list[int]], pos: list[int]) -> int:
        total = 0
        for lay in range(len(rows) - 1):
            pairs = sorted((pos[i], pos[j]) for i in rows[lay] for j in self.psucc[i])
            total += _count_inversions([b for _, b in pairs], len(rows[lay + 1]))
        return total

    # -- phase 4: coordinates -------------------------------------------------------------------
    def _cross_coordinates(self, rows: list[list[int]]) -> list[float]:
        """Cross-axis centres of one cluster's nodes, starting at 0.

        Each connected component is aligned on its own (a component with no edge to the rest
        would otherwise stay where it started while the rest moves), then the components are
        packed against a per-layer skyline, in the order the crossing reduction gave them.
        """
        x = [0.0] * len(self.layer)
        component = self._components([i for row in rows for i in row])
        sub_rows: dict[int, list[list[int]]] = {}
        score: dict[int, list[float]] = {}
        for lay, row in enumerate(rows):
            for p, i in enumerate(row):
                k = component[i]
                sub_rows.setdefault(k, [[] for _ in rows])[lay].append(i)
                score.setdefault(k, []).append((p + 0.5) / len(row))
        skyline: list[float | None] = [None] * len(rows)
        for k in sorted(sub_rows, key=lambda k: (sum(score[k]) / len(score[k]), k)):
            sub = sub_rows[k]
            self._align(sub, x)
            low = {lay: min(x[i] - self.cross_size[i] / 2 for i in r) for lay, r in enumerate(sub) if r}
            high = {lay: max(x[i] + self.cross_size[i] / 2 for i in r) for lay, r in enumerate(sub) if r}
            offset = -min(low.values())
            for lay, value in low.items():
                top = skyline[lay]
                if top is not None:
                    offset = max(offset, top + self.opt.node_gap - value)
            for r in sub:
                for i in r:
                    x[i] += offset
            for lay, value in high.items():
                skyline[lay] = value + offset
        return x

    def _components(self, members: list[int]) -> dict[int, int]:
        """Connected components (through one-layer edges) as node -> smallest member index."""
        parent = {i: i for i in members}

        def find(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i in members:
            for j in self.psucc[i]:
                a, b = find(i), find(j)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        return {i: find(i) for i in members}

    def _align(self, rows: list[list[int]], x: list[float]) -> None:
        """Place one component: packed rows, then alternating passes towards the neighbours."""
        for row in rows:
            at = 0.0
            for p, i in enumerate(row):
                if p:
                    at += self._separation(row[p - 1], i)
                x[i] = at
        passes = [self.ppred, self.psucc] * 4 + [None]
        for neighbours in passes:
            if neighbours is None:
                order = range(len(rows))
            elif neighbours is self.ppred:
                order = range(1, len(rows))
            else:
                order = range(len(rows) - 2, -1, -1)
            for lay in order:
                self._place_row(rows[lay], x, neighbours)

    def _separation(self, a: int, b: int) -> float:
        gap = self.opt.node_gap if a < self.n and b < self.n else self.opt.dummy_gap
        return (self.cross_size[a] + self.cross_size[b]) / 2 + gap

    def _place_row(self, row: list[int], x: list[float], neighbours: list[list[int]] | None) -> None:
        if not row:
            return
        targets: list[float] = []
        weights: list[float] = []
        offset = 0.0
        for p, i in enumerate(row):
            if p:
                offset += self._separation(row[p - 1], i)
            nb = self.ppred[i] + self.psucc[i] if neighbours is None else neighbours[i]
            if nb:
                desired = sum(x[j] for j in nb) / len(nb)
                weight = 8.0 if i >= self.n else 1.0 + 0.25 * len(nb)
            else:
                desired, weight = x[i], 0.05
            targets.append(desired - offset)
            weights.append(weight)
        fitted = _isotonic(targets, weights)
        offset = 0.0
        for p, i in enumerate(row):
            if p:
                offset += self._separation(row[p - 1], i)
            x[i] = fitted[p] + offset

    # -- assembly -------------------------------------------------------------------------------
    def run(self) -> Layout:
        order = self._topological_order()
        self._insert_dummies(self._assign_layers(order))
        rows = self._order(order)
        opt = self.opt
        n_layers = len(rows[0]) if rows else 0
        label_cross = self.clustered and opt.direction in ("LR", "RL")
        layer_gap = opt.layer_gap
        if self.clustered and not label_cross:
            # In TB/BT the cluster title takes room from the gap between layers.
            layer_gap = max(layer_gap, 2 * opt.cluster_pad + opt.cluster_label + 16.0)

        thickness = [0.0] * n_layers
        for i in range(self.n):
            thickness[self.layer[i]] = max(thickness[self.layer[i]], self.rank_size[i])
        centre: list[float] = []
        at = 0.0
        for lay in range(n_layers):
            centre.append(at + thickness[lay] / 2)
            at += thickness[lay] + layer_gap
        rank_total = at - layer_gap if n_layers else 0.0

        cross = [0.0] * len(self.layer)
        skyline = [0.0] * n_layers
        bands: dict[int, tuple[int, int, float, float]] = {}
        head = (opt.cluster_pad + (opt.cluster_label if label_cross else 0.0)) if self.clustered else 0.0
        tail = opt.cluster_pad if self.clustered else 0.0
        for c in self._packing_order():
            local = self._cross_coordinates(rows[c])
            used = [lay for lay in range(n_layers) if rows[c][lay]]
            if not used:
                continue
            first, last = used[0], used[-1]
            extent = max(local[i] + self.cross_size[i] / 2 for r in rows[c] for i in r)
            start = max(skyline[first : last + 1])
            for lay in range(first, last + 1):
                skyline[lay] = start + head + extent + tail + opt.cluster_gap
            for r in rows[c]:
                for i in r:
                    cross[i] = start + head + local[i]
            bands[c] = (first, last, start, start + head + extent + tail)
        return self._assemble(centre, thickness, rank_total, cross, bands, label_cross)

    def _packing_order(self) -> list[int]:
        """Clusters in the order their bands are packed: upstream schemas first.

        A schema whose tables start in an earlier layer (on average, too) comes first, so the
        drawing reads from the upstream schemas to the downstream ones.
        """
        layers: dict[int, list[int]] = {}
        for i in range(self.n):
            layers.setdefault(self.cluster[i], []).append(self.layer[i])
        return sorted(layers, key=lambda c: (min(layers[c]), sum(layers[c]) / len(layers[c]), c))

    def _assemble(
        self,
        centre: list[float],
        thickness: list[float],
        rank_total: float,
        cross: list[float],
        bands: dict[int, tuple[int, int, float, float]],
        label_cross: bool,
    ) -> Layout:
        opt = self.opt
        m = opt.margin
        horizontal = opt.direction in ("LR", "RL")
        mirrored = opt.direction in ("RL", "BT")

        def to_xy(r: float, c: float) -> Point:
            if mirrored:
                r = rank_total - r
            return (r, c) if horizontal else (c, r)

        positions = {self.ids[i]: to_xy(centre[self.layer[i]], cross[i]) for i in range(self.n)}
        routes: dict[tuple[str, str], list[Point]] = {}
        for u, v in self.edges:
            # Inside a layer an edge runs straight along the rank axis (nothing else in the layer
            # shares its cross position); it bends only in the empty gaps between layers.
            lu, lv = self.layer[u], self.layer[v]
            points = [(centre[lu] + self.rank_size[u] / 2, cross[u])]
            if thickness[lu] - self.rank_size[u] > 0.5:
                points.append((centre[lu] + thickness[lu] / 2, cross[u]))
            for d in self.chains.get((u, v), ()):
                lay = self.layer[d]
                points.append((centre[lay] - thickness[lay] / 2, cross[d]))
                if thickness[lay] > 0:
                    points.append((centre[lay] + thickness[lay] / 2, cross[d]))
            if thickness[lv] - self.rank_size[v] > 0.5:
                points.append((centre[lv] - thickness[lv] / 2, cross[v]))
            points.append((centre[lv] - self.rank_size[v] / 2, cross[v]))
            routes[(self.ids[u], self.ids[v])] = [to_xy(r, c) for r, c in points]

        boxes: dict[str, Box] = {}
        if self.clustered:
            pad, label = opt.cluster_pad, opt.cluster_label
            for c, (first, last, start, end) in bands.items():
                r0 = centre[first] - thickness[first] / 2 - pad
                r1 = centre[last] + thickness[last] / 2 + pad
                if not label_cross:
                    r0 -= label  # title room above the first layer (below, once mirrored)
                    if mirrored:
                        r0, r1 = r0 + label, r1 + label
                (xa, ya), (xb, yb) = to_xy(r0, start), to_xy(r1, end)
                boxes[self.cluster_keys[c]] = (min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb))

        # Translate so that everything (nodes, boxes, routes) starts at the margin.
        corners = [(x + sx * self.sizes[k][0] / 2, y + sy * self.sizes[k][1] / 2)
                   for k, (x, y) in positions.items() for sx, sy in ((-1, -1), (1, 1))]
        corners += [p for b in boxes.values() for p in ((b[0], b[1]), (b[2], b[3]))]
        corners += [p for pts in routes.values() for p in pts]
        xs, ys = [p[0] for p in corners] or [0.0], [p[1] for p in corners] or [0.0]
        dx, dy = m - min(xs), m - min(ys)
        width, height = max(xs) - min(xs) + 2 * m, max(ys) - min(ys) + 2 * m
        positions = {k: (round(x + dx, 2), round(y + dy, 2)) for k, (x, y) in positions.items()}
        routes = {k: [(round(x + dx, 2), round(y + dy, 2)) for x, y in pts] for k, pts in routes.items()}
        boxes = {k: (round(a + dx, 2), round(b + dy, 2), round(c + dx, 2), round(d + dy, 2))
                 for k, (a, b, c, d) in boxes.items()}
        return Layout(
            direction=opt.direction,
            width=round(width, 2),
            height=round(height, 2),
            positions=positions,
            sizes=self.sizes,
            layers={self.ids[i]: self.layer[i] for i in range(self.n)},
            routes=routes,
            clusters=boxes,
        )


def _isotonic(targets: list[float], weights: list[float]) -> list[float]:
    """Weighted least-squares fit of a non-decreasing sequence (pool adjacent violators)."""
    values: list[float] = []
    block_weights: list[float] = []
    counts: list[int] = []
    for t, w in zip(targets, weights):
        values.append(t)
        block_weights.append(w)
        counts.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            v2, w2, c2 = values.pop(), block_weights.pop(), counts.pop()
            total = block_weights[-1] + w2
            values[-1] = (values[-1] * block_weights[-1] + v2 * w2) / total
            block_weights[-1] = total
            counts[-1] += c2
    fitted: list[float] = []
    for v, c in zip(values, counts):
        fitted.extend([v] * c)
    return fitted


def _count_inversions(sequence: list[int], size: int) -> int:
    """Number of pairs i < j with sequence[i] > sequence[j] (a Fenwick tree over the values)."""
    tree = [0] * (size + 1)
    inversions = 0
    for seen, value in enumerate(sequence):
        # count earlier values <= value, the rest are greater
        k, not_greater = value + 1, 0
        while k > 0:
            not_greater += tree[k]
            k -= k & -k
        inversions += seen - not_greater
        k = value + 1
        while k <= size:
            tree[k] += 1
            k += k & -k
    return inversions
