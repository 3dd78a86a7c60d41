"""Parametric cells: each returns the geometry of one feature, centred at the origin, in µm."""
