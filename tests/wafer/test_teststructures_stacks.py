"""The backside and relief test structures, read back from the written site with KLayout.

Backside: a daisy chain through the product's own stack (pad, the second groove's sidewall contact,
the lead up the groove wall, the link on the back) and a Kelvin of one link; connected end to end
only through every level (without the cut faces the ends are apart), its contacts counted on the
masks, its resistance rebuilt from the PDK's files and the measured geometry. Relief: a line
crossing the product's protrusions, every tier edge counted on the masks, its resistance with the
tier heights the design gives. Each site is clean against its PDK's deck.
"""

from __future__ import annotations

import math
import tomllib

import klayout.db as kdb
import pytest

from layoutgen.config import load_config
from layoutgen.drc import run_drc
from layoutgen.gdsio import write_layout
from layoutgen.layout import Layout
from layoutgen.pdk import load_pdk
from layoutgen.wafer.assemble import plate_space
from layoutgen.wafer.checks import plated_layers
from layoutgen.wafer.teststructures import package_relief, pdk_stack, wafer_test_sites
from conftest import TEMPLATES

SIZE = (4000.0, 4000.0)


def _site(tmp_path_factory, pdk_name: str, drawn: set[str], relief=None):
    pdk = load_pdk(pdk_name)
    stack = pdk_stack(pdk, drawn, plated_layers(pdk), relief=relief)
    site = wafer_test_sites(pdk, stack, [("R1C1", 0.0, 0.0)], SIZE, (50.0, 20.0, plate_space(pdk)), "SITE",
                            "Wafer.test_sites", lane=(100.0, 30.0))
    gds = tmp_path_factory.mktemp(pdk_name) / "site.gds"
    write_layout(Layout(top="SITE", cells={"SITE": site.cell}), pdk, gds)
    ly = kdb.Layout()
    ly.read(str(gds))
    return pdk, stack, site, gds, ly


@pytest.fixture(scope="module")
def backside(tmp_path_factory):
    return _site(tmp_path_factory, "backside400", {"PAD", "BSWIRE", "GROOVE1", "GROOVE2", "SMASK", "PLATE", "ISO"})


@pytest.fixture(scope="module")
def relief(tmp_path_factory):
    design = load_config(TEMPLATES / "relief_csp_wafer.py")
    pdk = load_pdk("relief400")
    return _site(tmp_path_factory, "relief400", {"PAD", "RDL", "WELL", "MOULD1", "MOULD2", "ENCAP", "PLATE"},
                 package_relief(design.package, pdk)) + (design,)


def _reg(ly, pdk, name: str) -> kdb.Region:
    return kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*pdk.layer(name).gds))).merged()


def _um(v: float) -> int:
    return round(v * 1000)


def _structure(site, name: str) -> dict:
    (s,) = [s for s in site.structures if s["name"] == name]
    return s


def _netlist(ly, pdk, through_cuts: bool) -> tuple[kdb.LayoutToNetlist, dict]:
    """Nets of PAD, BSWIRE and PLATE; the cut faces (where a lead lines a cut through a pad) join PAD to BSWIRE."""
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(ly, ly.top_cell(), []))
    lay = {n: l2n.make_layer(ly.layer(*pdk.layer(n).gds), n) for n in ("PAD", "BSWIRE", "PLATE", "GROOVE2")}
    face = lay["GROOVE2"] & lay["PAD"] & lay["BSWIRE"]
    l2n.register(face, "FACE")
    for n in ("PAD", "BSWIRE", "PLATE"):
        l2n.connect(lay[n])
    l2n.connect(lay["BSWIRE"], lay["PLATE"])
    if through_cuts:
        l2n.connect(face)
        l2n.connect(face, lay["PAD"])
        l2n.connect(face, lay["BSWIRE"])
    l2n.extract_netlist()
    return l2n, lay


def _res(pdk) -> tuple[dict, dict]:
    data = tomllib.loads(open(pdk.data_files["resistance"], "rb").read().decode())
    return {e["layer"]: e for e in data["level"]}, {e["layer"]: e for e in data.get("via", [])}


def _faces(ly, pdk) -> kdb.Region:
    """Each sidewall contact: a cut's stretch through a pad lined by a lead (one region per pad and cut)."""
    return (_reg(ly, pdk, "GROOVE2") & _reg(ly, pdk, "PAD") & _reg(ly, pdk, "BSWIRE")).merged()


