"""Cells are sized from the PDK rules and keep them by construction, measured on the polygons."""

from __future__ import annotations

import math

import pytest
import shapely

from layoutgen.cells.bump import bump_opening
from layoutgen.cells.pv1 import pv1_opening
from layoutgen.cells.pv2 import pv2_opening
from layoutgen.cells.rdl import capture_pad, landing_pad
from layoutgen.cells.shapes import regular_polygon, width_across_flats
from layoutgen.cells.stacks import ball_cell, pad_cell
from layoutgen.cells.ubm import ubm
from layoutgen.errors import ConfigError
from layoutgen.pdk import load_pdk


def enclosure(outer, inner) -> float:
    """Smallest distance from the inner polygon's boundary to the outer's (inner must be inside)."""
    assert outer.contains(inner)
    return outer.exterior.distance(inner.exterior)


def on_grid(poly, grid) -> bool:
    q = shapely.get_coordinates(poly) / grid
    return bool(abs(q - q.round()).max() < 1e-6)


@pytest.mark.parametrize("name", ["sky400", "sky500"])
@pytest.mark.parametrize("shape", ["round", "octagon"])
def test_ball_stack_keeps_every_enclosure_and_width(name, shape):
    pdk = load_pdk(name)
    pv2, u, cap, bump = pv2_opening(pdk, shape), ubm(pdk, shape), capture_pad(pdk, shape), bump_opening(pdk, shape)
    assert width_across_flats(pv2) >= pdk.value("width", "PV2")
    assert width_across_flats(u) >= pdk.value("width", "UBM")
    assert enclosure(u, pv2) >= pdk.value("enclosure", "UBM", "PV2")
    assert enclosure(cap, u) >= pdk.value("enclosure", "RDL", "UBM")
    # measured as BUMP.SIZE measures it: the smallest circle around the opening (an octagon lies inside it)
    assert abs(2 * shapely.minimum_bounding_radius(bump) - pdk.value("size", "BUMP")) <= pdk.rule("size", "BUMP").tolerance
    for g in (pv2, u, cap, bump):
        assert on_grid(g, pdk.grid_um) and g.is_valid


def test_capture_pad_is_the_235_um_of_the_routing_notes():
    cap = capture_pad(load_pdk("sky400"), "round")
    assert 235.0 <= width_across_flats(cap) < 235.5


@pytest.mark.parametrize("shape", ["rect", "octagon", "round"])
def test_pad_stack_enclosures(shape):
    pdk = load_pdk("sky400")
    cell = pad_cell(60, 60, shape, pdk)
    pad, pv1, land = cell.shapes["PAD"][0], cell.shapes["PV1"][0], cell.shapes["RDL"][0]
    assert width_across_flats(pv1) >= pdk.value("width", "PV1")
    assert enclosure(pad, pv1) >= pdk.value("enclosure", "PAD", "PV1") - 1e-9
    assert enclosure(land, pv1) >= pdk.value("enclosure", "RDL", "PV1") - 1e-9


def test_square_pad_gives_exact_rule_sizes():
    pdk = load_pdk("sky400")
    pv1 = pv1_opening(shapely.box(-30, -30, 30, 30), pdk)
    assert pv1.bounds == (-22.5, -22.5, 22.5, 22.5)
    assert landing_pad(pv1, pdk).bounds == (-32.5, -32.5, 32.5, 32.5)


def test_too_small_pad_is_refused_with_the_rule():
    with pytest.raises(ConfigError, match=r"pad P7 \(45 × 45 µm\).* below the 35.0 µm minimum \(pads ≥ 50 µm\)"):
        pv1_opening(shapely.box(-22.5, -22.5, 22.5, 22.5), load_pdk("sky400"), "P7")


def test_regular_polygon_fits_inside_or_outside_its_circle():
    for n in (8, 64):
        inside = regular_polygon(100, n, 0.005, "circumscribed")
        outside = regular_polygon(100, n, 0.005, "inscribed")
        circle = shapely.Point(0, 0).buffer(50, quad_segs=256)
        assert circle.buffer(1e-3).contains(inside)
        assert outside.buffer(1e-3).contains(circle)
        # edges of an 8-gon at multiples of 45°
        if n == 8:
            c = shapely.get_coordinates(outside)
            ang = [math.degrees(math.atan2(b[1] - a[1], b[0] - a[0])) % 45 for a, b in zip(c, c[1:])]
            assert all(min(a, 45 - a) < 1e-3 for a in ang)


def test_ball_cell_name_derives_from_parameters():
    a = ball_cell("round", load_pdk("sky400"))
    b = ball_cell("round", load_pdk("sky400"))
    c = ball_cell("round", load_pdk("sky500"))
    assert a.name == b.name != c.name
