"""Design rule checks on any GDS file, with the rule deck of a PDK.

    result = run_drc("die.gds", load_pdk("sky400"), top=None, waivers="waivers.toml")
    result.ok, result.counts(), result.violations
    write_reports(result, "out/die", junit="drc-junit.xml")   # drc.json, drc.lyrdb

Every top cell (or `top`) is checked on shapely geometry, all lengths in µm: flattened, or
hierarchically when it places its cells by arrays or many references (a wafer: each placed
cell checked once, then only what the placements add; see drc/hier).
What each rule kind means (the values live in the PDK's rules.toml; this list is generated
from `layoutgen.rulekinds`, where each kind is declared once):
"""

import importlib

from ..rulekinds import describe as _describe_kinds

__doc__ = f"{__doc__.rstrip()}\n\n{_describe_kinds()}\n"

_EXPORTS = {"run_drc": "engine", "check_cell": "engine", "write_reports": "report", "DrcResult": "violation",
            "Violation": "violation", "Waiver": "waivers", "load_waivers": "waivers"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    # imported when first used: `layoutgen.drc.command` (the CLI's arguments) needs none of them
    if name not in _EXPORTS:
        raise AttributeError(f"module 'layoutgen.drc' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
