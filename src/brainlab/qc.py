"""``qc``: quality-control labels of sessions and probe insertions.

Tables follow IBL's ``ibl_qc`` (reference ``ibl-system.md`` §2.12). The LIMS ``qc`` integer and
``extended_qc`` dict of a session become ``SessionQC`` and ``SessionExtendedQC`` (with one
``Field`` row per value); a probe insertion's ``json.qc`` / ``json.extended_qc`` become
``ProbeInsertionQC`` and ``ProbeInsertionExtendedQC``.
"""

from __future__ import annotations

from . import acquisition, ephys  # noqa: F401 (named in the definitions)
from .schemas import Lookup, Manual, Part, schema_for

schema = schema_for("brainlab.qc")


@schema
class QCChoice(Lookup):
    definition = """
    qc:                     tinyint unsigned
    ---
    qc_label:               varchar(32)
    """
    contents = [(0, "NOT_SET"), (10, "PASS"), (30, "WARNING"), (40, "FAIL"), (50, "CRITICAL")]


@schema
class QCLevel(Lookup):
    definition = """
    qc_level:               varchar(32)
    """
    contents = [("session",), ("probe_insertion",)]


@schema
class QCType(Lookup):
    definition = """
    qc_type:                varchar(32)
    ---
    -> QCLevel
    qc_type_description='': varchar(1000)
    """
    contents = [
        ("experimenter", "session", "Manual labeling of a session by user"),
        ("task", "session", "Quality check when running the task"),
        ("behavior", "session", "Behavior criteria that need to be passed for the Brainwide map"),
        ("videoBody", "session", "Quality check for video recording of body camera"),
        ("videoLeft", "session", "Quality check for video recording of left camera"),
        ("videoRight", "session", "Quality check for video recording of right camera"),
        ("dlc", "session", "Quality check for DLC"),
        ("tracing_exists", "probe_insertion", "Histology tracing"),
        ("alignment_resolved", "probe_insertion", "Alignment between histology and ephys"),
    ]


@schema
class SessionQC(Manual):
    definition = """
    -> acquisition.Session
    ---
    -> QCChoice.proj(session_qc='qc')
    sessionqc_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class SessionExtendedQC(Manual):
    definition = """
    -> acquisition.Session
    -> QCType
    ---
    -> QCChoice.proj(session_extended_qc='qc')
    session_extended_qc_ts=CURRENT_TIMESTAMP:  timestamp
    """

    class Field(Part):
        definition = """
        -> master
        session_qc_fname:   varchar(32)
        ---
        session_qc_fvalue_bool=null:   bool
        session_qc_fvalue_float=null:  float
        session_qc_fvalue_str=null:    varchar(32)
        session_qc_fvalue_blob=null:   blob
        """


@schema
class ProbeInsertionQC(Manual):
    definition = """
    -> ephys.ProbeInsertion
    ---
    -> QCChoice.proj(insertion_qc='qc')
    probeinsertionqc_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class ProbeInsertionExtendedQC(Manual):
    definition = """
    -> ephys.ProbeInsertion
    -> QCType
    ---
    -> QCChoice.proj(insertion_extended_qc='qc')
    insertion_extended_qc_ts=CURRENT_TIMESTAMP:  timestamp
    """

    class Field(Part):
        definition = """
        -> master
        insertion_qc_fname:  varchar(32)
        ---
        insertion_qc_fvalue_bool=null:   bool
        insertion_qc_fvalue_float=null:  float
        insertion_qc_fvalue_str=null:    varchar(32)
        insertion_qc_fvalue_blob=null:   blob
        """
