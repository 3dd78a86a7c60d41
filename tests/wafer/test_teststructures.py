"""Process test structures on a wafer's reserved die sites, read back with KLayout.

A 100 mm fan-in wafer of the hand-drawn 5 mm die (wafer_support) with one test site: every
structure listed with its pads, each plated piece tied to the kerf bus by exactly one tail,
each structure connected end to end and, after dicing (saw kerf removed), isolated from the
product nets and from the other structures; the expected resistances are the PDK's sheet and
contact resistances times what the mask draws. The sheet (no plating network) and the
backside and relief stacks are checked on the site cell itself.
"""

from __future__ import annotations

import csv
import io

import klayout.db as kdb
import pytest
import shapely
import tomllib

from layoutgen.errors import ConfigError
from layoutgen.gdsio import write_layout
from layoutgen.layout import Layout
from layoutgen.pdk import load_pdk
from layoutgen.wafer import build_wafer
from layoutgen.wafer.teststructures import pdk_stack, wafer_test_sites
from layoutgen.wafer.teststructures import test_site as make_site
from wafer_support import make_design, make_die_result

SITE = "R4C4"


@pytest.fixture(scope="module")
def site_wafer(tmp_path_factory):
    pdk = load_pdk("sky400")
    design = make_design(size=5000.0, test_sites=[SITE])
    w = build_wafer(design, pdk, make_die_result(design, pdk))
    gds = tmp_path_factory.mktemp("ts") / "w.gds"
    write_layout(w.layout, pdk, gds)
    ly = kdb.Layout()
    ly.read(str(gds))
    return pdk, w, ly


def _region(ly: kdb.Layout, pdk, name: str) -> kdb.Region:
    return kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*pdk.layer(name).gds)))


def _pt(ly, x: float, y: float) -> kdb.Region:
    d = round(1 / ly.dbu)
    return kdb.Region(kdb.Box(round(x / ly.dbu) - d, round(y / ly.dbu) - d, round(x / ly.dbu) + d, round(y / ly.dbu) + d))


def _pieces(metal: kdb.Region, ly, x: float, y: float) -> kdb.Region:
    """The merged piece(s) of `metal` under the point (x, y)."""
    return metal.interacting(_pt(ly, x, y))


def test_the_test_site_replaces_one_die_and_every_structure_is_listed(site_wafer):
    pdk, w, ly = site_wafer
    ts = w.summary["test_structures"]
    assert ts["sites"] == [SITE] and ts["levels"] == ["RDL"]
    full = make_design(size=5000.0)
    assert w.summary["dies"] == build_wafer(full, pdk, make_die_result(full, pdk), run_checks=False).summary["dies"] - 1
    assert {s["kind"] for s in ts["structures"]} == {"kelvin", "line_width", "space_comb", "plating_monitor"}
    rows = list(csv.DictReader(io.StringIO(w.files["teststructures.csv"])))
    assert len(rows) == sum(len(s["pads"]) for s in ts["structures"])
    assert {(r["net"], float(r["x_um"]), float(r["y_um"])) for r in rows} == {
        (p["net"], p["x_um"], p["y_um"]) for s in ts["structures"] for p in s["pads"]}
    # the site is one die site of the map: its pads lie inside it, none on a die
    (cell,) = [c for c in ly.each_cell() if c.name == ts["cell"]]
    (inst,) = [i for i in ly.top_cell().each_inst() if i.cell_index == cell.cell_index()]
    site = inst.dbbox()
    assert all(site.contains(kdb.DPoint(p["x_um"], p["y_um"])) for s in ts["structures"] for p in s["pads"])
    assert w.checks["plating"].ok and w.checks["isolation"].ok
    # the 100 µm lanes cannot hold a probe pad with its clearances beside the bus: the summary says so
    assert ts["kerf"]["fits"] is False and ts["kerf"]["placed"] == "sites" and "narrower than" in ts["kerf"]["reason"]


