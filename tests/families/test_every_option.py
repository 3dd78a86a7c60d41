"""Every documented option of every family builds DRC-clean (exit 0) and draws what it says.

One small build per case (each case takes several options at once, so that every value of
every Literal, enum and bool field of the five families' models appears in at least one case);
each option then has one geometric fact measured on the written GDS with klayout.db (an
independent reader): octagon bumps have 8 vertices and pass BUMP.SIZE, a square protrusion
is a 4-vertex MOULD1 footprint, a rear slot per named pad, and so on. Options a build refuses
(relief `tracks="lapped"`) are checked to be refused with their reason (exit 2).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable

import klayout.db as kdb
import pytest

from layoutgen import BallGrid, Design, Die, FanInWlcsp, Posts, peripheral_pads
from layoutgen.errors import ConfigError
from layoutgen.families.backside_wlcsp import BacksideWlcsp
from layoutgen.families.fanout import BusRing, Fanout, FanoutDie, MeanderResistor, MimCapacitor, SpiralInductor
from layoutgen.families.relief_csp import BallStencil, Protrusions, RearContacts, ReliefCsp, Tiers
from layoutgen.families.sheet_terminals import Fiducials, Frame, PotentialPlane, SheetTerminals
from layoutgen.pdk import load_pdk
from layoutgen.pipeline import build


pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs


# --- reading the written files -----------------------------------------------------------------

class Written:
    """A build's combined GDS and mask files, read back with klayout.db."""

    def __init__(self, result) -> None:
        self.result = result
        self.pdk = load_pdk(result.summary["pdk"]["name"] if isinstance(result.summary["pdk"], dict) else result.summary["pdk"])
        self.ly = kdb.Layout()
        self.ly.read(str(result.gds))

    def polygons(self, layer: str) -> list[kdb.Polygon]:
        """Every drawn polygon of `layer` in the top cell, flattened (not merged), in database units."""
        gds = self.pdk.layer(layer).gds
        li = self.ly.find_layer(*gds)
        if li is None:
            return []
        return list(kdb.Region(self.ly.top_cell().begin_shapes_rec(li)).each())

    def vertices(self, layer: str) -> set[int]:
        """The vertex counts of the polygons on `layer`."""
        return {p.num_points() for p in self.polygons(layer)}

    def um(self, dbu: float) -> float:
        """Database units in µm."""
        return dbu * self.ly.dbu

    def texts(self, layer: str) -> list[tuple[str, float, float]]:
        """(text, x µm, y µm) of every label on `layer`, flattened."""
        li = self.ly.find_layer(*self.pdk.layer(layer).gds)
        out = []
        it = self.ly.top_cell().begin_shapes_rec(li)
        while not it.at_end():
            if it.shape().is_text():
                t = it.shape().text.transformed(it.trans())
                out.append((t.string, round(t.x * self.ly.dbu, 3), round(t.y * self.ly.dbu, 3)))
            it.next()
        return out

    def masks(self) -> set[str]:
        """The masks the build wrote."""
        return {m["name"] for m in self.result.summary["masks"]}


def enclosing_radius(p: kdb.Polygon) -> float:
    """Distance from a symmetric polygon's centre to its farthest vertex (database units)."""
    c = p.bbox().center()
    return max(math.hypot(q.x - c.x, q.y - c.y) for q in p.each_point_hull())


@dataclass
class Case:
    """One build: the family, the options it exercises (field=value) and what each must draw."""

    name: str
    design: Callable[[], Design]
    options: list[str]
    check: Callable[[Written], None]


def _pads(size: float, per_side: int, pitch: float, inset: float = 70.0, pad: float = 60.0, **kw):
    return peripheral_pads(size, size, per_side=per_side, pitch=pitch, inset=inset, size=pad, **kw)


# --- family 1: fan-in WLCSP ---------------------------------------------------------------------

