"""Building the fan-in template: the mask set is complete, keeps the rules, and connects every net.

Geometry is measured twice: with shapely on the in-memory layout and, independently, by
reading the written GDS back with klayout.db.
"""

from __future__ import annotations

import filecmp
import json
from collections import defaultdict
from pathlib import Path

import klayout.db as kdb
import pytest
import shapely
from shapely.strtree import STRtree

from layoutgen.pipeline import build
from layoutgen.cli import main
from layoutgen.config import load_config
from layoutgen.families import builder
from layoutgen.pdk import load_pdk

from conftest import TEMPLATES, template_variant

TEMPLATE = TEMPLATES / "wlcsp_fanin.py"


@pytest.fixture(scope="module")
def die_only(tmp_path_factory) -> Path:
    """The template without its wafer: these tests are about the die (tests/test_wafer*.py the wafer)."""
    return template_variant(TEMPLATE, tmp_path_factory.mktemp("cfg") / "die_only.py",
                            "design = design.model_copy(update={'wafer': None})")


@pytest.fixture(scope="module")
def built(tmp_path_factory, die_only) -> Path:
    out = tmp_path_factory.mktemp("out")
    result = build(die_only, out=out, drc=False)
    return result.out_dir


@pytest.fixture(scope="module")
def die(die_only):
    design = load_config(die_only)
    return design, builder(design.package.family)(design, load_pdk(design.pdk))


_LAYOUTS: dict[Path, kdb.Layout] = {}


def read_region(gds: Path, layer: tuple[int, int]) -> kdb.Region:
    """The region of `layer` in the top cell of `gds`, flattened, in database units.

    The layout stays referenced: a region made from a layout's shapes must not outlive it.
    """
    if gds not in _LAYOUTS:
        _LAYOUTS[gds] = kdb.Layout()
        _LAYOUTS[gds].read(str(gds))
    ly = _LAYOUTS[gds]
    return kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*layer)))


def dbu_um(gds: Path) -> float:
    ly = kdb.Layout()
    ly.read(str(gds))
    return ly.dbu


def test_outputs_are_complete(built: Path):
    names = {p.name for p in (built / "masks").iterdir()}
    assert names == {"PV1.gds", "RDL.gds", "PV2.gds", "UBM.gds", "BUMP.gds", "manifest.json", "jobdeck.txt",
                     "mask_order.csv", "mask_order.json"}
    assert (built / "wlcsp_fanin.gds").stat().st_size > 0
    lyp = (built / "wlcsp_fanin.lyp").read_text()
    assert "<name>RDL 20/0</name>" in lyp and "#d01010" in lyp
    s = json.loads((built / "summary.json").read_text())
    assert s["counts"]["pads"] == 128 and s["counts"]["balls"] == 128 and s["counts"]["routes"] == 128
    assert s["counts"]["nets"] == 128 - 2 * 15  # VDD and VSS each stand for 16 pads


def test_feature_counts_read_back_with_klayout(built: Path):
    gds = built / "wlcsp_fanin.gds"
    assert read_region(gds, (10, 0)).count() == 128      # one PV1 opening per pad
    assert read_region(gds, (40, 0)).count() == 128      # one UBM per ball
    assert read_region(gds, (50, 0)).count() == 128      # one bump opening per ball
    assert read_region(gds, (2, 0)).count() == 128       # the pads themselves


def test_die_is_hierarchical(built: Path):
    ly = kdb.Layout()
    ly.read(str(built / "wlcsp_fanin.gds"))
    top = ly.top_cell()
    assert top.name == "WLCSP_FANIN_5X5"
    children = {ly.cell(i).name: 0 for i in top.each_child_cell()}
    for inst in top.each_inst():
        children[inst.cell.name] += 1
    assert children["POSTSTACK_ROUND_D25_SKY400"] == 128          # the template's balls sit on 25 µm posts
    assert children["PADSTACK_RECT_60x60"] == 128