def test_the_backside_chain_is_whole_only_through_every_level(backside):
    pdk, stack, site, _, ly = backside
    chain = _structure(site, "CHAIN_GROOVE2")
    (a, b) = [kdb.DPoint(p["x_um"], p["y_um"]) for p in chain["pads"]]
    l2n, lay = _netlist(ly, pdk, through_cuts=True)
    net = l2n.probe_net(lay["BSWIRE"], a)
    assert net is not None and net.cluster_id == l2n.probe_net(lay["BSWIRE"], b).cluster_id
    # every pad of the chain is on its net: the current crosses each pad between its two cuts
    pads = _reg(ly, pdk, "PAD")
    on = [p for p in pads.each() if l2n.probe_net(lay["PAD"], kdb.DPoint(p.bbox().center().x / 1000,
                                                                         p.bbox().center().y / 1000)).cluster_id == net.cluster_id]
    assert len(on) == chain["cut_pads"] == 20
    # without the cut faces the back metal alone does not join the ends: the chain runs through the pads
    apart, lay2 = _netlist(ly, pdk, through_cuts=False)
    assert apart.probe_net(lay2["BSWIRE"], a).cluster_id != apart.probe_net(lay2["BSWIRE"], b).cluster_id
    # and no other structure's probe pad is on the chain's net
    others = [kdb.DPoint(p["x_um"], p["y_um"]) for s in site.structures if s["name"] != chain["name"] for p in s["pads"]]
    assert all(l2n.probe_net(lay["BSWIRE"], p) is None or l2n.probe_net(lay["BSWIRE"], p).cluster_id != net.cluster_id
               for p in others)


def test_the_backside_chain_resistance_is_the_pdks_values_times_the_drawn_contacts_and_squares(backside):
    pdk, stack, site, _, ly = backside
    chain = _structure(site, "CHAIN_GROOVE2")
    level, via = _res(pdk)
    faces = _faces(ly, pdk)
    row = kdb.Region(kdb.Box(_um(-2000), _um(chain["pads"][0]["y_um"] - 400), _um(2000), _um(chain["pads"][0]["y_um"])))
    mine = faces.interacting(row)
    assert mine.count() == chain["contacts"] == 2 * chain["cut_pads"]
    length = {round(f.bbox().width() / 1000, 3) for f in mine.each()}
    assert length == {chain["contact_length_um"]} == {60.0}                    # each face: the pad's length along the row
    r_face = via["GROOVE2"]["specific_contact_resistivity_ohm_cm2"] / (via["GROOVE2"]["face_um"] * 1e-4 * 60.0 * 1e-4)
    assert chain["contact_resistance_ohm"] == pytest.approx(r_face, abs=1e-9)     # to the nΩ
    # the pad's strip between its two cuts, measured on the mask
    cuts = sorted({(c.bbox().bottom, c.bbox().top) for c in _reg(ly, pdk, "GROOVE2").interacting(row).each()})
    assert len(cuts) == 2
    strip = (cuts[1][0] - cuts[0][1]) / 1000
    assert chain["squares"]["PAD"] == pytest.approx(chain["cut_pads"] * strip / 60.0, abs=1e-6)   # listed to 1e-6
    # every lead climbs one wall: the wall is the substrate over sin(angle), its drawn run over tan(angle)
    t, angle = pdk.process["substrate_thickness_um"], math.radians(pdk.process["wall_angle_deg"])
    w = pdk.value("width", "BSWIRE")
    edge = _reg(ly, pdk, "GROOVE1").interacting(row)
    assert (_reg(ly, pdk, "BSWIRE").interacting(row) & edge).count() == chain["contacts"]   # one lead per contact
    assert chain["wall"]["squares"] == pytest.approx(chain["contacts"] * (t / math.sin(angle) - t / math.tan(angle)) / w)
    # the back-metal squares: the chain's wiring area off its landings (the faces grown by BSWIRE.CUT's 5 µm) and probe
    # pads, over width²: a corner square counts once either way
    y = chain["pads"][0]["y_um"]
    probes = kdb.Region()
    for p in chain["pads"]:
        probes.insert(kdb.Box(_um(p["x_um"] - 50), _um(y - 50), _um(p["x_um"] + 50), _um(y + 50)))
    wire = (_reg(ly, pdk, "BSWIRE") & kdb.Region(kdb.Box(_um(-2000), _um(y - 260), _um(2000), _um(y + 60)))) - probes
    drawn = chain["squares"]["BSWIRE"] - chain["wall"]["squares"]
    assert (wire - faces.sized(_um(5.0))).area() / _um(w) ** 2 == pytest.approx(drawn, rel=1e-3)
    rs_pad, rs_bs = level["PAD"]["sheet_resistance_ohm_sq"], level["BSWIRE"]["sheet_resistance_ohm_sq"]
    expected = chain["contacts"] * r_face + chain["cut_pads"] * strip / 60.0 * rs_pad + chain["squares"]["BSWIRE"] * rs_bs
    assert chain["expected_resistance_ohm"] == pytest.approx(expected, abs=5e-9)     # squares listed to 1e-6


