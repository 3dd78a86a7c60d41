"""layoutgen: photomask sets for wafer-level and chip-scale packaging from a Python config.

The public API is what a config needs (the design models and the pad helpers) plus `build`,
`load_config` and `load_pdk`.
"""

__version__ = "0.1.0"

from .config import load_config
from .design import BallGrid, Design, Die, FanInWlcsp, Pad, Plating, Wafer
from .families.posts import Posts
from .errors import ConfigError, DrcError, LayoutgenError, PdkError, RoutingError
from .pads import pads_from_csv, peripheral_pads
from .pdk import load_pdk
from .families.backside_wlcsp import BacksideWlcsp
from .families.fanout import BusRing, CarrierPanel, Fanout, FanoutDie, MeanderResistor, MimCapacitor, SpiralInductor
from .families.relief_csp import BallStencil, Protrusions, ReliefCsp, Tiers
from .families.sheet_terminals import Fiducials, Frame, PotentialPlane, SheetTerminals

__all__ = [
    "BallGrid", "ConfigError", "Design", "Die", "DrcError", "FanInWlcsp", "LayoutgenError", "Pad",
    "PdkError", "Plating", "Posts", "RoutingError", "Wafer", "build", "load_config", "load_pdk", "pads_from_csv", "peripheral_pads",
    # family 2
    "BallStencil", "Protrusions", "ReliefCsp", "Tiers",
    # family 5
    "BusRing", "CarrierPanel", "Fanout", "FanoutDie", "MeanderResistor", "MimCapacitor", "SpiralInductor",
    # family 4
    "BacksideWlcsp",
    # family 3
    "Fiducials", "Frame", "PotentialPlane", "SheetTerminals",
]


def __getattr__(name: str):
    # `build` pulls in every family and the router: imported when first used, so that a
    # config (which only needs the models) loads fast.
    if name == "build":
        from .build import build

        return build
    raise AttributeError(f"module 'layoutgen' has no attribute {name!r}")
