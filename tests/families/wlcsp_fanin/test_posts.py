"""Posts through a thick polymer (seed 001): force F = 3·Y·I·d/L³, root stress σ = 3·Y·d·D/2L², the
PDK's post via rules, the yield check naming the balls, and the post drawn at its own diameter."""

from __future__ import annotations

import math

import pytest
import shapely

from layoutgen.cells.shapes import width_across_flats
from layoutgen.config import load_config
from layoutgen.errors import ConfigError
from layoutgen.families.wlcsp_fanin.build import build_die
from layoutgen.families.wlcsp_fanin.posts import Posts, per_ball, post_force_n, root_stress_mpa
from layoutgen.pdk import load_pdk

from conftest import TEMPLATES

pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs

TEMPLATE = (TEMPLATES / "wlcsp_fanin.py").read_text()
POSTS = "posts=Posts(diameter=25, height=250, projection=25, modulus_gpa=117, yield_mpa=250,\n                    load=\"board\", cte_mismatch_ppm=14.0, delta_t=60),"


def test_force_and_stress_follow_the_cantilever_formulas():
    # D = 100 µm, L = 100 µm, Y = 117 GPa, d = 1 µm: F = 3·Y·(π D⁴/64)·d / L³
    expect = 3 * 117e9 * math.pi * (100e-6) ** 4 / 64 * 1e-6 / (100e-6) ** 3
    assert post_force_n(100, 100, 1.0, 117) == pytest.approx(expect, rel=1e-12)
    assert post_force_n(100, 200, 1.0, 117) == pytest.approx(expect / 8, rel=1e-12)   # L³
    assert post_force_n(200, 100, 1.0, 117) == pytest.approx(expect * 16, rel=1e-12)  # D⁴
    # σ = M·c/I with M = F·L, c = D/2: the same as 3·Y·d·D / 2L²
    f, i = post_force_n(100, 100, 1.0, 117), math.pi * (100e-6) ** 4 / 64
    assert root_stress_mpa(100, 100, 1.0, 117) == pytest.approx(f * 100e-6 * 50e-6 / i / 1e6, rel=1e-12)
    assert root_stress_mpa(100, 100, 1.0, 117) == pytest.approx(1755.0)
    # the old template's 185 µm, 100 µm posts under 100 K × 14 ppm/K at the corner: ~14 GPa
    assert root_stress_mpa(185, 100, 14e-6 * 100 * math.hypot(2200, 2200), 117) == pytest.approx(14_142, rel=1e-3)


def test_per_ball_rows_give_force_stress_and_margin():
    posts = Posts(diameter=25, height=250, delta_t=60, cte_mismatch_ppm=14)
    rows = per_ball([("A1", 0.0, 0.0), ("A2", 1000.0, 0.0), ("A3", 600.0, 800.0)], {"A2": "VDD"}, posts)
    assert rows[0]["force_mN"] == 0 and rows[0]["stress_mpa"] == 0 and rows[0]["margin_to_yield"] is None
    assert rows[1]["displacement_um"] == pytest.approx(14e-6 * 60 * 1000)              # 0.84 µm
    assert rows[1]["stress_mpa"] == pytest.approx(3 * 117e3 * 0.84 * 25 / (2 * 250 ** 2), rel=1e-5)
    assert rows[1]["margin_to_yield"] == pytest.approx(250 / rows[1]["stress_mpa"], rel=1e-3)
    assert rows[1]["force_mN"] == pytest.approx(rows[2]["force_mN"]) and rows[1]["net"] == "VDD"
    assert rows[1]["compliance_um_per_mN"] == pytest.approx(rows[1]["displacement_um"] / rows[1]["force_mN"], rel=1e-3)


def test_posts_are_inputs_with_the_patents_ranges(write_config):
    for bad, field in (("height=300", "Posts.height = 300"), ("diameter=5", "Posts.diameter = 5"),
                       ("projection=80", "Posts.projection = 80")):
        text = "from layoutgen import Posts\np = Posts(" + ", ".join(
            dict.fromkeys([bad, *(f for f in ("diameter=25", "height=250", "projection=25") if f.split("=")[0] != bad.split("=")[0])])) + ")\n"
        with pytest.raises(ConfigError, match=rf"cfg.py:2: {field}"):
            load_config(write_config(text))