def test_the_backside_kelvin_forces_and_senses_one_link_from_both_banks(backside):
    pdk, stack, site, _, ly = backside
    k = _structure(site, "KELVIN_GROOVE2")
    pads = {p["pad"]: kdb.DPoint(p["x_um"], p["y_um"]) for p in k["pads"]}
    l2n, lay = _netlist(ly, pdk, through_cuts=True)
    assert len({l2n.probe_net(lay["BSWIRE"], p).cluster_id for p in pads.values()}) == 1
    apart, lay2 = _netlist(ly, pdk, through_cuts=False)
    hi = {apart.probe_net(lay2["BSWIRE"], pads[p]).cluster_id for p in ("F_HI", "S_HI")}
    lo = {apart.probe_net(lay2["BSWIRE"], pads[p]).cluster_id for p in ("F_LO", "S_LO")}
    assert len(hi) == len(lo) == 1 and hi != lo               # force and sense meet only at each cut's lead
    box = kdb.Region(kdb.Box(_um(pads["F_LO"].x - 100), _um(pads["F_LO"].y), _um(pads["S_HI"].x + 100), _um(pads["S_HI"].y)))
    assert _faces(ly, pdk).interacting(box).count() == 2 == k["contacts"]
    level, via = _res(pdk)
    r_face = via["GROOVE2"]["specific_contact_resistivity_ohm_cm2"] * 1e8 / (via["GROOVE2"]["face_um"] * 60.0)
    cuts = sorted((c.bbox().bottom, c.bbox().top) for c in _reg(ly, pdk, "GROOVE2").interacting(box).each())
    strip = (cuts[1][0] - cuts[0][1]) / 1000 / 60.0                 # squares of the pad between its cuts
    assert k["expected_resistance_ohm"] == pytest.approx(2 * r_face + strip * level["PAD"]["sheet_resistance_ohm_sq"], abs=1e-9)


def test_the_relief_line_climbs_every_tier_of_each_protrusion_it_crosses(relief):
    pdk, stack, site, _, ly, design = relief
    line = _structure(site, "RELIEF_RDL")
    a, b = [kdb.DPoint(p["x_um"], p["y_um"]) for p in line["pads"]]
    rdl = _reg(ly, pdk, "RDL")
    (piece,) = list(rdl.interacting(kdb.Region(kdb.Box(_um(a.x) - 1, _um(a.y) - 1, _um(a.x) + 1, _um(a.y) + 1))).each())
    assert piece.bbox().contains(kdb.Point(_um(b.x), _um(b.y)))                      # one piece end to end
    w = pdk.value("width", "RDL")
    track = kdb.Region(kdb.Box(_um(a.x + 50), _um(a.y - w / 2), _um(b.x - 50), _um(a.y + w / 2)))
    assert (track - rdl).is_empty()
    feet, tiers = _reg(ly, pdk, "MOULD1"), _reg(ly, pdk, "MOULD2")
    crossed = feet.interacting(track)
    assert crossed.count() == line["protrusions"] == 4
    # each tier edge the line crosses, counted on the masks: the track's edges cut by each outline's edges
    centre = kdb.Edges([kdb.Edge(_um(a.x + 50), _um(a.y), _um(b.x - 50), _um(a.y))])
    n_feet = len([e for e in feet.edges().each() if e.intersects(centre[0])])
    n_tiers = len([e for e in tiers.interacting(track).edges().each() if e.intersects(centre[0])])
    assert (n_feet, n_tiers) == (line["steps"]["footprint_edges"], line["steps"]["recess_edges"]) == (8, 8)
    t = design.package.protrusions.tiers
    steps = n_feet * t.protuberant_height + n_tiers * (t.protuberant_height - t.recessed_height)
    level, _ = _res(pdk)
    length = (b.x - a.x) - 100
    assert line["expected_resistance_ohm"] == pytest.approx(level["RDL"]["sheet_resistance_ohm_sq"] * (length + steps) / w,
                                                            rel=1e-9)