@pytest.mark.parametrize("outer,inner,rule", [
    ((2, 0), (10, 0), ("enclosure", "PAD", "PV1")),
    ((20, 0), (10, 0), ("enclosure", "RDL", "PV1")),
    ((40, 0), (30, 0), ("enclosure", "UBM", "PV2")),
    ((20, 0), (40, 0), ("enclosure", "RDL", "UBM")),
])
def test_enclosures_hold_by_measurement_in_klayout(built: Path, outer, inner, rule):
    gds = built / "wlcsp_fanin.gds"
    value = load_pdk("sky400").value(*rule)
    dbu = dbu_um(gds)
    a, b = read_region(gds, outer), read_region(gds, inner)
    assert (b - a).is_empty(), "inner shape outside its enclosure"
    # The rule holds at exactly the value; 1 nm less would fail only if the rule were broken.
    assert a.enclosing_check(b, round(value / dbu) - 1, False, kdb.Metrics.Euclidian).count() == 0


@pytest.mark.parametrize("layer,kind,other", [
    ((20, 0), "space", None), ((10, 0), "space", None), ((20, 0), "width", None), ((10, 0), "width", None),
    ((40, 0), "width", None), ((30, 0), "width", None),
])
def test_width_and_space_hold_in_klayout(built: Path, layer, kind, other):
    gds = built / "wlcsp_fanin.gds"
    dbu = dbu_um(gds)
    name = {(20, 0): "RDL", (10, 0): "PV1", (40, 0): "UBM", (30, 0): "PV2"}[layer]
    value = round(load_pdk("sky400").value(kind, name) / dbu)
    region = read_region(gds, layer).merged()
    check = region.width_check if kind == "width" else region.space_check
    # KLayout's Euclidean width check pairs any two inward-facing edges of a round pad (two
    # facets 90° apart are 0.71 D apart), so on the round UBM/PV2 it flags every pad; the
    # Projection metric measures only edges that face each other, which is what the rule means.
    metric = kdb.Metrics.Projection if name in ("UBM", "PV2") and kind == "width" else kdb.Metrics.Euclidian
    assert check(value - 1, False, metric).count() == 0


def test_pv1_to_pv2_and_ubm_separation(built: Path):
    gds = built / "wlcsp_fanin.gds"
    pdk = load_pdk("sky400")
    dbu = dbu_um(gds)
    pv1 = read_region(gds, (10, 0))
    for other, rule in (((30, 0), ("separation", "PV1", "PV2")), ((40, 0), ("separation", "PV1", "UBM"))):
        d = round(pdk.value(*rule) / dbu)
        assert pv1.separation_check(read_region(gds, other), d - 1, False, kdb.Metrics.Euclidian).count() == 0


def test_every_net_is_connected_and_isolated_shapely(die):
    design, result = die
    layout = result.layout
    rdl = shapely.union_all(layout.flat("RDL"))
    pieces = list(shapely.get_parts(rdl))
    tree = STRtree(pieces)
    nets_of_piece: dict[int, set[str]] = defaultdict(set)
    terminals_of_piece: dict[int, list[str]] = defaultdict(list)
    for lb in layout.flat_labels("PAD") + layout.flat_labels("BUMP"):
        hit = tree.query(shapely.Point(lb.x, lb.y), predicate="intersects")
        assert len(hit) == 1, f"label {lb.text} at ({lb.x}, {lb.y}) is not on one piece of RDL"
        nets_of_piece[int(hit[0])].add(lb.text)
        terminals_of_piece[int(hit[0])].append(lb.layer)
    # no short: each piece carries one net; no open: each piece joins a pad and a ball
    assert all(len(n) == 1 for n in nets_of_piece.values())
    assert all("PAD" in t and "BUMP" in t for t in terminals_of_piece.values())
    assert len(pieces) == 128
    # each pad's piece holds the ball it was assigned
    pad_pos = {name: (x, y) for name, _, x, y in result.pads}
    ball_pos = {name: (x, y) for name, x, y in result.balls}
    for pad, ball in result.assignment.items():
        a = tree.query(shapely.Point(*pad_pos[pad]), predicate="intersects")
        b = tree.query(shapely.Point(*ball_pos[ball]), predicate="intersects")
        assert list(a) == list(b)


