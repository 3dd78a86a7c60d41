"""Terminals etched from a conductive sheet: the template's masks, measured on the written GDS.

One spot per terminal centred on its liner, the bias equal to 2·depth/EF, lead tips on their
contacts and fixed ends on their liners, leads long enough for the lift and apart by the
lead space, isolation rings around each terminal with the plane left in one piece, frame and
fiducials at the same place on every mask, the LEAD and LINER masks mirrored. Geometry is
read back from the GDS files with klayout.db and checked with the family's rule functions.
"""

from __future__ import annotations

import json
from pathlib import Path

import klayout.db as kdb
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box

from layoutgen.pipeline import build
from layoutgen.config import load_config
from layoutgen.families import builder
from layoutgen.families.sheet_terminals.build import plan_sheet
from layoutgen.families.sheet_terminals.rules import (
    plane_pieces, ring_isolation, sheet_field, spot_spacing,
)
from layoutgen.pdk import load_pdk

from conftest import TEMPLATES

TEMPLATE = TEMPLATES / "compliant_terminals.py"
PDK = load_pdk("sheet100")
GRID = PDK.grid_um
LAYERS = {name: PDK.layer(name).gds for name in ("DIE", "PAD", "SPOT", "LEAD", "LINER", "PLANE", "MARK")}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return build(TEMPLATE, out=tmp_path_factory.mktemp("out"), drc=False).out_dir


@pytest.fixture(scope="module")
def design():
    return load_config(TEMPLATE)


@pytest.fixture(scope="module")
def plan(design):
    return plan_sheet(design, PDK)


def read_polys(gds: Path, layer: tuple[int, int]) -> list[Polygon]:
    """Every polygon of `layer` under the top cell, flattened, unmerged, in µm (klayout.db as the reader)."""
    ly = kdb.Layout()
    ly.read(str(gds))
    out = []
    it = ly.top_cell().begin_shapes_rec(ly.layer(*layer))
    while not it.at_end():
        sh = it.shape()
        if sh.is_polygon() or sh.is_box() or sh.is_path():
            p = sh.polygon.transformed(it.trans())
            hull = [(pt.x * ly.dbu, pt.y * ly.dbu) for pt in p.each_point_hull()]
            holes = [[(pt.x * ly.dbu, pt.y * ly.dbu) for pt in p.each_point_hole(h)] for h in range(p.holes())]
            poly = Polygon(hull, holes)
            out.append(poly if poly.is_valid else poly.buffer(0))   # a ring is written as one keyhole polygon
        it.next()
    return out


_LAYOUTS: dict[Path, kdb.Layout] = {}


def region(gds: Path, layer: tuple[int, int]) -> tuple[kdb.Region, float]:
    """The region of `layer` under the top cell (the layout stays alive: a region refers to it) and the dbu."""
    if gds not in _LAYOUTS:
        _LAYOUTS[gds] = kdb.Layout()
        _LAYOUTS[gds].read(str(gds))
    ly = _LAYOUTS[gds]
    return kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*layer))), ly.dbu


def test_outputs_counts_and_predicted_sizes(built: Path):
    assert {p.name for p in (built / "masks").glob("*.gds")} == {"THRU.gds", "LINER.gds", "LEAD.gds", "BOND.gds",
                                                                "SPOT.gds", "PLANE.gds"}
    s = json.loads((built / "summary.json").read_text())
    c = s["counts"]
    assert (c["contacts"], c["leads"], c["liners"], c["terminals"], c["spots"]) == (56, 56, 56, 56, 56)
    assert (c["isolation_rings"], c["tied_terminals"], c["fiducials"]) == (48, 8, 4)    # 8 VSS terminals tied
    sheet = s["sheet"]
    depth = 150 - 30                                                # partial etch leaves the 30 µm plane
    assert sheet["etch_depth_um"] == depth and sheet["bias_um"] == pytest.approx(2 * depth / 3.0)
    assert (sheet["spot_um"], sheet["tip_um"], sheet["neck_um"], sheet["base_um"]) == (200.0, 120.0, 100.0, 200.0)
    assert len(s["terminals"]) == 56
    assert all(t["base_um"] > t["tip_um"] > t["neck_um"] > 0 for t in s["terminals"])   # cooling tower
    assert {m["name"]: m["mirror"] for m in s["masks"]} == {"THRU": True, "LINER": True, "LEAD": True, "BOND": True,
                                                           "SPOT": False, "PLANE": False}


