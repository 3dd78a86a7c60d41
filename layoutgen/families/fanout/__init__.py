"""Family 5: fan-out on a metal carrier: dies in cavities, n wiring levels to a ball grid, buses, passives.

`model` holds the parameters, `cells/` the cavities, vias, passives and ball stack, `build` the unit
and the carrier panel, `rules` the process data and rule kinds.
"""

from .model import BusRing, CarrierPanel, Fanout, FanoutDie, MeanderResistor, MimCapacitor, ReconstitutedWafer, SpiralInductor

__all__ = ["BusRing", "CarrierPanel", "Fanout", "FanoutDie", "MeanderResistor", "MimCapacitor", "ReconstitutedWafer",
           "SpiralInductor"]
