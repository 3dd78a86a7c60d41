"""Process families: each module composes cells into a die (or package unit) with its layers.

A family module defines its parameter model (a `layoutgen.design.Package`) and
`build_die(design, pdk) -> DieResult`, and may define `write_extra_outputs(die, folder)` for
files beside the masks (stencil Gerbers), and
`WAFER_LEVEL = True` when its die goes onto a wafer with the kerf-connected plating network, or
the name of another substrate level of `layoutgen.wafer.SUBSTRATES` ("sheet": one sheet over the
wafer), and `mask_scale(design) -> float` when its masks are drawn scaled (thermal growth
compensated); a carrier panel of units is built in `layoutgen.wafer.PANELS`; this table maps the `family` name to the module.
"""

from __future__ import annotations

import importlib
from typing import Callable

from ..errors import ConfigError

MODULES: dict[str, str] = {
    "wlcsp_fanin": "layoutgen.families.wlcsp_fanin.build",
    "relief_csp": "layoutgen.families.relief_csp.build",
    "sheet_terminals": "layoutgen.families.sheet_terminals.build",
    "backside_wlcsp": "layoutgen.families.backside_wlcsp.build",
    "fanout": "layoutgen.families.fanout.build",
}


def builder(family: str) -> Callable:
    """The `build_die` function of `family`."""
    try:
        module = importlib.import_module(MODULES[family])
    except (KeyError, ModuleNotFoundError):
        raise ConfigError(f"package family {family!r} is not available (known: {', '.join(MODULES)})") from None
    return module.build_die


def extra_writer(family: str) -> Callable | None:
    """The family's `write_extra_outputs(die, folder) -> list[Path]`, if it has one."""
    return getattr(importlib.import_module(MODULES[family]), "write_extra_outputs", None)


def builds_wafer(family: str) -> bool:
    """Whether the family's die goes onto a wafer (its module sets WAFER_LEVEL)."""
    return wafer_level(family) is not None


def wafer_level(family: str) -> str | None:
    """The family's substrate level: 'plated' (WAFER_LEVEL = True), the name it gives (WAFER_LEVEL = 'sheet'), or None."""
    level = getattr(importlib.import_module(MODULES[family]), "WAFER_LEVEL", False)
    return level if isinstance(level, str) else ("plated" if level else None)


def mask_scaler(family: str) -> Callable | None:
    """The family's `mask_scale(design) -> float` (the factor its masks are drawn at), if it scales them."""
    return getattr(importlib.import_module(MODULES[family]), "mask_scale", None)