def _die(write_config, posts: str, pdk: str = "sky400", name: str = "cfg.py"):
    assert POSTS in TEMPLATE
    text = TEMPLATE.replace(POSTS, f"posts=Posts({posts}),").replace('pdk="sky400"', f'pdk="{pdk}"')
    design = load_config(write_config(text, name))
    return build_die(design.model_copy(update={"wafer": None}), load_pdk(pdk))


def test_the_template_posts_bend_without_yielding_and_are_drawn_at_their_diameter(write_config):
    die = _die(write_config, "diameter=25, height=250, projection=25, load='board', cte_mismatch_ppm=14, delta_t=60")
    s = die.extra["posts"]
    assert (s["load"], s["worst_ball"], s["yielding_balls"]) == ("board", "A1", [])
    assert s["max_stress_mpa"] == pytest.approx(183.465, abs=0.01) and s["min_margin_to_yield"] == pytest.approx(1.363)
    assert len(die.extra["per_ball"]) == 128
    posts = die.layout.flat("POST")
    assert len(posts) == 128 and not die.layout.flat("PV2")                          # the post vias replace the PV2 openings
    assert all(width_across_flats(p) == pytest.approx(25, abs=0.05) for p in posts)
    caps = shapely.get_parts(shapely.union_all(die.layout.flat("RDL")))
    for p in posts:                                                                   # RDL.EN.POST on the stud
        home = [c for c in caps if c.contains(p)]
        assert len(home) == 1 and home[0].exterior.distance(p) >= 10 - 1e-6
    centres = sorted((round(p.centroid.x, 3), round(p.centroid.y, 3)) for p in posts)
    assert centres == sorted((x, y) for _, x, y in die.balls)


def test_a_post_that_would_yield_fails_naming_the_balls_or_warns(write_config):
    hot = "diameter=25, height=250, load='polymer', cte_mismatch_ppm=40, delta_t=165"
    with pytest.raises(ConfigError) as e:
        _die(write_config, hot)
    msg = str(e.value)
    assert "cfg.py:" in msg and "under the polymer load case" in msg and "A1" in msg and "MPa > 250 MPa yield" in msg
    with pytest.warns(UserWarning, match="would yield"):
        die = _die(write_config, hot + ", on_yield='warn'", name="warn.py")
    s = die.extra["posts"]
    assert s["load"] == "polymer" and "claim 1" in s["load_case"] and "A1" in s["yielding_balls"]
    assert {r["ball"] for r in die.extra["per_ball"] if r["yields"]} == set(s["yielding_balls"])