def test_each_plated_piece_is_tied_to_the_bus_by_exactly_one_tail(site_wafer):
    pdk, w, ly = site_wafer
    ts = w.summary["test_structures"]
    (cell,) = [c for c in ly.each_cell() if c.name == ts["cell"]]
    rdl = kdb.Region(cell.begin_shapes_rec(ly.layer(*pdk.layer("RDL").gds))).merged()
    tails = kdb.Region(cell.begin_shapes_rec(ly.layer(*pdk.layer("PLATE").gds)))
    die = kdb.Region(cell.begin_shapes_rec(ly.layer(*pdk.layer("DIE").gds)))
    assert rdl.count() > 5
    for piece in rdl.each():
        mine = tails.interacting(kdb.Region(piece))
        assert mine.count() == 1                       # one node to the bus: no second path between its pads
        assert not (mine - die).is_empty()             # out of the site, into the lane
    # and on the wafer each tail meets the bus the wafer cell draws in the lanes
    top = ly.top_cell()
    bus = kdb.Region(top.shapes(ly.layer(*pdk.layer("PLATE").gds)))
    (inst,) = [i for i in top.each_inst() if i.cell_index == cell.cell_index()]
    placed = tails.transformed(inst.cplx_trans)
    assert placed.count() == rdl.count() and placed.interacting(bus).count() == placed.count()


def test_after_dicing_each_structure_is_whole_and_isolated_from_product_nets(site_wafer):
    pdk, w, ly = site_wafer
    ts = w.summary["test_structures"]["structures"]
    kerf = _region(ly, pdk, "KERF")
    diced = ((_region(ly, pdk, "RDL") + _region(ly, pdk, "PLATE")).merged() - kerf).merged()
    product = kdb.Region()
    for name in ("PAD", "BUMP"):
        for it in ly.top_cell().begin_shapes_rec(ly.layer(*pdk.layer(name).gds)).each():
            if it.shape().is_text():
                t = it.shape().dtext.transformed(it.dtrans())
                product += _pt(ly, t.x, t.y)
    assert product.count() > 1000
    every = [(s["name"], p["pad"], p["x_um"], p["y_um"]) for s in ts for p in s["pads"]]
    for s in ts:
        pads = [(p["x_um"], p["y_um"]) for p in s["pads"]]
        pieces = [_pieces(diced, ly, x, y) for x, y in pads]
        assert all(pc.count() == 1 for pc in pieces), s["name"]
        if s["kind"] == "space_comb":                 # open: the two halves apart
            assert pieces[0].interacting(pieces[1]).is_empty()
        else:                                         # connected end to end
            assert all((pc ^ pieces[0]).is_empty() for pc in pieces), s["name"]
        assert pieces[0].interacting(product).is_empty()          # no product net on it
        others = [(x, y) for n, _, x, y in every if n != s["name"]]
        assert not any(not pieces[0].interacting(_pt(ly, x, y)).is_empty() for x, y in others)


def test_the_line_bridge_resistance_is_the_pdks_sheet_resistance_times_its_squares(site_wafer):
    pdk, w, ly = site_wafer
    (line,) = [s for s in w.summary["test_structures"]["structures"] if s["kind"] == "line_width"]
    data = tomllib.loads(open(pdk.data_files["resistance"], "rb").read().decode())
    rs = {e["layer"]: e["sheet_resistance_ohm_sq"] for e in data["level"]}["RDL"]
    a, b = line["pads"]
    # the drawn line between the pads' edges, measured on the mask
    x0, x1, y = a["x_um"] + 50, b["x_um"] - 50, a["y_um"]
    d = ly.dbu
    cut = _region(ly, pdk, "RDL") & kdb.Region(kdb.Box(round(x0 / d), round((y - 30) / d), round(x1 / d), round((y + 30) / d)))
    (bar,) = list(cut.merged().each())
    length, width = bar.bbox().width() * d, bar.bbox().height() * d
    assert width == pdk.value("width", "RDL") and length == pytest.approx(line["length_um"])
    assert line["expected_resistance_ohm"] == pytest.approx(rs * length / width, rel=1e-9)
    assert line["sheet_resistance_ohm_sq"] == rs == pytest.approx(1.7241e-8 / 5e-6, rel=0.01)


