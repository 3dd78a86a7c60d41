"""The command line: one output option, PDK and waivers from the build's summary, failing rules
only in the table, --pdk-path on build, no traceback on a closed pipe."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from layoutgen.cli import main

from conftest import DESIGN, STRICT, WAIVER


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    for name, text in STRICT.items():
        (root / "pdks" / "strict").mkdir(parents=True, exist_ok=True)
        (root / "pdks" / "strict" / name).write_text(text)
    (root / "chip").mkdir()
    (root / "chip" / "chip.py").write_text(DESIGN.format(name="chip", pdk="strict"))
    (root / "chip" / "waivers.toml").write_text(WAIVER)
    return root


@pytest.fixture(scope="module")
def built(repo):
    """`layoutgen build` of a design whose PDK is found through --pdk-path, its violations waived."""
    rc = main(["build", str(repo / "chip" / "chip.py"), "-o", str(repo / "out"), "--pdk-path", str(repo / "pdks"), "-q"])
    return rc, repo / "out" / "chip"


def test_build_accepts_pdk_path_and_drc_of_the_folder_finds_pdk_and_waivers(built, capsys) -> None:
    rc, out = built
    assert rc == 0
    summary = (out / "summary.json").read_text()
    assert '"folder": "../../pdks/strict"' in summary and '"waivers": "../../chip/waivers.toml"' in summary
    capsys.readouterr()
    assert main(["drc", str(out), "-o", str(out.parent / "again")]) == 0       # no --pdk: the build's, its waivers
    assert main(["drc", str(out / "chip.gds"), "--output", str(out.parent / "again")]) == 0
    assert "16 waived" in capsys.readouterr().out


def test_the_table_lists_failing_rules_and_all_of_them_with_all(built, tmp_path: Path, capsys) -> None:
    _, out = built
    gds = shutil.copy(out / "chip.gds", tmp_path / "chip.gds")          # no summary beside it: no waivers
    capsys.readouterr()
    assert main(["drc", str(gds), "--pdk", str(out.parent.parent / "pdks" / "strict"), "--out", str(tmp_path / "r")]) == 1
    text = capsys.readouterr().out
    assert "TEST.BUMP.A" in text and "RDL.W.1" not in text and "27 of 28 rules pass (--all lists them)" in text
    assert (tmp_path / "r" / "drc.json").is_file()                   # --out: the former spelling of --output
    assert main(["drc", str(gds), "--pdk", str(out.parent.parent / "pdks" / "strict"), "-o", str(tmp_path / "r"), "--all"]) == 1
    text = capsys.readouterr().out
    assert "TEST.BUMP.A" in text and "RDL.W.1" in text and "rules pass" not in text


def test_drc_without_pdk_on_a_foreign_layout_says_what_is_missing(tmp_path: Path, capsys) -> None:
    (tmp_path / "x.gds").write_bytes(b"")
    assert main(["drc", str(tmp_path / "x.gds")]) == 2
    assert "no --pdk given" in " ".join(capsys.readouterr().err.split())


def test_a_closed_pipe_ends_quietly() -> None:
    cmd = [str(Path(sys.executable).with_name("layoutgen")), "pdk", "show", "sky400"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=30)
    assert "Traceback" not in err and "BrokenPipeError" not in err
