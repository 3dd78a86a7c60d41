"""Tiled DRC on Dask reports exactly what the untiled check reports: violation for
violation, the same rule, message and marker, including violations that straddle tile
borders and density windows that cross tiles."""

from __future__ import annotations

import math
from pathlib import Path

import gdstk
import numpy as np
import pytest
import shapely
from dask.distributed import Client, LocalCluster

from drc_corpus import CASES, Gds, wlcsp_die, write_test_pdk
from layoutgen.cli import main as cli_main
from layoutgen.drc.engine import run_drc
from layoutgen.drc import tiles
from layoutgen.drc.tiles import run_drc_tiled
from layoutgen.pdk import load_pdk


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": ":0"}) as cluster:
        with Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def pdk(tmp_path_factory):
    folder = write_test_pdk(tmp_path_factory.mktemp("pdk"))
    return load_pdk(str(folder))


@pytest.fixture
def no_whole_check(monkeypatch):
    """Fail if a rule falls back to the untiled worker that reads the whole file (the
    in-process cluster runs the tasks in this process)."""
    def refuse(*args, **kwargs):
        raise AssertionError("a rule ran untiled on the whole file")

    monkeypatch.setattr(tiles, "check_whole", refuse)


def marker_key(v) -> tuple:
    """A violation as comparable data: rule, message, marker polygon and edges (1e-6 µm)."""
    region = None if v.region is None else shapely.normalize(shapely.set_precision(v.region, 1e-6)).wkt
    edges = None if v.edges is None else tuple(sorted(tuple(round(x, 6) for x in e) for e in v.edges))
    return v.rule, v.cell, v.message, region, edges


def assert_same(path: Path, pdk, client, tile_um: float, rules=None) -> tuple:
    flat = run_drc(path, pdk, rules=rules, hierarchical=False)
    tiled, info = run_drc_tiled(path, pdk, rules=rules, client=client, tile_um=tile_um, report_memory=True)
    assert info["tiles"] > 1
    assert sorted(map(marker_key, tiled.violations)) == sorted(map(marker_key, flat.violations))
    assert tiled.counts() == flat.counts()
    assert (tiled.not_applicable, tiled.unknown_layers, tiled.cells) == (flat.not_applicable, flat.unknown_layers, flat.cells)
    return flat, tiled


def crosses(v, side: float, origin: tuple[float, float]) -> bool:
    """Whether a violation's marker crosses a tile border of the grid from `origin`."""
    x0, y0, x1, y1 = v.bounds()
    return math.floor((x0 - origin[0]) / side) != math.floor((x1 - origin[0]) / side) or \
        math.floor((y0 - origin[1]) / side) != math.floor((y1 - origin[1]) / side)


def random_rects(path: Path, n: int, side: float, seed: int = 5) -> Path:
    rng = np.random.default_rng(seed)
    g = Gds()
    wh = rng.integers(2000, 40001, size=(n, 2)) / 1000
    xy = rng.integers(0, int(side * 1000), size=(n, 2)) / 1000
    for (x, y), (w, h) in zip(xy, wh):
        g.rect("RDL", x, y, x + w, y + h)
    return g.write(path)


def test_every_rule_kind_of_the_corpus_tiles_exactly(pdk, client, tmp_path):
    """Each corpus case (width, space, enclosure, … density) in 3 × 3 tiles or more: the
    whole deck gives the untiled violations and the corpus's counts."""
    for name, case in CASES.items():
        path = tmp_path / f"{name}.gds"
        expected = case(path)
        (x0, y0), (x1, y1) = gdstk.read_gds(str(path)).top_level()[0].bounding_box()
        flat, tiled = assert_same(path, pdk, client, max(x1 - x0, y1 - y0) / 3)
        counts = tiled.counts()
        assert {r: counts.get(r, 0) for r in expected} == expected, name