def test_the_ubm_contact_kelvin_is_the_contact_stack_three_times_with_the_pdks_contact_resistance(site_wafer):
    pdk, w, ly = site_wafer
    (k,) = [s for s in w.summary["test_structures"]["structures"] if s["kind"] == "kelvin"]
    assert k["name"] == "KELVIN_PV2" and k["layers"] == ["RDL", "PV2", "UBM"]
    data = tomllib.loads(open(pdk.data_files["resistance"], "rb").read().decode())
    assert k["expected_resistance_ohm"] == {e["layer"]: e["resistance_ohm"] for e in data["via"]}["PV2"]
    ts = w.summary["test_structures"]
    (cell,) = [c for c in ly.each_cell() if c.name == ts["cell"]]
    (inst,) = [i for i in ly.top_cell().each_inst() if i.cell_index == cell.cell_index()]

    def placed(name):
        return kdb.Region(cell.begin_shapes_rec(ly.layer(*pdk.layer(name).gds))).transformed(inst.cplx_trans)

    rdl, pv2, ubm = placed("RDL").merged(), placed("PV2"), placed("UBM")
    assert ubm.count() == pv2.count() == 3                         # the pad under test, the force and the sense pad
    assert (ubm - rdl).is_empty() and (pv2 - ubm).is_empty()       # each UBM on its RDL land, each opening inside its UBM
    assert ubm.sized(-round(pdk.value("enclosure", "UBM", "PV2") / ly.dbu)).covering(pv2).count() == 3   # UBM.EN.PV2
    pads = {p["pad"]: (p["x_um"], p["y_um"]) for p in k["pads"]}
    under_test = ubm.interacting(_pt(ly, *pads["F_HI"]))
    assert under_test.count() == 1 and not under_test.interacting(_pt(ly, *pads["S_HI"])).is_empty()
    for far in ("F_LO", "S_LO"):
        assert ubm.interacting(_pt(ly, *pads[far])).interacting(under_test).is_empty()
        assert not rdl.interacting(_pt(ly, *pads[far])).interacting(under_test).is_empty()   # joined by the RDL arms