def test_every_net_is_connected_klayout_netlist(built: Path):
    """Independent reader: KLayout's own connectivity (PAD-PV1-RDL-PV2-UBM) from the GDS labels."""
    ly = kdb.Layout()
    ly.read(str(built / "wlcsp_fanin.gds"))
    top = ly.top_cell()
    rdl = kdb.Region(top.begin_shapes_rec(ly.layer(20, 0))).merged()
    labels: dict[str, list[kdb.Point]] = defaultdict(list)
    for layer in ((2, 0), (50, 0)):
        it = top.begin_shapes_rec(ly.layer(*layer))
        while not it.at_end():
            if it.shape().is_text():
                t = it.shape().text.transformed(it.trans())
                labels[t.string].append(kdb.Point(t.x, t.y))
            it.next()
    owner = {}
    polys = list(rdl.each())
    for net, points in labels.items():
        for p in points:
            hits = [i for i, poly in enumerate(polys) if poly.inside(p)]
            assert len(hits) == 1
            assert owner.setdefault(hits[0], net) == net, f"short between {net} and {owner[hits[0]]}"
    assert len(polys) == len(owner) == 128


def test_rebuild_is_byte_identical(fanin_build: Path, tmp_path: Path):
    """The whole template built again gives the same bytes in every file: wafer, masks, previews,
    report and DRC reports (against the session's build of it, shared with tests/view)."""
    a, b = fanin_build, build(TEMPLATE, out=tmp_path / "b", quiet=True).out_dir
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files
    for rel in files:
        assert filecmp.cmp(a / rel, b / rel, shallow=False), rel


def test_mask_files_hold_their_layers(built: Path):
    combined = built / "wlcsp_fanin.gds"
    for mask, layer in (("PV1", (10, 0)), ("UBM", (40, 0)), ("BUMP", (50, 0))):
        drawn = read_region(combined, layer)
        on_mask = read_region(built / "masks" / f"{mask}.gds", layer)
        label_area = (on_mask - drawn).area()
        assert (drawn - on_mask).is_empty()
        assert label_area > 0  # the mask label is drawn next to the data
        assert on_mask.count() - drawn.count() > 5


def test_bad_config_exits_2_and_writes_nothing(tmp_path, write_config, capsys):
    cfg = write_config(TEMPLATE.read_text().replace("pitch=400", "pitch=300"))
    out = tmp_path / "out"
    assert main(["build", str(cfg), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "BallGrid.pitch = 300" in err and "BUMP.P.1" in err and f"{cfg}:" in err
    assert not any(out.glob("*")) if out.exists() else True


UNROUTABLE = """
from layoutgen import BallGrid, Design, Die, FanInWlcsp, Pad
pads = [Pad(name="A", net="NA", x=-1500, y=-2430), Pad(name="B", net="NB", x=-500, y=-2430),
        Pad(name="C", net="NA", x=500, y=-2430), Pad(name="D", net="NB", x=1500, y=-2430)]
design = Design(
    name="u", pdk="sky400", die=Die(width=5000, height=5000, pads=pads),
    package=FanInWlcsp(balls=BallGrid(rows=1, cols=2, pitch=400, assign="explicit",
                                      nets={"A1": "NA", "A2": "NB"})),
)
"""


def test_unroutable_config_exits_2_names_the_net(tmp_path, write_config, capsys):
    """Pads NA, NB, NA, NB along the die edge, each net's two pads on one ball: whichever net is drawn
    first cuts the die in two with the other's pads on both sides. (Pads A, C, B to balls NB, NC, NA,
    the case this test used before, routes: B's trace passes between C's and A's balls.)"""
    out = tmp_path / "out"
    code = main(["build", str(write_config(UNROUTABLE)), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "error:" in err and ("NA" in err or "NB" in err) and "cfg.py:" in err
    assert not out.exists() or not [p for p in out.iterdir()]