def test_random_rectangles_tile_exactly_with_violations_across_borders(client, tmp_path, monkeypatch):
    """1,200 random rectangles (2–40 µm) on RDL over 850 µm square, 200 µm tiles: width and space
    markers equal the untiled ones, and many of them straddle a tile border. Without a density
    rule each tile is checked in one pass (no scan), its read grown around the merged shapes that
    leave it (here one shape spans the layout)."""
    sky = load_pdk("sky400")
    path = random_rects(tmp_path / "random.gds", 1200, 850.0)

    def refuse(*args, **kwargs):
        raise AssertionError("the two-pass check ran")

    grown = []
    region_more = tiles.region_more

    def spy(path, cell, boxes, seen, dbu_um):
        grown.append(sum(len(b) for b in boxes.values()))
        return region_more(path, cell, boxes, seen, dbu_um)

    monkeypatch.setattr(tiles, "scan_tile", refuse)
    monkeypatch.setattr(tiles, "region_more", spy)
    flat, tiled = assert_same(path, sky, client, 200.0, rules=["RDL.W.1", "RDL.S.1"])
    assert len(grown) >= 16 and min(grown) >= 1
    counts = tiled.counts()
    assert counts["RDL.W.1"] > 100 and counts["RDL.S.1"] > 100
    origin = tuple(gdstk.read_gds(str(path)).top_level()[0].bounding_box()[0])
    across = [v for v in tiled.violations if crosses(v, 200.0, origin)]
    assert {v.rule for v in across} == {"RDL.W.1", "RDL.S.1"}
    assert len(across) > 50


def test_whole_deck_on_a_faulty_die_tiles_exactly(client, tmp_path):
    """The fan-in test die with an open, a short, a narrow trace and a close stub: the whole
    sky400 deck (connectivity run whole on a worker) in 300 µm tiles equals the untiled run."""
    sky = load_pdk("sky400")
    path = wlcsp_die(tmp_path / "die.gds", faults=("open", "short", "narrow", "close"))
    flat, tiled = assert_same(path, sky, client, 300.0)
    counts = tiled.counts()
    for rule in ("RDL.W.1", "RDL.S.1", "NET.OPEN", "NET.SHORT"):
        assert counts.get(rule, 0) >= 1, rule
    across = [v for v in tiled.violations if v.rule in ("RDL.W.1", "RDL.S.1") and crosses(v, 300.0, (0.0, 0.0))]
    assert across, "the narrow trace crosses tile borders"


def test_density_windows_cross_tiles(client, tmp_path):
    """RDL.DEN (2 mm windows, 1 mm step) over 5 × 5 mm: an empty band, a 95 % corner and
    50 % elsewhere, in 700 µm tiles: every window spans several tiles; the low and high
    windows are the untiled ones, with the same densities."""
    sky = load_pdk("sky400")
    g = Gds()
    g.rect("DIE", 0, 0, 5000, 5000)
    for i in range(10):
        for j in range(10):
            f = 0.0 if i < 4 else 0.95 if i >= 6 and j >= 6 else 0.5
            if f:
                s = 500 * math.sqrt(f)
                g.rect("RDL", 500 * i, 500 * j, 500 * i + s, 500 * j + s)
    path = g.write(tmp_path / "density.gds")
    flat, tiled = assert_same(path, sky, client, 700.0, rules=["RDL.DEN"])
    messages = [v.message for v in tiled.violations]
    assert any("< 0.02" in m for m in messages) and any("> 0.85" in m for m in messages)


def test_cli_rejects_a_bad_tile_size(tmp_path, capsys):
    path = wlcsp_die(tmp_path / "die.gds")
    assert cli_main(["drc", str(path), "--pdk", "sky400", "--tiles", "big"]) == 2
    assert "--tiles 'big'" in capsys.readouterr().err
    assert cli_main(["drc", str(path), "--pdk", "sky400", "--scheduler", "tcp://localhost:1"]) == 2


def _ball(g: Gds, net: str, x: float, y: float) -> None:
    g.circle("RDL", x, y, 100).circle("PV2", x, y, 60).circle("UBM", x, y, 80).circle("BUMP", x, y, 90)
    g.label("BUMP", net, x, y)


def _pad(g: Gds, net: str, x: float, y: float) -> None:
    g.rect("PAD", x - 40, y - 40, x + 40, y + 40).rect("PV1", x - 25, y - 25, x + 25, y + 25)
    g.rect("RDL", x - 40, y - 40, x + 40, y + 40).label("PAD", net, x, y)


