"""The real KLayout program opens what we write: the GDS, the .lyp's names and colours, the DRC markers.

These run the desktop program (Debian package `klayout`), not the Python module; they skip when
`klayout` is not on PATH.
"""

from __future__ import annotations

import os
from collections import Counter
import shutil
import subprocess
from pathlib import Path

import pytest
from test_view_fixtures import DIE, MARKERS, design_dir  # noqa: F401

from layoutgen.view.files import find_design_files
from layoutgen.view.klive import klayout_command

KLAYOUT = shutil.which("klayout")
pytestmark = pytest.mark.skipif(KLAYOUT is None, reason="the KLayout program is not on PATH (Debian: apt-get install klayout)")

# Runs inside KLayout (its own Python, module `pya`). With -b there is no main window: the script
# opens a view itself from the -rd variables; started with files on the command line (-z), it
# reports the main window's view as the user would see it.
PROBE = '''
import pya
mw = pya.Application.instance().main_window()
if mw is not None and mw.views() > 0:
    view = mw.current_view()
else:
    view = pya.LayoutView()
    view.load_layout(gds, True)
    view.load_layer_props(lyp)
    rdb = pya.ReportDatabase("")
    rdb.load(lyrdb)
    view.add_rdb(rdb)
print("CELL", view.active_cellview().layout().top_cells()[0].name)
for node in view.each_layer():
    print("LAYER", node.name, "#%06x" % (node.fill_color & 0xFFFFFF))
for i in range(view.num_rdbs()):
    for cat in view.rdb(i).each_category():
        print("MARKERS", cat.name(), cat.num_items())
'''


def run_probe(cmd: list[str], tmp_path: Path) -> dict[str, list[list[str]]]:
    """Run KLayout with the probe; its report lines grouped by their first word."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines: dict[str, list[list[str]]] = {}
    for line in done.stdout.splitlines():
        head, *rest = line.split()
        lines.setdefault(head, []).append(rest)
    return lines


def check(report: dict[str, list[list[str]]]) -> None:
    """The die cell, our layer names with the PDK colours, and the 3 markers of RDL.S.1."""
    assert report["CELL"] == [[DIE]]
    layers = {" ".join(r[:-1]): r[-1] for r in report["LAYER"]}
    assert layers["RDL 20/0"] == "#d01010"
    assert layers["BUMP 50/0"] == "#00c0c0"
    assert layers["PV1 10/0"] == "#00a000"
    assert report["MARKERS"] == [["RDL.S.1", str(MARKERS)]]


def test_klayout_in_batch_reads_the_gds_lyp_and_markers(design_dir: Path, tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    files = find_design_files(design_dir)
    cmd = [KLAYOUT, "-b", "-rd", f"gds={files.gds}", "-rd", f"lyp={files.lyp}", "-rd", f"lyrdb={files.lyrdb}", "-r", str(probe)]
    check(run_probe(cmd, tmp_path))


def test_the_command_view_gives_opens_the_layout_with_colours_and_markers(design_dir: Path, tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE, encoding="utf-8")
    cmd = klayout_command(find_design_files(design_dir), KLAYOUT)
    # The same arguments, with hidden views (-z), no configuration (-nc), no user macros (-rx).
    check(run_probe([cmd[0], "-z", "-nc", "-rx", *cmd[1:], "-r", str(probe)], tmp_path))


# Run inside KLayout started with the files on its command line (-z): each layer's hierarchy
# levels as the view applies them, its colour, and a picture of the whole top cell; then the
# same with the layer properties `bare` (our .lyp without its level selectors).
LEVELS = '''
import pya
view = pya.Application.instance().main_window().current_view()
for tag, png in (("OURS", png_ours), ("BARE", png_bare)):
    if tag == "BARE":
        view.load_layer_props(bare)
    for node in view.each_layer():
        lower = node.lower_hier_level if node.has_lower_hier_level(True) else view.min_hier_levels
        upper = node.upper_hier_level if node.has_upper_hier_level(True) else view.max_hier_levels
        print(tag, node.name.replace(" ", "_"), lower, upper, "#%06x" % (node.fill_color & 0xFFFFFF))
    view.zoom_fit()
    view.save_image(png, 300, 300)
'''


@pytest.fixture
def wafer_dir(tmp_path: Path) -> Path:
    """out/demo/ with a WAFER top cell placing the die 3 × 3 (RDL only inside the die), and its .lyt."""
    from test_view_fixtures import make_design_dir

    from layoutgen.lyt import write_lyt
    from layoutgen.pdk import load_pdk

    out = make_design_dir(tmp_path / "d", with_wafer=True, drc=False)
    write_lyt(load_pdk("sky400"), out / "demo.lyt", "demo.lyp")
    return out


def _colours(png: Path) -> Counter:
    import klayout.lay as klay

    pb = klay.PixelBuffer.read_png(str(png))
    return Counter("#%06x" % (pb.pixel(i, j) & 0xFFFFFF) for i in range(pb.width()) for j in range(pb.height()))


def test_the_technology_alone_opens_every_level_with_names_and_colours(wafer_dir: Path, tmp_path: Path) -> None:
    """`klayout -nn demo.lyt demo.gds` (no -l): KLayout loads our layer names and colours from the
    technology, and every layer shows all hierarchy levels, so the dies a wafer places are drawn.
    KLayout's own levels (a fresh profile opens at 0..1) leave them undrawn: the control (#16)."""
    files = find_design_files(wafer_dir)
    probe, ours, bare = tmp_path / "levels.py", tmp_path / "ours.png", tmp_path / "bare.png"
    probe.write_text(LEVELS, encoding="utf-8")
    stripped = tmp_path / "bare.lyp"
    stripped.write_text(files.lyp.read_text().replace(" #*</source>", "</source>"))
    report = run_probe([KLAYOUT, "-z", "-nc", "-rx", "-nn", str(files.lyt), str(files.gds), "-rd", f"png_ours={ours}",
                        "-rd", f"png_bare={bare}", "-rd", f"bare={stripped}", "-r", str(probe)], tmp_path)
    layers = {r[0]: (int(r[1]), int(r[2]), r[3]) for r in report["OURS"]}
    assert layers["RDL_20/0"][2] == "#d01010" and layers["BUMP_50/0"][2] == "#00c0c0" and layers["PV1_10/0"][2] == "#00a000"
    assert all(lower == 0 and upper >= 2 ** 31 - 1 for lower, upper, _ in layers.values()), layers
    assert _colours(ours)["#d01010"] > 100                          # RDL lives in the die cell, a level down
    plain = {r[0]: int(r[2]) for r in report["BARE"]}
    assert max(plain.values()) < 2 and _colours(bare)["#d01010"] == 0
