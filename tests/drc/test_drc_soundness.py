"""Nothing is called clean that was not checked (issue #18 causes 4 and the end of 18).

Shapes on layers the deck does not know are reported (a warning with layer/datatype and count,
an error with --strict); a rule whose layers a layout does not draw is "not applicable", not
clean; a GDS whose database unit is negative or zero is refused before anything is measured.
"""

from __future__ import annotations

import json
from pathlib import Path

import gdstk
import pytest

from layoutgen.cli import main
from layoutgen.drc import run_drc
from layoutgen.errors import DrcError
from layoutgen.pdk import load_pdk


def _gds(path: Path, shapes: list[tuple[tuple[float, float, float, float], int, int]]) -> Path:
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("TOP")
    for (x0, y0, x1, y1), layer, dt in shapes:
        cell.add(gdstk.rectangle((x0, y0), (x1, y1), layer=layer, datatype=dt))
    lib.write_gds(str(path))
    return path


# Two RDL squares 2 µm apart (RDL.S.1 is 10 µm in sky400): a violation on 20/0, and the same
# pair on 20/1 and on 99/0, which the deck does not define.
PAIR = [((0, 0, 50, 50), 20, 0), ((52, 0, 102, 50), 20, 0)]


def test_shapes_on_unknown_layers_are_reported_and_strict_refuses_them(tmp_path, capsys):
    gds = _gds(tmp_path / "x.gds", [((0, 0, 50, 50), 20, 1), ((52, 0, 102, 50), 20, 1), ((0, 100, 50, 150), 99, 0),
                                    ((200, 0, 250, 50), 20, 0)])
    result = run_drc(gds, load_pdk("sky400"))
    assert result.ok                                      # RDL 20/0: one square, nothing wrong with it
    assert result.unknown_layers == {"20/1": 2, "99/0": 1}
    assert main(["drc", str(gds), "--pdk", "sky400", "-o", str(tmp_path / "r")]) == 0
    out = " ".join(capsys.readouterr().out.split())      # rich wraps at the terminal width
    assert "warning:" in out and "20/1 (2 polygons)" in out and "99/0 (1 polygon)" in out
    assert json.loads((tmp_path / "r" / "drc.json").read_text())["unknown_layers"] == {"20/1": 2, "99/0": 1}
    assert main(["drc", str(gds), "--pdk", "sky400", "-o", str(tmp_path / "r"), "--strict"]) == 2
    assert "20/1 (2 polygons), 99/0 (1 polygon)" in " ".join(capsys.readouterr().err.split())


def test_rules_on_layers_the_layout_lacks_are_not_applicable_not_clean(tmp_path, capsys):
    gds = _gds(tmp_path / "x.gds", PAIR)
    pdk = load_pdk("sky400")
    result = run_drc(gds, pdk)
    assert result.counts()["RDL.S.1"] == 1 and not result.ok
    checked = {r.name for r in result.checked_rules()}
    assert {"RDL.W.1", "RDL.S.1", "RDL.DEN"} <= checked
    on_rdl = {r.name for r in pdk.rules if r.layer == "RDL" and r.kind != "separation"}
    assert on_rdl <= checked
    # Nothing on PV1, BUMP or PLATE, no labels, no wafer: their rules checked nothing.
    assert {"PV1.W.1", "PLATE.W.1", "PLATE.NET", "PLATE.ISO", "BUMP.P.1"} <= set(result.not_applicable)
    assert checked.isdisjoint(result.not_applicable) and len(checked) + len(result.not_applicable) == len(pdk.rules)
    main(["drc", str(gds), "--pdk", "sky400", "-o", str(tmp_path / "r"), "--junit", str(tmp_path / "j.xml")])
    data = json.loads((tmp_path / "r" / "drc.json").read_text())
    status = {r["name"]: r["status"] for r in data["rules"]}
    assert status["RDL.S.1"] == "failed" and status["RDL.W.1"] == "clean" and status["PV1.W.1"] == "not applicable"
    assert data["totals"]["rules_not_applicable"] == len(result.not_applicable)
    assert f'skipped="{len(result.not_applicable)}"' in (tmp_path / "j.xml").read_text()