def fanin(name: str, **pkg) -> Design:
    pads = _pads(2000, 4, 300, nets={"VDD": [1, 9], "VSS": [5, 13]})
    return Design(name=name, pdk="sky400", die=Die(name="EO_FANIN", width=2000, height=2000, pads=pads),
                  package=FanInWlcsp(balls=BallGrid(rows=4, cols=4, pitch=400), **pkg))


def check_fanin_round(w: Written) -> None:
    # bump="round": every BUMP opening a PDK circle; posts=None: no POST layer, PV2 opens the ball pads.
    assert w.vertices("BUMP") == {w.pdk.circle_vertices}
    assert not w.polygons("POST") and len(w.polygons("PV2")) == 16


def check_fanin_octagon_polymer(w: Written) -> None:
    # bump="octagon": 8 vertices, its width across flats the BUMP.SIZE value (the DRC passed BUMP.SIZE).
    bumps = w.polygons("BUMP")
    assert len(bumps) == 16 and w.vertices("BUMP") == {8}
    size = w.pdk.value("size", "BUMP")
    assert all(abs(2 * w.um(enclosing_radius(p)) - size) <= 0.05 for p in bumps)   # as BUMP.SIZE measures
    # posts: one POST via per ball, of the post diameter; load="polymer" named in the summary.
    posts = w.polygons("POST")
    assert len(posts) == 16 and all(abs(w.um(p.bbox().width()) - 20) <= 0.05 for p in posts)
    assert w.result.summary["posts"]["load"] == "polymer"
    # flow="vias": the post vias are on the thick polymer's mask (PV2), no POST mask.
    assert "PV2" in w.masks() and "POST" not in w.masks()


def check_fanin_warn(w: Written) -> None:
    # on_yield="warn", load="board": the build goes on and names the yielding balls.
    s = w.result.summary["posts"]
    assert s["load"] == "board" and s["yielding_balls"] and s["min_margin_to_yield"] < 1
    # flow="resist" (claim 30): the posts are their own mask, no second-polymer mask.
    assert len(w.polygons("POST")) == 16 and "POST" in w.masks() and "PV2" not in w.masks()


# --- family 4: backside grooves -----------------------------------------------------------------

def backside(name: str, **pkg) -> Design:
    pads = _pads(3000, 4, 200, inset=130, nets={"VDD": [1, 9], "VSS": [5, 13]})
    return Design(name=name, pdk="backside400", die=Die(name="EO_BACKSIDE", width=3000, height=3000, pads=pads),
                  package=BacksideWlcsp(balls=BallGrid(rows=4, cols=4, pitch=400), **pkg))


def check_backside_round(w: Written) -> None:
    # ball="round": ball-mount apertures are PDK circles; lead_width=None: leads at BSWIRE.W.1.
    assert w.vertices("BUMP") == {w.pdk.circle_vertices} and len(w.polygons("BUMP")) == 16
    assert w.result.summary["backside"]["lead"]["width_um"] == w.pdk.value("width", "BSWIRE")


