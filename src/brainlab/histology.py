"""``histology``: probe trajectories and the brain regions of channels and clusters.

Tables follow IBL's ``ibl_histology`` (reference ``ibl-system.md`` §2.11). Trajectory estimates
from the LIMS land in ``ProbeTrajectoryTemp`` (one per provenance: 70 ephys-aligned histology
track, 50 histology track, 30 micro-manipulator, 10 planned). ``ProbeTrajectory`` copies the
provenance-70 estimate once the probe's extended QC says ``alignment_resolved``; the channel and
cluster locations are read from the ALF files then, and ``ProbeBrainRegion`` /
``DepthBrainRegion`` are derived from them.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from labjoin import errors

from . import alf, ephys, qc, reference, settings
from .schemas import Computed, Imported, Lookup, classproperty, schema_for

schema = schema_for("brainlab.histology")

ONTOLOGY = "CCF 2017"


@schema
class Provenance(Lookup):
    definition = """
    provenance:             tinyint unsigned
    ---
    provenance_description: varchar(128)
    """
    contents = [(70, "Ephys aligned histology track"), (50, "Histology track"), (30, "Micro-manipulator"),
                (10, "Planned")]


_TRAJECTORY = """
    probe_trajectory_uuid:  uuid
    x:                      float         # (um) medio-lateral coordinate relative to Bregma, left negative
    y:                      float         # (um) antero-posterior coordinate relative to Bregma, back negative
    z:                      float         # (um) dorso-ventral coordinate relative to Bregma, ventral negative
    phi:                    float         # (degrees) azimuth
    theta:                  float         # (degrees) polar angle
    depth:                  float         # (um) insertion depth
    roll=null:              float         # (degrees) roll angle of the probe
