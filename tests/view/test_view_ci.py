"""The CI template end to end: a temporary design repository with a clean design, one with a waived
violation, one failing and one broken config, built by build-all.sh with the real layoutgen."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import DESIGN, STRICT, WAIVER

CI = Path(__file__).resolve().parents[2] / "templates" / "ci"
LAYOUTGEN = Path(sys.executable).with_name("layoutgen")

@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """The repository after `bash ci/build-all.sh` (no arguments: every config)."""
    if shutil.which("bash") is None or not LAYOUTGEN.is_file():
        pytest.skip("needs bash and the layoutgen command")
    root = tmp_path_factory.mktemp("designs")
    (root / "ci").mkdir()
    shutil.copy(CI / "build-all.sh", root / "ci" / "build-all.sh")
    for name, text in STRICT.items():
        (root / "pdk" / "strict").mkdir(parents=True, exist_ok=True)
        (root / "pdk" / "strict" / name).write_text(text)
    (root / "configs" / "waived").mkdir(parents=True)
    (root / "configs" / "clean.py").write_text(DESIGN.format(name="clean", pdk="sky400"))
    (root / "configs" / "failing.py").write_text(DESIGN.format(name="failing", pdk="../pdk/strict"))
    (root / "configs" / "waived" / "waived.py").write_text(DESIGN.format(name="waived", pdk="../../pdk/strict"))
    (root / "configs" / "waived" / "waivers.toml").write_text(WAIVER)
    (root / "configs" / "broken.py").write_text("design = 42\n")
    env = {**os.environ, "LAYOUTGEN": str(LAYOUTGEN), "CI": "true"}
    env.pop("LAYOUTGEN_PDK_PATH", None)
    done = subprocess.run(["bash", "ci/build-all.sh"], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    return root, done


def junit(root: Path, name: str) -> ET.Element:
    """The test suite of a JUnit file."""
    top = ET.parse(root / "out" / "junit" / f"{name}.xml").getroot()
    return top if top.tag == "testsuite" else top.find("testsuite")


def test_the_worst_result_wins_and_every_config_is_built(repo) -> None:
    root, done = repo
    assert done.returncode == 2, done.stdout + done.stderr
    assert "configs/broken.py failed to build (exit 2)" in done.stderr
    assert "configs/failing.py has DRC violations" in done.stderr
    assert "clean.py has DRC" not in done.stderr and "waived.py has DRC" not in done.stderr
    assert sorted(p.name for p in (root / "out" / "junit").iterdir()) == ["clean.xml", "failing.xml", "waived_waived.xml"]
    assert sorted(p.name for p in (root / "out").iterdir() if p.name != "junit") == ["clean", "failing", "waived"]


def test_waivers_beside_the_config_and_a_pdk_relative_to_it_are_honoured(repo) -> None:
    root, _ = repo
    waived = json.loads((root / "out" / "waived" / "summary.json").read_text())["drc"]
    assert waived["ok"] and waived["violations"] == 0 and waived["waived"] == 16
    failing = json.loads((root / "out" / "failing" / "summary.json").read_text())["drc"]
    assert not failing["ok"] and failing["failed_rules"] == {"TEST.BUMP.A": 16}
    assert junit(root, "waived_waived").get("failures") == "0" and junit(root, "clean").get("failures") == "0"
    assert junit(root, "failing").get("failures") == "1"


def test_one_drc_per_design_so_the_artefacts_agree_with_the_report(repo) -> None:
    root, done = repo
    assert done.stdout.count("DRC clean") == 2                       # the builds' own DRC, printed once each
    assert "layoutgen\" drc" not in (CI / "build-all.sh").read_text()
    for name in ("waived", "failing"):
        drc = json.loads((root / "out" / name / "drc.json").read_text())
        summary = json.loads((root / "out" / name / "summary.json").read_text())["drc"]
        assert drc["ok"] == summary["ok"] and drc["totals"]["waived"] == summary["waived"]
        assert "TEST.BUMP.A" in (root / "out" / name / "report.html").read_text()


def test_the_workflow_installs_layoutgen_from_its_repository_and_publishes_even_on_failure() -> None:
    yaml = pytest.importorskip("yaml")
    flow = yaml.safe_load((CI / "layout.yml").read_text())
    job = flow["jobs"]["build"]
    steps = job["steps"]
    assert steps[0]["with"]["submodules"] == "recursive"
    install = next(s for s in steps if s.get("name") == "Install layoutgen")
    assert install["run"] == 'python -m pip install "$LAYOUTGEN_SOURCE"'
    assert "./layoutgen" in job["env"]["LAYOUTGEN_SOURCE"] and "==" not in job["env"]["LAYOUTGEN_SOURCE"]
    assert any(s.get("run") == "bash ci/build-all.sh" for s in steps)
    junit_step = next(s for s in steps if "junit" in s.get("uses", ""))
    assert junit_step["with"]["report_paths"] == "out/junit/*.xml" and "cancelled" in junit_step["if"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")
                  and "preview" in s["with"]["path"])
    assert "out/*/preview/" in upload["with"]["path"] and "out/*/report.html" in upload["with"]["path"]
    assert "cancelled" in upload["if"] and job["env"]["CI"] == "true"