def test_one_spot_per_terminal_centred_on_its_liner(built: Path, plan):
    gds = built / "compliant_terminals.gds"
    spots, liners = read_polys(gds, LAYERS["SPOT"]), read_polys(gds, LAYERS["LINER"])
    assert len(spots) == len(liners) == 56
    merged, _ = region(gds, LAYERS["SPOT"])
    assert merged.merged().count() == 56                        # no two spots touch
    assert all(sum(s.contains(lin) for s in spots) == 1 for lin in liners)   # one spot over each liner
    # Each spot's centre on its terminal's planned position (its liner), within one grid step.
    centres = np.array([[s.centroid.x, s.centroid.y] for s in spots])
    for t in plan.terminals:
        assert np.hypot(*(centres - [t.x, t.y]).T).min() <= GRID


def test_leads_tip_on_contact_fixed_end_on_liner(built: Path, plan):
    gds = built / "compliant_terminals.gds"
    leads, pads, liners = (read_polys(gds, LAYERS[k]) for k in ("LEAD", "PAD", "LINER"))
    assert len(leads) == 56
    for lead in leads:                                          # each tip on one contact, each fixed end on one liner
        assert sum(lead.intersection(p).area > 0 for p in pads) == 1 and sum(lead.contains(lin) for lin in liners) == 1
    pad_at = {p.name: (p.x, p.y) for p in load_config(TEMPLATE).die.pads}
    for ld in plan.leads:
        line = ld.centreline()
        assert np.allclose(line[-1], pad_at[ld.contact]) and np.allclose(line[0], ld.fixed)
        lead = next(g for g in leads if g.contains(Point(*ld.fixed)))
        assert lead.contains(Point(*pad_at[ld.contact]))
        liner = next(g for g in liners if g.contains(Point(*ld.fixed)))
        assert lead.exterior.distance(liner.exterior) >= PDK.value("enclosure", "LEAD", "LINER") - 1e-6


def test_leads_are_long_enough_for_the_lift_and_keep_their_spacing(built: Path, design, plan):
    pkg = design.package
    gds = built / "compliant_terminals.gds"
    leads = read_polys(gds, LAYERS["LEAD"])
    w, s = PDK.value("width", "LEAD"), PDK.value("space", "LEAD")
    for ld in plan.leads:
        line = ld.centreline()
        offset = float(np.hypot(*(line[-1] - line[0])))
        assert LineString(line).length >= (1 + pkg.lead_slack) * (pkg.lift + offset) - 1e-6
        # The reported centreline is the drawn lead: buffered and with its bulges it covers the polygon.
        drawn = next(g for g in leads if g.contains(Point(*ld.fixed)))
        rebuilt = shapely.union_all([LineString(line).buffer(w / 2, cap_style="flat", join_style="mitre"),
                                     shapely.affinity.translate(plan.fixed_bulge, *line[0]),
                                     shapely.affinity.translate(plan.tip_bulge, *line[-1])])
        assert drawn.symmetric_difference(rebuilt).area < 1.0
    # Different leads: at least the lead space apart (shapely), and KLayout's width/space checks agree.
    tree = shapely.STRtree(leads)
    a, b = tree.query(leads, predicate="dwithin", distance=s)
    assert all(leads[i].distance(leads[j]) >= s - 1e-6 for i, j in zip(a, b) if i != j)
    reg, dbu = region(gds, LAYERS["LEAD"])
    assert reg.space_check(round(s / dbu) - 1, False, kdb.Metrics.Euclidian).count() == 0
    assert reg.width_check(round(w / dbu) - 1, False, kdb.Metrics.Euclidian).count() == 0
    lengths = json.loads((built / "summary.json").read_text())["leads"]
    assert all(ld["length_um"] >= ld["required_um"] - 1e-3 for ld in lengths)
    assert {ld["offset_um"] for ld in lengths} == {400.0, 800.0}


