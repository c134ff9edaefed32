"""``public``: what a public copy of the database contains (reference ``ibl-system.md`` §2.14, §7).

``PublicSubject`` lists (lab, nickname, date range) to publish; ``PublicSubjectUuid`` resolves it
to subjects; ``PublicSession`` and ``PublicProbeInsertion`` list the published sessions and
probes; ``UserMap`` gives each user a pseudonym. The navigator's public mode shows only these.
"""

from __future__ import annotations

from typing import Any

from . import acquisition, ephys, reference, subject  # noqa: F401 (named in the definitions)
from .schemas import Computed, Lookup, Manual, schema_for

schema = schema_for("brainlab.public")


@schema
class UserMap(Lookup):
    definition = """
    -> reference.LabMember
    ---
    pseudo_name:            varchar(64)
    """


@schema
class PublicSubject(Manual):
    definition = """
    lab_name:               varchar(64)
    subject_nickname:       varchar(64)
    ---
    session_start_date:     date
    session_end_date:       date
    """


@schema
class PublicSubjectUuid(Computed):
    definition = """
    -> PublicSubject
    ---
    -> subject.Subject
    """

    def make(self, key: dict[str, Any]) -> None:
        found = (subject.Subject * subject.SubjectLab & key).fetch("subject_uuid")
        if len(found) == 1:
            self.insert1(dict(key, subject_uuid=found[0]))


@schema
class PublicSession(Manual):
    definition = """
    -> acquisition.Session
    """


@schema
class PublicProbeInsertion(Manual):
    definition = """
    -> ephys.ProbeInsertion
    """
