"""A small brain-region tree and probe-track templates.

The tree is a subset of the Allen CCF 2017 structure ontology (ids, acronyms, names and parent
ids as in ``allen_structure_tree.csv``), with ``void`` (id 0) for channels outside the brain, as
IBL labels them. A few intermediate levels are skipped, so a parent is the nearest kept
ancestor. Probe tracks are built from templates: ordered (region, thickness in um) segments from
the brain surface down, scaled a little per insertion.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

__all__ = [
    "REGIONS",
    "TRACK_TEMPLATES",
    "Region",
    "region_by_acronym",
    "regions_csv",
    "track_segments",
]


@dataclass(frozen=True)
class Region:
    """One brain region of the tree.

    Attributes
    ----------
    id : int
        Allen structure id (the ALF ``brainLocationIds_ccf_2017`` value); 0 is ``void``.
    acronym, name : str
        Allen acronym and full name.
    parent : int or None
        Id of the parent region (None for the roots ``root`` and ``void``).
    color : str
        Hex colour triplet, without ``#``.
    level : int
        Depth in the tree (roots are 0).
    graph_order : int
        Position in a depth-first walk of the tree.
    """

    id: int
    acronym: str
    name: str
    parent: int | None
    color: str
    level: int = 0
    graph_order: int = 0


_RAW: tuple[tuple[int, str, str, int | None, str], ...] = (
    (0, "void", "void", None, "000000"),
    (997, "root", "root", None, "FFFFFF"),
    (8, "grey", "Basic cell groups and regions", 997, "BFDAE3"),
    (567, "CH", "Cerebrum", 8, "B0F0FF"),
    (688, "CTX", "Cerebral cortex", 567, "B0FFB8"),
    (695, "CTXpl", "Cortical plate", 688, "70FF70"),
    (315, "Isocortex", "Isocortex", 695, "70FF71"),
    (500, "MO", "Somatomotor areas", 315, "1F9D5A"),
    (985, "MOp", "Primary motor area", 500, "1F9D5A"),
    (993, "MOs", "Secondary motor area", 500, "1F9D5A"),
    (453, "SS", "Somatosensory areas", 315, "188064"),
    (322, "SSp", "Primary somatosensory area", 453, "188064"),
    (669, "VIS", "Visual areas", 315, "08858C"),
    (385, "VISp", "Primary visual area", 669, "08858C"),
    (1089, "HPF", "Hippocampal formation", 695, "7ED04B"),
    (1080, "HIP", "Hippocampal region", 1089, "7ED04B"),
    (375, "CA", "Ammon's horn", 1080, "7ED04B"),
    (382, "CA1", "Field CA1", 375, "7ED04B"),
    (463, "CA3", "Field CA3", 375, "7ED04B"),
    (726, "DG", "Dentate gyrus", 1080, "7ED04B"),
    (623, "CNU", "Cerebral nuclei", 567, "98D6F9"),
    (477, "STR", "Striatum", 623, "98D6F9"),
    (485, "STRd", "Striatum dorsal region", 477, "98D6F9"),
    (672, "CP", "Caudoputamen", 485, "98D6F9"),
    (343, "BS", "Brain stem", 8, "FF7080"),
    (1129, "IB", "Interbrain", 343, "FF7080"),
    (549, "TH", "Thalamus", 1129, "FF7080"),
    (218, "LP", "Lateral posterior nucleus of the thalamus", 549, "FF909F"),
    (1020, "PO", "Posterior complex of the thalamus", 549, "FF909F"),
    (170, "LGd", "Dorsal part of the lateral geniculate complex", 549, "FF8084"),
    (313, "MB", "Midbrain", 343, "FF64FF"),
    (302, "SCs", "Superior colliculus, sensory related", 313, "FF90FF"),
    (294, "SCm", "Superior colliculus, motor related", 313, "FF90FF"),
    (1009, "fiber tracts", "fiber tracts", 997, "CCCCCC"),
    (73, "VS", "ventricular systems", 997, "AAAAAA"),
    (81, "VL", "lateral ventricle", 73, "AAAAAA"),
)


def _build() -> tuple[Region, ...]:
    children: dict[int | None, list[tuple[int, str, str, int | None, str]]] = {}
    for row in _RAW:
        children.setdefault(row[3], []).append(row)
    out: list[Region] = []

    def walk(parent: int | None, level: int) -> None:
        for rid, acronym, name, par, color in children.get(parent, []):
            out.append(Region(rid, acronym, name, par, color, level, len(out)))
            walk(rid, level + 1)

    walk(None, 0)
    return tuple(out)


#: The region tree in depth-first order.
REGIONS: tuple[Region, ...] = _build()
_BY_ACRONYM = {r.acronym: r for r in REGIONS}

#: Probe tracks: (region acronym, thickness in um along the probe), from the surface down.
TRACK_TEMPLATES: tuple[tuple[tuple[str, float], ...], ...] = (
    (("VISp", 900), ("fiber tracts", 120), ("CA1", 380), ("DG", 450), ("LP", 800), ("LGd", 500), ("PO", 1300)),
    (("MOs", 1100), ("fiber tracts", 250), ("CP", 2400), ("VL", 150), ("CP", 700)),
    (("SSp", 1000), ("fiber tracts", 150), ("CA1", 300), ("CA3", 400), ("DG", 300), ("SCs", 600),
     ("SCm", 900), ("fiber tracts", 900)),
)


def region_by_acronym(acronym: str) -> Region:
    """Return the region with this acronym."""
    return _BY_ACRONYM[acronym]


def track_segments(template: int, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Return the acronyms of a track and the lower edge (um from the surface) of each segment.

    Each thickness is scaled by a factor in [0.9, 1.1], so no two insertions are identical.
    """
    acronyms = [a for a, _ in TRACK_TEMPLATES[template]]
    thickness = np.array([t for _, t in TRACK_TEMPLATES[template]]) * rng.uniform(0.9, 1.1, len(acronyms))
    return acronyms, np.cumsum(thickness)


def regions_csv() -> str:
    """The tree as CSV, with the columns of ``allen_structure_tree.csv`` that the pipeline reads.

    Columns: ``id, acronym, name, parent_structure_id, depth, graph_order, color_hex_triplet``
    (``parent_structure_id`` is empty for roots).
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["id", "acronym", "name", "parent_structure_id", "depth", "graph_order", "color_hex_triplet"])
    for r in REGIONS:
        writer.writerow([r.id, r.acronym, r.name, "" if r.parent is None else r.parent, r.level, r.graph_order, r.color])
    return buf.getvalue()
