"""Access wells: the opening in the stress-relief layer over each I/O pad, and the track landing on it.

The well encloses the pad opening (WELL.EN.PAD), so the mould's pillar seats on passivation
all round and the whole pad is bared; the track's landing covers the well (RDL.EN.WELL).
All lengths in µm, shapes centred at the origin.
"""

from __future__ import annotations

from shapely.geometry import Polygon

from layoutgen.errors import ConfigError
from layoutgen.layout import Cell
from layoutgen.pdk import Pdk
from layoutgen.cells.shapes import grow, pad_outline, width_across_flats
from layoutgen.layout import name_number
from layoutgen.units import LENGTH_EPS_UM


def well_opening(pad: Polygon, clearance: float, pdk: Pdk, pad_name: str = "") -> Polygon:
    """The access well: the pad grown by `clearance` (at least WELL.EN.PAD), at least WELL.W.1 wide."""
    rule = pdk.rule("enclosure", "WELL", "PAD")
    assert rule.value is not None
    if clearance < rule.value - LENGTH_EPS_UM:
        raise ConfigError(f"pad {pad_name}: well clearance {clearance:g} µm is below {rule.name} ({rule.value:g} µm)")
    well = grow(pad, clearance, pdk.grid_um)
    w_min = pdk.value("width", "WELL")
    x0, y0, x1, y1 = well.bounds
    if min(width_across_flats(well), x1 - x0, y1 - y0) < w_min - LENGTH_EPS_UM:
        raise ConfigError(f"pad {pad_name}: its access well ({x1 - x0:g} × {y1 - y0:g} µm) is below WELL.W.1 "
                          f"({w_min:g} µm): use a larger well clearance")
    return well


def well_landing(well: Polygon, pdk: Pdk) -> Polygon:
    """The track's landing pad: the well grown by RDL.EN.WELL."""
    return grow(well, pdk.value("enclosure", "RDL", "WELL"), pdk.grid_um)


def well_cell(width: float, height: float, shape: str, clearance: float, pdk: Pdk, pad_name: str = "") -> Cell:
    """A well stack: the pad (reference), its access well and the track landing over it."""
    pad = pad_outline(width, height, shape, pdk)
    well = well_opening(pad, clearance, pdk, pad_name)
    cell = Cell(f"WELLSTACK_{shape.upper()}_{name_number(width)}x{name_number(height)}_C{name_number(clearance)}")
    return cell.add("PAD", pad).add("WELL", well).add("RDL", well_landing(well, pdk))
