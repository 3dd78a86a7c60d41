"""V-shaped notches: the space check finds them as KLayout's Euclidean space check does (issue #18 cause 18).

Closing by square-cornered offsets returns a V unchanged, so a notch whose walls meet at less
than 90° was never seen (0 reported where KLayout found 158 on the fan-in wafer and 196 on
the backside wafer, where straight scribe-bus lines meet the curved contact ring). Counts
are compared per site: KLayout's edge pairs merged into clusters.
"""

from __future__ import annotations

import math
from pathlib import Path

import gdstk
import klayout.db as kdb
import pytest

from layoutgen.drc import run_drc
from layoutgen.pdk import load_pdk


def klayout_space_sites(path: Path, gds: tuple[int, int], space_um: float) -> int:
    """KLayout's Euclidean space check (default 90° limit) on the flattened layer, one count per site."""
    ly = kdb.Layout()
    ly.read(str(path))
    r = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*gds)))
    r.merge()
    ep = r.space_check(round(space_um / ly.dbu), False, kdb.Metrics.Euclidian)
    return kdb.Region(list(ep.polygons(1))).merged().count()


def _notched_bar(angle_deg: float, x0: float) -> list[tuple[float, float]]:
    """A 200 × 100 µm bar with a V notch of `angle_deg` cut 30 µm deep into its top edge."""
    half = 30 * math.tan(math.radians(angle_deg) / 2)
    cx = x0 + 100
    return [(x0, 0), (x0 + 200, 0), (x0 + 200, 100), (round(cx + half, 3), 100), (cx, 70),
            (round(cx - half, 3), 100), (x0, 100)]


def test_v_notches_below_90_degrees_are_found_as_klayout_finds_them(tmp_path):
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("TOP")
    angles = [24, 45, 72, 89, 91, 120]
    for k, a in enumerate(angles):
        cell.add(gdstk.Polygon(_notched_bar(a, 400 * k), layer=20))
    path = tmp_path / "v.gds"
    lib.write_gds(str(path))
    pdk = load_pdk("sky400")
    ours = run_drc(path, pdk, rules=["RDL.S.1"])
    theirs = klayout_space_sites(path, (20, 0), 10)
    assert theirs == 4                                          # 24°, 45°, 72°, 89°; not 91°, 120°
    assert ours.counts()["RDL.S.1"] == theirs
    found_x = sorted(round((v.bounds()[0] + v.bounds()[2]) / 2 // 400) for v in ours.violations)
    assert found_x == [0, 1, 2, 3]                              # one per acute bar, where its notch is


@pytest.fixture(scope="module")
def ring_and_bus(tmp_path_factory):
    """The plating network of a 100 mm wafer of a 5 mm die, as the wafer code draws it, written
    twice: with the contact ring as drawn before the fix (V notches left) and as drawn now."""
    import layoutgen.wafer.plating as plating
    from layoutgen.gdsio import write_layout
    from layoutgen.wafer import build_wafer
    from wafer_support import make_design, make_die_result

    pdk = load_pdk("sky400")
    design = make_design()
    out = tmp_path_factory.mktemp("ring")
    paths = {}
    for name in ("before", "after"):
        real = plating.fill_acute_notches
        if name == "before":
            plating.fill_acute_notches = lambda ring, ends, space, grid: ring
        try:
            wafer = build_wafer(design, pdk, make_die_result(design, pdk), run_checks=False)
        finally:
            plating.fill_acute_notches = real
        paths[name] = write_layout(wafer.layout, pdk, out / f"{name}.gds")
    return pdk, paths


def test_the_ring_notches_were_real_and_are_found(ring_and_bus):
    pdk, paths = ring_and_bus
    theirs = klayout_space_sites(paths["before"], tuple(pdk.layer("PLATE").gds), 10)
    ours = run_drc(paths["before"], pdk, rules=["PLATE.S.1"]).counts()["PLATE.S.1"]
    assert theirs > 20 and ours == theirs


def test_the_contact_ring_has_no_notch_now(ring_and_bus):
    pdk, paths = ring_and_bus
    assert klayout_space_sites(paths["after"], tuple(pdk.layer("PLATE").gds), 10) == 0
    assert run_drc(paths["after"], pdk, rules=["PLATE.S.1", "PLATE.W.1"]).ok
