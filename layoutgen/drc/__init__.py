"""Design rule checks on any GDS file, with the rule deck of a PDK.

    result = run_drc("die.gds", load_pdk("sky400"), top=None, waivers="waivers.toml")
    result.ok, result.counts(), result.violations
    write_reports(result, "out/die", junit="drc-junit.xml")   # drc.json, drc.lyrdb

Every top cell (or `top`) is checked on shapely geometry, all lengths in µm: flattened, or
hierarchically when it places its cells by arrays or many references (a wafer: each placed
cell checked once, then only what the placements add; see hier.py).
What each rule kind means (the values live in the PDK's rules.toml):

- width: parts of a merged shape a square of side `value` cannot sweep (opening).
- space: shapes closer than `value` (one per pair), and gaps inside one shape (notches,
  holes) narrower than `value` between walls facing each other (closing).
- area / hole_area: merged shapes / holes inside them smaller than `value` µm².
- enclosure: each `other` shape inside a `layer` shape, edges at least `value` apart.
- separation: `layer` and `other` shapes at least `value` apart (overlap violates).
- overlap: each piece of `layer` ∩ `other` at least `value` wide (a disc of that diameter
  fits); touching without overlapping violates; shapes that do not meet are not checked.
- size: diameter of each shape's smallest enclosing circle within `value` ± `tolerance`.
- pitch: shape centres at least `value` apart.
- edge_distance: each `layer` shape's centre at least `value` inside the outer edge of
  the `other` shape around it.
- grid: every drawn vertex on the `value` grid. angle: see drc/angle.py.
- density: `layer` fraction of each `window` (moved by `step`, clipped to the layout's
  extent) within [min, max]; not checked when the layer is empty.
- connectivity: see drc/connectivity.py (opens: each piece of a net joins a pad and a ball).
"""

import importlib

_EXPORTS = {"run_drc": "engine", "check_cell": "engine", "write_reports": "report", "DrcResult": "violation",
            "Violation": "violation", "Waiver": "waivers", "load_waivers": "waivers"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    # imported when first used: `layoutgen.drc.command` (the CLI's arguments) needs none of them
    if name not in _EXPORTS:
        raise AttributeError(f"module 'layoutgen.drc' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
