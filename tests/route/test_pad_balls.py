"""A pad of a net on several balls feeds them all: the summary's assignment, the route lengths and
the pinout read back from the written GDS list every ball it feeds."""

from __future__ import annotations

import math

import shapely

from layoutgen.families.wlcsp_fanin.build import build_die
from layoutgen.gdsio import write_layout
from layoutgen.pdk import load_pdk
from layoutgen.pinout import read_back
from layoutgen.pipeline import summarize
from floorplans import FLOORPLANS


def test_a_pad_feeding_several_balls_lists_them_all(tmp_path):
    d = FLOORPLANS["one_pad_three_balls"][1]()   # P1 (net A) → A1, B1, A2; P2 (net B) → B2
    pdk = load_pdk(d.pdk)
    die = build_die(d, pdk)
    assert sorted(die.pad_balls["P1"]) == ["A1", "A2", "B1"] and die.pad_balls["P2"] == ["B2"]
    assert die.assignment["P1"] in die.pad_balls["P1"] and die.assignment["P2"] == "B2"

    s = summarize(d, pdk, die, [])["routing"]
    assert s["assignment"] == {"P1": "A1 A2 B1", "P2": "B2"}
    # P1's length is all three of its traces: each at least the straight distance from the pad to its ball
    pad = next(p for p in d.die.pads if p.name == "P1")
    at = {name: (x, y) for name, x, y in die.balls}
    floor = sum(math.dist((pad.x, pad.y), at[b]) for b in ("A1", "A2", "B1")) - 3 * pad.width
    assert die.route_lengths["P1"] >= floor
    assert s["total_length_um"] == round(sum(die.route_lengths.values()), 3)

    # read back from the GDS (connectivity of the written metal, not the router's word): each of
    # the three balls carries net A and pad P1, and B2 carries P2 alone
    gds = write_layout(die.layout, pdk, tmp_path / "d.gds")
    balls, netlist = read_back(gds, pdk, die.layout.top, d)
    pads_of = {b.name: list(b.pads) for b in balls}
    assert pads_of == {"A1": ["P1"], "A2": ["P1"], "B1": ["P1"], "B2": ["P2"]}
    assert netlist["A"]["balls"] == ["A1", "A2", "B1"] and netlist["A"]["pads"] == ["P1"]
    # and one connected piece of metal joins P1 to its three balls
    rdl = shapely.union_all(die.layout.flat("RDL"))
    pieces = list(getattr(rdl, "geoms", [rdl]))
    holding = {name: next(k for k, g in enumerate(pieces) if g.contains(shapely.Point(*at[name]))) for name in at}
    assert holding["A1"] == holding["A2"] == holding["B1"] != holding["B2"]