def test_the_rdl_density_holds_in_every_window_of_the_site(site_wafer):
    pdk, w, ly = site_wafer
    rule = pdk.find_rule("density", "RDL")
    ts = w.summary["test_structures"]
    (cell,) = [c for c in ly.each_cell() if c.name == ts["cell"]]
    rdl = kdb.Region(cell.begin_shapes_rec(ly.layer(*pdk.layer("RDL").gds))).merged()
    d, half, win, step = ly.dbu, 2500.0, rule.window, rule.step
    starts = [-half + k * step for k in range(int((2 * half - win) // step) + 1)] + [half - win]
    for x in starts:
        for y in starts:
            box = kdb.Box(round(x / d), round(y / d), round((x + win) / d), round((y + win) / d))
            dens = (rdl & kdb.Region(box)).area() / box.area()
            assert rule.min <= dens <= rule.max, (x, y, dens)


def test_a_test_site_off_the_die_map_is_refused_naming_the_field_and_value():
    pdk = load_pdk("sky400")
    design = make_design(size=5000.0, test_sites=["R99C1"])
    with pytest.raises(ConfigError, match=r"Wafer\.test_sites = \['R99C1'\]: no die site R99C1"):
        build_wafer(design, pdk, make_die_result(design, pdk), run_checks=False)


def test_sites_named_by_place_are_the_centre_and_the_ends_of_its_column_and_row():
    """A round map of 5 mm dies at 5.1 mm pitch: 'centre' is the site nearest the wafer centre, 'top'/'bottom' the
    last sites of its column, 'left'/'right' of its row; each is taken out of the map like a named R<row>C<col>."""
    from layoutgen.wafer.diemap import DieMap
    from layoutgen.wafer.teststructures import reserve, site_names

    runs = ((-2, -1, 0), (-1, -2, 1), (0, -2, 1), (1, -1, 0))           # rows j: columns i0..i1, bottom to top
    dm = DieMap(die=(5000.0, 5000.0), pitch=(5100.0, 5100.0), offset=(2550.0, 2550.0), runs=runs)
    names, xy = site_names(dm.indices()), dm.centres()
    kept, picked = reserve(dm, ["centre", "top", "bottom", "left", "right"], "cfg.py:3: Wafer.test_sites")
    where = {n: (x, y) for n, x, y in picked}
    assert list(where.values()) == [(-2550.0, -2550.0), (-2550.0, 7650.0), (-2550.0, -7650.0),
                                    (-7650.0, -2550.0), (7650.0, -2550.0)]
    assert set(where) <= set(names) and kept.count == dm.count - 5
    assert not {(round(x), round(y)) for x, y in kept.centres().tolist()} & {(round(x), round(y)) for x, y in where.values()}
    with pytest.raises(ConfigError, match=r"no die site middle on the die map .*or one of centre, top, bottom, left, right"):
        reserve(dm, ["middle"], "cfg.py:3: Wafer.test_sites")


# ---------------------------------------------------------------- the other families' stacks, on the site cell

def _netlist(cell_layout: Layout, pdk, stack):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        gds = f"{tmp}/site.gds"
        write_layout(cell_layout, pdk, gds)
        ly = kdb.Layout()
        ly.read(gds)
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(ly, ly.top_cell(), []))
    layers = {n: l2n.make_layer(ly.layer(*pdk.layer(n).gds), n) for n in stack.levels + [v for v, _, _ in stack.vias]}
    for n in stack.levels:
        l2n.connect(layers[n])
    for v, lo, hi in stack.vias:
        l2n.connect(layers[v])
        l2n.connect(layers[lo], layers[v])
        l2n.connect(layers[v], layers[hi])
    l2n.extract_netlist()
    return ly, l2n, layers


@pytest.mark.parametrize("pdk_name, drawn, levels, vias", [
    ("sheet100", {"LEAD", "LINER", "SPOT", "BOND"}, ["LEAD", "SPOT"], ["LINER"]),
    ("backside400", {"PAD", "BSWIRE", "GROOVE1", "GROOVE2", "SMASK", "PLATE"}, ["PAD", "BSWIRE"], ["GROOVE2"]),
    ("relief400", {"RDL", "WELL", "ENCAP", "PLATE"}, ["RDL"], []),
])
def test_each_familys_stack_comes_from_its_pdk_and_its_chains_are_whole(pdk_name, drawn, levels, vias):
    pdk = load_pdk(pdk_name)
    from layoutgen.wafer.checks import plated_layers

    stack = pdk_stack(pdk, drawn, plated_layers(pdk) if "PLATE" in drawn else [])
    assert stack.levels == levels and [v for v, _, _ in stack.vias] == vias
    assert stack.source.endswith(f"{pdk_name}/resistance.toml")
    cell, structures = make_site(pdk, stack, (5000.0, 5000.0), "SITE")
    ly, l2n, layers = _netlist(Layout(top="SITE", cells={"SITE": cell}), pdk, stack)
    kinds = {s.kind for s in structures}
    assert {"line_width", "space_comb"} <= kinds
    assert ("daisy_chain" in kinds) == bool(vias) and ("kelvin" in kinds) == bool(vias)
    assert ("plating_monitor" in kinds) == bool(stack.plated)
    for s in structures:
        nets = {l2n.probe_net(layers[stack.top], kdb.DPoint(x, y)).cluster_id for _, x, y in s.pads}
        assert len(nets) == (2 if s.kind == "space_comb" else 1), s.name
        if s.kind == "daisy_chain" and s.layers[1] in stack.sidewall:   # the backside chain (test_teststructures_stacks)
            y, d = s.pads[0][2], ly.dbu
            row = kdb.Region(kdb.Box(round(-2500 / d), round((y - 300) / d), round(2500 / d), round(y / d)))
            cuts = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*pdk.layer("GROOVE2").gds))) & row
            assert cuts.count() == s.expected["contacts"] == 2 * s.expected["cut_pads"]     # two cuts through each pad
        elif s.kind == "daisy_chain":
            lo, via, hi = s.layers
            # the vias the mask draws in the chain's row are the chain's count, and R is the hand calculation
            y = s.pads[0][2]
            d = ly.dbu
            row = kdb.Region(kdb.Box(round(-2500 / d), round((y - 60) / d), round(2500 / d), round((y + 60) / d)))
            cuts = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*pdk.layer(via).gds))) & row
            n = s.expected["vias"]
            assert cuts.count() == n                 # the pads sit on the upper level: no via under them
            r = n * stack.via_ohm[via] + sum(s.expected["squares"][lv] * stack.sheet_ohm_sq[lv] for lv in (lo, hi))
            assert s.expected["expected_resistance_ohm"] == pytest.approx(r, abs=1e-9)   # rounded to the nΩ
            assert stack.via_ohm[via] == 0.005 and stack.sheet_ohm_sq["LEAD"] == 0.00244


