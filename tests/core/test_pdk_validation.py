"""A PDK is checked whole when it is loaded: each bad value is an error naming the file, the field and the value.

Issue #18 causes 3 (a rule value of nan switched its check off; inf crashed; `pdk show --json`
printed NaN) and 9 (grid, dbu, circle vertices, table shapes, GDS numbers, connectivity
layers, duplicate names, negative values, an empty masks.toml, one broken PDK breaking
`pdk list`).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from layoutgen.cli import main
from layoutgen.errors import PdkError
from layoutgen.pdk import load_pdk


def _copy(tmp_path: Path, name: str = "bad") -> Path:
    dst = tmp_path / name
    shutil.copytree(load_pdk("sky400").path, dst)
    top = dst / "pdk.toml"
    top.write_text(top.read_text().replace('name = "sky400"', f'name = "{name}"'))
    return dst


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


# (file, text in sky400 to replace, replacement, what the message must name)
CASES = {
    "rule value nan": ("rules.toml", "value = 10\n", "value = nan\n", r"rules\.toml: rule \S+\.value = nan: not a finite"),
    "rule value inf": ("rules.toml", "value = 10\n", "value = inf\n", r"rules\.toml: rule \S+\.value = inf: not a finite"),
    "negative rule value": ("rules.toml", "value = 10\n", "value = -10\n", r"rules\.toml: rule \S+\.value = -10.0: must be greater"),
    "density step 0": ("rules.toml", "step = 1000", "step = 0", r"rules\.toml: rule RDL\.DEN\.step = 0\.0: must be greater"),
    "density min above max": ("rules.toml", "min = 0.02", "min = 0.95", r"RDL\.DEN\.min/max"),
    "grid 0": ("pdk.toml", "grid_um = 0.005", "grid_um = 0", r"pdk\.toml: grid_um = 0\.0: must be greater"),
    "grid nan": ("pdk.toml", "grid_um = 0.005", "grid_um = nan", r"pdk\.toml: grid_um = nan: not a finite"),
    "grid off the dbu": ("pdk.toml", "grid_um = 0.005", "grid_um = 0.0055", r"grid_um = 0\.0055: must be a whole number"),
    "dbu 0": ("pdk.toml", "dbu_um = 0.001", "dbu_um = 0", r"pdk\.toml: dbu_um = 0\.0: must be greater"),
    "circle vertices 0": ("pdk.toml", "circle_vertices = 64", "circle_vertices = 0", r"circle_vertices = 0: must be at least 8"),
    "circle vertices -8": ("pdk.toml", "circle_vertices = 64", "circle_vertices = -8", r"circle_vertices = -8: must be at least 8"),
    "unknown conductor": ("pdk.toml", 'conductors = ["PAD",', 'conductors = ["NOPE", "PAD",', r"pdk\.toml: connectivity\.conductors = 'NOPE': names no layer"),
    "unknown via layer": ("pdk.toml", 'via = "PV1"', 'via = "PVX"', r"connectivity\.vias\.via = 'PVX'"),
    "two layers one GDS number": ("layers.toml", "gds = [20, 0]", "gds = [10, 0]", r"layers\.toml: layers\.\w+\.gds = \[10, 0\]: the same GDS number as layer"),
    "GDS number out of range": ("layers.toml", "gds = [20, 0]", "gds = [70000, 0]", r"layers\.toml: layers\.RDL\.gds = \[70000, 0\]: layer must be 0 to 65535"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_bad_pdk_value_names_file_field_and_value(tmp_path, case):
    fname, old, new, message = CASES[case]
    pdk = _copy(tmp_path)
    _edit(pdk / fname, old, new)
    with pytest.raises(PdkError) as e:
        load_pdk(str(pdk))
    assert re.search(message, str(e.value)), str(e.value)
    assert str(pdk) in str(e.value)


def test_two_marker_layers_are_refused_at_load(tmp_path):
    """The DRC exempts one layer's mark areas: a second marker layer is refused when the PDK loads, naming both,
    not first when a DRC runs."""
    pdk = _copy(tmp_path)
    with (pdk / "layers.toml").open("a") as f:
        f.write('MARKA = { gds = [230, 0], color = "#ff00ff", stipple = 1, purpose = "marker", description = "a" }\n'
                'MARKB = { gds = [231, 0], color = "#ff00ff", stipple = 1, purpose = "marker", description = "b" }\n')
    with pytest.raises(PdkError, match=r"layers\.toml: layers\.MARKB\.purpose = 'marker': layer MARKA already has it"):
        load_pdk(str(pdk))


def test_duplicate_rule_names_are_refused(tmp_path):
    pdk = _copy(tmp_path)
    rules = pdk / "rules.toml"
    first = rules.read_text().split("[[rule]]")[1]
    rules.write_text(rules.read_text() + "\n[[rule]]" + first)
    with pytest.raises(PdkError, match=r"rules\.toml: rule\.name = '[^']+': two rules have this name"):
        load_pdk(str(pdk))


def test_a_rule_written_as_a_table_is_refused(tmp_path):
    pdk = _copy(tmp_path)
    (pdk / "rules.toml").write_text('[rule]\nname = "X.W"\nkind = "width"\nlayer = "RDL"\nvalue = 10\ndescription = "x"\n')
    with pytest.raises(PdkError, match=r"rules\.toml: rule = 'dict': must be an array of \[\[rule\]\] tables"):
        load_pdk(str(pdk))


def test_an_empty_masks_file_is_refused(tmp_path):
    pdk = _copy(tmp_path)
    (pdk / "masks.toml").write_text("# nothing\n")
    with pytest.raises(PdkError, match=r"masks\.toml: mask = None: needs at least one \[\[mask\]\]"):
        load_pdk(str(pdk))


def test_a_non_utf8_pdk_file_names_the_file(tmp_path):
    pdk = _copy(tmp_path)
    (pdk / "rules.toml").write_bytes((pdk / "rules.toml").read_bytes().replace(b"metal", b"m\xe9tal", 1))
    with pytest.raises(PdkError, match=r"rules\.toml: not UTF-8"):
        load_pdk(str(pdk))


def test_a_broken_pdk_on_the_path_leaves_the_others_listed(tmp_path, capsys):
    _edit(_copy(tmp_path, "broken") / "rules.toml", "value = 10\n", "value = nan\n")
    _copy(tmp_path, "fine")
    code = main(["pdk", "--pdk-path", str(tmp_path), "list"])
    out, err = capsys.readouterr()
    assert code == 2
    assert re.search(r"^fine ", out, re.M) and re.search(r"^sky400 ", out, re.M)
    assert not re.search(r"^broken ", out, re.M) and "broken/rules.toml: rule" in err and "nan" in err


def test_pdk_show_json_is_valid_json_for_every_shipped_pdk(capsys):
    main(["pdk", "list"])
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert len(names) >= 6
    for name in names:
        assert main(["pdk", "show", name, "--json"]) == 0
        json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"{name}: {c} in JSON"))