def _set_units(gds: Path, user: bytes | None = None, db: bytes | None = None) -> Path:
    data = bytearray(gds.read_bytes())
    at = data.index(b"\x00\x14\x03\x05") + 4            # UNITS record: two 8-byte GDS reals
    if user is not None:
        data[at:at + 8] = user
    if db is not None:
        data[at + 8:at + 16] = db
    gds.write_bytes(bytes(data))
    return gds


@pytest.mark.parametrize("which", ["negative", "zero"])
def test_a_negative_or_zero_database_unit_is_refused(tmp_path, which):
    gds = _gds(tmp_path / "x.gds", PAIR)
    data = gds.read_bytes()
    at = data.index(b"\x00\x14\x03\x05") + 12
    db = bytes([data[at] | 0x80]) + data[at + 1:at + 8] if which == "negative" else bytes(8)
    _set_units(gds, db=db)
    with pytest.raises(DrcError, match=r"its (user|database) unit is (-1e-0[69]|0\.0) m; it must be a positive number"):
        run_drc(gds, load_pdk("sky400"))


def test_density_windows_cover_each_cluster_of_shapes_not_the_whole_extent(tmp_path):
    """Two 50 µm squares 2 km apart (near the GDS coordinate limit at 1 nm): one window around
    each (density 0.000625 < 2 %), where windows over the whole extent would be 4 million
    (issue #18 cause 5: 18 million at 4 km)."""
    gds = _gds(tmp_path / "far.gds", [((0, 0, 50, 50), 20, 0), ((2e6, 2e6, 2e6 + 50, 2e6 + 50), 20, 0)])
    result = run_drc(gds, load_pdk("sky400"), rules=["RDL.DEN"])
    assert result.counts()["RDL.DEN"] == 2
    centres = sorted(round(v.bounds()[0]) for v in result.violations)
    assert centres == [0, 2_000_000]


def test_density_clusters_join_shapes_closer_than_a_window():
    import numpy as np

    from layoutgen.drc.density import clusters

    b = np.array([[0, 0, 10, 10], [1500, 0, 1510, 10], [5000, 0, 5010, 10]], float)
    assert clusters(b, 2000) == [(0.0, 0.0, 1510.0, 10.0), (5000.0, 0.0, 5010.0, 10.0)]
    assert clusters(b, 1000) == [(0.0, 0.0, 10.0, 10.0), (1500.0, 0.0, 1510.0, 10.0), (5000.0, 0.0, 5010.0, 10.0)]


def test_zero_area_polygons_in_rotated_mirrored_arrays_check_hierarchically(tmp_path):
    """A fuzz-found GDS: zero-area polygons in the top and in a cell placed by rotated,
    mirrored arrays ended the hierarchical check in AttributeError (issue #18 cause 15)."""
    import math

    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    child, top = lib.new_cell("C"), lib.new_cell("T")
    child.add(gdstk.Polygon([(0, 0), (10, 0), (20, 0)], layer=20), gdstk.rectangle((30, 30), (70, 60), layer=20))
    top.add(gdstk.Reference(child, (100, 0), rotation=math.pi / 2, x_reflection=True, columns=3, rows=2, spacing=(200, 150)))
    top.add(gdstk.Polygon([(0, 0), (5, 0), (10, 0)], layer=20))
    lib.write_gds(str(tmp_path / "z.gds"))
    flat = run_drc(tmp_path / "z.gds", load_pdk("sky400"), hierarchical=False)
    hier = run_drc(tmp_path / "z.gds", load_pdk("sky400"), hierarchical=True)
    assert hier.flat_counts() == flat.counts()