@pytest.mark.parametrize("pdk_name, drawn", [   # relief400: with its protrusion line in test_teststructures_stacks
    ("sky400", {"RDL", "PV1", "PV2", "UBM", "BUMP", "PLATE"}),
    ("backside400", {"PAD", "BSWIRE", "GROOVE1", "GROOVE2", "SMASK", "PLATE", "ISO"}),
    ("sheet100", {"LEAD", "LINER", "SPOT", "BOND"}),
])
def test_each_familys_test_site_is_drc_clean_against_its_deck(pdk_name, drawn, tmp_path):
    from layoutgen.drc import run_drc
    from layoutgen.wafer.assemble import plate_space
    from layoutgen.wafer.checks import plated_layers

    pdk = load_pdk(pdk_name)
    plated = plated_layers(pdk) if "PLATE" in drawn else []
    stack = pdk_stack(pdk, drawn, plated)
    tails = (50.0, 20.0, plate_space(pdk)) if plated else None
    site = wafer_test_sites(pdk, stack, [("R1C1", 0.0, 0.0)], (5000.0, 5000.0), tails, "SITE", "Wafer.test_sites")
    write_layout(Layout(top="SITE", cells={"SITE": site.cell}), pdk, tmp_path / "site.gds")
    result = run_drc(tmp_path / "site.gds", pdk)
    assert result.ok, {k: v for k, v in result.counts().items() if v}
    assert ("ISO" in site.cell.shapes) == (pdk_name == "backside400")     # the blanket insulator BSWIRE sits on
    assert ("PLATE" in site.cell.shapes) == bool(plated)
    # The site is diced as a die is: its edge carries the die's seal band, so the seal rules measure its pads (without
    # it UBM.SEAL.D checked nothing here, and a flat check of the wafer found the site's UBMs in no seal ring).
    seal = pdk.die.seal_width_um
    band = shapely.union_all(site.cell.shapes.get("SEAL", []))
    assert band.area == pytest.approx(5000.0 ** 2 - (5000.0 - 2 * seal) ** 2 if seal > 0 else 0.0)
    rule = pdk.find_rule("edge_distance", "UBM", "SEAL")
    if rule is not None and "UBM" in drawn:
        centres = shapely.centroid(shapely.get_parts(shapely.union_all(site.cell.shapes["UBM"])))
        assert len(centres) == 3            # the UBM contact Kelvin's three pads
        assert shapely.distance(centres, shapely.box(-2500, -2500, 2500, 2500).exterior).min() >= rule.value
    if pdk_name == "backside400":   # the groove chain's grooves, cuts and leads are checked by the family's own rules
        assert {"BSWIRE.CUT", "GROOVE1.ROW", "GROOVE2.ROW", "BSWIRE.GROOVE1.X", "PLATE.OV.BSWIRE"} <= set(result.counts())
        assert {"GROOVE1", "GROOVE2", "PAD"} <= set(site.cell.shapes)


