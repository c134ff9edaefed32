"""``action``: procedures, weighings, water restriction and administration, surgeries, culls.

Tables, keys and attributes follow IBL's ``ibl_action`` (reference ``ibl-system.md`` §2.3),
public and internal parts together.
"""

from __future__ import annotations

from . import reference, subject  # noqa: F401 (named in the definitions)
from .schemas import Lookup, Manual, Part, schema_for

schema = schema_for("brainlab.action")


@schema
class ProcedureType(Manual):
    definition = """
    procedure_type_name:    varchar(255)
    ---
    procedure_type_uuid:    uuid
    procedure_type_description=null:  varchar(1024)
    proceduretype_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Weighing(Manual):
    definition = """
    -> subject.Subject
    weighing_time:          datetime      # date time
    ---
    weigh_uuid:             uuid
    weight:                 float         # weight (g)
    -> [nullable] reference.LabMember.proj(weighing_user='user_name')
    weighing_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class WaterType(Lookup):
    definition = """
    watertype_name:         varchar(255)
    ---
    watertype_uuid:         uuid
    watertype_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class WaterAdministration(Manual):
    definition = """
    -> subject.Subject
    administration_time:    datetime      # date time
    ---
    wateradmin_uuid:        uuid
    water_administered=null:  float       # water administered (mL)
    adlib:                  boolean
    -> WaterType
    -> [nullable] reference.LabMember.proj(administration_user='user_name')
    wateradministration_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class WaterRestriction(Manual):
    definition = """
    -> subject.Subject
    restriction_start_time: datetime      # start time
    ---
    restriction_uuid:       uuid
    restriction_end_time=null:  datetime  # end time
    reference_weight=null:  float         # reference weight (g)
    restriction_narrative=null:  varchar(1024)
    -> [nullable] reference.LabLocation.proj(restriction_lab='lab_name', restriction_location='location_name')
    waterrestriction_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class WaterRestrictionUser(Manual):
    definition = """
    -> WaterRestriction
    -> reference.LabMember
    ---
    waterrestrictionuser_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class WaterRestrictionProcedure(Manual):
    definition = """
    -> WaterRestriction
    -> ProcedureType
    ---
    waterrestrictionprocedure_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Surgery(Manual):
    definition = """
    -> subject.Subject
    surgery_start_time:     datetime      # surgery start time
    ---
    surgery_uuid:           uuid
    surgery_end_time=null:  datetime      # surgery end time
    -> [nullable] reference.LabLocation.proj(surgery_lab='lab_name', surgery_location='location_name')
    surgery_outcome_type:   enum('None', 'a', 'n', 'r')  # outcome type
    surgery_narrative=null: varchar(2048) # narrative
    surgery_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class SurgeryUser(Manual):
    definition = """
    -> Surgery
    -> reference.LabMember
    ---
    surgeryuser_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class SurgeryProcedure(Manual):
    definition = """
    -> Surgery
    -> ProcedureType
    ---
    surgeryprocedure_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class VirusInjection(Manual):
    definition = """
    -> subject.Subject
    injection_time:         datetime      # injection time
    ---
    injection_volume=null:  float         # injection volume
    rate_of_injection=null: float         # rate of injection
    injection_type=null:    varchar(255)  # injection type
    virusinjection_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class OtherAction(Manual):
    definition = """
    -> subject.Subject
    other_action_start_time:  datetime
    ---
    other_action_uuid:      uuid
    other_action_end_time=null:  datetime
    -> [nullable] reference.LabLocation.proj(other_action_lab='lab_name', other_action_location='location_name')
    description=null:       varchar(1024)
    otheraction_ts=CURRENT_TIMESTAMP:  timestamp
    """

    class User(Part):
        definition = """
        -> master
        -> reference.LabMember
        """

    class Procedure(Part):
        definition = """
        -> master
        -> ProcedureType
        """


@schema
class CullMethod(Lookup):
    definition = """
    cull_method:            varchar(255)
    ---
    cull_method_uuid:       uuid
    cull_method_description='':  varchar(255)
    cull_method_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class CullReason(Lookup):
    definition = """
    cull_reason:            varchar(255)
    ---
    cull_reason_uuid:       uuid
    cull_reason_description='':  varchar(255)
    cull_reason_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Cull(Manual):
    definition = """
    -> subject.Subject
    ---
    cull_uuid:              uuid
    cull_date:              date
    -> [nullable] reference.LabMember.proj(cull_user='user_name')
    -> [nullable] CullReason
    -> [nullable] CullMethod
    cull_description='':    varchar(1024)
    cull_ts=CURRENT_TIMESTAMP:  timestamp
    """
