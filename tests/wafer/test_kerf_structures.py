"""Test structures in a wide scribe lane (compliant_terminals_wafer.py on a 100 mm wafer with 250 µm lanes), read
back with KLayout: the sheet's daisy chain through its liners, a line-width bridge and a space comb along the lane
above the top row of chips, probe pads in the lane, each chain whole end to end only through its vias (DRC
connectivity: LEAD - LINER - SPOT), apart from every chip, cut by the saw; DRC-clean. A narrow lane is refused when
kerf structures are asked for, naming the field. (The plated case, tails to the bus: test_relief_wafer.py.)"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import klayout.db as kdb
import pytest

from layoutgen.errors import ConfigError
from layoutgen.pdk import load_pdk
from layoutgen.pipeline import build
from conftest import TEMPLATES, template_variant

pytestmark = pytest.mark.usefixtures("no_previews")

PDK = load_pdk("sheet100")
LANE = 250.0


@pytest.fixture(scope="module")
def sheet(tmp_path_factory) -> tuple[Path, dict, kdb.Layout]:
    tmp = tmp_path_factory.mktemp("kerf_sheet")
    cfg = template_variant(TEMPLATES / "compliant_terminals_wafer.py", tmp / "kerf.py",
                           "design = design.model_copy(update={'wafer': design.wafer.model_copy(update={'diameter': 100, "
                           f"'scribe': {LANE}, 'kerf': 100, 'kerf_structures': True}})}})")
    result = build(cfg, out=tmp / "out", quiet=True)
    assert result.exit_code == 0
    out = result.out_dir
    ly = kdb.Layout()
    ly.read(str(out / f"{out.name}.gds"))
    return out, json.loads((out / "summary.json").read_text()), ly


def _box(x0: float, y0: float, x1: float, y1: float) -> kdb.Region:
    return kdb.Region(kdb.Box(round(x0 * 1000), round(y0 * 1000), round(x1 * 1000), round(y1 * 1000)))


def _kerf(s: dict) -> list[dict]:
    return [st for st in s["wafer"]["test_structures"]["structures"] if st["site"] == "KERF"]


def _window(s: dict) -> kdb.Box:
    """The lane around the kerf row and the dies' edges beside it (what the checks read: not the whole wafer)."""
    xs = [p["x_um"] for st in _kerf(s) for p in st["pads"]]
    y = s["wafer"]["test_structures"]["kerf"]["lane_y_um"]
    return _box(min(xs) - 300, y - 400, max(xs) + 300, y + 400).bbox()


def _flat(ly: kdb.Layout, s: dict) -> kdb.Layout:
    """The conductor and saw layers inside the kerf row's window, in one flat cell of a new layout."""
    out = kdb.Layout()
    out.dbu = ly.dbu
    top = out.create_cell("LANE")
    for name in ("LEAD", "LINER", "SPOT", "KERF"):
        top.shapes(out.layer(*PDK.layer(name).gds)).insert(_layer(ly, name, s) & kdb.Region(_window(s)))
    return out


def _layer(ly: kdb.Layout, name: str, s: dict) -> kdb.Region:
    return kdb.Region(ly.top_cell().begin_shapes_rec_touching(ly.layer(*PDK.layer(name).gds), _window(s))).merged()


def test_the_lane_holds_a_chain_a_line_and_a_comb_listed_with_their_pads(sheet):
    out, s, ly = sheet
    assert s["drc"]["ok"] and s["drc"]["violations"] == 0
    k = s["wafer"]["test_structures"]["kerf"]
    assert (k["lane_um"], k["fits"], k["placed"]) == (LANE, True, "kerf and sites")
    assert k["structures"] == ["CHAIN_LINER", "LINE_LEAD", "COMB_LEAD"] == [st["name"] for st in _kerf(s)]
    rows = [r for r in csv.DictReader((out / "teststructures.csv").open()) if r["structure"].startswith("KERF.")]
    assert {(r["structure"], r["net"], float(r["x_um"]), float(r["y_um"])) for r in rows} == {
        (f"KERF.{st['name']}", p["net"], p["x_um"], p["y_um"]) for st in _kerf(s) for p in st["pads"]}
    # every probe pad is a 100 µm square of the top level, inside the lane less the largest space each side
    w = s["wafer"]
    # the largest space of the levels: SPOT has no space rule (its spot spacing is after the etch bias), so its width
    yc, gap = k["lane_y_um"], max(PDK.value("space", "LEAD"), PDK.value("width", "SPOT"))
    assert yc == pytest.approx(w["offset_um"][1] + (max(j for j, _, _ in w["map"]) + 0.5) * w["pitch_um"][1])
    band = _box(-50_000, yc - LANE / 2 + gap, 50_000, yc + LANE / 2 - gap)
    spot = _layer(ly, "SPOT", s)
    for st in _kerf(s):
        for p in st["pads"]:
            pad = _box(p["x_um"] - 50, p["y_um"] - 50, p["x_um"] + 50, p["y_um"] + 50)
            assert (pad - spot).is_empty() and (pad - band).is_empty()
    # the metal of every kerf structure lies in the band, a space from every chip (the die sites of the map)
    (ox, oy), (px, py), (dw, dh) = w["offset_um"], w["pitch_um"], w["die_um"]
    dies = kdb.Region()
    for j, i0, i1 in w["map"]:
        dies += _box(ox + i0 * px - dw / 2, oy + j * py - dh / 2, ox + i1 * px + dw / 2, oy + j * py + dh / 2)
    xs = [p["x_um"] for st in _kerf(s) for p in st["pads"]]
    row = _box(min(xs) - 60, yc - LANE / 2, max(xs) + 60, yc + LANE / 2)
    metal = (_layer(ly, "LEAD", s) + spot) & row
    assert not metal.is_empty() and (metal - band).is_empty()
    assert metal.sized(round(gap * 1000) - 1).interacting(dies).is_empty()