@pytest.mark.parametrize("posts,message", [
    ("diameter=15, height=100", "Posts.diameter = 15: below POST.W.1 (20 µm"),
    ("diameter=20, height=250", "250 / 20 = 12.50: the post via in the polymer allows ≤ 10"),
    ("diameter=200, height=250", "the 215.016 µm UBM shape encloses it by 7.508 µm < UBM.EN.POST"),
])
def test_the_pdks_post_via_rules_bound_the_post(write_config, posts, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        _die(write_config, posts)


SKY500 = """
from layoutgen import BallGrid, Design, Die, FanInWlcsp, Posts, peripheral_pads
pads = peripheral_pads(5000, 5000, per_side=16, pitch=280, inset=70, size=60)
design = Design(name="p500", pdk="sky500", die=Die(name="P500", width=5000, height=5000, pads=pads),
                package=FanInWlcsp(balls=BallGrid(rows=9, cols=9, pitch=500, depopulate=["D4:F6"]),
                                   posts=Posts(diameter=30, height=250, delta_t=40)))
"""


def test_sky500_takes_posts_too(write_config):
    pdk = load_pdk("sky500")
    die = build_die(load_config(write_config(SKY500, "p500.py")), pdk)
    assert die.extra["posts"]["yielding_balls"] == [] and len(die.layout.flat("POST")) == 72
    assert all(width_across_flats(p) == pytest.approx(30, abs=0.05) for p in die.layout.flat("POST"))


def test_the_contact_ring_lies_bare_inside_the_thick_polymers_edge_clear_or_the_build_is_refused(write_config):
    assert POSTS in TEMPLATE and "ring_width=2000" in TEMPLATE
    design = load_config(write_config(TEMPLATE))
    die = build_die(design, load_pdk("sky400"))
    ring = die.extra["posts"]["plating"]
    assert (ring["contact_ring_um"], ring["polymer_edge_clear_um"]) == (2000, 3000)
    wide = load_config(write_config(TEMPLATE.replace("ring_width=2000", "ring_width=3500"), "wide.py"))
    with pytest.raises(ConfigError, match=r"wide.py:\d+: Plating.ring_width = 3500: .*clears only 3000 µm .*inner 500 µm would be buried"):
        build_die(wide, load_pdk("sky400"))


SMALL = """
from layoutgen import BallGrid, Design, Die, FanInWlcsp, Posts, peripheral_pads
pads = peripheral_pads(2000, 2000, per_side=4, pitch=300, nets={"VDD": [1, 9], "VSS": [5, 13]})
design = Design(name="posts_resist", pdk="sky400", die=Die(name="RESIST_DIE", width=2000, height=2000, pads=pads),
                package=FanInWlcsp(balls=BallGrid(rows=4, cols=4, pitch=400),
                                   posts=Posts(diameter=30, height=200, flow="resist")))
"""


def test_claim_30_posts_plated_in_resist_are_their_own_mask_between_the_rdl_and_the_caps(write_config, tmp_path):
    """Posts.flow='resist': PV1, RDL, POST, UBM, BUMP in that order; POST registers to RDL, the UBM caps to POST; no
    second-polymer mask (the polymer is spread round the freestanding posts); DRC-clean; the POST file holds the posts."""
    import csv

    import klayout.db as kdb

    from layoutgen.pipeline import build

    result = build(write_config(SMALL), out=tmp_path / "out", quiet=True)
    assert result.exit_code == 0 and result.drc.ok
    with open(result.out_dir / "masks" / "mask_order.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["mask"], r["aligns_to"]) for r in rows] == [("PV1", "KEYS"), ("RDL", "PV1"), ("POST", "RDL"),
                                                          ("UBM", "POST"), ("BUMP", "UBM")]
    assert not (result.out_dir / "masks" / "PV2.gds").exists()
    assert result.summary["posts"]["flow"] == "resist" and result.summary["posts"]["mask"].startswith("POST")
    ly = kdb.Layout()
    ly.read(str(result.out_dir / "masks" / "POST.gds"))
    pdk = load_pdk("sky400")
    die = kdb.Region(kdb.Box(-10 ** 6, -10 ** 6, 10 ** 6, 10 ** 6))   # the mask label lies outside the die
    posts = list((kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*pdk.layer("POST").gds))) & die).each())
    assert len(posts) == 16 and all(abs(p.bbox().width() * ly.dbu - 30) <= 0.05 for p in posts)
    # One post at each ball of the 4 × 4 grid (on its capture pad).
    centres = {(round(p.bbox().center().x * ly.dbu, 3), round(p.bbox().center().y * ly.dbu, 3)) for p in posts}
    assert centres == {(x, y) for x in (-600.0, -200.0, 200.0, 600.0) for y in (-600.0, -200.0, 200.0, 600.0)}


def test_the_alignment_marks_follow_the_route_of_the_posts():
    """On the resist route the marks have a POST target framed by the UBM box and no PV2 slot; on the vias route
    the reverse (one aligns_to per mask per route, from the PDK's aligns_to_route)."""
    from layoutgen.wafer.assemble import masks_in_use
    from layoutgen.wafer.marks import targets

    pdk = load_pdk("sky400")
    drawn = ["PV1", "RDL", "PLATE", "POST", "UBM", "BUMP"]
    resist = {t: a for t, _, a in targets(masks_in_use(pdk, drawn, "resist"))}
    vias = {t: a for t, _, a in targets(masks_in_use(pdk, drawn, "vias"))}
    assert resist == {"PV1": ("RDL",), "RDL": ("POST",), "POST": ("UBM",), "UBM": ("BUMP",)}
    assert vias == {"PV1": ("RDL",), "RDL": ("PV2",), "PV2": ("UBM",), "UBM": ("BUMP",)}
