"""KLayout files of a build: the .lyp lists the used layers first (the rest hidden), the .lyt is a
technology KLayout itself reads, and `layoutgen view` hands both on."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import klayout.db as kdb
import klayout.lay as klay
import pytest

from layoutgen import build, load_pdk
from layoutgen.view.files import find_design_files
from layoutgen.view.klive import klayout_command, klive_message

from conftest import DESIGN


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("lyt")
    (folder / "kl.py").write_text(DESIGN.format(name="kl", pdk="sky400"))
    return build(folder / "kl.py", out=folder / "out").out_dir


def used_layers(gds: Path) -> set[tuple[int, int]]:
    ly = kdb.Layout()
    ly.read(str(gds))
    return {(ly.get_info(i).layer, ly.get_info(i).datatype) for i in ly.layer_indexes()
            if not ly.top_cell().bbox_per_layer(i).empty() or not ly.top_cell().begin_shapes_rec(i).at_end()}


def test_the_lyp_shows_the_used_layers_first_and_hides_the_rest(out: Path) -> None:
    view = klay.LayoutView()
    view.load_layer_props(str(out / "kl.lyp"))
    nodes = list(view.each_layer())
    shown = [n for n in nodes if n.visible]
    used = used_layers(out / "kl.gds")
    assert {(n.source_layer, n.source_datatype) for n in shown} == used
    assert nodes[:len(shown)] == shown                        # used first
    assert len(nodes) == len(load_pdk("sky400").layers) > len(shown)
    assert shown[0].name == "DIE 1/0" or all(" " in n.name for n in shown)


def test_the_lyt_is_a_technology_klayout_reads(out: Path) -> None:
    tech = kdb.Technology.technology_from_xml((out / "kl.lyt").read_text())
    assert tech.name == "sky400" and tech.dbu == pytest.approx(0.001)
    assert tech.layer_properties_file == "kl.lyp" and tech.add_other_layers
    assert (out / tech.layer_properties_file).is_file()          # relative to the .lyt's folder


def test_view_names_the_technology_to_klive_and_klayout(out: Path) -> None:
    files = find_design_files(out)
    assert files.lyt == (out / "kl.lyt").resolve() and files.technology == "sky400"
    assert klive_message(files)["technology"] == "sky400"
    cmd = klayout_command(files)
    assert cmd[1:3] == ["-nn", str(files.lyt)] and "-m" in cmd
    mask = find_design_files(out / "masks" / "BUMP.gds")
    assert mask.lyt == files.lyt and mask.lyp == files.lyp