def check_backside_octagon(w: Written) -> None:
    # ball="octagon": 8-vertex apertures and solder-mask openings; lead_width=25: the leads' width.
    assert w.vertices("BUMP") == {8} and w.vertices("SMASK") == {8}
    assert w.result.summary["backside"]["lead"]["width_um"] == 25
    leads = [c for c in w.ly.each_cell() if c.name.startswith("BS_PADLEAD_")]
    assert leads
    for cell in leads:   # the strip up the wall (row frame: along +y from the landing), cut halfway up, is 25 µm wide
        lead = kdb.Region(cell.begin_shapes_rec(w.ly.find_layer(*w.pdk.layer("BSWIRE").gds)))
        top = lead.bbox().top
        cut = lead & kdb.Region(kdb.Box(-10 ** 7, top // 2 - 10, 10 ** 7, top // 2 + 10))
        assert w.um(cut.bbox().width()) == pytest.approx(25)


# --- family 2: relief CSP -------------------------------------------------------------------------

def relief(name: str, route: str, shape: str, stencil: str, rear=None, tracks: str = "plated") -> Design:
    pads = _pads(3000, 6, 300, inset=90, pad=70, nets={"VDD": [1, 11], "VSS": [6, 16]})
    return Design(name=name, pdk="relief400", die=Die(name="EO_RELIEF", width=3000, height=3000, pads=pads),
                  package=ReliefCsp(route=route, tracks=tracks, rear=rear,
                                    protrusions=Protrusions(grid=BallGrid(rows=5, cols=5, pitch=400, depopulate=["C3"]),
                                                            footprint=260, shape=shape, tiers=Tiers(recess=180)),
                                    well_clearance=5, stencil=BallStencil(shape=stencil, overprint=80)))


MOULD, PRINT = {"WELL", "MOULD1", "MOULD2"}, {"STENCIL", "STENCIL2", "STENCIL3"}


def check_relief_mould_square(w: Written) -> None:
    # route="mould": the mould's masks only; shape="square": 4-vertex footprints; stencil "octagon": 8-vertex paste.
    assert MOULD <= w.masks() and not (PRINT & w.masks())
    assert w.vertices("MOULD1") == {4} and len(w.polygons("MOULD1")) == 24
    assert w.vertices("PASTE") == {8} and len(w.polygons("PASTE")) == 24
    assert "RSLOT" not in w.masks()


def check_relief_print_octagon(w: Written) -> None:
    # route="print": the three stencils only; rear=all pads with localised metal: a slot and a metal per pad.
    assert PRINT <= w.masks() and not (MOULD & w.masks())
    assert w.vertices("PASTE") == {4}
    assert len(w.polygons("RSLOT")) == 24 and len(w.polygons("RMETAL")) == 24
    assert {"RSLOT", "RMETAL"} <= w.masks()


def check_relief_round_blanket(w: Written) -> None:
    # shape="round": footprints are PDK circles; rear on two pads, blanket metal: two slots, no RMETAL mask.
    assert w.vertices("MOULD1") == {w.pdk.circle_vertices}
    assert len(w.polygons("RSLOT")) == 2 and not w.polygons("RMETAL") and "RMETAL" not in w.masks()


# --- family 3: sheet terminals ------------------------------------------------------------------

def sheet(name: str, **pkg) -> Design:
    pads = _pads(3000, 3, 300, inset=100, nets={"VDD": [1], "VSS": [4]})
    return Design(name=name, pdk="sheet100", die=Die(name="EO_SHEET", width=3000, height=3000, pads=pads),
                  package=SheetTerminals(**{"offsets": [300], "lift": 150, **pkg}))


def check_sheet_circle(w: Written) -> None:
    # spot circle, per_lead: a round spot over each of the 12 liners; frame and fiducials: the frame and four
    # crosses on MARK, the four crosses etched through the sheet first (THRU mask).
    assert w.vertices("SPOT") == {w.pdk.circle_vertices} and len(w.polygons("SPOT")) == 12 == len(w.polygons("LINER"))
    assert len(w.polygons("MARK")) == 5 and len(w.polygons("THRU")) == 4 and "THRU" in w.masks()


def check_sheet_square_plane(w: Written) -> None:
    # square spots (4 vertices); the plane: an isolation ring round every terminal but the tied VSS one;
    # frame=None, fiducials=None: nothing on MARK or THRU, no THRU mask.
    assert w.vertices("SPOT") == {4}
    assert len(w.polygons("PLANE")) == 11
    assert not w.polygons("MARK") and not w.polygons("THRU") and "THRU" not in w.masks()


def check_sheet_triangle_grid(w: Written) -> None:
    # triangle spots on an area grid: 3-vertex spots, one per grid terminal.
    assert w.vertices("SPOT") == {3} and len(w.polygons("SPOT")) == 16


def check_sheet_polygon(w: Written) -> None:
    assert w.vertices("SPOT") == {7}


# --- family 5: fan-out ---------------------------------------------------------------------------

def fanout(name: str, rotation: int = 0, **pkg) -> Design:
    from layoutgen import Pad

    pads = [Pad(name="A", net="SIG", x=-200, y=0), Pad(name="B", net="RIN", x=200, y=0), Pad(name="C", net="VDD", x=0, y=200)]
    die = Die(name="EO_FO", width=600, height=600, pads=pads)
    return Design(name=name, pdk="fanout500", package=Fanout(
        size=(3000, 3000), levels=2, dies=[FanoutDie(die=die, rotation=rotation)],
        balls=BallGrid(rows=5, cols=5, pitch=500, nets={"E1": "VDD"}),
        resistors=[MeanderResistor(name="R1", nets=("RIN", "ROUT"), x=0, y=-550, legs=5, leg_length=200)],
        rings=[BusRing(net="VDD", size=(1500, 1500), width=60)], **pkg))


def check_rotation(turn: int) -> Callable[[Written], None]:
    """FanoutDie.rotation: pad A (net SIG, at (-200, 0) on the die) lands at the die point turned by `turn`."""
    def check(w: Written) -> None:
        c, s = round(math.cos(math.radians(turn))), round(math.sin(math.radians(turn)))
        assert ("SIG", -200.0 * c, -200.0 * s) in w.texts("PAD")
        assert len(w.polygons("CAVITY")) == 1 and w.polygons("VIA1")
    return check


def check_passives(w: Written) -> None:
    check_rotation(90)(w)
    # inductors and capacitors: L1's turns and C1's plates drawn, in their passives' figures.
    extra = w.result.summary["passives"]
    assert {"L1", "C1", "R1"} <= set(extra)
    assert len(w.polygons("WIRE2")) > len(w.polygons("BUMP"))


def passives(name: str) -> Design:
    d = fanout(name, rotation=90,
               inductors=[SpiralInductor(name="L1", nets=("ROUT", "ANT"), x=500, y=500, turns=2, width=20, spacing=20,
                                         inner_diameter=100)],
               capacitors=[MimCapacitor(name="C1", nets=("VSS", "VDD"), x=-500, y=-500, width=150, height=150)])
    balls = BallGrid(rows=5, cols=5, pitch=500, nets={"E1": "VDD"}, depopulate=["B4", "D2"])
    return d.model_copy(update={"package": d.package.model_copy(update={"balls": balls})})


CASES = [
    Case("fanin_round", lambda: fanin("eo_fanin_round", bump="round"),
         ["FanInWlcsp.bump=round", "FanInWlcsp.posts=None"], check_fanin_round),
    Case("fanin_octagon_posts", lambda: fanin("eo_fanin_oct", bump="octagon",
                                             posts=Posts(diameter=20, height=200, load="polymer", cte_mismatch_ppm=40, delta_t=20)),
         ["FanInWlcsp.bump=octagon", "Posts.load=polymer", "Posts.on_yield=fail", "Posts.flow=vias"], check_fanin_octagon_polymer),
    Case("fanin_posts_warn", lambda: fanin("eo_fanin_warn", posts=Posts(diameter=60, height=100, delta_t=165, on_yield="warn",
                                                                                   flow="resist")),
         ["Posts.load=board", "Posts.on_yield=warn", "Posts.flow=resist"], check_fanin_warn),
    Case("backside_round", lambda: backside("eo_bs_round", ball="round"),
         ["BacksideWlcsp.ball=round", "BacksideWlcsp.lead_width=None"], check_backside_round),
    Case("backside_octagon", lambda: backside("eo_bs_oct", ball="octagon", lead_width=25),
         ["BacksideWlcsp.ball=octagon", "BacksideWlcsp.lead_width=25"], check_backside_octagon),
    Case("relief_mould_square", lambda: relief("eo_rl_mould", "mould", "square", "octagon"),
         ["ReliefCsp.route=mould", "Protrusions.shape=square", "BallStencil.shape=octagon", "ReliefCsp.rear=None"],
         check_relief_mould_square),
    Case("relief_print_octagon", lambda: relief("eo_rl_print", "print", "octagon", "square", rear=RearContacts()),
         ["ReliefCsp.route=print", "Protrusions.shape=octagon", "BallStencil.shape=square",
          "RearContacts.pads=all", "RearContacts.localised_metal=True"], check_relief_print_octagon),
    Case("relief_round_blanket", lambda: relief("eo_rl_round", "mould", "round", "round",
                                                rear=RearContacts(pads=["P1", "P2"], localised_metal=False)),
         ["Protrusions.shape=round", "BallStencil.shape=round", "RearContacts.pads=[...]",
          "RearContacts.localised_metal=False"], check_relief_round_blanket),
    Case("sheet_circle", lambda: sheet("eo_sh_circle", spot_shape="circle", frame=Frame(), fiducials=Fiducials()),
         ["SheetTerminals.placement=per_lead", "SheetTerminals.spot_shape=circle", "SheetTerminals.frame=Frame",
          "SheetTerminals.fiducials=Fiducials"], check_sheet_circle),
    Case("sheet_square_plane", lambda: sheet("eo_sh_square", spot_shape="square", plane=PotentialPlane(thickness=30, tied=["VSS"]),
                                             frame=None, fiducials=None),
         ["SheetTerminals.spot_shape=square", "SheetTerminals.plane=PotentialPlane", "SheetTerminals.frame=None",
          "SheetTerminals.fiducials=None"], check_sheet_square_plane),
    Case("sheet_triangle_grid", lambda: sheet("eo_sh_grid", spot_shape="triangle", placement="grid",
                                              grid=BallGrid(rows=4, cols=4, pitch=500)),
         ["SheetTerminals.spot_shape=triangle", "SheetTerminals.placement=grid"], check_sheet_triangle_grid),
    Case("sheet_polygon", lambda: sheet("eo_sh_poly", spot_shape="polygon", spot_sides=7),
         ["SheetTerminals.spot_shape=polygon"], check_sheet_polygon),
    Case("fanout_0", lambda: fanout("eo_fo0"), ["FanoutDie.rotation=0", "Fanout.resistors", "Fanout.rings"], check_rotation(0)),
    Case("fanout_90_passives", lambda: passives("eo_fo90"), ["FanoutDie.rotation=90", "Fanout.inductors", "Fanout.capacitors"],
         check_passives),
    Case("fanout_180", lambda: fanout("eo_fo180", rotation=180), ["FanoutDie.rotation=180"], check_rotation(180)),
    Case("fanout_270", lambda: fanout("eo_fo270", rotation=270), ["FanoutDie.rotation=270"], check_rotation(270)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_option_builds_clean_and_draws_what_it_says(case: Case, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = build(case.design(), out=tmp_path, quiet=True)
    failed = sorted({v.rule for v in result.drc.violations})
    assert result.exit_code == 0 and not failed, f"{case.name} ({', '.join(case.options)}): DRC finds {failed}"
    case.check(Written(result))


def test_the_options_a_build_refuses_say_why(tmp_path):
    """relief tracks="lapped" (claim 7) and posts that would yield with on_yield="fail" stop the build (exit 2) with the reason."""
    with pytest.raises(ConfigError, match="lapped"):
        build(relief("eo_rl_lapped", "mould", "octagon", "round", tracks="lapped"), out=tmp_path, quiet=True)
    with pytest.raises(ConfigError, match="would yield"):
        build(fanin("eo_fanin_fail", posts=Posts(diameter=60, height=100, delta_t=165)), out=tmp_path, quiet=True)
    assert not any(tmp_path.iterdir())   # nothing half-written
