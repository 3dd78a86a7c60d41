"""Backside grooves: the first groove over a pad row (its opening widened for the sloped wall) and the cut along the row through the pads.

Both are drawn in a row frame: u runs along the pad row, v across it, the row's centre line
at v = 0. A family places them in die coordinates, rotated by 90° for a vertical row.
"""

from __future__ import annotations

from shapely.geometry import Polygon, box

from layoutgen.errors import PdkError
from layoutgen.layout import Cell
from layoutgen.pdk import Pdk
from layoutgen.units import snap_down, snap_up
from layoutgen.layout import name_number


def groove1_extent(pad_spans: list[tuple[float, float]], pad_half_across: float, cut_half: float, run: float,
                   pdk: Pdk) -> tuple[float, float, float]:
    """(u start, length, half width) of the drawn first-groove opening over pads spanning `pad_spans` along the row.

    The groove bottom holds the row's pads with GROOVE1-encloses-PAD clearance and the second
    groove (`cut_half` across, GROOVE2.ROW's reach past the end pads) with GROOVE1-encloses-GROOVE2;
    the drawn opening is that bottom widened on every side by the wall's `run` (thickness /
    tan(wall angle)), snapped outward to the grid, and never narrower than GROOVE1's minimum width.
    """
    clear = pdk.value("enclosure", "GROOVE1", "PAD")
    en_cut = pdk.value("enclosure", "GROOVE1", "GROOVE2")
    reach = cut_reach(pdk)
    w_min = pdk.value("width", "GROOVE1")
    ends = max(clear, reach + en_cut)
    lo = min(a for a, _ in pad_spans) - ends - run
    hi = max(b for _, b in pad_spans) + ends + run
    start, end = snap_down(lo, pdk.grid_um), snap_up(hi, pdk.grid_um)
    half = snap_up(max(pad_half_across + clear, cut_half + en_cut) + run, pdk.grid_um)
    half = max(half, snap_up(w_min / 2, pdk.grid_um))
    if end - start < w_min:
        grow = snap_up((w_min - (end - start)) / 2, pdk.grid_um)
        start, end = start - grow, end + grow
    return start, round(end - start, 9), half


def cut_reach(pdk: Pdk) -> float:
    """How far the second groove runs past a row's end pads (the value of the PDK's cut_through_pads rule)."""
    for r in pdk.rules:
        if r.kind == "cut_through_pads" and r.value is not None:
            return r.value
    raise PdkError(f"PDK {pdk.name!r} ({pdk.path}) has no rule of kind 'cut_through_pads' in rules.toml, "
                   f"which the backside_wlcsp family needs")


def groove1_opening(length: float, half_width: float) -> Polygon:
    """The first groove opening in the row frame: from u = 0 to `length`, v within ±`half_width`."""
    return box(0.0, -half_width, length, half_width)


def groove1_cell(length: float, half_width: float) -> Cell:
    """A first-groove cell (origin at the row start, on the centre line); placed once per pad row."""
    return Cell(f"BS_GROOVE1_{name_number(length)}x{name_number(2 * half_width)}").add("GROOVE1", groove1_opening(length, half_width))


def groove2_extent(pad_spans: list[tuple[float, float]], pdk: Pdk) -> tuple[float, float]:
    """(u start, length) of the second groove along a row: through every pad, `cut_reach` past the end pads."""
    reach = cut_reach(pdk)
    start = snap_down(min(a for a, _ in pad_spans) - reach, pdk.grid_um)
    end = snap_up(max(b for _, b in pad_spans) + reach, pdk.grid_um)
    return start, round(end - start, 9)


def groove2_cut(length: float, pdk: Pdk) -> Polygon:
    """The cut in the row frame: from u = 0 to `length`, centred on the row line, GROOVE2's width wide."""
    half = snap_up(pdk.value("width", "GROOVE2") / 2, pdk.grid_um)
    return box(0.0, -half, length, half)


def groove2_cell(length: float, pdk: Pdk) -> Cell:
    """A cut cell (origin at the cut's start, on the row line); placed once per pad row."""
    cut = groove2_cut(length, pdk)
    return Cell(f"BS_GROOVE2_{name_number(length)}x{name_number(cut.bounds[3] * 2)}").add("GROOVE2", cut)