"""


@schema
class ProbeTrajectoryTemp(Imported):
    definition = """
    # trajectory estimates from the LIMS, one per provenance
    -> ephys.ProbeInsertion
    -> Provenance
    ---
    -> [nullable] reference.CoordinateSystem
    trajectory_ts=null:     datetime
    """ + _TRAJECTORY


@schema
class ProbeTrajectory(Imported):
    definition = """
    # the resolved (ephys-aligned) trajectory of a probe
    -> ephys.ProbeInsertion
    ---
    -> [nullable] reference.CoordinateSystem
    """ + _TRAJECTORY

    @classproperty
    def key_source(cls) -> Any:
        resolved = qc.ProbeInsertionExtendedQC & {"qc_type": "alignment_resolved"} & "insertion_extended_qc >= 10"
        return ephys.ProbeInsertion & (ProbeTrajectoryTemp & {"provenance": 70}) & resolved

    def make(self, key: dict[str, Any]) -> None:
        row = (ProbeTrajectoryTemp & key & {"provenance": 70}).fetch1()
        row.pop("provenance")
        row.pop("trajectory_ts")
        self.insert1(row)


def region_acronyms(ids: np.ndarray) -> np.ndarray:
    """Allen ids -> acronyms ('void' for unknown ids)."""
    pks, acronyms = (reference.BrainRegion & {"ontology": ONTOLOGY}).fetch("brain_region_pk", "acronym")
    table = dict(zip(pks.tolist(), acronyms.tolist()))
    return np.array([table.get(int(i), "void") for i in ids])


def _with_locations(pattern: str) -> Any:
    from . import data

    return data.FileRecord & alf.FLATIRON & f'dataset_name LIKE "{pattern}"'


@schema
class ChannelBrainLocation(Imported):
    definition = """
    -> ProbeTrajectory
    channel_idx:            int
    ---
    channel_ml:             float         # (um)
    channel_ap:             float         # (um)
    channel_dv:             float         # (um)
    -> reference.BrainRegion
    """

    @classproperty
    def key_source(cls) -> Any:
        return ProbeTrajectory & _with_locations("channels.brainLocationIds%")

    def make(self, key: dict[str, Any]) -> None:
        ch = alf.load_object(key, ephys.probe_collection(key), "channels")
        acr = region_acronyms(ch["brainLocationIds_ccf_2017"])
        xyz = np.asarray(ch["mlapdv"], dtype=float)
        self.insert(dict(key, channel_idx=i, channel_ml=float(xyz[i, 0]), channel_ap=float(xyz[i, 1]),
                         channel_dv=float(xyz[i, 2]), ontology=ONTOLOGY, acronym=str(acr[i]))
                    for i in range(len(acr)))


@schema
class ClusterBrainRegion(Imported):
    definition = """
    -> ephys.DefaultCluster
    -> ProbeTrajectory
    ---
    cluster_ml:             float         # (um)
    cluster_ap:             float         # (um)
    cluster_dv:             float         # (um)
    -> reference.BrainRegion
    """

    @classproperty
    def key_source(cls) -> Any:
        return ProbeTrajectory & ephys.DefaultCluster & _with_locations("clusters.brainLocationIds%")

    def make(self, key: dict[str, Any]) -> None:
        cl = alf.load_object(key, ephys.probe_collection(key), "clusters")
        acr = region_acronyms(cl["brainLocationIds_ccf_2017"])
        xyz = np.asarray(cl["mlapdv"], dtype=float)
        ids = (ephys.DefaultCluster & key).fetch("cluster_id")
        self.insert(dict(key, cluster_id=int(i), cluster_ml=float(xyz[i, 0]), cluster_ap=float(xyz[i, 1]),
                         cluster_dv=float(xyz[i, 2]), ontology=ONTOLOGY, acronym=str(acr[i])) for i in ids)


@schema
class ProbeBrainRegion(Computed):
    definition = """
    # every region a cluster of the probe is in, and all their ancestors
    -> ProbeTrajectory
    -> reference.BrainRegion
    """

    @classproperty
    def key_source(cls) -> Any:
        return ProbeTrajectory & ClusterBrainRegion

    def make(self, key: dict[str, Any]) -> None:
        hit = set((ClusterBrainRegion & key).fetch("acronym").tolist())
        acr, pk, parent = (reference.BrainRegion & {"ontology": ONTOLOGY}).fetch("acronym", "brain_region_pk", "parent")
        by_pk = dict(zip(pk.tolist(), zip(acr.tolist(), parent.tolist())))
        by_acr = dict(zip(acr.tolist(), parent.tolist()))
        regions = set()
        for a in hit:
            regions.add(a)
            up = by_acr.get(a)
            while up is not None and up in by_pk:
                name, up = by_pk[up]
                regions.add(name)
        self.insert(dict(key, ontology=ONTOLOGY, acronym=a) for a in sorted(regions))


@schema
class DepthBrainRegion(Computed):
    definition = """
    # brain regions along the probe, as depth intervals from the tip
    -> ProbeTrajectory
    ---
    region_boundaries:      blob          # (n, 2) depth intervals (um from the tip)
    region_label:           blob          # (n,) acronyms
    region_color:           blob          # (n,) '#rrggbb' colours
    region_id:              blob          # (n,) Allen ids
    """

    @classproperty
    def key_source(cls) -> Any:
        return ProbeTrajectory & ChannelBrainLocation

    def make(self, key: dict[str, Any]) -> None:
        idx, acr = (ChannelBrainLocation & key).fetch("channel_idx", "acronym", order_by="channel_idx")
        coords = (ephys.ChannelGroup & key).fetch("channel_local_coordinates")
        depth = (np.asarray(coords[0])[:, 1] if len(coords) else np.arange(len(idx)) // 2 * 20.0 + 20.0)[idx]
        order = np.argsort(depth, kind="stable")
        depth, acr = depth[order], np.asarray(acr)[order]
        change = np.flatnonzero(acr[1:] != acr[:-1]) + 1
        starts = np.concatenate(([0], change))
        ends = np.concatenate((change, [len(acr)]))
        pks, acrs = (reference.BrainRegion & {"ontology": ONTOLOGY}).fetch("brain_region_pk", "acronym")
        id_of = dict(zip(acrs.tolist(), pks.tolist()))
        bounds = np.array([[depth[a], depth[b - 1]] for a, b in zip(starts, ends)], dtype=float)
        labels = np.array([acr[a] for a in starts])
        self.insert1(dict(key, region_boundaries=bounds, region_label=labels,
                          region_color=np.array([region_color(lab) for lab in labels]),
                          region_id=np.array([id_of.get(lab, 0) for lab in labels])))


@lru_cache(maxsize=8)
def _colors(root: str) -> dict[str, str]:
    path = Path(root) / "reference" / "brain_regions.csv"
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        return {row["acronym"]: "#" + row["color_hex_triplet"] for row in csv.DictReader(f)}


def region_color(acronym: str) -> str:
    """The Allen colour of a region, from ``reference/brain_regions.csv`` under the data root.

    Grey when the table is not there: the colour only decorates figures.
    """
    try:
        root = settings.data_root()
    except errors.ConfigError:
        return "#bbbbbb"
    return _colors(str(root)).get(acronym, "#bbbbbb")
