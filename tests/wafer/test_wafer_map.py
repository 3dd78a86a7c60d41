"""The wafer map: only whole dies inside the edge exclusion, as many as a gross-die calculator finds,
and the reticle shot map that covers them."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from layoutgen.errors import ConfigError
from layoutgen.wafer import gross_die_estimate
from layoutgen.wafer.diemap import count_dies, die_map, search_offset
from layoutgen.wafer.outline import SAGITTA_UM, WaferShape
from layoutgen.wafer.shots import shot_map

GRID = 0.005
SCRIBE = 100.0


def _map(diameter: int, die: tuple[float, float], orientation: str = "notch", exclusion: float = 3000.0):
    shape = WaferShape.of(diameter, orientation, exclusion)
    pitch = (die[0] + SCRIBE, die[1] + SCRIBE)
    return shape, die_map(shape, die, pitch, search_offset(shape, die, pitch, GRID))


def _boxes(dm) -> np.ndarray:
    c = dm.centres()
    w, h = dm.die
    return np.c_[c[:, 0] - w / 2, c[:, 1] - h / 2, c[:, 0] + w / 2, c[:, 1] + h / 2]


def _whole(shape: WaferShape, b: np.ndarray) -> np.ndarray:
    """Independent test of a die box against the exclusion: corners in the disc, clear of flat and notch."""
    re = shape.usable_radius + 1e-6
    ok = np.ones(len(b), bool)
    for x in (b[:, 0], b[:, 2]):
        for y in (b[:, 1], b[:, 3]):
            ok &= x * x + y * y <= re * re
    if shape.flat_y is not None:
        ok &= b[:, 1] >= shape.flat_y + shape.edge_exclusion - 1e-6
    if shape.notch_keepout is not None:
        nh, top = shape.notch_keepout
        ok &= (b[:, 2] <= -nh + 1e-6) | (b[:, 0] >= nh - 1e-6) | (b[:, 1] >= top - 1e-6)
    return ok


@pytest.mark.parametrize("diameter,die,orientation", [
    (100, (5000.0, 5000.0), "notch"), (100, (5000.0, 5000.0), "flat"), (100, (2000.0, 3000.0), "notch"),
    (150, (8000.0, 6000.0), "flat"), (200, (5000.0, 5000.0), "notch"), (300, (5000.0, 5000.0), "notch"),
    (300, (10000.0, 10000.0), "notch"),
])
def test_the_die_count_agrees_with_the_gross_die_formula(diameter, die, orientation):
    # π(d/2)²/S − π·d/√(2S), d = diameter − 2 × exclusion, S = pitch area. The formula's second
    # term estimates what the edge costs; a real map differs from it at the edge only, so the
    # stated tolerance is 60 % of that term (measured: at most 49 % over 35 cases, 100–300 mm).
    _, dm = _map(diameter, die, orientation)
    pitch = (die[0] + SCRIBE, die[1] + SCRIBE)
    est = gross_die_estimate(diameter * 1000.0, 3000.0, *pitch)
    d, s = diameter * 1000.0 - 6000.0, pitch[0] * pitch[1]
    edge_term = math.pi * d / math.sqrt(2 * s)
    assert abs(dm.count - est) <= 0.6 * edge_term, (dm.count, est, edge_term)


def test_the_100mm_wafer_of_5mm_dies_holds_240_dies():
    _, dm = _map(100, (5000.0, 5000.0))
    assert dm.count == 240
    assert gross_die_estimate(100_000, 3000, 5100, 5100) == pytest.approx(225.9, abs=0.05)


@pytest.mark.parametrize("diameter,die", [(100, (5000.0, 5000.0)), (150, (3000.0, 7000.0))])
def test_the_offset_search_beats_symmetric_grids_and_a_brute_force_grid(diameter, die):
    shape, dm = _map(diameter, die)
    pitch = dm.pitch
    symmetric = [count_dies(shape, die, pitch, (a, b)) for a in (0, pitch[0] / 2) for b in (0, pitch[1] / 2)]
    brute = max(count_dies(shape, die, pitch, (a, b))
                for a in np.linspace(0, pitch[0], 41)[:-1] for b in np.linspace(0, pitch[1], 41)[:-1])
    assert dm.count >= max(symmetric) and dm.count >= brute
    assert count_dies(shape, die, pitch, dm.offset) == dm.count


@pytest.mark.parametrize("orientation", ["notch", "flat"])
def test_every_die_is_whole_inside_the_edge_exclusion_and_every_row_is_full(orientation):
    shape, dm = _map(100, (5000.0, 5000.0), orientation)
    b = _boxes(dm)
    assert _whole(shape, b).all()
    # Independently with shapely: every die box inside the drawn usable region (a polygon
    # within SAGITTA_UM of the true circle).
    usable = shape.usable(GRID).buffer(SAGITTA_UM + GRID)
    assert shapely.within(shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]), usable).all()
    # No whole die is left out of a row: one more die at either end of any run would not fit.
    w, h = dm.die
    for j, i0, i1 in dm.runs:
        y = dm.offset[1] + j * dm.pitch[1]
        for i in (i0 - 1, i1 + 1):
            x = dm.offset[0] + i * dm.pitch[0]
            assert not _whole(shape, np.array([[x - w / 2, y - h / 2, x + w / 2, y + h / 2]]))[0]
    # Nor a row above or below the map.
    js = [r[0] for r in dm.runs]
    for j in (min(js) - 1, max(js) + 1):
        y = dm.offset[1] + j * dm.pitch[1]
        xs = dm.offset[0] + np.arange(-20, 21) * dm.pitch[0]
        bb = np.c_[xs - w / 2, np.full_like(xs, y - h / 2), xs + w / 2, np.full_like(xs, y + h / 2)]
        assert not _whole(shape, bb).any()


def test_a_fixed_offset_is_kept():
    shape = WaferShape.of(100, "notch", 3000.0)
    dm = die_map(shape, (5000.0, 5000.0), (5100.0, 5100.0), (0.0, 0.0))
    assert dm.offset == (0.0, 0.0)
    assert np.any(np.all(np.isclose(dm.centres(), 0.0), axis=1)), "a die sits on the wafer centre"
    assert dm.count == count_dies(shape, (5000.0, 5000.0), (5100.0, 5100.0), (0.0, 0.0)) == 233


def test_the_flat_and_the_notch_keep_dies_away_from_them():
    flat, dm = _map(150, (5000.0, 5000.0), "flat")
    assert (_boxes(dm)[:, 1] >= flat.flat_y + flat.edge_exclusion - 1e-6).all()
    notch, dm = _map(150, (5000.0, 5000.0), "notch")
    nh, top = notch.notch_keepout
    b = _boxes(dm)
    assert ((b[:, 2] <= -nh) | (b[:, 0] >= nh) | (b[:, 1] >= top)).all()


def test_a_300mm_wafer_has_no_flat():
    with pytest.raises(ConfigError, match="300 mm wafers have a notch"):
        WaferShape.of(300, "flat", 3000.0, "cfg.py:9")


def test_a_shot_holds_as_many_dies_as_fit_in_the_reticle_and_the_shots_cover_every_die():
    _, dm = _map(300, (5000.0, 5000.0))
    sm = shot_map(dm, (26000.0, 33000.0))
    assert sm.per_shot == (5, 6) and sm.dies_per_shot == 30
    assert sm.size[0] <= 26000 and sm.size[1] <= 33000
    ij = dm.indices()
    shot_of = np.floor_divide(ij - np.asarray(sm.phase), np.asarray(sm.per_shot))
    assert {tuple(s) for s in shot_of.tolist()} == set(sm.shots)
    # No block phase needs fewer shots.
    for a in range(5):
        for b in range(6):
            n = len(np.unique(np.floor_divide(ij - np.array([a, b]), np.array([5, 6])), axis=0))
            assert n >= len(sm.shots)
    assert len(sm.shots) * 30 >= dm.count


def test_a_reticle_smaller_than_a_die_site_is_refused():
    _, dm = _map(100, (5000.0, 5000.0))
    with pytest.raises(ConfigError, match=r"cfg.py:3: Wafer.reticle .* holds no die site"):
        shot_map(dm, (5000.0, 26000.0), "cfg.py:3")
