"""The PDK is data: both shipped PDKs load, carry the SkyWater values, and are found installed or by path."""

from __future__ import annotations

import json
import shutil

import pytest

from layoutgen.cli import main
from layoutgen.errors import PdkError
from layoutgen.pdk import list_pdks, load_pdk

# (kind, layer, other) -> (sky400, sky500), from the public SkyWater WLCSP rule tables.
EXPECTED = {
    ("width", "PV1", None): (35, 35),
    ("space", "PV1", None): (20, 20),
    ("enclosure", "PAD", "PV1"): (7.5, 7.5),
    ("width", "RDL", None): (10, 10),
    ("space", "RDL", None): (10, 10),
    ("enclosure", "RDL", "PV1"): (10, 10),
    ("width", "PV2", None): (170, 220),
    ("separation", "PV1", "PV2"): (25, 25),
    ("width", "UBM", None): (215, 250),
    ("enclosure", "UBM", "PV2"): (15, 15),
    ("enclosure", "RDL", "UBM"): (10, 10),
    ("separation", "PV1", "UBM"): (10, 10),
    ("edge_distance", "UBM", "SEAL"): (155, 195),
    ("size", "BUMP", None): (261, 310),
    ("pitch", "BUMP", None): (400, 500),
    ("separation", "BUMP", "SEAL"): (25, 25),
}


@pytest.mark.parametrize("index,name", [(0, "sky400"), (1, "sky500")])
def test_rule_values_follow_the_skywater_tables(index, name):
    pdk = load_pdk(name)
    for (kind, layer, other), values in EXPECTED.items():
        assert pdk.value(kind, layer, other) == values[index], (name, kind, layer, other)
    assert (pdk.die.min_width_um, pdk.die.min_height_um, pdk.die.max_width_um, pdk.die.max_height_um) == (750, 1000, 6800, 6800)
    assert pdk.rdl.teardrop_max_fraction == 0.9


def test_layers_match_the_architecture_numbers():
    pdk = load_pdk("sky400")
    expect = {"DIE": (1, 0), "PAD": (2, 0), "SEAL": (3, 0), "PV1": (10, 0), "RDL": (20, 0), "PLATE": (21, 0),
              "PV2": (30, 0), "UBM": (40, 0), "BUMP": (50, 0), "KERF": (200, 0), "MARK": (210, 0), "TEXT": (220, 0)}
    for name, gds in expect.items():
        assert pdk.layer(name).gds == gds
    assert len({layer.gds for layer in pdk.layers.values()}) == len(pdk.layers)


def test_sky500_inherits_unchanged_rules_from_sky400():
    a, b = load_pdk("sky400"), load_pdk("sky500")
    assert {r.name for r in a.rules} == {r.name for r in b.rules}
    assert a.layers == b.layers and a.masks == b.masks


def test_a_users_pdk_is_found_by_path_and_env(tmp_path, monkeypatch):
    src = load_pdk("sky400").path
    shutil.copytree(src, tmp_path / "mypdk")
    (tmp_path / "mypdk" / "pdk.toml").write_text(
        (tmp_path / "mypdk" / "pdk.toml").read_text().replace('name = "sky400"', 'name = "mypdk"'))
    assert load_pdk(str(tmp_path / "mypdk")).name == "mypdk"
    with pytest.raises(PdkError, match="no PDK 'mypdk'"):
        load_pdk("mypdk")
    monkeypatch.setenv("LAYOUTGEN_PDK_PATH", str(tmp_path))
    assert "mypdk" in list_pdks()
    assert load_pdk("mypdk").value("width", "RDL") == 10


def test_a_broken_rule_names_the_rule(tmp_path):
    shutil.copytree(load_pdk("sky400").path, tmp_path / "bad")
    rules = tmp_path / "bad" / "rules.toml"
    rules.write_text(rules.read_text() + '\n[[rule]]\nname = "X.W"\nkind = "width"\nlayer = "NOPE"\nvalue = 1\ndescription = "x"\n')
    with pytest.raises(PdkError, match="X.W.*NOPE"):
        load_pdk(str(tmp_path / "bad"))


def test_pdk_cli_list_and_show_json(capsys):
    assert main(["pdk", "list"]) == 0
    out = capsys.readouterr().out
    assert "sky400" in out and "sky500" in out
    assert main(["pdk", "show", "sky500", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["name"] == "sky500"
    assert {r["name"]: r["value"] for r in data["rules"]}["BUMP.P.1"] == 500
    assert main(["pdk", "show", "nosuch"]) == 2


def test_a_pdk_adds_layers_and_drops_base_rules(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "pdk.toml").write_text('name = "mine"\nextends = "sky400"\n')
    (tmp_path / "mine" / "layers.toml").write_text('[layers]\nNEW = { gds = [250, 0] }\n')
    (tmp_path / "mine" / "rules.toml").write_text('drop = ["PLATE.NET", "PLATE.ISO"]\n')
    base, mine = load_pdk("sky400"), load_pdk(str(tmp_path / "mine"))
    assert set(mine.layers) == set(base.layers) | {"NEW"}
    assert {r.name for r in base.rules} - {r.name for r in mine.rules} == {"PLATE.NET", "PLATE.ISO"}
    (tmp_path / "mine" / "rules.toml").write_text('drop = ["NO.SUCH"]\n')
    with pytest.raises(PdkError, match="drop names rules the base does not have: NO.SUCH"):
        load_pdk(str(tmp_path / "mine"))
