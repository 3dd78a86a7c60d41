"""Wafer level: die map, scribe lanes and saw kerf, plating network, marks, reticle shots, mask order.

`build_wafer(design, pdk, die)` places the die (with its plating tails) by arrays in a wafer
cell with the bus, contact ring, kerf, marks and shots, and checks plating and isolation;
`check_plating` / `check_isolation` run those checks on any wafer layout (also one read
back from GDS); `mask_order_rows` / `write_mask_order` make the mask order table;
`sheet.build_sheet_wafer` lays one conductive sheet over the die map instead (SUBSTRATES).
"""

from .assemble import WaferResult, build_wafer
from .checks import CheckResult, Finding, check_isolation, check_plating, isolation_findings, plating_findings
from .diemap import DieMap, gross_die_estimate
from .order import mask_order_rows, write_mask_order


def _sheet():
    from .sheet import build_sheet_wafer

    return build_sheet_wafer


def _panel():
    from .panel import panel_layout

    return panel_layout


# A family's carrier panel or reconstituted wafer of units, by family: a loader of its
# `(design, pdk, die) -> (layout, figures, field, files)` (fan-out: panel.py).
PANELS = {"fanout": _panel}

# Substrate levels other than the plated wafer, by the name a family's WAFER_LEVEL gives: each a
# loader of its `(design, pdk, die) -> WaferResult` (one sheet over the whole wafer: sheet.py).
SUBSTRATES = {"sheet": _sheet}

__all__ = [
    "PANELS", "SUBSTRATES", "CheckResult", "DieMap", "Finding", "WaferResult", "build_wafer", "check_isolation", "check_plating",
    "gross_die_estimate", "isolation_findings", "mask_order_rows", "plating_findings", "write_mask_order",
]
