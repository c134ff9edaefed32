"""Which stored figure is where: the contract between brainlab and the navigator.

Each :class:`FigureSpec` names a page, the table and attribute holding the plotly JSON, and the
key that selects one figure. The navigator reads this module (it never imports brainlab's
tables to compute anything): fetch ``attribute`` from ``full_table_name(prefix)`` restricted by
the page's key and hand the dict to plotly.js. Nothing here imports ``labjoin.navigator``.

Pages and their keys:

* ``session`` - ``subject_uuid``, ``session_start_time``
* ``date`` - ``subject_uuid``, ``session_date`` (the mouse page's "most recent results")
* ``mouse`` - ``subject_uuid`` (cumulative figures: restrict the master by ``latest_date`` from
  ``SubjectLatestDate``, or take the latest row)
* ``summary`` - ``lab_name`` (the daily summary's thumbnails are the mouse page's figures)
* ``probe`` - ``subject_uuid``, ``session_start_time``, ``probe_idx``
* ``cluster`` - the probe key plus ``cluster_id`` (and ``event`` for per-event figures)
"""

from __future__ import annotations

from dataclasses import dataclass

from labjoin import errors

from ..schemas import schema_name

__all__ = ["FIGURES", "PAGES", "FigureSpec", "figures_for"]

PAGES = {
    "session": ("subject_uuid", "session_start_time"),
    "date": ("subject_uuid", "session_date"),
    "mouse": ("subject_uuid",),
    "summary": ("lab_name",),
    "probe": ("subject_uuid", "session_start_time", "probe_idx"),
    "cluster": ("subject_uuid", "session_start_time", "probe_idx", "cluster_id"),
}


@dataclass(frozen=True)
class FigureSpec:
    """One stored figure.

    Attributes
    ----------
    name : str
        Stable identifier (used in URLs), e.g. ``session_psych_curve``.
    page : str
        A key of :data:`PAGES`.
    module : str
        brainlab schema suffix (``plotting_behavior`` or ``plotting_ephys``).
    table : str
        Class name (``SessionPsychCurve``; ``CumulativeSummary.WaterWeight`` for a part).
    table_name : str
        The table's name in the database (tier prefix, snake case, ``master__part``).
    attribute : str
        The JSON column (``plotting_data``).
    title : str
        Caption for the page.
    extra_key : tuple of str
        Key attributes beyond the page's, that pick one of several figures (e.g. ``event``).
    internal : bool
        Hidden in the navigator's public mode (water and weight).
    """

    name: str
    page: str
    module: str
    table: str
    table_name: str
    attribute: str
    title: str
    extra_key: tuple[str, ...] = ()
    internal: bool = False

    def schema_name(self, prefix: str | None = None) -> str:
        """The schema's name under ``prefix`` (default: the active or configured prefix)."""
        return schema_name(self.module, prefix)

    def full_table_name(self, prefix: str | None = None) -> str:
        """```schema`.`table``` under ``prefix``."""
        return f"`{self.schema_name(prefix)}`.`{self.table_name}`"


def _spec(name: str, page: str, module: str, table: str, title: str, *, extra: tuple[str, ...] = (),
          internal: bool = False, attribute: str = "plotting_data") -> FigureSpec:
    return FigureSpec(name, page, module, table, _db_name(table), attribute, title, extra, internal)


def _db_name(table: str) -> str:
    # DataJoint's naming: tier prefix + snake_case, parts as master__part (computed tables: "__").
    import re

    def snake(s: str) -> str:
        return re.sub(r"(?<!^)(?=[A-Z])", "_", s).lower()

    master, _, part = table.partition(".")
    prefix = "#" if master in _LOOKUPS else ("" if master in _MANUAL else "__")
    name = prefix + snake(master)
    return f"{name}__{snake(part)}" if part else name


_LOOKUPS = {"SubjectLatestDate"}
_MANUAL = {"LatestDate"}

FIGURES: tuple[FigureSpec, ...] = (
    _spec("session_psych_curve", "session", "plotting_behavior", "SessionPsychCurve",
          "Psychometric curve by block"),
    _spec("session_rt_contrast", "session", "plotting_behavior", "SessionReactionTimeContrast",
          "Reaction time by contrast"),
    _spec("session_rt_trial", "session", "plotting_behavior", "SessionReactionTimeTrialNumber",
          "Reaction time by trial number"),
    _spec("date_psych_curve", "date", "plotting_behavior", "DatePsychCurve", "Psychometric curve (day)"),
    _spec("date_rt_contrast", "date", "plotting_behavior", "DateReactionTimeContrast", "Reaction time by contrast (day)"),
    _spec("date_rt_trial", "date", "plotting_behavior", "DateReactionTimeTrialNumber",
          "Reaction time by trial number (day)"),
    _spec("water_weight", "mouse", "plotting_behavior", "CumulativeSummary.WaterWeight", "Water intake and weight",
          extra=("latest_date",), internal=True),
    _spec("trial_counts_duration", "mouse", "plotting_behavior", "CumulativeSummary.TrialCountsSessionDuration",
          "Trial counts and session duration", extra=("latest_date",)),
    _spec("performance_rt", "mouse", "plotting_behavior", "CumulativeSummary.PerformanceReactionTime",
          "Performance and reaction time", extra=("latest_date",)),
    _spec("contrast_heatmap", "mouse", "plotting_behavior", "CumulativeSummary.ContrastHeatmap",
          "Contrast heatmap", extra=("latest_date",)),
    _spec("fit_pars", "mouse", "plotting_behavior", "CumulativeSummary.FitPars", "Fit parameters",
          extra=("latest_date",)),
    _spec("driftmap", "probe", "plotting_ephys", "DepthRaster", "Driftmap"),
    _spec("depth_peth", "probe", "plotting_ephys", "DepthPeth", "Depth PETH", extra=("event", "trial_type")),
    _spec("raster", "cluster", "plotting_ephys", "Raster", "Raster by contrast", extra=("event",)),
    _spec("psth", "cluster", "plotting_ephys", "Psth", "PSTH", extra=("event",)),
    _spec("spike_amp_time", "cluster", "plotting_ephys", "SpikeAmpTime", "Spike amplitude over time"),
    _spec("autocorrelogram", "cluster", "plotting_ephys", "AutoCorrelogram", "Autocorrelogram"),
    _spec("waveform", "cluster", "plotting_ephys", "Waveform", "Waveform"),
)


def figures_for(page: str, public: bool = False) -> list[FigureSpec]:
    """The figures of a page, in display order (``public`` drops internal ones)."""
    if page not in PAGES:
        raise errors.UnknownAttributeError(f"Unknown page {page!r}; pages are {', '.join(PAGES)}.")
    return [f for f in FIGURES if f.page == page and not (public and f.internal)]
