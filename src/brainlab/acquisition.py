"""``acquisition``: sessions and their users, procedures and projects.

Tables, keys and attributes follow IBL's ``ibl_acquisition`` (reference ``ibl-system.md``
§2.4). ``Session`` is keyed by ``(subject_uuid, session_start_time)``; ``session_uuid`` is the
LIMS pk (the ONE "eid"). Ingestion keeps a session's key when the LIMS later moves its start time
(reference §3.2 step 1), so ``session_uuid`` is the stable identity.
"""

from __future__ import annotations

from . import action, reference, subject  # noqa: F401 (named in the definitions)
from .schemas import Manual, schema_for

schema = schema_for("brainlab.acquisition")


@schema
class Session(Manual):
    definition = """
    -> subject.Subject
    session_start_time:     datetime      # start time
    ---
    session_uuid:           uuid
    session_number=null:    int           # number
    session_end_time=null:  datetime      # end time
    -> [nullable] reference.LabLocation.proj(session_lab='lab_name', session_location='location_name')
    task_protocol=null:     varchar(255)
    session_type=null:      varchar(255)  # type
    session_narrative=null: varchar(2048)
    session_ts=CURRENT_TIMESTAMP:  timestamp
    unique index (session_uuid)
    """


@schema
class ChildSession(Manual):
    definition = """
    -> Session
    ---
    -> Session.proj(parent_session_start_time='session_start_time')
    childsession_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class SessionUser(Manual):
    definition = """
    -> Session
    -> reference.LabMember
    ---
    sessionuser_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class SessionProcedure(Manual):
    definition = """
    -> Session
    -> action.ProcedureType
    ---
    sessionprocedure_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class SessionProject(Manual):
    definition = """
    -> Session
    ---
    -> reference.Project.proj(session_project='project_name')
    sessionproject_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class WaterAdministrationSession(Manual):
    definition = """
    -> action.WaterAdministration
    ---
    -> Session
    wateradministrationsession_ts=CURRENT_TIMESTAMP:  timestamp
    """
