"""The relief CSP's process choices: rear slots and rear metal (claim 20), the printed relief's bridge
gaps kept off the tracks, and the lapped-track route (claim 7) refused with its reason."""

from __future__ import annotations

import json
from pathlib import Path

import klayout.db as kdb
import pytest
import shapely

from layoutgen.config import load_config
from layoutgen.drc import run_drc
from layoutgen.errors import ConfigError
from layoutgen.families.relief_csp.build import build_die, print_passes
from layoutgen.families.relief_csp.cells.protrusion import ProtrusionSpec, relief_prints
from layoutgen.pdk import load_pdk
from layoutgen.pipeline import build

from conftest import TEMPLATES

pytestmark = pytest.mark.usefixtures("no_previews")   # measured on GDS, masks and summaries: no PNGs

TEMPLATE = (TEMPLATES / "relief_csp.py").read_text()
PDK = load_pdk("relief400")


def _cfg(write_config, old: str, new: str, name: str = "cfg.py") -> Path:
    assert old in TEMPLATE
    text = TEMPLATE.replace(old, new).replace("import BallStencil, Protrusions, ReliefCsp", "import BallStencil, Protrusions, RearContacts, ReliefCsp")
    return write_config(text, name)


def test_rear_slots_land_inside_each_pad_and_their_masks_are_mirrored(write_config, tmp_path):
    cfg = _cfg(write_config, 'tracks="plated",', 'tracks="plated", rear=RearContacts(pads=["VDD", "P2"]),')
    out = build(cfg, out=tmp_path, drc=False, quiet=True).out_dir
    s = json.loads((out / "summary.json").read_text())
    assert s["counts"]["rear_slots"] == 9                                             # 8 VDD pads and P2
    rear_rules = ["RSLOT.W.1", "PAD.EN.RSLOT", "RSLOT.S.1", "RMETAL.EN.RSLOT", "RMETAL.S.1"]
    assert run_drc(out / "relief_csp.gds", PDK, rules=rear_rules).violations == []
    masks = {m["name"]: m for m in s["masks"]}
    assert masks["RSLOT"]["mirror"] and masks["RMETAL"]["mirror"] and masks["RMETAL"]["aligns_to"] == "RSLOT"
    design = load_config(cfg)
    chosen = {(p.x, p.y) for p in design.die.pads if p.net == "VDD" or p.name == "P2"}
    ly = kdb.Layout()
    ly.read(str(out / "masks" / "RSLOT.gds"))
    region = kdb.Region(ly.top_cell().begin_shapes_rec(ly.find_layer(12, 0))).transformed(kdb.Trans(kdb.Trans.M90))
    die = kdb.Region(kdb.Box(-2000_000, -2000_000, 2000_000, 2000_000))
    slots = [p for p in (region & die).merged().each() if p.area() * ly.dbu ** 2 > 500]      # the mask label lies outside
    assert len(slots) == 9
    for p in slots:                                                                 # mirrored back: on the chosen pads
        b = p.bbox()
        cx, cy = b.center().x * ly.dbu, b.center().y * ly.dbu
        assert (round(cx, 3), round(cy, 3)) in chosen
        assert b.width() * ly.dbu == pytest.approx(70 - 2 * PDK.value("enclosure", "PAD", "RSLOT"))


def test_a_rear_slot_too_wide_for_its_pad_and_an_unknown_pad_are_refused(write_config):
    with pytest.raises(ConfigError, match=r"cfg.py:\d+: RearContacts.slot = 60: pad P1 \(70 µm\) takes a slot of 30–50 µm"):
        build_die(load_config(_cfg(write_config, 'tracks="plated",', 'tracks="plated", rear=RearContacts(slot=60),')), PDK)
    with pytest.raises(ConfigError, match="RearContacts.pads = NOPE: names no pad or net"):
        build_die(load_config(_cfg(write_config, 'tracks="plated",', 'tracks="plated", rear=RearContacts(pads=["NOPE"]),',
                                   "b.py")), PDK)


def test_lapped_tracks_are_refused_with_the_reason(write_config):
    with pytest.raises(ConfigError) as e:
        build_die(load_config(_cfg(write_config, 'tracks="plated",', 'tracks="lapped",')), PDK)
    msg = str(e.value)
    assert "cfg.py:" in msg and "ReliefCsp.tracks = lapped" in msg and "would join every track" in msg


def test_no_track_runs_over_a_printed_protrusions_bridge_gap(write_config):
    design = load_config(_cfg(write_config, 'route="print",', 'route="print",'))
    die = build_die(design, PDK)
    pkg = design.package
    passes = print_passes(pkg, PDK)
    t = pkg.protrusions.tiers
    spec = ProtrusionSpec(pkg.protrusions.footprint, t.recess, pkg.protrusions.shape, t.recess_offset, pkg.stencil.shape,
                          pkg.stencil.overprint, passes["STENCIL2"][1], passes["STENCIL3"][1])
    rim = relief_prints(spec, PDK)["STENCIL3"]
    assert len(rim.bridges) == 2
    tracks = shapely.union_all(die.layout.flat("RDL"))
    rims = shapely.union_all(die.layout.flat("STENCIL3"))
    feet = die.layout.flat("MOULD1")
    gaps = shapely.union_all(feet).difference(rims).difference(shapely.union_all(die.layout.flat("MOULD2")))
    # the gaps: what of each protuberant rim the rim stencil does not print (2 per protrusion)
    gaps = [g for g in shapely.get_parts(gaps) if g.area > 100.0]                  # slivers of the polygonal outlines aside
    assert len(gaps) == 96
    assert tracks.intersection(shapely.union_all(gaps)).area < 1e-6
    # and turning is what did it: unturned, some track would cross a gap
    unturned = shapely.union_all([shapely.affinity.translate(b, x, y) for b in rim.bridges
                                  for _, x, y in pkg.protrusions.grid.positions()])
    assert tracks.intersection(unturned).area > 1.0