def test_nets_across_tile_borders_tile_exactly(client, tmp_path, no_whole_check):
    """Opens and shorts in 250 µm tiles (borders at multiples of 250 from the die corner) equal
    the untiled check: net A's trace crosses seven tiles to its ball (clean); B's and C's traces
    meet only at x = 1000, a tile border (one short, found from two tiles); D's pad reaches its
    RDL through a PV1 via cut by that border (pad overlap on one side, RDL on the other: no open);
    E's pad label sits on the border x = 750, its metal mostly in the neighbour; F's pad and trace
    reach no ball across x = 1750 (one open)."""
    sky = load_pdk("sky400")
    g = Gds()
    g.rect("DIE", 0, 0, 2000, 1000)
    _pad(g, "A", 60, 900)
    g.rect("RDL", 60, 890, 1900, 910).rect("RDL", 1890, 750, 1910, 910)
    _ball(g, "A", 1900, 750)
    _pad(g, "B", 60, 500)
    g.rect("RDL", 60, 490, 1000, 510).rect("RDL", 490, 250, 510, 500)
    _ball(g, "B", 500, 250)
    _pad(g, "C", 1940, 500)
    g.rect("RDL", 1000, 490, 1940, 510).rect("RDL", 1490, 250, 1510, 500)
    _ball(g, "C", 1500, 250)
    g.rect("PAD", 900, 60, 1000, 140).label("PAD", "D", 950, 100)
    g.rect("PV1", 990, 90, 1010, 110).rect("RDL", 1000, 90, 1250, 110)
    _ball(g, "D", 1250, 100)
    g.rect("PAD", 745, 610, 825, 690).rect("PV1", 760, 625, 810, 675).rect("RDL", 745, 610, 825, 690)
    g.label("PAD", "E", 750, 650)
    g.rect("RDL", 825, 640, 1200, 660)
    _ball(g, "E", 1200, 650)
    _pad(g, "F", 1700, 100)
    g.rect("RDL", 1740, 90, 1800, 110)
    path = g.write(tmp_path / "nets.gds")
    flat, tiled = assert_same(path, sky, client, 250.0, rules=["NET.OPEN", "NET.SHORT"])
    assert tiled.counts() == {"NET.SHORT": 1, "NET.OPEN": 1}
    short = next(v for v in tiled.violations if v.rule == "NET.SHORT")
    assert short.message.startswith("nets B, C on one piece of metal")
    assert short.bounds() == pytest.approx((20.0, 200.0, 1980.0, 540.0))   # B's and C's metal, pads to balls
    assert "net F" in next(v for v in tiled.violations if v.rule == "NET.OPEN").message


def test_plating_of_a_flat_wafer_tiles_exactly(client, tmp_path, no_whole_check):
    """A flat 3 mm 'wafer' in 500 µm tiles: the edge contact ring (one keyhole polygon through
    every edge tile), a bus across it, RDL tailed to the bus, an RDL piece and a PLATE bar across
    four tiles that reach no ring (two PLATE.NET findings), an unjoined piece inside a MARK box
    (exempt), a saw kerf (PLATE.ISO has no die to look at). Tiled (no worker reads the whole
    metal) equals the untiled check of the flattened top."""
    sky = load_pdk("sky400")
    g = Gds()
    g.circle("WAFER", 1500, 1500, 3000)
    ring = gdstk.boolean(gdstk.ellipse((1500, 1500), 1500, tolerance=0.01), gdstk.ellipse((1500, 1500), 1450, tolerance=0.01),
                         "not", layer=g.gds("PLATE")[0], datatype=g.gds("PLATE")[1])
    g.cell.add(*ring)
    g.rect("PLATE", 40, 1490, 2960, 1510).rect("KERF", 0, 1480, 3000, 1520)
    g.rect("RDL", 500, 1510, 520, 1700).rect("RDL", 1990, 1300, 2010, 1495)      # tails onto the bus
    g.rect("RDL", 1000, 2000, 1100, 2020)                                         # unjoined
    g.rect("PLATE", 600, 800, 2400, 820)                                          # unjoined, across 4 tiles
    g.rect("MARK", 2200, 2200, 2300, 2300).rect("RDL", 2220, 2220, 2280, 2280)    # exempt
    path = g.write(tmp_path / "flat_wafer.gds")
    flat, tiled = assert_same(path, sky, client, 500.0, rules=["PLATE.NET", "PLATE.ISO"])
    assert tiled.counts() == {"PLATE.NET": 2, "PLATE.ISO": 0}
    boxes = sorted(tuple(round(x, 3) for x in v.bounds()) for v in tiled.violations)
    assert boxes == [(600.0, 800.0, 2400.0, 820.0), (1000.0, 2000.0, 1100.0, 2020.0)]