def test_the_angle_check_measures_each_part_of_a_multipolygon_and_skips_empty_shapes():
    """A router hands its merged metal to the angle check; a net whose pieces do not touch is a multipolygon. Each part
    is measured and its findings are the shape's own (it raised IndexError before); an empty shape has no edge."""
    import numpy as np
    import shapely

    from layoutgen.drc.angle import angle_findings

    sliver = shapely.Polygon([(20, 0), (30, 0), (20, 3)])            # a 16.7° corner and a 163.3° edge
    alone = angle_findings(np.array([sliver], dtype=object), 45.0, 0.01)
    mp = shapely.MultiPolygon([shapely.box(0, 0, 10, 10), sliver])
    found = angle_findings(np.array([shapely.box(-5, -5, -1, -1), mp, shapely.Polygon()], dtype=object), 45.0, 0.01)
    assert [i for i, _ in found] == [1, 1, 1]
    assert [f.message for _, f in found] == [f.message for _, f in alone]
    assert [f.edges for _, f in found] == [f.edges for _, f in alone]
    assert angle_findings(np.array([shapely.Polygon()], dtype=object), 45.0, 0.01) == []


def _mixed_shapes() -> "np.ndarray":
    """Merged shapes of 200 random rectangles, rotated copies of them and slotted round pads: notches,
    necks and holes at right angles, at slants and on curves."""
    import numpy as np
    import shapely

    rng = np.random.default_rng(19)
    lo = rng.integers(0, 300_000, (200, 2)) / 1000
    size = rng.integers(2_000, 30_000, (200, 2)) / 1000
    rects = shapely.box(lo[:, 0], lo[:, 1], lo[:, 0] + size[:, 0], lo[:, 1] + size[:, 1])
    merged = shapely.get_parts(shapely.union_all(rects))
    turned = [shapely.affinity.rotate(g, 17 * k, origin=(0, 0)) for k, g in enumerate(merged[:40])]
    pads = [shapely.Point(600 + 80 * k, 0).buffer(30, quad_segs=16).difference(shapely.box(598 + 80 * k, -40, 600 + 80 * k + 1 + k, 5))
            for k in range(8)]
    return np.array([*merged, *turned, *pads], object)


def test_the_space_checks_shortcuts_skip_no_gap(space=10.0):
    """Only shapes with two facing walls within reach are closed, and pieces along two opposite
    axis-parallel walls are settled without measuring contact: neither shortcut changes a finding."""
    import numpy as np
    import shapely

    from layoutgen.drc import geometry as geo
    from layoutgen.drc import morph

    g = _mixed_shapes()
    p0, p1, own, normal = geo.walls(g)
    i, _, dist = geo.facing_pairs(p0, p1, own, normal, morph.GAP_REACH * space)
    every = morph.narrow_gaps(g, space)
    assert len(every) > 20
    some = morph.narrow_gaps(g, space, morph.gap_candidates(len(g), own, i, dist, space))
    assert [(k, p.wkb) for k, p in some] == [(k, p.wkb) for k, p in every]
    for pieces_of in (lambda: morph.opening(g, space), lambda: morph.closing(g, space)):
        changed = pieces_of()
        idx = np.flatnonzero(np.abs(shapely.area(changed) - shapely.area(g)) > geo.SLIVER_UM2)
        parts, which = shapely.get_parts(shapely.symmetric_difference(g[idx], changed[idx]), return_index=True)
        segs, nrm, offsets = geo.segment_table(g[idx])
        quick = geo._along_opposite_walls(parts, which, segs, nrm, offsets, 1e-4)
        measured = geo._facing_by_contact(parts, which, segs, nrm, offsets, 1e-5, 120.0)
        assert quick.any() and not (quick & ~measured).any()


