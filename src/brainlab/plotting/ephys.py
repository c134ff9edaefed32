"""``plotting_ephys``: ephys figures stored as plotly JSON (reference §2.13, second table).

IBL stored PNG links plus a plotly layout template; brainlab stores whole plotly figures
(``plotting_data``), drawn from the analyses: rasters sorted by contrast, PSTHs per condition,
the driftmap, the normalised depth PETH, spike amplitude over time, autocorrelograms and
waveforms. Each ``make`` handles one probe (or probe x event) and inserts all its clusters.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import ephys
from ..analyses import ephys as ae
from ..analyses.trials import fetch_trials
from ..plots import ephys_figs as ef
from ..schemas import Computed, classproperty, schema_for

schema = schema_for("brainlab.plotting.ephys")


def _probe(key: dict[str, Any]) -> dict[str, Any]:
    return {k: key[k] for k in ("subject_uuid", "session_start_time", "probe_idx")}


def _label(key: dict[str, Any]) -> str:
    return (ephys.ProbeInsertion & _probe(key)).fetch1("probe_label")


@schema
class Raster(Computed):
    definition = """
    # spike raster of a cluster around an event, trials sorted by signed contrast
    -> ephys.AlignedSpikes
    ---
    plotting_data:          json
    """

    @classproperty
    def key_source(cls) -> Any:
        return ephys.ProbeInsertion.proj() * ephys.Event.proj() & ephys.AlignedSpikes

    def make(self, key: dict[str, Any]) -> None:
        probe = _probe(key)
        session = {k: key[k] for k in ("subject_uuid", "session_start_time")}
        t = fetch_trials(session)
        contrast = dict(zip(t.trial_id.tolist(), t.signed_contrast.tolist()))
        label = _label(key)
        rows = []
        q = ephys.AlignedSpikes & probe & {"event": key["event"]}
        for cid, trial_ids, spike_trials, spike_times in zip(*q.fetch(
                "cluster_id", "trial_ids", "spike_trial_ids", "spike_times")):
            trial_ids = np.asarray(trial_ids, dtype=int)
            order = sorted(range(trial_ids.size), key=lambda i: (contrast.get(int(trial_ids[i]), 0.0), trial_ids[i]))
            row_of = {int(trial_ids[i]): r for r, i in enumerate(order)}
            rows_y = np.array([row_of[int(x)] for x in spike_trials], dtype=int)
            sorted_c = [contrast.get(int(trial_ids[i]), 0.0) for i in order]
            bands, start = [], 0
            for r in range(1, len(sorted_c) + 1):
                if r == len(sorted_c) or sorted_c[r] != sorted_c[start]:
                    bands.append((start, r - 1, sorted_c[start]))
                    start = r
            fig = ef.raster(np.asarray(spike_times, dtype=float), rows_y, len(order), bands,
                            f"{label} cluster {cid}: raster by contrast", key["event"])
            rows.append(dict(probe, cluster_id=int(cid), event=key["event"], plotting_data=fig))
        self.insert(rows)


@schema
class Psth(Computed):
    definition = """
    -> ae.Psth
    ---
    plotting_data:          json
    """

    @classproperty
    def key_source(cls) -> Any:
        return ephys.ProbeInsertion.proj() * ephys.Event.proj() & ae.Psth

    def make(self, key: dict[str, Any]) -> None:
        probe = _probe(key)
        label = _label(key)
        rows = []
        for r in (ae.Psth & probe & {"event": key["event"]}).fetch(as_dict=True):
            curves = {name: (r[f"psth_{name}"], r[f"psth_{name}_sem"]) for name in ("left", "right", "incorrect",
                                                                                  "all")}
            fig = ef.psth_figure(r["psth_time"], curves, f"{label} cluster {r['cluster_id']}: PSTH", key["event"])
            rows.append(dict(probe, cluster_id=r["cluster_id"], event=key["event"], plotting_data=fig))
        self.insert(rows)


@schema
class DepthRaster(Computed):
    definition = """
    # the driftmap: every spike of the probe at (time, depth)
    -> ephys.ProbeInsertion
    ---
    plotting_data:          json
    """

    @classproperty
    def key_source(cls) -> Any:
        return ephys.ProbeInsertion & ephys.DefaultCluster

    def make(self, key: dict[str, Any]) -> None:
        cids, st, sd, sa = (ephys.DefaultCluster & key).fetch(
            "cluster_id", "cluster_spikes_times", "cluster_spikes_depths", "cluster_spikes_amps")
        times = np.concatenate(st)
        clusters = np.concatenate([np.full(len(s), c) for c, s in zip(cids, st)])
        fig = ef.driftmap(times, np.concatenate(sd).astype(float), clusters, np.concatenate(sa),
                          f"{_label(key)}: driftmap")
        self.insert1(dict(key, plotting_data=fig))


@schema
class DepthPeth(Computed):
    definition = """
    -> ae.NormedDepthPeth
    ---
    plotting_data:          json
    """

    def make(self, key: dict[str, Any]) -> None:
        normed = (ae.NormedDepthPeth & key).fetch1("normed_peth")
        time, depth = (ae.DepthPeth & key).fetch1("time_bin_centers", "depth_bin_centers")
        fig = ef.depth_peth_figure(normed, time, depth, f"{_label(key)}: depth PETH ({key['event']})", key["event"])
        self.insert1(dict(key, plotting_data=fig))


@schema
class SpikeAmpTime(Computed):
    definition = """
    -> ephys.DefaultCluster
    ---
    plotting_data:          json
    """

    @classproperty
    def key_source(cls) -> Any:
        return ephys.ProbeInsertion & ephys.DefaultCluster

    def make(self, key: dict[str, Any]) -> None:
        label = _label(key)
        rows = [dict(key, cluster_id=int(c), plotting_data=ef.spike_amp_time(
            np.asarray(t), np.asarray(a), f"{label} cluster {c}: amplitude"))
            for c, t, a in zip(*(ephys.DefaultCluster & key).fetch("cluster_id", "cluster_spikes_times",
                                                                   "cluster_spikes_amps"))]
        self.insert(rows)


@schema
class AutoCorrelogram(Computed):
    definition = """
    -> ae.AutoCorrelogram
    ---
    plotting_data:          json
    """

    @classproperty
    def key_source(cls) -> Any:
        return ephys.ProbeInsertion & ae.AutoCorrelogram

    def make(self, key: dict[str, Any]) -> None:
        label = _label(key)
        rows = [dict(key, cluster_id=int(c), plotting_data=ef.acg_figure(
            np.asarray(acg), t0, b, f"{label} cluster {c}: autocorrelogram"))
            for c, acg, t0, b in zip(*(ae.AutoCorrelogram & key).fetch("cluster_id", "acg", "t_start", "bin_size"))]
        self.insert(rows)


@schema
class Waveform(Computed):
    definition = """
    -> ephys.DefaultCluster
    ---
    plotting_data:          json
    """

    @classproperty
    def key_source(cls) -> Any:
        return ephys.ProbeInsertion & ephys.DefaultCluster

    def make(self, key: dict[str, Any]) -> None:
        label = _label(key)
        coords = (ephys.ChannelGroup & key).fetch("channel_local_coordinates")
        coord = np.asarray(coords[0]) if len(coords) else None
        rows = [dict(key, cluster_id=int(c), plotting_data=ef.waveform(
            np.asarray(w), np.asarray(ch), coord, f"{label} cluster {c}: waveform"))
            for c, w, ch in zip(*(ephys.DefaultCluster & key).fetch("cluster_id", "cluster_waveforms",
                                                                    "cluster_waveforms_channels"))]
        self.insert(rows)
