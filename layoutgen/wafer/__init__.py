"""Wafer level: die map, scribe lanes, plating network, marks, reticle shots."""