# Steps cornered on both sides that a 10 µm square cannot pass although no two walls overlap
# closer than 10 µm (found on the random-rectangles benchmark), and a cross of 8 µm arms.
_STEPS = [
    "POLYGON ((2715.039 2990.964, 2715.039 2994.785, 2718.192 2994.785, 2718.192 3015.822, 2747.322 3015.822, "
    "2747.322 2984.819, 2723.278 2984.819, 2723.278 2968.307, 2717.569 2968.307, 2717.569 2952.406, "
    "2691.169 2952.406, 2691.169 2990.964, 2715.039 2990.964))",
    "POLYGON ((8362.068 404.119, 8362.068 423.016, 8353.934 423.016, 8353.934 429.466, 8344.525 429.466, "
    "8344.525 439.663, 8328.518 439.663, 8328.518 453.577, 8344.525 453.577, 8344.525 462.653, 8363.501 462.653, "
    "8363.501 431.86, 8368.759 431.86, 8368.759 428.927, 8383.94 428.927, 8383.94 389.208, 8362.068 389.208, "
    "8362.068 396.04, 8361.938 396.04, 8361.938 404.119, 8362.068 404.119))",
    "POLYGON ((-4 -40, 4 -40, 4 -4, 40 -4, 40 4, 4 4, 4 40, -4 40, -4 4, -40 4, -40 -4, -4 -4, -4 -40))",
]


def _rectilinear_shapes(seed: int, n: int = 700, side: float = 300.0) -> "np.ndarray":
    """Merged shapes of `n` random rectangles over a `side` square, then the steps above and their
    complements in a frame (the same steps as gaps)."""
    import numpy as np
    import shapely

    rng = np.random.default_rng(seed)
    lo = rng.integers(0, int(side * 1000), (n, 2)) / 1000
    size = rng.integers(2_000, 30_000, (n, 2)) / 1000
    merged = shapely.get_parts(shapely.union_all(shapely.box(lo[:, 0], lo[:, 1], lo[:, 0] + size[:, 0], lo[:, 1] + size[:, 1])))
    steps = [shapely.from_wkt(w) for w in _STEPS]
    framed = [shapely.box(*np.add(s.bounds, (-30, -30, 30, 30))).difference(s) for s in steps]
    return np.array([*merged, *steps, *framed], object)


def test_narrow_parts_and_gaps_from_walls_are_where_the_opening_and_closing_find_them(seed=3):
    """Along the axes, width and notches are measured from facing walls (`morph.channels`), with the
    polygons where a square may miss a point no channel holds left to the opening (closing): every
    piece the opening loses (the closing fills) meets a marker, and every marker lies in such a piece."""
    import numpy as np
    import shapely

    from layoutgen.drc import morph
    from layoutgen.drc.merge import Shapes
    from layoutgen.drc.space import check_space

    g = _rectilinear_shapes(seed)
    p0, p1, own, _ = morph.walls(g)
    assert morph.axis_parallel(len(g), p0, p1, own).all()
    opened = morph.opening(g, 10.0)
    idx = np.flatnonzero(shapely.area(g) - shapely.area(opened) > 1e-4)
    lost = morph._pieces(idx, shapely.difference(g[idx], opened[idx]), g)
    filled = morph.narrow_gaps(g, 10.0)
    narrow = morph.narrow_parts(g, 10.0)
    notches = [(0, f.region) for f in check_space(Shapes.of(g), 10.0) if f.message.startswith("notch")]
    for old, new in ((lost, narrow), (filled, notches)):
        a = np.array([p for _, p in old], object)
        b = np.array([p for _, p in new], object)
        assert len(a) > 20 and len(b) > 20
        hit_a, _ = shapely.STRtree(b).query(a, predicate="intersects")
        hit_b, _ = shapely.STRtree(a).query(b, predicate="intersects")
        assert set(hit_a.tolist()) == set(range(len(a)))          # every piece found
        assert set(hit_b.tolist()) == set(range(len(b)))          # every marker a piece
        # No marker reaches out of the pieces (a square passes there); slivers aside.
        outside = shapely.area(shapely.difference(b, shapely.union_all(a)))
        assert outside.max() < 1e-3
    # The steps: each holds a narrow part and (framed) a narrow gap, and the cross is one marker.
    k = len(g) - 2 * len(_STEPS)
    assert {i for i, _ in narrow if i >= k} == set(range(k, k + len(_STEPS)))
    assert sum(1 for i, _ in narrow if i == k + 2) == 1
