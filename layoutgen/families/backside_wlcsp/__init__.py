"""Family 4: WLCSP with backside grooves over the pad rows, a second groove through the pads, backside wiring.

`model` holds the parameters, `cells/` the grooves, leads and ball stack, `build` the die,
`rules` the groove rule kinds.
"""

from .model import BacksideWlcsp

__all__ = ["BacksideWlcsp"]