def test_the_relief_site_is_clean_against_its_deck(relief):
    """(The backside site: test_teststructures.py, with the other families'.)"""
    pdk, stack, site, gds, *_ = relief
    result = run_drc(gds, pdk)
    assert result.ok, {k: v for k, v in result.counts().items() if v}
    assert {"MOULD1.W.1", "MOULD1.S.1", "MOULD1.P.1", "MOULD1.EN.MOULD2", "MOULD2.W.1", "RDL.DEN"} <= set(result.counts())


def test_the_kerf_check_says_why_the_structures_stay_in_the_sites(backside):
    """On a plated wafer a row of probe pads needs the half of the lane beyond the bus (the dies' tails cross the other
    half): 2 × (pad + 2 × the largest space) + bus; the 100 µm lanes hold none, and the summary says so."""
    from layoutgen.wafer.teststructures import kerf_check

    pdk, stack, site, *_ = backside
    k = site.kerf
    assert (k["lane_um"], k["needs_um"], k["fits"], k["placed"]) == (100.0, 2 * (100 + 2 * 15) + 30, False, "sites")
    assert "100 µm lanes are narrower than the 290 µm a row of 100 µm probe pads needs with 15 µm" in k["reason"]
    assert "the dies' tails cross the other half" in k["reason"]
    wide = kerf_check(pdk, stack, 300.0, 30.0, "no stretch clear")
    assert wide["fits"] and "could hold" in wide["reason"] and "no stretch clear" in wide["reason"]
    assert kerf_check(pdk, stack, 150.0, 0.0)["needs_um"] == 100 + 2 * 15     # without a bus: the whole lane


def test_the_relief_lines_tiers_are_the_mould_levels_or_the_print_stencils_of_the_route(relief):
    """Moulded: the footprint and recessed tier (MOULD1, MOULD2); printed: the footprint and rim prints' apertures
    (STENCIL2, STENCIL3), each edge a step of that foil's thickness, over the base print; no relief for another family."""
    pdk, *_, design = relief
    mould = package_relief(design.package, pdk)
    t = design.package.protrusions.tiers
    assert [(x.layer, x.step_um) for x in mould.tiers] == [("MOULD1", t.protuberant_height),
                                                           ("MOULD2", t.protuberant_height - t.recessed_height)]
    assert mould.base is None and mould.gaps is None
    printed = package_relief(design.package.model_copy(update={"route": "print"}), pdk)
    assert [(x.layer, x.step_um) for x in printed.tiers] == [("STENCIL2", t.recessed_height),
                                                             ("STENCIL3", t.protuberant_height - t.recessed_height)]
    assert printed.base == "STENCIL" and dict(printed.foils) == {"STENCIL": t.base, "STENCIL2": t.recessed_height,
                                                                 "STENCIL3": t.protuberant_height - t.recessed_height}
    # the rim print is bridged: the gaps are where the rim is not printed, inside the footprint
    assert not printed.gaps.is_empty and printed.footprint.buffer(1e-6).contains(printed.gaps)
    assert package_relief(None, pdk) is None


def test_the_summary_says_the_chains_pads_are_the_incoming_wafers(backside, relief):
    """PAD is on no backside mask: the sites' pads are metal the incoming wafer must carry there, and the summary says
    so; the relief site's levels are all its own masks'."""
    assert list(backside[2].summary()["incoming_wafer"]) == ["PAD"]
    assert "incoming wafer must carry this metal" in backside[2].summary()["incoming_wafer"]["PAD"]
    assert "incoming_wafer" not in relief[2].summary()
