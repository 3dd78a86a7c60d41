"""Out to the mask shop: the manifest and job deck match the files, masks as OASIS too, mask files
carry their own cell names and no net texts, the label says what the mask is; drc reads OASIS."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import gdstk
import klayout.db as kdb
import pytest

from layoutgen import build, load_pdk
from layoutgen.cli import main
from layoutgen.drc import run_drc
from layoutgen.masks import mask_label

from test_api import small_design


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    design = small_design().model_copy(update={"name": "shop", "revision": "B"})
    return build(design, out=tmp_path_factory.mktemp("shop"), drc=False, oasis=True)


def read(path: Path) -> kdb.Layout:
    ly = kdb.Layout()
    ly.read(str(path))
    return ly


def test_manifest_hashes_and_sizes_match_the_files(built) -> None:
    masks = built.out_dir / "masks"
    man = json.loads((masks / "manifest.json").read_text())
    listed = {e["file"] for e in man["files"]}
    assert listed == {p.name for p in masks.iterdir() if p.suffix in (".gds", ".oas")}
    assert len(listed) == 2 * len(built.summary["masks"])
    for e in man["files"]:
        data = (masks / e["file"]).read_bytes()
        assert e["sha256"] == hashlib.sha256(data).hexdigest() and e["bytes"] == len(data)
        assert e["format"] == ("OASIS" if e["file"].endswith(".oas") else "GDSII")
        assert {"layer", "tone", "polarity", "mirror", "aligns_to", "top_cell"} <= set(e)
    assert man["build_id"] == built.summary["build_id"] == built.summary["config_hash"][:12]
    assert man["field_um"]["width"] == pytest.approx(2000) and man["field_um"]["height"] == pytest.approx(2000)
    deck = (masks / "jobdeck.txt").read_text()
    for e in man["files"]:
        block = deck.split(f"FILE      {e['file']}\n", 1)[1].split("\n\n", 1)[0]
        assert f"SHA256    {e['sha256']}" in block and f"LAYER     {e['layer']}" in block


def test_oasis_masks_hold_the_same_shapes_as_the_gds_masks(built) -> None:
    for m in built.summary["masks"]:
        gds, oas = read(built.out_dir / "masks" / f"{m['name']}.gds"), read(built.out_dir / "masks" / f"{m['name']}.oas")
        layer = tuple(m["gds_layer"])
        a = kdb.Region(gds.top_cell().begin_shapes_rec(gds.layer(*layer)))
        b = kdb.Region(oas.top_cell().begin_shapes_rec(oas.layer(*layer)))
        assert not a.is_empty() and (a ^ b).is_empty()


def test_mask_files_have_their_own_cell_names_and_no_net_texts(built) -> None:
    combined = read(built.gds)
    design_cells = {c.name for c in combined.each_cell()}
    texts = kdb.Texts(combined.top_cell().begin_shapes_rec(combined.layer(50, 0)))
    assert texts.count() > 0                                   # the combined layout keeps the net names
    for m in built.summary["masks"]:
        ly = read(built.out_dir / "masks" / f"{m['name']}.gds")
        names = {c.name for c in ly.each_cell()}
        assert all(n.startswith(f"{m['name']}_") for n in names) and not names & design_cells
        assert ly.top_cell().name == m["top_cell"] == f"{m['name']}_shop"
        for li in ly.layer_indexes():
            it = ly.top_cell().begin_shapes_rec(li)
            while not it.at_end():
                assert not it.shape().is_text(), (m["name"], it.shape())
                it.next()


def test_the_label_says_design_mask_revision_tone_mirror_and_build_id_and_is_big_enough(built) -> None:
    pdk = load_pdk("sky400")
    mask = next(m for m in pdk.masks if m.name == "BUMP")
    text = mask_label("shop", "B", mask, built.summary["build_id"])
    assert text == f"shop BUMP REV B DARK FIELD RIGHT READING ID {built.summary['build_id']}"
    ly = read(built.out_dir / "masks" / "BUMP.gds")
    top = ly.top_cell()
    own = kdb.Region(top.shapes(ly.layer(50, 0)))             # the label is drawn in the top cell itself
    box = own.bbox()
    assert box.top * ly.dbu < -1000                          # below the 2 mm die field
    height = 2000 / 40                                       # a 40th of the field, as wide as it fits
    assert pdk.labels.mask_label_height_um <= box.height() * ly.dbu <= height * 1.01
    assert box.width() * ly.dbu == pytest.approx(len(text) * 9 / 16 * box.height() * ly.dbu / (8.75 / 10), rel=0.1)


def with_violations(src: Path, dst: Path) -> Path:
    """The built die with an RDL sliver too narrow and two pads too close, as GDS or OASIS (gdstk)."""
    lib = gdstk.read_gds(str(src))
    top = lib.top_level()[0]
    top.add(gdstk.rectangle((-100, -100), (-96, 100), layer=20))
    top.add(gdstk.rectangle((0, -50), (30, -20), layer=20), gdstk.rectangle((34, -50), (64, -20), layer=20))
    lib.write_oas(str(dst)) if dst.suffix == ".oas" else lib.write_gds(str(dst))
    return dst


def test_drc_of_the_oasis_equals_drc_of_the_gds(built, tmp_path: Path) -> None:
    pdk = load_pdk("sky400")
    results = [run_drc(with_violations(built.gds, tmp_path / f"bad{s}"), pdk) for s in (".gds", ".oas")]
    found = [sorted((v.rule, tuple(round(c, 3) for c in v.bounds())) for v in r.violations) for r in results]
    assert found[0] and found[0] == found[1]
    assert {"RDL.W.1", "RDL.S.1"} <= {rule for rule, _ in found[0]}
    # the built OASIS reads the same as the built GDS, through the command too
    assert main(["drc", str(built.out_dir / "shop.oas"), "--pdk", "sky400", "-o", str(tmp_path / "o")]) == 0
    assert main(["drc", str(tmp_path / "bad.oas"), "--pdk", "sky400", "-o", str(tmp_path / "b")]) == 1
    assert main(["drc", str(tmp_path / "bad.gds"), "--pdk", "sky400", "-o", str(tmp_path / "g")]) == 1
    by_file = [json.loads((tmp_path / d / "drc.json").read_text()) for d in ("g", "b")]
    assert by_file[0]["totals"] == by_file[1]["totals"] and by_file[0]["rules"] == by_file[1]["rules"]
