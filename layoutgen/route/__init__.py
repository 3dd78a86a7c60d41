"""Routing: `rdl` carries chip pads to balls on one redistribution layer (fan-in WLCSP, backside,
relief); `multilevel` routes nets over n wiring levels with vias (the fan-out unit)."""