def test_isolation_rings_enclose_terminals_and_leave_the_plane_connected(built: Path, design, plan):
    gds = built / "compliant_terminals.gds"
    rings, spots = read_polys(gds, LAYERS["PLANE"]), read_polys(gds, LAYERS["SPOT"])
    assert len(rings) == 48
    clearance = PDK.rule("separation", "PLANE", "SPOT")
    assert ring_isolation(rings, spots, clearance) == []
    gaps = [Polygon(r.interiors[0]).exterior.distance(next(s for s in spots if Polygon(r.interiors[0]).contains(s)).exterior)
            for r in rings]
    assert min(gaps) >= clearance.value - 1e-6
    # The VSS terminals stay on the plane: no ring surrounds them.
    vss = [t for t in plan.terminals if t.net == "VSS"]
    assert len(vss) == 8 and not any(Polygon(r.exterior).contains(Point(t.x, t.y)) for r in rings for t in vss)
    # The field as a DRC finds it in the GDS alone: inside the frame outline; the fiducials are openings too.
    field, fiducials = sheet_field(read_polys(gds, LAYERS["DIE"])[0], read_polys(gds, LAYERS["MARK"]))
    assert len(fiducials) == 4 and field.symmetric_difference(plan.field).area < 1e-6
    assert plane_pieces(field, [*rings, *fiducials], PDK.rule("space", "PLANE")) == []
    plane = plan.field.difference(shapely.union_all([Polygon(r.exterior) for r in rings]))
    assert plane.geom_type == "Polygon"                       # one piece, measured directly too


def test_template_is_drc_clean_in_klayout(built: Path):
    gds = built / "compliant_terminals.gds"
    reg = {k: region(gds, v)[0] for k, v in LAYERS.items()}
    dbu = region(gds, LAYERS["SPOT"])[1]
    n = lambda v: round(v / dbu) - 1  # noqa: E731  (a check at value - 1 dbu: violations strictly below the rule)
    for layer in ("SPOT", "LEAD", "LINER", "PLANE", "MARK"):
        assert reg[layer].width_check(n(PDK.value("width", layer)), False, kdb.Metrics.Euclidian).count() == 0, layer
    for layer, kind in (("SPOT", "spot_spacing"), ("LEAD", "space"), ("PLANE", "space")):
        assert reg[layer].space_check(n(PDK.value(kind, layer)), False, kdb.Metrics.Euclidian).count() == 0, layer
    for outer, inner in (("SPOT", "LINER"), ("LEAD", "LINER")):
        v = PDK.value("enclosure", outer, inner)
        assert reg[outer].enclosing_check(reg[inner], n(v), False, kdb.Metrics.Euclidian).count() == 0, (outer, inner)
        assert (reg[inner] - reg[outer]).is_empty()
    for layer, other in (("SPOT", "MARK"), ("LEAD", "MARK"), ("PLANE", "MARK"), ("PLANE", "SPOT")):
        v = PDK.value("separation", layer, other)
        assert reg[layer].separation_check(reg[other], n(v), False, kdb.Metrics.Euclidian).count() == 0, (layer, other)
    assert (reg["PLANE"] & reg["SPOT"]).is_empty()
    # Every vertex on the 5 nm grid.
    ly = kdb.Layout()
    ly.read(str(gds))
    g = round(GRID / ly.dbu)
    for layer in ("SPOT", "LEAD", "LINER", "PLANE", "MARK"):
        assert reg[layer].grid_check(g, g).count() == 0, layer
    # The shapely rule functions agree on the template.
    assert spot_spacing(read_polys(gds, LAYERS["SPOT"]), PDK.rule("spot_spacing", "SPOT")) == []


