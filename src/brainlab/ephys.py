"""``ephys``: probe insertions, clusters with their spikes and metrics, and aligned spikes.

Tables follow IBL's ``ibl_ephys`` (reference ``ibl-system.md`` §2.9, files of §3.4) with one
change made for size: IBL's ``AlignedTrialSpikes`` had one row per cluster x trial x event
(~10^5 rows per probe); brainlab's ``AlignedSpikes`` has one row per cluster x event, holding the
spikes of all trials (trial id and time from the event per spike), and
:func:`aligned_trial_spikes` splits it into IBL's per-trial arrays. Per-cluster spike arrays
are blobs (IBL put them in an S3 store; declare a store and change ``longblob`` to
``blob@store`` to do the same).

Every per-cluster table is populated one probe (or probe x event) at a time: one ``make``
inserts all the probe's clusters.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from labjoin import errors

from . import acquisition, alf, behavior  # noqa: F401 (acquisition: named in the definitions)
from .schemas import Computed, Imported, Lookup, Manual, Part, classproperty, schema_for

schema = schema_for("brainlab.ephys")

REQUIRED_CLUSTERS = [
    "clusters.amps.npy", "clusters.channels.npy", "clusters.depths.npy", "clusters.metrics.pqt",
    "clusters.peakToTrough.npy", "clusters.uuids.csv", "clusters.waveforms.npy",
    "clusters.waveformsChannels.npy", "spikes.amps.npy", "spikes.clusters.npy", "spikes.depths.npy",
    "spikes.samples.npy", "spikes.templates.npy", "spikes.times.npy"]
METRIC_SKIP = {"cluster_id", "label", "ks2_label"}


@schema
class ProbeModel(Lookup):
    definition = """
    probe_name:             varchar(128)
    ---
    probe_uuid:             uuid
    probe_model:            varchar(32)   # 3A, 3B, 3B2
    probe_manufacturer:     varchar(32)
    probe_description=null: varchar(2048)
    probe_model_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class EphysMissingDataLog(Manual):
    definition = """
    # datasets CompleteClusterSession found missing; retried only when new files arrive
    -> acquisition.Session
    missing_data:           varchar(255)  # collection/dataset_name
    ---
    n_file_records:         int
    log_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class CompleteClusterSession(Computed):
    definition = """
    # ephys sessions with every required cluster and spike dataset, for each probe
    -> acquisition.Session
    ---
    complete_cluster_session_ts=CURRENT_TIMESTAMP:  timestamp
    """

    @classproperty
    def key_source(cls) -> Any:
        return (behavior.sessions_with_files("spikes.times%") & 'task_protocol LIKE "%ephys%"') - EphysMissingDataLog

    def make(self, key: dict[str, Any]) -> None:
        have = alf.dataset_names(key)
        probes = sorted({name.rsplit("/", 1)[0] for name in have if name.endswith("/spikes.times.npy")})
        missing = [f"{p}/{r}" for p in probes for r in REQUIRED_CLUSTERS if f"{p}/{r}" not in have]
        if missing:
            EphysMissingDataLog.insert([dict(key, missing_data=m, n_file_records=len(have)) for m in missing],
                                       skip_duplicates=True)
            return
        self.insert1(key)


@schema
class ProblematicDataSet(Manual):
    definition = """
    # sessions excluded by hand
    -> acquisition.Session
    ---
    problem_description="":  varchar(255)
    """


@schema
class ProbeInsertion(Imported):
    definition = """
    -> acquisition.Session
    probe_idx:              int           # 0 for probe00, 1 for probe01
    ---
    probe_label=null:       varchar(255)  # probe00, probe01
    probe_insertion_uuid:   uuid
    -> [nullable] ProbeModel
    probe_insertion_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class ProbeInsertionMissingDataLog(Manual):
    definition = """
    -> ProbeInsertion
    missing_data:           varchar(255)
    ---
    error_message:          varchar(255)
    """


def probe_collection(key: dict[str, Any]) -> str:
    """``alf/<probe_label>``: the ALF collection of a probe insertion."""
    return "alf/" + (ProbeInsertion & key).fetch1("probe_label")


@schema
class ChannelGroup(Imported):
    definition = """
    -> ProbeInsertion
    ---
    channel_raw_inds:          blob      # raw indices of the channels
    channel_local_coordinates: blob      # (n, 2) x, y in um on the probe
    """

    @classproperty
    def key_source(cls) -> Any:
        return ProbeInsertion & CompleteClusterSession

    def make(self, key: dict[str, Any]) -> None:
        ch = alf.load_object(key, probe_collection(key), "channels")
        self.insert1(dict(key, channel_raw_inds=np.asarray(ch["rawInd"]),
                          channel_local_coordinates=np.asarray(ch["localCoordinates"])))


