"""``reference``: labs, members, locations, projects, coordinate systems and brain regions.

Tables, keys and attributes follow IBL's ``ibl_reference`` (reference ``ibl-system.md`` §2.1).
Rows come from the LIMS snapshot (``brainlab ingest``), except the Lookup contents below.
"""

from __future__ import annotations

from .schemas import Imported, Lookup, Manual, classproperty, schema_for

schema = schema_for("brainlab.reference")


@schema
class Lab(Lookup):
    definition = """
    lab_name:               varchar(255)  # name of lab
    ---
    lab_uuid:               uuid
    institution:            varchar(255)
    address:                varchar(255)
    time_zone:              varchar(255)
    reference_weight_pct=null:  float
    zscore_weight_pct=null:     float
    lab_ts=CURRENT_TIMESTAMP:   timestamp
    """


@schema
class LabMember(Manual):
    definition = """
    user_name:              varchar(255)  # username
    ---
    user_uuid:              uuid
    password:               varchar(255)  # password
    email=null:             varchar(255)  # email address
    last_login=null:        datetime      # last login
    first_name=null:        varchar(255)  # first name
    last_name=null:         varchar(255)  # last name
    date_joined:            datetime      # date joined
    is_active:              boolean       # active
    is_staff:               boolean       # staff status
    is_superuser:           boolean       # superuser status
    is_stock_manager:       boolean       # stock manager status
    groups=null:            blob          # group names
    user_permissions=null:  blob          # user permissions
    labmember_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class LabMembership(Manual):
    definition = """
    -> Lab
    -> LabMember
    ---
    lab_membership_uuid:    uuid
    role=null:              varchar(255)  # role in lab
    mem_start_date=null:    date          # start date
    mem_end_date=null:      date          # end date
    labmembership_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class LabLocation(Manual):
    definition = """
    # The physical location at which a session is performed or appliances are located.
    # This could be a room, a rig or a bench
    -> Lab
    location_name:          varchar(255)  # name of the location
    ---
    location_uuid:          uuid
    lablocation_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Project(Lookup):
    definition = """
    project_name:           varchar(255)
    ---
    project_uuid:           uuid
    project_description=null:  varchar(1024)
    project_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class ProjectLabMember(Manual):
    definition = """
    -> Project
    -> LabMember
    ---
    projectlabmember_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Severity(Lookup):
    definition = """
    severity:               tinyint
    ---
    severity_desc:          varchar(32)
    """
    contents = [(0, ""), (1, "Sub-threshold"), (2, "Mild"), (3, "Moderate"), (4, "Severe"),
                (5, "Non-recovery")]


@schema
class CoordinateSystem(Lookup):
    definition = """
    coordinate_system_name:  varchar(64)
    ---
    coordinate_system_uuid:  uuid
    coordinate_system_description=null:  varchar(2048)
    """


@schema
class Ontology(Lookup):
    definition = """
    ontology:               varchar(32)
    """
    contents = [("CCF 2017",)]


@schema
class BrainRegion(Lookup):
    definition = """
    -> Ontology
    acronym:                varchar(32)
    ---
    brain_region_name:      varchar(128)
    parent=null:            int           # brain_region_pk of the parent region
    brain_region_pk:        int           # the Allen structure id
    brain_region_level=null:  tinyint
    graph_order=null:       int unsigned
    """


@schema
class ParentRegion(Imported):
    definition = """
    -> BrainRegion
    ---
    -> BrainRegion.proj(parent='acronym')
    """

    @classproperty
    def key_source(cls) -> object:
        return BrainRegion & "parent is not null"

    def make(self, key: dict) -> None:
        parent_pk = (BrainRegion & key).fetch1("parent")
        parents = (BrainRegion & {"ontology": key["ontology"], "brain_region_pk": parent_pk}).fetch("acronym")
        if len(parents):
            self.insert1(dict(key, parent=parents[0]))
