"""Backside grooves: the first groove over a pad row (with its clearance) and the cut between adjacent pads.

Both are drawn in a row frame: u runs along the pad row, v across it, the row's centre line
at v = 0. A family places them in die coordinates, rotated by 90° for a vertical row.
"""

from __future__ import annotations

import math

from shapely.geometry import Polygon, box

from layoutgen.errors import ConfigError
from layoutgen.layout import Cell
from layoutgen.pdk import Pdk
from layoutgen.layout import name_number


def groove1_extent(pad_spans: list[tuple[float, float]], pad_half_across: float, pdk: Pdk) -> tuple[float, float, float]:
    """(u start, length, half width) of the first groove over pads spanning `pad_spans` along the row.

    The opening is the row's bounding box grown by GROOVE1-encloses-PAD, snapped outward to
    the grid, and never narrower than GROOVE1's minimum width.
    """
    clear = pdk.value("enclosure", "GROOVE1", "PAD")
    w_min = pdk.value("width", "GROOVE1")
    lo = min(a for a, _ in pad_spans) - clear
    hi = max(b for _, b in pad_spans) + clear
    start, end = _floor(lo, pdk.grid_um), _ceil(hi, pdk.grid_um)
    half = _ceil(max(pad_half_across + clear, w_min / 2), pdk.grid_um)
    if end - start < w_min:
        grow = _ceil((w_min - (end - start)) / 2, pdk.grid_um)
        start, end = start - grow, end + grow
    return start, end - start, half


def groove1_opening(length: float, half_width: float) -> Polygon:
    """The first groove opening in the row frame: from u = 0 to `length`, v within ±`half_width`."""
    return box(0.0, -half_width, length, half_width)


def groove1_cell(length: float, half_width: float) -> Cell:
    """A first-groove cell (origin at the row start, on the centre line); placed once per pad row."""
    return Cell(f"BS_GROOVE1_{name_number(length)}x{name_number(2 * half_width)}").add("GROOVE1", groove1_opening(length, half_width))


def groove2_extent(gap_start: float, gap_end: float, pdk: Pdk, where: str = "") -> tuple[float, float]:
    """(u start, length) of the cut across the gap between two adjacent pads (pad edges at the ends).

    The cut keeps GROOVE2-to-PAD and GROOVE2-to-BSWIRE (the wiring lands on the pads) from
    each pad; a gap too short for a cut at least as long as it is wide is refused.
    """
    setback = max(pdk.value("separation", "GROOVE2", "PAD"), pdk.value("separation", "GROOVE2", "BSWIRE"))
    width = pdk.value("width", "GROOVE2")
    start, end = _ceil(gap_start + setback, pdk.grid_um), _floor(gap_end - setback, pdk.grid_um)
    if end - start < width - 1e-9:
        raise ConfigError(
            f"{where}the {gap_end - gap_start:g} µm gap between adjacent pads is too short for the second "
            f"groove: a {width:g} µm cut needs ≥ {width + 2 * setback:g} µm between the pad edges "
            f"({setback:g} µm to each pad)")
    return start, end - start


def groove2_cut(length: float, pdk: Pdk) -> Polygon:
    """The cut in the row frame: from u = 0 to `length`, centred on the row line, GROOVE2's width wide."""
    half = _ceil(pdk.value("width", "GROOVE2") / 2, pdk.grid_um)
    return box(0.0, -half, length, half)


def groove2_cell(length: float, pdk: Pdk) -> Cell:
    """A cut cell (origin at the cut's start, on the row line); placed in every gap of that length."""
    cut = groove2_cut(length, pdk)
    return Cell(f"BS_GROOVE2_{name_number(length)}x{name_number(cut.bounds[3] * 2)}").add("GROOVE2", cut)


def _ceil(x: float, grid: float) -> float:
    return round(math.ceil(x / grid - 1e-9) * grid, 9)


def _floor(x: float, grid: float) -> float:
    return round(math.floor(x / grid + 1e-9) * grid, 9)
