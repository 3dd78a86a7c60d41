"""Family 2: chip-scale package with a moulded (or printed) stress-relief layer, tracks, encapsulation, printed balls.

`model` holds the parameters, `cells/` the wells, tiers, protrusions and stencils, `build` the die,
`rules` the stencil rule kinds, `stencil_export` the Gerber and DXF stencil files.
"""

from .model import BallStencil, Protrusions, RearContacts, ReliefCsp, Tiers

__all__ = ["BallStencil", "Protrusions", "RearContacts", "ReliefCsp", "Tiers"]
