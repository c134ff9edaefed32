"""Deterministic identities: UUIDs, random generators, names, ALF paths and timestamps.

Every UUID and every random stream is derived from the run's seed plus a name (for example
``("session", subject_uuid, "2024-01-09", 1)``) through SHA-256. Nothing depends on the order in
which mice are simulated or on the process that simulates them, so a run split over several
workers writes the same bytes as a run in one process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from pathlib import PurePosixPath

import numpy as np
from one.alf import spec as alf_spec

__all__ = [
    "LAB_NAMES",
    "alf_name",
    "iso_date",
    "iso_datetime",
    "rng_for",
    "session_rel_path",
    "stable_uuid",
]

#: Lab names (ALF ``lab`` parts match ``\w+``) and the nickname prefix of each lab's mice.
LAB_NAMES: tuple[tuple[str, str, str, str], ...] = (
    ("larkinlab", "LRK", "Northfield Institute of Neuroscience", "Europe/London"),
    ("okaforlab", "OKF", "Lakeside University", "America/New_York"),
    ("mendezlab", "MDZ", "Centro de Neurociencia del Sur", "Europe/Lisbon"),
    ("tanakalab", "TNK", "Eastbay Brain Center", "America/Los_Angeles"),
    ("novaklab", "NVK", "Vltava Neuro Institute", "Europe/Prague"),
    ("haddadlab", "HDD", "Harbour Institute for Brain Research", "Europe/Paris"),
    ("lindqvistlab", "LQV", "Nordic Systems Neuroscience", "Europe/Stockholm"),
    ("abiodunlab", "ABD", "Coastal College of Neurobiology", "America/Chicago"),
)

#: First and last names of simulated lab members, cycled per lab.
PEOPLE: tuple[tuple[str, str], ...] = (
    ("Ada", "Larkin"), ("Ben", "Osei"), ("Chloe", "Varga"),
    ("Dayo", "Okafor"), ("Emil", "Strand"), ("Farah", "Khan"),
    ("Gabriel", "Mendez"), ("Hana", "Sato"), ("Ivo", "Petrov"),
    ("Jun", "Tanaka"), ("Kira", "Wolf"), ("Luis", "Ortega"),
    ("Mira", "Novak"), ("Nils", "Berg"), ("Olga", "Ivanova"),
    ("Paul", "Haddad"), ("Qiu", "Lin"), ("Rosa", "Ferreira"),
    ("Sven", "Lindqvist"), ("Tess", "Moreau"), ("Umar", "Bello"),
    ("Vera", "Abiodun"), ("Wes", "Carter"), ("Xin", "Zhou"),
)


def _digest(seed: int, parts: tuple[object, ...]) -> bytes:
    text = "\x1f".join([str(seed), *map(str, parts)])
    return hashlib.sha256(text.encode("utf-8")).digest()


def stable_uuid(seed: int, *parts: object) -> str:
    """Return a version-4-shaped UUID string derived from ``seed`` and ``parts``.

    Parameters
    ----------
    seed : int
        The run's seed.
    *parts : object
        Names that identify the entity, e.g. ``("subject", "LRK_001")``.

    Returns
    -------
    str
        The canonical lower-case UUID, as Alyx writes primary keys.

    Examples
    --------
    >>> stable_uuid(1, "lab", "larkinlab") == stable_uuid(1, "lab", "larkinlab")
    True
    """
    return str(uuid.UUID(bytes=_digest(seed, parts)[:16], version=4))


def rng_for(seed: int, *parts: object) -> np.random.Generator:
    """Return an independent NumPy generator for the stream named by ``parts``."""
    entropy = int.from_bytes(_digest(seed, ("rng", *parts))[:16], "little")
    return np.random.default_rng(np.random.SeedSequence(entropy))


def alf_name(
    obj: str,
    attribute: str,
    extension: str,
    namespace: str | None = None,
    timescale: str | tuple[str, ...] | None = None,
) -> str:
    """Build an ALF file name with one-api's :func:`one.alf.spec.to_alf`.

    Examples
    --------
    >>> alf_name("trials", "choice", "npy", namespace="ibl")
    '_ibl_trials.choice.npy'
    >>> alf_name("channels", "brainLocationIds", "npy", timescale=("ccf", "2017"))
    'channels.brainLocationIds_ccf_2017.npy'
    """
    return alf_spec.to_alf(obj, attribute, extension, namespace=namespace, timescale=timescale)


def session_rel_path(lab: str, nickname: str, date: dt.date, number: int) -> PurePosixPath:
    """Return ``<lab>/Subjects/<nickname>/<yyyy-mm-dd>/<nnn>``, the ONE session folder."""
    return PurePosixPath(lab, "Subjects", nickname, date.isoformat(), f"{number:03d}")


def iso_datetime(value: dt.datetime) -> str:
    """Format a naive lab-local datetime as Alyx dumps it (``YYYY-MM-DDTHH:MM:SS[.ffffff]``)."""
    return value.isoformat(timespec="microseconds" if value.microsecond else "seconds")


def iso_date(value: dt.date) -> str:
    """Format a date as ``YYYY-MM-DD``."""
    return value.isoformat()
