"""The sheet at wafer scale, the family's side: what a wafer-scale sheet needs and refuses, and the scale its masks
are drawn at (the assembly over the wafer's die map is layoutgen.wafer.sheet). All lengths in µm."""

from __future__ import annotations

from layoutgen.design import Design
from layoutgen.errors import ConfigError

from .model import SheetTerminals


def refuse(where: str, field: str, value, reason: str) -> ConfigError:
    """The error for a field a wafer-scale sheet cannot take: where, field, value, reason."""
    return ConfigError(f"{where}: {field} = {value!r}: {reason}")


def mask_scale(design: Design) -> float:
    """The factor every mask of the design is drawn at: the sheet's thermal compensation on a wafer, else 1."""
    pkg = design.package
    if design.wafer is None or not isinstance(pkg, SheetTerminals) or pkg.sheet is None:
        return 1.0
    return pkg.sheet.scale


def check_sheet_wafer(design: Design) -> None:
    """What a wafer-scale sheet needs and refuses; ConfigError naming the field."""
    pkg: SheetTerminals = design.package  # type: ignore[assignment]
    wafer = design.wafer
    if wafer is None:
        if pkg.ports is not None:
            raise refuse(pkg.ports.where(), "SheetTerminals.ports", "InjectionPorts(...)",
                          "the injection ports of fig. 15 pass through the sheet outside the wafer it covers: "
                          "they need a wafer-scale sheet (Design.wafer and SheetTerminals.sheet)")
        if pkg.sheet is not None:
            raise refuse(pkg.sheet.where(), "SheetTerminals.sheet", "WaferSheet(...)",
                          "a wafer-scale sheet covers a wafer: add Design.wafer=Wafer(diameter=...) or drop sheet=")
        return
    if pkg.sheet is None:
        raise refuse(wafer.where(), "Design.wafer", f"Wafer(diameter={wafer.diameter})",
                      "the sheet family builds its wafer level as one sheet over the wafer: give "
                      "SheetTerminals.sheet=WaferSheet(temperature_step=...) (its thermal growth to compensate)")
    if wafer.reticle is not None or wafer.stepper is not None:
        raise refuse(wafer.where(), "Wafer.reticle", wafer.reticle, "the sheet is exposed whole by 1X masks "
                      "(it is a 10-30 cm sheet, not a stepped wafer): leave reticle and stepper unset")
    if wafer.alignment.keys:
        raise refuse(wafer.alignment.where(), "Alignment.keys", f"{len(wafer.alignment.keys)} keys",
                      "the sheet arrives bare: its first mask (THRU) is the zero layer and every other mask registers "
                      "to the through-sheet fiducials; there are no incoming keys to align to")
    if pkg.frame is not None:
        line_room = pkg.sheet.margin - pkg.frame.inset
        if line_room <= 0:
            raise refuse(pkg.frame.where(), "Frame.inset", pkg.frame.inset,
                          f"puts the frame inside the wafer edge (the sheet reaches only {pkg.sheet.margin:g} µm, "
                          "WaferSheet.margin, beyond it): the frame holds the sheet around the wafer")
