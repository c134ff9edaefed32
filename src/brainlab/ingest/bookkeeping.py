"""``ingest``: what ingestion applied, when, and what it changed (reference §2.14, redesigned).

* ``LimsRecord`` - every LIMS record applied to the database, with the hash and the JSON of the
  fields as applied. The next snapshot is diffed against it (created = new pks, modified =
  another hash, deleted = pks no longer in the snapshot), and the stored fields tell which rows
  the record produced, so a modification updates exactly those rows.
* ``Job`` and ``Job.Step`` - one row per run of ``brainlab ingest`` / ``brainlab daily``, with
  the timing of each step (IBL's ``ingest_job.Job`` / ``TaskStatus``).
* ``UpdateRecord`` - one row per attribute changed in place: table, key, attribute, old and new
  value, time (IBL's ``ibl_update.UpdateRecord``). ``applied`` is false for a change that was
  deliberately not made (a session whose start time moved keeps its key).
* ``DeletionRecord`` - one row per LIMS record deleted upstream, with the policy's decision.
* ``UpdateError`` - records that could not be applied (e.g. a reference to an unknown record).
"""

from __future__ import annotations

from ..schemas import Lookup, Manual, Part, schema_for

schema = schema_for("brainlab.ingest.bookkeeping")


@schema
class LimsRecord(Manual):
    definition = """
    # a LIMS record as last applied to the database
    model:                  varchar(64)   # LIMS model, e.g. actions.session
    pk:                     varchar(64)   # LIMS primary key (uuid or integer, as text)
    ---
    fields_hash:            char(32)      # md5 of the fields as sorted JSON
    fields:                 longtext      # the fields as applied (JSON text)
    state="applied":        enum("applied", "deleted_pending")
    applied_job:            int           # Job that last applied it
    """


@schema
class Task(Lookup):
    definition = """
    # the steps of a daily run, in order
    task:                   varchar(64)
    ---
    task_order:             tinyint
    task_description:       varchar(255)
    """
    contents = [
        ("load_snapshot", 1, "read the LIMS snapshot and diff it against LimsRecord"),
        ("apply_created", 2, "insert created records"),
        ("apply_modified", 3, "update modified records in place, with UpdateRecord rows"),
        ("apply_deleted", 4, "record deletions and apply them under the deletion policy"),
        ("clear_missing_logs", 5, "clear missing-data logs of sessions that received files"),
        ("populate_behavior", 6, "behaviour and wheel tables"),
        ("populate_analyses", 7, "behaviour analyses and training status"),
        ("populate_ephys", 8, "ephys, histology and ephys analyses"),
        ("populate_plots", 9, "session and date figures, ephys figures"),
        ("cumulative_plots", 10, "regenerate cumulative figures of subjects with new data"),
        ("daily_summary", 11, "lab summaries"),
    ]


@schema
class Job(Manual):
    definition = """
    # one run of brainlab ingest / daily
    job_id:                 int
    ---
    snapshot_date=null:     date          # the LIMS snapshot ingested
    command:                varchar(32)   # ingest | daily | populate
    job_status:             enum("running", "completed", "failed")
    job_start_time:         datetime
    job_end_time=null:      datetime
    n_created=0:            int
    n_modified=0:           int
    n_deleted=0:            int
    message="":             varchar(2000)
    """

    class Step(Part):
        definition = """
        -> master
        -> Task
        ---
        step_start_time:    datetime
        step_end_time=null: datetime
        duration_s=null:    float         # seconds
        step_status:        enum("running", "completed", "failed")
        detail="":          varchar(4000) # counts, or the error
        """


@schema
class UpdateRecord(Manual):
    definition = """
    # one attribute of one row changed because the LIMS changed
    update_id:              int
    ---
    table_name:             varchar(128)  # schema.table
    pk_hash:                char(32)
    pk_dict:                varchar(1000) # the row's primary key, JSON
    attribute:              varchar(64)
    original_value=null:    varchar(2000)
    updated_value=null:     varchar(2000)
    applied:                bool          # false when deliberately not applied
    narrative="":           varchar(1000)
    update_ts:              datetime
    -> Job
    """


@schema
class DeletionRecord(Manual):
    definition = """
    # a LIMS record deleted upstream, and what the deletion policy did with its rows
    model:                  varchar(64)
    pk:                     varchar(64)
    ---
    policy:                 varchar(16)   # record | safe | cascade
    deletion_status:        enum("applied", "pending", "recorded")
    rows_deleted:           int           # rows removed, all tables together
    narrative:              varchar(4000) # the rows, and what blocked or was cascaded
    deletion_ts:            datetime
    -> Job
    """


@schema
class UpdateError(Manual):
    definition = """
    # a LIMS record that could not be applied
    model:                  varchar(64)
    pk:                     varchar(64)
    -> Job
    ---
    error_message:          varchar(2000)
    """