@schema
class ClusteringMethod(Lookup):
    definition = """
    clustering_method:      varchar(32)
    """
    contents = [("ks2",)]


@schema
class DefaultCluster(Imported):
    definition = """
    -> ProbeInsertion
    cluster_id:             int
    ---
    cluster_uuid:           uuid
    cluster_channel:        int           # peak channel
    cluster_amp:            float         # (V)
    cluster_depth:          float         # um from the probe tip
    cluster_waveforms:      longblob      # (82, 32) template on 32 channels
    cluster_waveforms_channels:  blob     # the 32 channels of the waveform
    cluster_peak_to_trough: float         # (ms)
    cluster_spikes_times:   longblob      # (s)
    cluster_spikes_depths:  longblob      # (um)
    cluster_spikes_amps:    longblob      # (V)
    cluster_spikes_templates:  longblob
    cluster_spikes_samples: longblob
    """

    @classproperty
    def key_source(cls) -> Any:
        return ProbeInsertion & CompleteClusterSession

    class Metrics(Part):
        definition = """
        -> master
        ---
        num_spikes:         int
        firing_rate:        float         # num_spikes / last spike time of the probe (Hz)
        metrics:            longblob      # every metric of clusters.metrics.pqt, as a dict
        """

    class Metric(Part):
        definition = """
        -> master
        metric_name:        varchar(64)
        ---
        metric_value:       float
        """

    class Ks2Label(Part):
        definition = """
        -> master
        ---
        ks2_label:          enum('good', 'mua')
        """

    def make(self, key: dict[str, Any]) -> None:
        folder = alf.session_folder(key)
        coll = probe_collection(key)
        spikes = alf.load_object(key, coll, "spikes", folder=folder)
        clusters = alf.load_object(key, coll, "clusters", folder=folder)
        metrics = pd.read_parquet(folder / coll / "clusters.metrics.pqt")
        uuids = pd.read_csv(folder / coll / "clusters.uuids.csv")["uuids"].tolist()
        order = np.argsort(spikes["clusters"], kind="stable")
        sorted_clusters = spikes["clusters"][order]
        bounds = np.searchsorted(sorted_clusters, np.arange(len(uuids) + 1))
        last_spike = float(spikes["times"][-1]) if spikes["times"].size else 1.0
        rows, metric_rows, metric_items, labels = [], [], [], []
        for i, uid in enumerate(uuids):
            sel = order[bounds[i]:bounds[i + 1]]
            ck = dict(key, cluster_id=i)
            rows.append(dict(
                ck, cluster_uuid=uid, cluster_channel=int(clusters["channels"][i]),
                cluster_amp=float(clusters["amps"][i]), cluster_depth=float(clusters["depths"][i]),
                cluster_waveforms=np.asarray(clusters["waveforms"][i]),
                cluster_waveforms_channels=np.asarray(clusters["waveformsChannels"][i]),
                cluster_peak_to_trough=float(clusters["peakToTrough"][i]),
                cluster_spikes_times=spikes["times"][sel], cluster_spikes_depths=spikes["depths"][sel],
                cluster_spikes_amps=spikes["amps"][sel], cluster_spikes_templates=spikes["templates"][sel],
                cluster_spikes_samples=spikes["samples"][sel]))
            m = metrics.iloc[i].to_dict()
            values = {k: (float(v) if isinstance(v, (int, float, np.number)) else v) for k, v in m.items()}
            metric_rows.append(dict(ck, num_spikes=int(sel.size), firing_rate=sel.size / last_spike,
                                    metrics=values))
            metric_items += [dict(ck, metric_name=k, metric_value=float(v)) for k, v in values.items()
                             if k not in METRIC_SKIP and isinstance(v, float) and np.isfinite(v)]
            if m.get("ks2_label") in ("good", "mua"):
                labels.append(dict(ck, ks2_label=m["ks2_label"]))
        self.insert(rows)
        self.Metrics.insert(metric_rows)
        self.Metric.insert(metric_items)
        self.Ks2Label.insert(labels)


@schema
class GoodClusterCriterion(Lookup):
    definition = """
    criterion_id:           int
    ---
    criterion_description:  varchar(255)
    """
    contents = [(1, "firing rate greater than 0.2")]


