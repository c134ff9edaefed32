"""Daily ingestion: LIMS snapshots plus ALF files into the brainlab schemas.

* :mod:`~brainlab.ingest.bookkeeping` - the ``ingest`` schema: applied LIMS records, jobs and
  their steps, update, deletion and error records.
* :mod:`~brainlab.ingest.lims_map` - how each LIMS model becomes rows of brainlab tables.
* :mod:`~brainlab.ingest.apply` - diff a snapshot against what is stored and apply it.
* :mod:`~brainlab.ingest.daily` - the daily job: ingest, populate, figures, lab summary.
"""
