"""brainlab: a lab pipeline for mouse decision-making experiments, built on labjoin."""