@schema
class GoodCluster(Computed):
    definition = """
    -> DefaultCluster
    -> GoodClusterCriterion
    ---
    is_good:                bool
    """

    @classproperty
    def key_source(cls) -> Any:
        return ProbeInsertion.proj() * GoodClusterCriterion.proj() & DefaultCluster

    def make(self, key: dict[str, Any]) -> None:
        probe = {k: v for k, v in key.items() if k != "criterion_id"}
        ids, rates = (DefaultCluster.Metrics & probe).fetch("cluster_id", "firing_rate")
        if key["criterion_id"] != 1:
            raise errors.DataError(f"GoodClusterCriterion {key['criterion_id']} has no implementation.")
        self.insert(dict(probe, cluster_id=int(c), criterion_id=1, is_good=bool(r > 0.2))
                    for c, r in zip(ids, rates))


@schema
class Event(Lookup):
    definition = """
    event:                  varchar(32)
    """
    contents = [("go cue",), ("stim on",), ("response",), ("feedback",), ("movement",)]


#: Events AlignedSpikes, PSTHs and rasters are computed for.
ALIGN_EVENTS = ("stim on", "movement", "feedback")


def event_times(session_key: dict[str, Any], event: str) -> tuple[np.ndarray, np.ndarray]:
    """(trial_id, event time) of the trials where the event exists (s, session clock)."""
    from .group_shared import wheel

    trials = behavior.TrialSet.Trial & session_key
    if event == "movement":
        ids, times = (wheel.MovementTimes & session_key).fetch("trial_id", "movement_onset", order_by="trial_id")
    else:
        attr = {"go cue": "trial_go_cue_time", "stim on": "trial_stim_on_time", "response": "trial_response_time",
                "feedback": "trial_feedback_time"}[event]
        ids, times = trials.fetch("trial_id", attr, order_by="trial_id")
    times = np.array([np.nan if t is None else t for t in times], dtype=float)
    ok = np.isfinite(times)
    return np.asarray(ids, dtype=int)[ok], times[ok]


@schema
class AlignedSpikes(Computed):
    definition = """
    # spikes of a cluster in every trial window, relative to an event
    -> DefaultCluster
    -> Event
    ---
    trial_ids:              blob          # trials with the event, ascending
    spike_trial_ids:        longblob      # per spike: its trial
    spike_times:            longblob      # per spike: time from the event (s)
    """

    @classproperty
    def key_source(cls) -> Any:
        from .group_shared import wheel

        base = ProbeInsertion.proj() & DefaultCluster & behavior.TrialSet
        events = Event & [{"event": e} for e in ALIGN_EVENTS]
        no_movement = (base - wheel.MovementTimes) * (Event & {"event": "movement"})
        return base * events - no_movement

    def make(self, key: dict[str, Any]) -> None:
        probe = {k: v for k, v in key.items() if k != "event"}
        session = {k: probe[k] for k in ("subject_uuid", "session_start_time")}
        ids, ev = event_times(session, key["event"])
        tid, t0, t1 = (behavior.TrialSet.Trial & session).fetch(
            "trial_id", "trial_start_time", "trial_end_time", order_by="trial_id")
        lookup = dict(zip(tid, zip(t0, t1)))
        windows = np.array([lookup[i] for i in ids]).reshape(-1, 2)
        clusters, spike_times = (DefaultCluster & probe).fetch("cluster_id", "cluster_spikes_times")
        rows = []
        for cid, st in zip(clusters, spike_times):
            trial_of, rel = align_spikes(st, windows, ev)
            rows.append(dict(probe, cluster_id=int(cid), event=key["event"], trial_ids=ids,
                             spike_trial_ids=ids[trial_of] if trial_of.size else np.empty(0, int),
                             spike_times=rel))
        self.insert(rows)


def align_spikes(spike_times: np.ndarray, windows: np.ndarray, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Assign spikes to trial windows ``[start, end]`` and subtract each trial's event time.

    Returns the index (into ``windows``) of each kept spike and its time from the event. The
    windows are merged into one sorted vector and ``searchsorted`` finds each spike's trial
    (reference §4.5).
    """
    st = np.asarray(spike_times, dtype=float)
    if windows.size == 0 or st.size == 0:
        return np.empty(0, int), np.empty(0)
    edges = windows.ravel()
    pos = np.searchsorted(edges, st, side="right")
    inside = (pos % 2 == 1) | np.isin(st, windows[:, 1])
    trial = np.where(pos % 2 == 1, pos // 2, pos // 2 - 1)
    keep = inside & (trial >= 0) & (trial < len(windows))
    trial = trial[keep]
    return trial, st[keep] - events[trial]


def aligned_trial_spikes(key: dict[str, Any]) -> dict[int, np.ndarray]:
    """IBL's AlignedTrialSpikes for one cluster and event: {trial_id: spike times from the event}."""
    trial_ids, spike_trials, spike_times = (AlignedSpikes & key).fetch1(
        "trial_ids", "spike_trial_ids", "spike_times")
    return {int(t): spike_times[spike_trials == t] for t in trial_ids}