def test_masks_carry_frame_and_fiducials_at_the_same_place_and_bottom_masks_are_mirrored(built: Path, design):
    gds = built / "compliant_terminals.gds"
    w, h = design.die.width, design.die.height
    die_box = kdb.Region(kdb.Box(round(-w / 2 / 0.001), round(-h / 2 / 0.001), round(w / 2 / 0.001), round(h / 2 / 0.001)))
    marks = region(gds, LAYERS["MARK"])[0]
    assert marks.merged().count() == 5                        # the frame outline and four fiducial crosses
    mirror = kdb.Trans(kdb.Trans.M90)                          # x -> -x: the sheet seen from its bottom
    for name in ("LINER", "LEAD", "SPOT", "PLANE"):
        mask, _ = region(built / "masks" / f"{name}.gds", LAYERS[name])
        inside = (mask & die_box).merged()
        drawn = (region(gds, LAYERS[name])[0] + marks).merged()
        expect = drawn.transformed(mirror) if name in ("LINER", "LEAD") else drawn
        assert (inside ^ expect).is_empty(), name
        assert (marks - inside).is_empty(), name               # marks at the same coordinates on every mask
    # The mirror is real: the LEAD mask differs from the unmirrored leads (the lead layout is not symmetric).
    lead_mask = region(built / "masks" / "LEAD.gds", LAYERS["LEAD"])[0] & die_box
    assert not (lead_mask ^ (region(gds, LAYERS["LEAD"])[0] + marks)).is_empty()


def test_repeated_features_are_cells_placed_many_times(built: Path):
    ly = kdb.Layout()
    ly.read(str(built / "compliant_terminals.gds"))
    top = ly.top_cell()
    placed: dict[str, int] = {}
    for inst in top.each_inst():
        name = ly.cell(inst.cell_index).name
        placed[name] = placed.get(name, 0) + inst.size()
    terminals = {k: v for k, v in placed.items() if k.startswith("SHEET_TERMINAL_")}
    leads = {k: v for k, v in placed.items() if k.startswith("SHEET_LEAD_")}
    assert sum(terminals.values()) == 56 and len(terminals) == 2        # with and without ring
    assert sum(leads.values()) == 56 and len(leads) <= 4                # one cell per lead shape
    assert placed[next(k for k in placed if k.startswith("SHEET_FIDUCIAL_"))] == 4


def test_same_config_same_bytes(tmp_path: Path, built: Path):
    again = build(TEMPLATE, out=tmp_path, drc=False).out_dir
    for rel in ("compliant_terminals.gds", "masks/LEAD.gds", "masks/SPOT.gds", "summary.json"):
        assert (again / rel).read_bytes() == (built / rel).read_bytes(), rel


def test_die_result_feeds_the_wafer_level(design):
    res = builder("sheet_terminals")(design, PDK)
    assert len(res.pads) == 56 and len(res.balls) == 56
    assert res.ball_nets["P4"] == "VSS" and set(res.route_lengths) == {p.name for p in design.die.pads}
    assert box(*shapely.union_all(res.layout.flat("DIE")).bounds).area == pytest.approx(design.die.width * design.die.height)


def test_the_projects_drc_engine_finds_the_template_clean(built: Path):
    drc = pytest.importorskip("layoutgen.drc")          # the generic deck, where the DRC engine is installed
    result = drc.run_drc(built / "compliant_terminals.gds", PDK)
    assert result.ok, {k: v for k, v in result.counts().items() if v}
    assert {"SPOT.S.1", "LEAD.S.1", "LEAD.OV.PAD", "PLANE.SPOT.S", "NET.OPEN", "NET.SHORT"} <= set(result.counts())


pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs
