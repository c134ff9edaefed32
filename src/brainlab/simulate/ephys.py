"""Neuropixels recordings: trajectories, channels, clusters and spikes of one probe.

A probe (Neuropixels 1.0 geometry: 384 channels, 2 columns of staggered pairs every 20 um) is
inserted along a straight trajectory. Channels get ML/AP/DV coordinates (um from Bregma) on the
track and the brain region of the track segment they sit in. Clusters sit at channels inside
the brain. Each cluster fires a homogeneous Poisson baseline plus, for responsive clusters,
spikes locked to stimulus onset (contrast- and side-tuned), to the first wheel movement
(choice-tuned) and to reward. Single units lose spikes closer than 1.5 ms (refractoriness);
multi-unit clusters do not. Spike times are multiples of 1/30 kHz, so ``spikes.samples`` and
``spikes.times`` agree exactly. Metrics are measured on the spikes drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .identity import stable_uuid
from .regions import region_by_acronym, track_segments

__all__ = ["FS", "N_CHANNELS", "ProbeData", "channel_geometry", "generate_probe", "trajectory_point"]

FS = 30000.0
N_CHANNELS = 384
_WAVE_SAMPLES = 82
_WAVE_CHANNELS = 32
_STIM_REGIONS = {"VISp", "LP", "LGd", "SCs", "SCm"}
_MOVE_REGIONS = {"MOs", "MOp", "CP", "SCm", "PO"}
_DENSITY = {"fiber tracts": 0.15, "VL": 0.03, "void": 0.0}


def channel_geometry() -> tuple[np.ndarray, np.ndarray]:
    """Return ``rawInd`` and ``localCoordinates`` (x, y um; y from the tip) of a NP1.0 probe."""
    idx = np.arange(N_CHANNELS)
    x = np.array([43.0, 11.0, 59.0, 27.0])[idx % 4]
    y = 20.0 * (idx // 2) + 20.0
    return idx.astype(np.int64), np.column_stack([x, y])


def trajectory_point(traj: dict[str, float], distance_from_tip: np.ndarray) -> np.ndarray:
    """ML/AP/DV (um) of points ``distance_from_tip`` um up the probe from its tip."""
    theta, phi = np.deg2rad(traj["theta"]), np.deg2rad(traj["phi"])
    direction = np.array([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), -np.cos(theta)])
    entry = np.array([traj["x"], traj["y"], traj["z"]])
    tip = entry + traj["depth"] * direction
    return tip[None, :] - np.asarray(distance_from_tip, float)[:, None] * direction[None, :]


@dataclass
class ProbeData:
    """Everything written for one probe insertion.

    Attributes
    ----------
    label : str
        ``probe00`` or ``probe01`` (the ALF collection ``alf/<label>``).
    trajectories : dict
        Trajectory estimates keyed by provenance (10 planned, 30 micro-manipulator, 50 histology
        track, 70 ephys-aligned histology track): dicts with x, y, z, depth, theta, phi, roll.
        Channels and clusters are placed on the provenance-70 track (the ground truth).
    spikes, clusters, channels : dict
        ALF attribute -> array for ``spikes.*``, ``clusters.*`` and ``channels.*``.
    metrics : pandas.DataFrame
        ``clusters.metrics.pqt``, one row per cluster.
    cluster_uuids : list of str
        ``clusters.uuids.csv``.
    truth : list of dict
        Ground truth of each cluster (see docs/brainlab-simulator.md).
    """

    label: str
    trajectories: dict[int, dict[str, float]]
    spikes: dict[str, np.ndarray]
    clusters: dict[str, np.ndarray]
    channels: dict[str, np.ndarray]
    metrics: pd.DataFrame = field(repr=False)
    cluster_uuids: list[str] = field(repr=False)
    truth: list[dict[str, Any]] = field(repr=False)


def _trajectories(rng: np.random.Generator, template: int, hemisphere: int) -> dict[int, dict[str, float]]:
    ml_ap = {0: (2200.0, -3600.0), 1: (1200.0, 1800.0), 2: (2800.0, -2400.0)}[template]
    planned = {
        "x": hemisphere * (ml_ap[0] + float(rng.uniform(-200, 200))),
        "y": ml_ap[1] + float(rng.uniform(-300, 300)),
        "z": -float(rng.uniform(150, 500)),
        "depth": float(rng.uniform(3900.0, 4300.0)),
        "theta": 15.0,
        "phi": 180.0 if hemisphere < 0 else 0.0,
        "roll": 0.0,
    }
    out = {10: planned}
    for prov, jitter in ((30, 40.0), (50, 150.0), (70, 60.0)):
        base = planned if prov < 70 else out[50]
        est = {k: round(v + (float(rng.normal(0, jitter)) if k in "xyz" else 0.0), 2) for k, v in base.items()}
        est["depth"] = round(base["depth"] + float(rng.normal(0, jitter / 2)), 2)
        out[prov] = est
    out[10] = {k: round(v, 2) for k, v in planned.items()}
    return out


def _waveforms(
    amps: np.ndarray, ptt_ms: np.ndarray, peak_channels: np.ndarray, coords: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    t = (np.arange(_WAVE_SAMPLES) - 41) / FS * 1000.0  # ms, trough at sample 41
    start = np.clip(peak_channels - _WAVE_CHANNELS // 2, 0, N_CHANNELS - _WAVE_CHANNELS)
    chans = start[:, None] + np.arange(_WAVE_CHANNELS)[None, :]
    dist = np.linalg.norm(coords[chans] - coords[peak_channels][:, None, :], axis=2)
    shape = -np.exp(-((t[None, :] / 0.12) ** 2)) + 0.35 * np.exp(-(((t[None, :] - ptt_ms[:, None]) / 0.3) ** 2))
    waves = amps[:, None, None] * shape[:, :, None] * np.exp(-dist / 45.0)[:, None, :]
    return waves.astype(np.float32), chans.astype(np.int64)


def _event_spikes(rng: np.random.Generator, times: np.ndarray, expected: np.ndarray, latency: float, width: float) -> np.ndarray:
    ok = np.isfinite(times) & (expected > 0)
    counts = rng.poisson(expected[ok])
    centres = np.repeat(times[ok] + latency, counts)
    return centres + rng.normal(0.0, width, centres.size)


def generate_probe(
    rng: np.random.Generator,
    seed: int,
    insertion_uuid: str,
    label: str,
    trials: dict[str, np.ndarray],
    duration: float,
    n_clusters_range: tuple[int, int],
    template: int,
    hemisphere: int,
) -> ProbeData:
    """Draw one probe's trajectories, channels, clusters and spikes.

    Parameters
    ----------
    rng : numpy.random.Generator
        The probe's generator.
    seed : int
        The run's seed (for cluster uuids).
    insertion_uuid : str
        Alyx probe-insertion uuid.
    label : str
        ``probe00`` / ``probe01``.
    trials : dict
        The session's ALF trials arrays (times on the same clock as the spikes).
    duration : float
        Recording length (s); spikes fall in [0, duration).
    n_clusters_range : tuple of int
        Range of the number of clusters.
    template : int
        Index into :data:`~brainlab.simulate.regions.TRACK_TEMPLATES`.
    hemisphere : int
        -1 left, +1 right (stimuli on the other side are contralateral).
    """
    trajs = _trajectories(rng, template, hemisphere)
    traj = trajs[70]
    raw_ind, coords = channel_geometry()
    acronyms, lower_edges = track_segments(template, rng)
    along = traj["depth"] - coords[:, 1]  # um below the brain surface
    seg = np.searchsorted(lower_edges, along, side="right")
    ch_acr = np.array(["void" if a < 0 else acronyms[min(s, len(acronyms) - 1)] for a, s in zip(along, seg)])
    ch_ids = np.array([region_by_acronym(a).id for a in ch_acr], dtype=np.int64)
    ch_mlapdv = np.round(trajectory_point(traj, coords[:, 1]), 1)

    n = int(rng.integers(n_clusters_range[0], n_clusters_range[1] + 1))
    weights = np.array([_DENSITY.get(a, 1.0) for a in ch_acr])
    peak = np.sort(rng.choice(N_CHANNELS, size=n, replace=True, p=weights / weights.sum()))
    depths = np.clip(coords[peak, 1] + rng.normal(0, 6.0, n), 0.0, coords[-1, 1]).astype(np.float64)
    single = rng.random(n) < 0.45
    rate = np.clip(rng.lognormal(np.log(2.0), 0.9, n), 0.3, 40.0) * np.where(single, 1.0, 1.5)
    silent = rng.random(n) < 0.08
    rate[silent] = rng.uniform(0.03, 0.18, silent.sum())
    amp = np.clip(rng.lognormal(np.log(90e-6), 0.5, n), 30e-6, 500e-6)
    ptt = np.where(rng.random(n) < 0.25, rng.uniform(0.2, 0.4, n), rng.uniform(0.5, 0.9, n))

    signed = np.nan_to_num(trials["contrastRight"]) - np.nan_to_num(trials["contrastLeft"])
    side = np.sign(np.where(np.isnan(trials["contrastLeft"]), 1.0, -1.0))
    contra = side == -hemisphere
    stim_on, move = trials["stimOn_times"], trials["firstMovement_times"]
    choice, fb_t, fb = trials["choice"], trials["feedback_times"], trials["feedbackType"]

    all_times, all_clusters, truth = [], [], []
    for i in range(n):
        acr = str(ch_acr[peak[i]])
        stim_gain = float(rng.uniform(2, 8)) if rng.random() < (0.6 if acr in _STIM_REGIONS else 0.15) else 0.0
        move_gain = float(rng.uniform(2, 8)) if rng.random() < (0.5 if acr in _MOVE_REGIONS else 0.15) else 0.0
        reward_gain = float(rng.uniform(1, 5)) if rng.random() < 0.15 else 0.0
        pref_choice = int(rng.choice([-1, 1]))
        lat, width = float(rng.uniform(0.04, 0.09)), float(rng.uniform(0.02, 0.06))
        m_off, m_width = float(rng.uniform(-0.1, 0.1)), float(rng.uniform(0.05, 0.15))
        if silent[i]:
            stim_gain = move_gain = reward_gain = 0.0
        n_base = rng.poisson(rate[i] * duration)
        parts = [rng.uniform(0.0, duration, n_base)]
        parts.append(_event_spikes(rng, stim_on, stim_gain * np.sqrt(np.abs(signed)) * np.where(contra, 1.0, 0.3), lat, width))
        parts.append(_event_spikes(rng, move, move_gain * np.where(choice == pref_choice, 1.0, 0.4), m_off, m_width))
        parts.append(_event_spikes(rng, fb_t, reward_gain * (fb == 1), 0.1, 0.1))
        samples = np.unique(np.floor(np.concatenate(parts) * FS).astype(np.int64))
        samples = samples[(samples >= 0) & (samples < int(duration * FS))]
        if single[i] and samples.size > 1:
            keep = np.concatenate([[True], np.diff(samples) >= int(0.0015 * FS)])
            samples = samples[keep]
        all_times.append(samples)
        all_clusters.append(np.full(samples.size, i, np.int64))
        truth.append({
            "cluster_id": i, "region": acr, "region_id": int(ch_ids[peak[i]]), "depth_um": float(depths[i]),
            "channel": int(peak[i]), "baseline_rate_hz": float(rate[i]), "single_unit": bool(single[i]),
            "stim_gain": stim_gain, "stim_latency_s": lat, "stim_width_s": width,
            "preferred_stim_side": "right" if hemisphere < 0 else "left",
            "move_gain": move_gain, "move_offset_s": m_off, "move_width_s": m_width, "preferred_choice": pref_choice,
            "reward_gain": reward_gain, "amp_v": float(amp[i]), "peak_to_trough_ms": float(ptt[i]),
        })

    samples = np.concatenate(all_times)
    clusters = np.concatenate(all_clusters)
    order = np.argsort(samples, kind="stable")
    samples, clusters = samples[order], clusters[order]
    times = samples / FS
    drift = 5.0 * np.sin(2 * np.pi * times / max(duration, 1.0))
    spikes = {
        "times": times,
        "clusters": clusters,
        "amps": (amp[clusters] * rng.lognormal(0.0, 0.15, clusters.size)).astype(np.float32),
        "depths": (depths[clusters] + drift + rng.normal(0, 4.0, clusters.size)).astype(np.float32),
        "templates": clusters.copy(),
        "samples": samples,
    }
    metrics, ks2 = _metrics(spikes, n, duration, single, rng)
    for row, count in zip(truth, np.bincount(clusters, minlength=n)):
        row["n_spikes"] = int(count)
        row["ks2_label"] = ks2[row["cluster_id"]]
    waves, wave_chans = _waveforms(amp, ptt, peak, coords)
    cluster_uuids = [stable_uuid(seed, insertion_uuid, "cluster", i) for i in range(n)]
    return ProbeData(
        label=label,
        trajectories=trajs,
        spikes=spikes,
        clusters={
            "amps": amp.astype(np.float64),
            "channels": peak.astype(np.int64),
            "depths": depths,
            "peakToTrough": ptt,
            "waveforms": waves,
            "waveformsChannels": wave_chans,
            "brainLocationIds_ccf_2017": ch_ids[peak],
            "mlapdv": ch_mlapdv[peak],
        },
        channels={
            "rawInd": raw_ind,
            "localCoordinates": coords,
            "brainLocationIds_ccf_2017": ch_ids,
            "mlapdv": ch_mlapdv,
        },
        metrics=metrics,
        cluster_uuids=cluster_uuids,
        truth=truth,
    )


def _metrics(
    spikes: dict[str, np.ndarray], n: int, duration: float, single: np.ndarray, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[str]]:
    """Per-cluster quality metrics measured on the drawn spikes (``clusters.metrics.pqt``)."""
    rows = []
    labels = []
    bins = np.arange(0.0, duration + 60.0, 60.0)
    order = np.argsort(spikes["clusters"], kind="stable")
    # Noise cut-off is a property of the amplitude distribution's lower tail; draw it per cluster.
    noise_cutoffs = np.abs(rng.normal(np.where(single, 2.0, 8.0), 1.5))
    bounds = np.searchsorted(spikes["clusters"][order], np.arange(n + 1))
    for i in range(n):
        sel = order[bounds[i] : bounds[i + 1]]
        t = spikes["times"][sel]
        a = spikes["amps"][sel].astype(float)
        d = spikes["depths"][sel].astype(float)
        count = int(t.size)
        per_bin = np.histogram(t, bins)[0]
        isi_viol = int(np.sum(np.diff(t) < 0.0015)) if count > 1 else 0
        contamination = min(1.0, isi_viol * duration / (2 * 0.0015 * count**2)) if count > 1 else 1.0
        amp_median = float(np.median(a)) if count else 0.0
        noise_cutoff = float(noise_cutoffs[i])
        sliding_rp = float(contamination < 0.1 and count > 50)
        label = (sliding_rp + float(noise_cutoff < 5.0) + float(amp_median > 50e-6)) / 3.0
        ks2 = "good" if single[i] and count > 50 else "mua"
        labels.append(ks2)
        rows.append({
            "cluster_id": i,
            "amp_max": float(a.max()) if count else 0.0,
            "amp_min": float(a.min()) if count else 0.0,
            "amp_median": amp_median,
            "amp_std_dB": float(20 * np.log10(a.std() / a.mean())) if count > 1 else float("nan"),
            "contamination": contamination,
            "contamination_alt": contamination,
            "drift": float(np.ptp(d) / (duration / 3600.0)) if count > 1 else float("nan"),
            "missed_spikes_est": float(np.clip(0.3 * np.exp(-amp_median / 60e-6), 0.0, 0.5)),
            "noise_cutoff": noise_cutoff,
            "presence_ratio": float(np.mean(per_bin > 0)),
            "presence_ratio_std": float(per_bin.std() / per_bin.mean()) if count else float("nan"),
            "slidingRP_viol": sliding_rp,
            "spike_count": count,
            "firing_rate": count / duration,
            "label": label,
            "ks2_label": ks2,
        })
    return pd.DataFrame(rows), labels

