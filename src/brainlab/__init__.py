"""brainlab: a lab pipeline for mouse decision-making experiments, built on labjoin.

It rebuilds the International Brain Laboratory's DataJoint pipeline (``ibl_pipeline``) with the
same module, table and attribute names::

    from brainlab import subject, acquisition, behavior          # was: from ibl_pipeline import ...
    from brainlab.analyses import behavior as behavior_analyses  # was: from ibl_pipeline.analyses ...

Importing a module never connects. The first use of a table binds every schema to the default
connection under the configured prefix (``BRAINLAB_SCHEMA_PREFIX``, default ``brainlab_``), or
bind them explicitly::

    import brainlab
    brainlab.activate(prefix="brainlab_", connection=dj.conn())

Daily ingestion and population: ``brainlab ingest`` / ``brainlab daily`` (see docs/brainlab.md).
"""

from __future__ import annotations

from .schemas import MODULES, Activation, activate, active, drop_all, schema_name

__all__ = ["MODULES", "Activation", "activate", "active", "drop_all", "schema_name"]