def test_a_plated_test_site_too_small_for_its_structures_is_refused():
    pdk = load_pdk("sky400")
    stack = pdk_stack(pdk, {"RDL", "PLATE"}, ["RDL"])
    with pytest.raises(ConfigError, match=r"Wafer\.test_sites = \['R1C1'\].*reserve a larger site"):
        wafer_test_sites(pdk, stack, [("R1C1", 0.0, 0.0)], (1200.0, 1200.0), (50.0, 20.0, 10.0), "S", "Wafer.test_sites")


# ---------------------------------------------------------------- the sheet's SPOT resistance, the PDK's marker layer

def test_the_spot_sheet_resistance_is_the_designs_sheet_thickness():
    """resistance.toml gives SPOT's Rs for the default 150 µm sheet (thickness_um); a 300 µm sheet halves it, and a
    thickness for a level the file gives none for is refused naming the file."""
    from layoutgen.errors import PdkError

    pdk = load_pdk("sheet100")
    drawn = {"LEAD", "LINER", "SPOT", "BOND"}
    assert pdk_stack(pdk, drawn, []).sheet_ohm_sq["SPOT"] == 0.000115
    assert pdk_stack(pdk, drawn, [], {"SPOT": 300.0}).sheet_ohm_sq["SPOT"] == pytest.approx(0.000115 / 2, rel=1e-12)
    assert pdk_stack(pdk, drawn, [], {"SPOT": 300.0}).sheet_ohm_sq["LEAD"] == 0.00244
    with pytest.raises(PdkError, match=r"sheet100/resistance\.toml: \[\[level\]\] LEAD has no thickness_um"):
        pdk_stack(pdk, drawn, [], {"LEAD": 20.0})


def test_a_pdk_with_two_marker_layers_is_refused_rather_than_one_taken():
    from layoutgen.errors import PdkError

    pdk = load_pdk("sheet100")
    two = pdk.model_copy(update={"layers": {**pdk.layers, "MARK2": pdk.layers["MARKAREA"].model_copy()}})
    with pytest.raises(PdkError, match=r"layers MARKAREA, MARK2 all have purpose \"marker\""):
        two.mark_area_layer()


# ---------------------------------------------------------------- where every resistance comes from

@pytest.mark.parametrize("pdk_name", ["sky400", "relief400", "backside400", "sheet100"])
def test_every_resistance_names_its_source_or_what_to_measure_on_which_structure(pdk_name):
    """Each value of a PDK's resistance.toml names its public source; where part of it is assumed, the entry says which
    part (`assumed`) and what a user measures to replace it (`measure`), on a structure the sites draw for that level."""
    import re

    pdk = load_pdk(pdk_name)
    data = tomllib.loads(open(pdk.data_files["resistance"], "rb").read().decode())
    entries = [("level", e) for e in data["level"]] + [("via", e) for e in data.get("via", [])]
    assert entries
    for kind, e in entries:
        assert e["source"].strip(), e["layer"]
        if "assum" not in e["source"]:
            assert "assumed" not in e, e["layer"]
            continue
        assert e["assumed"].strip() and e["measure"].strip(), e["layer"]
        named = re.findall(r"\b(KELVIN|CHAIN|LINE|PLATE)_([A-Z0-9]+)\b", e["measure"])
        if not named:     # a level the incoming wafer brings (the backside's PAD): measured on the chip maker's side
            assert "incoming wafer" in e["assumed"] and "monitor" in e["measure"], e["layer"]
            continue
        allowed = {"KELVIN", "CHAIN"} if kind == "via" else {"LINE", "PLATE"}
        assert {k for k, _ in named} <= allowed and {lv for _, lv in named} == {e["layer"]}, e["measure"]
