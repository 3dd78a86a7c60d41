"""layoutgen: photomask sets for wafer-level and chip-scale packaging from a Python config.

The public API is what a config needs (the design models of every family and the pad
helpers) plus `build` (a Design or a config path to files, a `BuildResult`), `load` (a config path to its
Design), `load_pdk` and the die importers `pads_from_layout` / `pads_from_def`. Each name is imported when first used,
so `import layoutgen` stays light (no shapely, scipy or router until something needs them).
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    # the design and its inputs
    **dict.fromkeys(["Alignment", "AlignmentKey", "BallGrid", "Design", "Die", "Pad", "Plating", "Stepper", "Wafer"], "layoutgen.design"),
    **dict.fromkeys(["ConfigError", "DrcError", "LayoutgenError", "PdkError", "RoutingError"], "layoutgen.errors"),
    **dict.fromkeys(["pads_from_csv", "peripheral_pads"], "layoutgen.pads"),
    **dict.fromkeys(["pads_from_def", "pads_from_layout"], "layoutgen.diein"),
    "load_config": "layoutgen.config",
    "load": "layoutgen.config",
    "load_pdk": "layoutgen.pdk",
    **dict.fromkeys(["build", "BuildResult"], "layoutgen.pipeline"),
    "sweep": "layoutgen.sweep",
    # family 1
    **dict.fromkeys(["FanInWlcsp", "Posts"], "layoutgen.families.wlcsp_fanin.model"),
    # family 2
    **dict.fromkeys(["BallStencil", "Protrusions", "ReliefCsp", "Tiers"], "layoutgen.families.relief_csp.model"),
    # family 3
    **dict.fromkeys(["Fiducials", "Frame", "PotentialPlane", "SheetTerminals"], "layoutgen.families.sheet_terminals.model"),
    # family 4
    "BacksideWlcsp": "layoutgen.families.backside_wlcsp.model",
    # family 5
    **dict.fromkeys(["BusRing", "CarrierPanel", "Fanout", "FanoutDie", "MeanderResistor", "MimCapacitor", "ReconstitutedWafer",
                     "SpiralInductor"], "layoutgen.families.fanout.model"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'layoutgen' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