def test_density_clusters_equal_the_pairwise_definition():
    """`density.clusters` (grid cells, then the few neighbouring cells still apart) gives the
    clusters of the definition (every pair of boxes grown by half the gap), also with boxes
    exactly `gap` apart, coordinates in nm steps, and boxes many cells wide."""
    from layoutgen.drc.density import _clusters_by_pairs, clusters

    rng = np.random.default_rng(3)
    for trial in range(60):
        n = int(rng.integers(1, 200))
        scale = int(rng.choice([100, 1000, 10000]))
        xy, wh = rng.integers(0, scale, size=(n, 2)).astype(float), rng.integers(0, 300, size=(n, 2)).astype(float)
        if trial % 3 == 0:
            xy, wh = np.round(xy / 50) * 50, np.round(wh / 50) * 50        # ties at exactly the gap
        elif trial % 3 == 1:
            xy, wh = xy * 0.007, wh * 0.007
        b = np.column_stack([xy, xy + wh])
        gap = float(rng.choice([0.35, 50, 100, 400, 2000]))
        assert clusters(b, gap) == _clusters_by_pairs(b, gap), trial


def meshed_plate(path: Path) -> Path:
    """A 2.42 mm PLATE mesh (bars 20 µm wide every 400 µm, the horizontal ones drawn as 200 µm
    segments: one merged shape of 89 polygons) with faults at the 500 µm tile borders: a bar necked to 6 µm across
    x = 1000; a block hung from a bar leaving a 6 µm slot to the next bar across y = 1500 (a notch
    of the mesh); a PLATE diamond whose corner comes 6 µm from a bar's edge, near y = 1000 (the
    edge runs from bar to bar, past the tiles' windows); an RDL pad overlapping a bar by 4 µm;
    an off-grid vertex."""
    g = Gds()
    pitch, bar, size = 400.0, 20.0, 2400.0
    for k in range(7):
        c = k * pitch
        for s in np.arange(0.0, size, 200.0):
            if not (k == 2 and s in (800.0, 1000.0)):
                g.rect("PLATE", s, c, s + 200.0, c + bar)             # horizontal bars
        g.rect("PLATE", c, 0.0, c + bar, size + bar)                  # vertical bars
    g.rect("PLATE", 800, 800, 900, 820).rect("PLATE", 900, 807, 1100, 813).rect("PLATE", 1100, 800, 1200, 820)
    g.rect("PLATE", 1500, 1450, 1594, 1600)                                          # a 6 µm slot to x = 1600
    g.poly("PLATE", [(794, 1010), (764, 1040), (734, 1010), (764, 980)])              # 6 µm off x = 800
    g.rect("RDL", 1700, 2016, 1800, 2100)                                            # 4 µm onto a bar
    g.poly("PLATE", [(2100, 2120), (2160.002, 2120), (2160, 2180), (2100, 2180)])    # off-grid vertex
    return g.write(path)


def test_a_wafer_size_shape_is_checked_in_windows_and_tiles_exactly(client, tmp_path, no_whole_check, monkeypatch):
    """A mesh wider than two tiles is read by each tile only in its window (no tile reads the
    whole mesh), yet the width, space, overlap and grid findings equal the untiled ones marker
    for marker: the neck's and the slot's markers, cut by tile borders, joined into one; the
    island's marker edge on the bar followed past the windows to the bar's ends."""
    sky = load_pdk("sky400")
    path = meshed_plate(tmp_path / "mesh.gds")
    plate = tiles.layer_key(*sky.layer("PLATE").gds)
    seen = []
    read_boxes = tiles.read_boxes

    def spy(grid, keys, *args):
        boxes, used, windowed = read_boxes(grid, keys, *args)
        seen.append((boxes[:, keys.index(plate)], windowed[:, keys.index(plate)]))
        return boxes, used, windowed

    monkeypatch.setattr(tiles, "read_boxes", spy)
    monkeypatch.setattr(tiles, "WINDOW_POLYS", 50)          # the mesh's 89 polygons: wafer-size here
    rules = ["PLATE.W.1", "PLATE.S.1", "PLATE.OV.RDL", "GRID.1"]
    flat, tiled = assert_same(path, sky, client, 500.0, rules=rules)
    assert tiled.counts() == {"PLATE.W.1": 1, "PLATE.S.1": 2, "PLATE.OV.RDL": 1, "GRID.1": 1}
    (boxes, windowed), = seen
    assert len(boxes) == 25 and windowed.all()
    assert (boxes[:, 2] - boxes[:, 0]).max() < 1_000_000               # no tile reads the 2.42 mm mesh whole (dbu)
    width = next(v for v in tiled.violations if v.rule == "PLATE.W.1")
    assert width.bounds() == pytest.approx((900.0, 807.0, 1100.0, 813.0), abs=0.01)      # across x = 1000
    notch = next(v for v in tiled.violations if v.rule == "PLATE.S.1" and v.region is not None)
    assert notch.bounds()[1] < 1500 < notch.bounds()[3]                                 # across y = 1500
    pair = next(v for v in tiled.violations if v.rule == "PLATE.S.1" and v.edges)
    assert sorted(abs(e[1] - e[3]) for e in pair.edges) == pytest.approx([30.0, 380.0])  # the bar's edge, whole


