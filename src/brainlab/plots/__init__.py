"""Figures as plotly JSON: builders (:mod:`~brainlab.plots.figures`, :mod:`~brainlab.plots.behavior_figs`,
:mod:`~brainlab.plots.ephys_figs`) and the :mod:`~brainlab.plots.registry` of stored figures.

Builders return plain ``{"data": [...], "layout": {...}}`` dicts (plotly's JSON schema), built
without ``plotly.graph_objects`` validation because thousands are made per day; the tests
validate samples with ``plotly.graph_objects.Figure``.
"""