def test_the_kerf_chain_is_whole_only_through_its_vias_and_the_saw_cuts_it(sheet):
    """DRC connectivity (the PDK's: LEAD - LINER - SPOT): the chain's pads on one net; without the liners the ends are
    apart; the line's pads on one net, the comb's halves on two; no other pad on any of them; the vias the LINER mask
    draws along the chain are its count; after dicing nothing of the chain joins its ends."""
    out, s, ly = sheet
    ly = _flat(ly, s)   # the lane's window, flat: the extractor reads no clipped layout
    l2n = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(ly, ly.top_cell(), []))
    lay = {n: l2n.make_layer(ly.layer(*PDK.layer(n).gds), n) for n in ("LEAD", "LINER", "SPOT")}
    for n in lay:
        l2n.connect(lay[n])
    l2n.connect(lay["LEAD"], lay["LINER"])
    l2n.connect(lay["LINER"], lay["SPOT"])
    l2n.extract_netlist()

    def net(x, y):
        n = l2n.probe_net(lay["SPOT"], kdb.DPoint(x, y))   # a net is its circuit's (each kerf structure a cell)
        return None if n is None else (n.circuit().name, n.cluster_id)

    kerf = {st["name"]: st for st in _kerf(s)}
    every = [(st["name"], p["x_um"], p["y_um"]) for st in kerf.values() for p in st["pads"]]
    for st in kerf.values():
        nets = [net(p["x_um"], p["y_um"]) for p in st["pads"]]
        assert None not in nets
        assert len(set(nets)) == (2 if st["kind"] == "space_comb" else 1), st["name"]
        assert not any(net(x, y) in nets for n, x, y in every if n != st["name"])
    chain = kerf["CHAIN_LINER"]
    (a, b) = [(p["x_um"], p["y_um"]) for p in chain["pads"]]
    liners = _layer(ly, "LINER", s) & _box(a[0] + 50, a[1] - 50, b[0] - 50, a[1] + 50)
    assert liners.count() == chain["vias"] == 40
    # LEAD and SPOT alone: the chain's ends apart (its links alternate between them)
    l2 = kdb.LayoutToNetlist(kdb.RecursiveShapeIterator(ly, ly.top_cell(), []))
    lead, spot = (l2.make_layer(ly.layer(*PDK.layer(n).gds), n) for n in ("LEAD", "SPOT"))
    l2.connect(lead)
    l2.connect(spot)
    l2.extract_netlist()
    ends = [l2.probe_net(spot, kdb.DPoint(*xy)) for xy in (a, b)]
    assert ends[0].circuit().name == ends[1].circuit().name and ends[0].cluster_id != ends[1].cluster_id
    # the saw (KERF, on the lane's centre line) runs along the whole chain: nothing of it is left to join its ends
    saw = _layer(ly, "KERF", s)
    left = ((_layer(ly, "LEAD", s) + _layer(ly, "SPOT", s)) & _box(a[0] - 60, a[1] - 60, b[0] + 60, a[1] + 60)) - saw
    assert left.merged().interacting(_box(a[0] - 1, a[1] - 1, a[0] + 1, a[1] + 1)).interacting(
        _box(b[0] - 1, b[1] - 1, b[0] + 1, b[1] + 1)).is_empty()


def test_kerf_structures_asked_for_in_narrow_lanes_are_refused_naming_the_field(tmp_path):
    cfg = template_variant(TEMPLATES / "compliant_terminals_wafer.py", tmp_path / "narrow.py",
                           "design = design.model_copy(update={'wafer': design.wafer.model_copy(update={'diameter': 100, "
                           "'kerf_structures': True})})")
    with pytest.raises(ConfigError, match=r"Wafer\.kerf_structures = True: the 100 µm lanes are narrower than the "
                                          r"200 µm a row of 100 µm probe pads needs with 50 µm to everything around"):
        build(cfg, out=tmp_path / "out", quiet=True, drc=False)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.gds"))    # nothing half-written