def test_a_finding_is_owned_by_the_tile_of_its_anchor_even_without_computing_it():
    """`owned` (a marker inside one core is that tile's; anchors only for the markers that cross
    a border) names the same single tile as the anchors for every finding: pairs of edges, pairs
    with a region, regions alone, a lone edge, on a grid of small tiles that most markers cross."""
    from layoutgen.drc.tiles import TileGrid, anchors, owned
    from layoutgen.rulekinds import Finding

    rng = np.random.default_rng(11)
    pdk = load_pdk("sky400")
    space = next(r for r in pdk.rules if r.kind == "space")
    grid = TileGrid(0, 0, 20_000, 5, 4)                       # 20 µm tiles of 1 nm units
    found = []
    for k in range(400):
        x, y = rng.integers(-5_000, 105_000, size=2) / 1000
        w, h = rng.integers(1, 30_000, size=2) / 1000
        box = shapely.box(x, y, x + w, y + h)
        e1, e2 = (x, y, x + w, y), (x, y + h, x + w, y + h)
        found.append([Finding("pair", None, (e1, e2)), Finding("both", box, (e1, e2)),
                      Finding("region", box), Finding("edge", None, (e1,))][k % 4])
    truth = grid.owner(anchors(space, found), 0.001)
    crossing = 0
    for t in range(len(grid)):
        assert (owned(space, found, grid, t, 0.001) == (truth == t)).all(), t
    for f in found:
        b = tiles.marker_extents([f])[0]
        crossing += grid.owner(b[None, :2], 0.001)[0] != grid.owner(b[None, 2:], 0.001)[0]
    assert 100 < crossing < 400                               # both paths taken


def test_packed_findings_come_back_as_the_same_violations_in_marker_order():
    """A tile's findings, packed into arrays and made violations by the client, keep every
    coordinate bit for bit and come back per rule ordered by marker extent, then message."""
    from layoutgen.drc.tiles import in_marker_order, pack_findings, packed_violations
    from layoutgen.rulekinds import Finding

    rng = np.random.default_rng(5)
    found = []
    for k in range(300):
        x, y = (rng.random(2) * 100).tolist()
        e = ((x, y, x + 0.1 * k, y), (x, y + 1 / 3, x + 1, y + 1 / 3))
        found.append((["A", "B"][k % 2], [Finding(f"m{k % 7}", None, e), Finding(f"m{k % 5}", shapely.box(x, y, x + 1, y + 2)),
                                         Finding("both", shapely.box(x, y, x + 1, y + 1), e), Finding("no edges", None, ())][k % 4]))
    half = len(found) // 2
    placed = [packed_violations(pack_findings(found[:half]), "TOP"), packed_violations(pack_findings(found[half:]), "TOP")]
    got = in_marker_order(placed, ["A", "B"])
    for rule in ("A", "B"):
        mine = [f for r, f in found if r == rule]
        key = [(v.bounds(), v.message) for v in got[rule]]
        assert key == sorted(key)
        assert sorted((v.message, b"" if v.region is None else v.region.wkb, v.edges) for v in got[rule]) == \
            sorted((f.message, b"" if f.region is None else f.region.wkb, f.edges) for f in mine)
        assert all(v.rule == rule and v.cell == "TOP" for v in got[rule])
