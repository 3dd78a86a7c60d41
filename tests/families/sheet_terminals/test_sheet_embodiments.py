"""The patent's other embodiments, each built DRC-clean (every terminal connected: NET.OPEN) and measured on the
written GDS (klayout.db): figs. 10-14 without a dielectric (stems), fig. 17 (etch-resistant masses), fig. 19 (rigid
posts). Fig. 15's injection ports are a wafer-scale feature: test_sheet_wafer.py. A 3 × 3 mm die keeps each cheap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import shapely

from layoutgen.cells.shapes import width_across_flats
from layoutgen.design import Design, Die
from layoutgen.errors import ConfigError
from layoutgen.families.sheet_terminals import RigidPosts, SheetTerminals
from layoutgen.families.sheet_terminals.build import plan_sheet
from layoutgen.pads import peripheral_pads
from layoutgen.pdk import load_pdk
from layoutgen.pipeline import build

from test_sheet_terminals import read_polys

PDK = load_pdk("sheet100")
GRID = PDK.grid_um
L = {n: PDK.layer(n).gds for n in ("PAD", "LEAD", "LINER", "STEM", "MASS", "PILLAR", "BOND", "SPOT")}


def design(inset: float = 100, **pkg) -> Design:
    """A 3 × 3 mm die, 3 contacts per side at 300 µm, `inset` in from the edge, and the sheet parameters given."""
    pads = peripheral_pads(3000, 3000, per_side=3, pitch=300, inset=inset, size=60)
    return Design(name="sheet_case", pdk="sheet100", die=Die(name="SHEET_CASE", width=3000, height=3000, pads=pads),
                  package=SheetTerminals(**{"offsets": [300], "lift": 150, **pkg}))


def built(d: Design, out: Path) -> tuple[dict, Path]:
    res = build(d, out=out)
    s = res.summary
    rules = {r["name"]: r["status"] for r in json.loads((res.out_dir / "drc.json").read_text())["rules"]}
    assert s["drc"]["ok"] and rules["NET.OPEN"] == rules["NET.SHORT"] == "clean"
    return s, res.out_dir / "sheet_case.gds"


def test_without_a_dielectric_the_release_etch_leaves_a_stem_under_each_fixed_end_joining_it_to_its_terminal(tmp_path):
    d = design(dielectric=False, release_overetch=2.0)
    s, gds = built(d, tmp_path)
    assert "LINER" not in [m["name"] for m in s["masks"]] and not read_polys(gds, L["LINER"])
    plan = plan_sheet(d, PDK)
    u = plan.lead_width / 2 + 2.0                                                   # half the lead plus the overetch
    stems, spots, leads = (read_polys(gds, L[k]) for k in ("STEM", "SPOT", "LEAD"))
    assert len(stems) == 12                                                         # one under each fixed end
    for st in stems:                                                                # within its lead, under one spot
        assert width_across_flats(st) == pytest.approx(width_across_flats(plan.fixed_bulge) - 2 * u, abs=2 * GRID)
        assert sum(sp.contains(st) for sp in spots) == 1 and sum(ld.contains(st) for ld in leads) == 1
    # the tip's stem (not drawn: it lets go at the lift) is what the release etch leaves of the tip bulge
    assert s["sheet"]["tip_stem_um"] == pytest.approx(width_across_flats(plan.tip_bulge) - 2 * u, abs=2 * GRID)
    assert s["sheet"]["tip_stem_um"] >= PDK.value("width", "STEM")


def test_a_release_etch_that_would_free_the_tip_is_refused_naming_it():
    with pytest.raises(ConfigError, match=r"SheetTerminals.tip_diameter = 40.0: the release etch undercuts every lead "
                                          r"edge by 21 µm .* STEM.W.1 needs ≥ 5 µm"):
        plan_sheet(design(dielectric=False, release_overetch=16.0), PDK)


def test_masses_fill_cavities_under_the_fixed_ends_and_are_the_terminals(tmp_path):
    s, gds = built(design(terminals="masses"), tmp_path)
    assert [m["name"] for m in s["masks"]] == ["THRU", "MASS", "LEAD", "BOND"]     # no spot mask: the last etch is blanket
    masses, leads = read_polys(gds, L["MASS"]), read_polys(gds, L["LEAD"])
    assert len(masses) == 12 and not read_polys(gds, L["SPOT"]) and not read_polys(gds, L["LINER"])
    en = PDK.value("enclosure", "LEAD", "MASS")
    for m in masses:
        (lead,) = [ld for ld in leads if ld.intersects(m)]
        assert lead.contains(m) and lead.exterior.distance(m) >= en - 1e-3           # the lead metal fills the cavity
    assert s["counts"]["masses"] == 12 and s["counts"]["spots"] == 0
    rows = (gds.parent / "pinout.csv").read_text().splitlines()[1:]                 # the board sees the masses
    assert len(rows) == 12 and {r.split(",")[5] for r in rows} == {f"P{i}" for i in range(1, 13)}


def test_masses_with_a_plane_are_refused():
    from layoutgen.families.sheet_terminals import PotentialPlane

    with pytest.raises(ValueError, match="terminals='masses' etches the sheet away without a mask"):
        design(terminals="masses", plane=PotentialPlane(thickness=30))


def test_rigid_posts_sit_on_the_contacts_with_their_terminals_over_them(tmp_path):
    h, dia, ef = 100.0, 60.0, 3.0
    s, gds = built(design(inset=300, attach="posts", posts=RigidPosts(diameter=dia, height=h), etch_factor=ef,
                          terminal_top=80), tmp_path)
    assert [m["name"] for m in s["masks"]] == ["THRU", "PILLAR", "BOND", "SPOT"]
    pads, posts, bonds, spots = (read_polys(gds, L[k]) for k in ("PAD", "PILLAR", "BOND", "SPOT"))
    assert not read_polys(gds, L["LEAD"]) and len(posts) == len(bonds) == len(spots) == 12
    for pad in pads:
        (post,) = [p for p in posts if p.intersects(pad)]
        assert post.centroid.distance(pad.centroid) <= GRID
        assert abs(width_across_flats(post) - (dia + 2 * h / ef)) <= 2 * GRID      # the tip plus the etch bias
        (bond,) = [b for b in bonds if b.intersects(pad)]
        assert pad.contains(bond) and post.contains(bond)
        (spot,) = [sp for sp in spots if sp.contains(post.centroid)]
        assert spot.centroid.distance(post.centroid) <= GRID
    # the terminal is etched through what the posts' etch leaves: 150 - 100 µm
    assert s["sheet"]["etch_depth_um"] == pytest.approx(50.0) and s["sheet"]["post_tip_um"] == pytest.approx(dia)


def test_posts_too_tall_for_the_sheet_are_refused():
    with pytest.raises(ValueError, match=r"posts.height 150 µm leaves no sheet above the posts"):
        design(attach="posts", posts=RigidPosts(height=150))


VARIANTS = {
    "per-lead circles": {},
    "square spots, plane with a tied terminal": dict(spot_shape="square", plane={"thickness": 30, "tied": ["P2"]}),
    "grid": dict(placement="grid", grid={"rows": 4, "cols": 4, "pitch": 500}),
    "grid with a plane": dict(placement="grid", grid={"rows": 4, "cols": 4, "pitch": 500}, plane={"thickness": 30}),
    "no dielectric, with a plane": dict(dielectric=False, plane={"thickness": 30}),
    "masses, no frame, no fiducials": dict(terminals="masses", frame=None, fiducials=None),
    "posts with a plane": dict(inset=300, attach="posts", terminal_top=80, posts={"height": 100}, plane={"thickness": 20}),
    "heptagons, no frame": dict(spot_shape="polygon", spot_sides=7, frame=None),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_variant_the_config_accepts_connects_every_terminal(variant, tmp_path):
    from layoutgen.drc import run_drc
    from layoutgen.families.sheet_terminals.build import build_die
    from layoutgen.gdsio import write_layout

    d = design(**VARIANTS[variant])
    res = build_die(d, PDK)
    gds = write_layout(res.layout, PDK, tmp_path / "v.gds")
    drc = run_drc(gds, PDK, rules=["NET.OPEN", "NET.SHORT"])
    assert drc.ok and {r.name for r in drc.checked_rules()} == {"NET.OPEN", "NET.SHORT"}, [v.message for v in drc.violations][:3]
    assert len(res.ball_nets) == 12 and set(res.ball_nets.values()) == {p.net for p in d.die.pads}   # a terminal per net


def test_a_grid_given_without_grid_placement_is_refused():
    with pytest.raises(ValueError, match="grid= is used only with placement='grid'"):
        design(grid={"rows": 4, "cols": 4, "pitch": 500})


pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs
