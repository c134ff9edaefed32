"""Precomputed figures: ``brainlab.plotting.behavior`` and ``brainlab.plotting.ephys`` (IBL's
``ibl_plotting_*``). Figures are plotly JSON in ``json`` columns; see :mod:`brainlab.plots.registry`."""
