"""Analyses: ``brainlab.analyses.behavior`` and ``brainlab.analyses.ephys`` (IBL's ``ibl_analyses_*``).

``from brainlab.analyses import behavior as behavior_analyses`` replaces
``from ibl_pipeline.analyses import behavior as behavior_analyses``.
"""
