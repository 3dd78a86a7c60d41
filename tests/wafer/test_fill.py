"""Plating thieving (wafer/fill.py): every density the model allows (0 < d < 1) builds a plating
network that meets the plating space and width everywhere, plates every stripe, and reaches
its density. Checked on the written GDS by KLayout's own Euclidean checks (issue #18 cause 13:
`thieving_density=0.5` left 42 PLATE.S.1 violations where stripes met the ring or ran beside
the bus)."""

from __future__ import annotations

import klayout.db as kdb
import pytest

from layoutgen.design import Plating
from layoutgen.gdsio import write_layout
from layoutgen.pdk import load_pdk
from layoutgen.wafer import build_wafer
from layoutgen.wafer.fill import stripe_pitch

from wafer_support import make_design, make_die_result

# The model's range is the open interval (0, 1): its low end, the case, where the gaps
# reach the plating space (stripes widen above it), and its high end.
DENSITIES = [0.02, 0.5, 0.75, 0.95]


@pytest.fixture(scope="module")
def pdk():
    return load_pdk("sky400")


def _rule(pdk, name: str) -> int:
    """A rule's value in database units."""
    return round(next(r for r in pdk.rules if r.name == name).value / pdk.dbu_um)


@pytest.mark.parametrize("density", DENSITIES)
def test_every_documented_density_is_clean_plated_and_reached(pdk, tmp_path, density):
    design = make_design(diameter=100, plating=Plating(thieving_density=density))
    result = build_wafer(design, pdk, make_die_result(design, pdk))
    fill = result.summary["fill"]
    assert fill["stripes"] > 50
    assert result.checks["plating"].ok and result.checks["isolation"].ok    # every stripe plates, no die shorted
    assert 0.85 * density <= fill["density_in_region"] <= 1.05 * density   # stripe ends made up by a second laying
    gds = write_layout(result.layout, pdk, tmp_path / "wafer.gds")
    ly = kdb.Layout()
    ly.read(str(gds))
    drawn = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*pdk.layer("PLATE").gds)))
    drawn.merged_semantics = False
    step = round(pdk.grid_um / pdk.dbu_um)
    assert drawn.grid_check(step, step).count() == 0   # each drawn polygon (merging adds crossing points)
    plate = drawn.merged()
    space, width = _rule(pdk, "PLATE.S.1"), _rule(pdk, "PLATE.W.1")
    # Euclidean metrics, edge pairs under 90° (KLayout's defaults): acute notches count too.
    assert plate.space_check(space).count() == 0      # between shapes and inside one (notches)
    assert plate.width_check(width).count() == 0


def test_stripes_widen_where_the_gap_would_fall_below_the_space():
    # 20 µm stripes at 10 µm space reach 2/3; above, the gap stays at the space and the stripe grows.
    assert stripe_pitch(0.5, 20.0, 10.0, 0.005) == (20.0, 40.0)
    width, period = stripe_pitch(0.9, 20.0, 10.0, 0.005)
    assert (width, period) == (90.0, 100.0)
    width, period = stripe_pitch(0.7, 20.0, 10.0, 0.005)
    assert period - width >= 10.0 and width / period == pytest.approx(0.7, abs=0.001)
