"""Family 3: terminals etched from a conductive sheet, leads on its bottom bonded to the chip contacts.

`model` holds the parameters, `cells/` the leads, spots, liners, rings, frame and fiducials,
`build` the die, `wafer` the sheet over a whole wafer, `rules` the sheet rule kinds.
"""

from .model import Fiducials, Frame, InjectionPorts, PotentialPlane, RigidPosts, SheetTerminals, WaferSheet

__all__ = ["Fiducials", "Frame", "InjectionPorts", "PotentialPlane", "RigidPosts", "SheetTerminals", "WaferSheet"]
