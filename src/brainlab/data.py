"""``data``: data formats, repositories, dataset types, datasets and file records.

Tables and attributes follow IBL's ``ibl_data`` (reference ``ibl-system.md`` §2.5), with one
deliberate change: ``DataSet``'s primary key adds ``collection`` (``alf``, ``alf/probe00``,
``raw_behavior_data``). IBL keyed datasets by ``(session, dataset_name)`` only, so the two probes'
``spikes.times.npy`` collided and the second was silently dropped by ``skip_duplicates``.
``FileRecord`` rows exist only for files that exist on a ``flatiron*`` repository (§3.2 step 4):
they drive the key sources of the imported tables.
"""

from __future__ import annotations

from . import acquisition, reference  # noqa: F401 (named in the definitions)
from .schemas import Lookup, Manual, schema_for

schema = schema_for("brainlab.data")


@schema
class DataFormat(Lookup):
    definition = """
    format_name:            varchar(255)
    ---
    format_uuid:            uuid
    file_extension=null:    varchar(255)
    matlab_loader_function=null:  varchar(255)
    python_loader_function=null:  varchar(255)
    format_description=null:  varchar(255)
    dataformat_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class DataRepositoryType(Lookup):
    definition = """
    repotype_name:          varchar(255)
    ---
    repotype_uuid:          uuid
    datarepositorytype_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class DataRepository(Lookup):
    definition = """
    repo_name:              varchar(255)
    ---
    -> DataRepositoryType
    repo_uuid:              uuid
    repo_timezone:          varchar(255)  # timezone
    repo_hostname=null:     varchar(255)  # hostname
    globus_endpoint_id=null:  varchar(255)
    globus_path=null:       varchar(255)
    data_url=null:          varchar(255)
    globus_is_personal=null:  boolean
    datarepository_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class ProjectRepository(Manual):
    definition = """
    -> reference.Project
    -> DataRepository
    ---
    projectrepository_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class DataSetType(Lookup):
    definition = """
    dataset_type_name:      varchar(255)
    ---
    dataset_type_uuid:      uuid
    -> [nullable] reference.LabMember.proj(dataset_type_created_by='user_name')
    filename_pattern=null:  varchar(255)
    dataset_type_description=null:  varchar(1024)
    datasettype_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class DataSet(Manual):
    definition = """
    -> acquisition.Session
    dataset_name:           varchar(255)  # file name
    collection:             varchar(64)   # folder of the session: alf, alf/probe00, raw_behavior_data
    ---
    dataset_uuid:           uuid
    -> [nullable] reference.LabMember.proj(dataset_created_by='user_name')
    -> DataSetType
    -> DataFormat
    created_datetime=null:  datetime
    generating_software=null:  varchar(255)
    provenance_directory=null:  varchar(255)
    md5=null:               varchar(255)
    file_size=null:         bigint
    dataset_ts=CURRENT_TIMESTAMP:  timestamp
    unique index (dataset_uuid)
    """


@schema
class FileRecord(Manual):
    definition = """
    -> DataSet
    -> DataRepository
    ---
    record_uuid:            uuid
    exists:                 boolean
    relative_path:          varchar(255)
    filerecord_ts=CURRENT_TIMESTAMP:  timestamp
    """
