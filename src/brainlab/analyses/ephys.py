"""``analyses_ephys``: depth PETHs, PSTHs per condition and autocorrelograms.

Tables follow IBL's ``ibl_analyses_ephys`` (reference ``ibl-system.md`` §2.10 and §4.5); the
PSTH and autocorrelogram, which IBL computed inside its plotting tables, are stored here so the
figures only draw them. Definitions:

* **DepthPeth**: all spikes of the probe binned in 80 um depth bins (by each spike's depth);
  per bin the peri-event histogram over correct trials, 25 ms bins from -0.3 s to 1 s, in
  spikes/s per trial (summed over clusters). ``depth_baseline`` = mean over (-0.3, 0).
* **NormedDepthPeth** = (peth - baseline) / (baseline + 1).
* **Psth**: per cluster and event, trials shorter than 5 s with a choice, split into correct
  left (CW and signed contrast < 0), correct right (CCW and > 0), incorrect and all; 25 ms bins
  over [-1, 1] s, Gaussian smoothing with sigma 25 ms, mean and s.e.m. across trials (spikes/s).
* **AutoCorrelogram**: spike-time differences of a cluster within +-20 ms, 0.2 ms bins
  (counts; the zero-lag bin excludes each spike with itself).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .. import behavior, ephys
from ..schemas import Computed, Lookup, classproperty, schema_for
from .trials import fetch_trials

schema = schema_for("brainlab.analyses.ephys")

DEPTH_BIN = 80.0
PETH_PRE, PETH_POST, PETH_BIN = 0.3, 1.0, 0.025
PSTH_WINDOW, PSTH_BIN, PSTH_SIGMA = 1.0, 0.025, 0.025
ACG_WINDOW, ACG_BIN = 0.02, 0.0002


@schema
class TrialType(Lookup):
    definition = """
    trial_type:             varchar(32)
    """
    contents = [("Correct Left Contrast",), ("Correct Right Contrast",), ("Incorrect Left Contrast",),
                ("Incorrect Right Contrast",), ("Correct All",)]


def _session(key: dict[str, Any]) -> dict[str, Any]:
    return {"subject_uuid": key["subject_uuid"], "session_start_time": key["session_start_time"]}


def peth(spike_times: np.ndarray, events: np.ndarray, pre: float, post: float, bin_size: float) -> np.ndarray:
    """Trials x bins spike counts around each event (spike times sorted)."""
    edges = np.arange(-pre, post + bin_size / 2, bin_size)
    out = np.zeros((events.size, edges.size - 1))
    lo = np.searchsorted(spike_times, events - pre)
    hi = np.searchsorted(spike_times, events + post)
    for i, (a, b) in enumerate(zip(lo, hi)):
        if b > a:
            out[i] = np.histogram(spike_times[a:b] - events[i], edges)[0]
    return out


@schema
class DepthPeth(Computed):
    definition = """
    -> ephys.ProbeInsertion
    -> ephys.Event
    -> TrialType
    ---
    depth_peth:             longblob      # (depth bins, time bins) spikes/s per trial
    depth_bin_centers:      blob          # (um from the tip)
    time_bin_centers:       blob          # (s from the event)
    depth_baseline:         blob          # mean over (-0.3, 0) per depth bin
    """

    @classproperty
    def key_source(cls) -> Any:
        return (ephys.ProbeInsertion.proj() * ephys.Event.proj() * (TrialType & {"trial_type": "Correct All"})
                & ephys.AlignedSpikes)

    def make(self, key: dict[str, Any]) -> None:
        probe = {k: v for k, v in key.items() if k not in ("event", "trial_type")}
        session = _session(key)
        ids, times = ephys.event_times(session, key["event"])
        fb_ids, fb = (behavior.TrialSet.Trial & session).fetch("trial_id", "trial_feedback_type")
        correct = set(np.asarray(fb_ids)[np.asarray(fb) == 1].tolist())
        events = np.array([t for i, t in zip(ids, times) if i in correct])
        st, sd = (ephys.DefaultCluster & probe).fetch("cluster_spikes_times", "cluster_spikes_depths")
        t = np.concatenate(st) if len(st) else np.empty(0)
        d = np.concatenate(sd).astype(float) if len(sd) else np.empty(0)
        top = max(float(d.max()) if d.size else 0.0, DEPTH_BIN)
        depth_edges = np.arange(0, top + DEPTH_BIN, DEPTH_BIN)
        n_time = round((PETH_PRE + PETH_POST) / PETH_BIN)
        result = np.zeros((depth_edges.size - 1, n_time))
        which = np.clip(np.digitize(d, depth_edges) - 1, 0, depth_edges.size - 2)
        for b in range(depth_edges.size - 1):
            sel = np.sort(t[which == b])
            if sel.size and events.size:
                result[b] = peth(sel, events, PETH_PRE, PETH_POST, PETH_BIN).mean(axis=0) / PETH_BIN
        centers = np.arange(n_time) * PETH_BIN - PETH_PRE + PETH_BIN / 2
        baseline = result[:, centers < 0].mean(axis=1)
        self.insert1(dict(key, depth_peth=result, depth_bin_centers=depth_edges[:-1] + DEPTH_BIN / 2,
                          time_bin_centers=centers, depth_baseline=baseline))


@schema
class NormedDepthPeth(Computed):
    definition = """
    -> DepthPeth
    ---
    normed_peth:            longblob      # (peth - baseline) / (baseline + 1)
    """

    def make(self, key: dict[str, Any]) -> None:
        p, base = (DepthPeth & key).fetch1("depth_peth", "depth_baseline")
        self.insert1(dict(key, normed_peth=(p - base[:, None]) / (base[:, None] + 1)))


def psth_conditions(session: dict[str, Any]) -> dict[int, str]:
    """trial_id -> 'left' | 'right' | 'incorrect' for the trials a PSTH uses (< 5 s, a choice)."""
    trials = fetch_trials(session)
    signed = trials.signed_contrast
    ok = ((trials.trial_end - trials.trial_start) < 5) & (trials.choice != 0)
    out = {}
    for i in np.flatnonzero(ok):
        if trials.choice[i] == 1 and signed[i] < 0 and trials.feedback_type[i] == 1:
            out[int(trials.trial_id[i])] = "left"
        elif trials.choice[i] == -1 and signed[i] > 0 and trials.feedback_type[i] == 1:
            out[int(trials.trial_id[i])] = "right"
        else:
            out[int(trials.trial_id[i])] = "incorrect"
    return out


@schema
class Psth(Computed):
    definition = """
    # peri-stimulus time histogram of a cluster per condition (mean and s.e.m. across trials)
    -> ephys.DefaultCluster
    -> ephys.Event
    ---
    psth_time:              blob          # bin centres (s from the event)
    psth_left:              blob          # correct left trials (spikes/s)
    psth_left_sem:          blob
    psth_right:             blob          # correct right trials
    psth_right_sem:         blob
    psth_incorrect:         blob
    psth_incorrect_sem:     blob
    psth_all:               blob
    psth_all_sem:           blob
    n_trials:               blob          # trials per condition: left, right, incorrect, all
    """

    @classproperty
    def key_source(cls) -> Any:
        return ephys.ProbeInsertion.proj() * ephys.Event.proj() & ephys.AlignedSpikes

    def make(self, key: dict[str, Any]) -> None:
        probe = {k: v for k, v in key.items() if k != "event"}
        session = _session(key)
        ids, times = ephys.event_times(session, key["event"])
        cond = psth_conditions(session)
        keep = np.array([i in cond for i in ids], dtype=bool)
        ids, times = ids[keep], times[keep]
        labels = np.array([cond[i] for i in ids])
        centers = np.arange(-PSTH_WINDOW, PSTH_WINDOW, PSTH_BIN) + PSTH_BIN / 2
        rows = []
        for cid, st in zip(*(ephys.DefaultCluster & probe).fetch("cluster_id", "cluster_spikes_times")):
            rates = peth(np.asarray(st), times, PSTH_WINDOW, PSTH_WINDOW, PSTH_BIN)[:, :centers.size] / PSTH_BIN
            if rates.size:
                rates = gaussian_filter1d(rates, PSTH_SIGMA / PSTH_BIN, axis=1, mode="nearest")
            row = dict(probe, cluster_id=int(cid), event=key["event"], psth_time=centers)
            counts = []
            for name, mask in (("left", labels == "left"), ("right", labels == "right"),
                               ("incorrect", labels == "incorrect"), ("all", np.ones(labels.size, bool))):
                sel = rates[mask]
                counts.append(int(mask.sum()))
                row[f"psth_{name}"] = sel.mean(axis=0) if sel.shape[0] else np.zeros(centers.size)
                row[f"psth_{name}_sem"] = (sel.std(axis=0, ddof=1) / np.sqrt(sel.shape[0]) if sel.shape[0] > 1
                                           else np.zeros(centers.size))
            row["n_trials"] = np.array(counts)
            rows.append(row)
        self.insert(rows)


def autocorrelogram(spike_times: np.ndarray, window: float = ACG_WINDOW, bin_size: float = ACG_BIN) -> np.ndarray:
    """Counts of spike-time differences in ``[-window, window]`` (symmetric, self-pairs excluded)."""
    t = np.sort(np.asarray(spike_times, dtype=float))
    n_half = round(window / bin_size)
    edges = np.arange(0, n_half + 1) * bin_size
    counts = np.zeros(n_half)
    k = 1
    while k < t.size:
        d = t[k:] - t[:-k]
        d = d[d < window]
        if d.size == 0:
            break
        counts += np.histogram(d, edges)[0]
        k += 1
    return np.concatenate([counts[::-1], counts])


@schema
class AutoCorrelogram(Computed):
    definition = """
    -> ephys.DefaultCluster
    ---
    acg:                    blob          # counts per 0.2 ms bin over [-20, 20] ms
    t_start:                float         # (s) left edge of the first bin
    t_end:                  float         # (s) right edge of the last bin
    bin_size:               float         # (s)
    """

    @classproperty
    def key_source(cls) -> Any:
        return ephys.ProbeInsertion & ephys.DefaultCluster

    def make(self, key: dict[str, Any]) -> None:
        rows = []
        for cid, st in zip(*(ephys.DefaultCluster & key).fetch("cluster_id", "cluster_spikes_times")):
            rows.append(dict(key, cluster_id=int(cid), acg=autocorrelogram(st), t_start=-ACG_WINDOW,
                             t_end=ACG_WINDOW, bin_size=ACG_BIN))
        self.insert(rows)
