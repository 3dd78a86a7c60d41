"""Wafer level: die map, scribe lanes and saw kerf, plating network, marks, reticle shots, mask order.

`build_wafer(design, pdk, die)` places the die (with its plating tails) by arrays in a wafer
cell with the bus, contact ring, kerf, marks and shots, and checks plating and isolation;
`check_plating` / `check_isolation` run those checks on any wafer layout (also one read
back from GDS); `mask_order_rows` / `write_mask_order` make the mask order table;
`sheet.build_sheet_wafer` lays one conductive sheet over the die map instead (SUBSTRATES).
"""

import importlib

# Imported when first used: the DRC reads the plating checks (wafer.checks) and not the wafer
# builder, whose import (assemble, marks, fill, cells) was a tenth of a panel's first DRC run.
_EXPORTS = {"WaferResult": "assemble", "build_wafer": "assemble", "CheckResult": "checks", "Finding": "checks",
            "check_isolation": "checks", "check_plating": "checks", "isolation_findings": "checks",
            "plating_findings": "checks", "DieMap": "diemap", "gross_die_estimate": "diemap",
            "mask_order_rows": "order", "write_mask_order": "order"}


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'layoutgen.wafer' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)


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
