"""The CI template builds every config, runs the DRC with JUnit, keeps going past failures, exits with the worst."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CI = Path(__file__).resolve().parents[2] / "templates" / "ci"

# A stand-in for `layoutgen` (the real build needs the router): `build` makes out/<stem>/ and says
# so as layoutgen does; `drc` writes the JUnit file and exits 1 for designs named *dirty*;
# a config named *broken* is bad input (exit 2).
FAKE = r'''#!{python}
import json, pathlib, sys
args = sys.argv[1:]
log = pathlib.Path(__file__).with_name("calls.log")
with log.open("a") as f:
    f.write(" ".join(args) + "\n")
if args[0] == "build":
    cfg, out = pathlib.Path(args[1]), pathlib.Path(args[args.index("-o") + 1])
    if "broken" in cfg.stem:
        print(f"error: {{cfg}}:3: Design.pdk = 'nope': no PDK", file=sys.stderr)
        sys.exit(2)
    d = out / cfg.stem
    d.mkdir(parents=True, exist_ok=True)
    (d / f"{{cfg.stem}}.gds").write_bytes(b"gds")
    (d / "summary.json").write_text(json.dumps({{"design": cfg.stem, "pdk": {{"name": "sky400"}}}}))
    print(f"built {{d}}: 3 pads, 1 balls, 2 nets, 1 routes, 2 masks")
    sys.exit(1 if "dirty" in cfg.stem else 0)
if args[0] == "drc":
    junit = pathlib.Path(args[args.index("--junit") + 1])
    junit.write_text("<testsuite/>")
    sys.exit(1 if "dirty" in args[1] else 0)
sys.exit(2)
'''


def run_build_all(tmp_path: Path, configs: list[str]) -> subprocess.CompletedProcess:
    """Run build-all.sh in `tmp_path` on configs/<name>.py with the stand-in layoutgen."""
    fake = tmp_path / "layoutgen"
    fake.write_text(FAKE.format(python=sys.executable))
    fake.chmod(0o755)
    (tmp_path / "configs").mkdir()
    for name in configs:
        (tmp_path / "configs" / f"{name}.py").write_text("# config\n")
    env = {**os.environ, "LAYOUTGEN": str(fake), "CI": "true"}
    return subprocess.run(["bash", str(CI / "build-all.sh")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_all_clean_builds_each_config_and_writes_one_junit_each(tmp_path: Path) -> None:
    done = run_build_all(tmp_path, ["alpha", "beta"])
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in (tmp_path / "out" / "junit").iterdir()) == ["alpha.xml", "beta.xml"]
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls == [
        "build configs/alpha.py -o out", "drc out/alpha/alpha.gds --pdk sky400 --junit out/junit/alpha.xml",
        "build configs/beta.py -o out", "drc out/beta/beta.gds --pdk sky400 --junit out/junit/beta.xml",
    ]


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_drc_violations_fail_with_1_after_building_everything(tmp_path: Path) -> None:
    done = run_build_all(tmp_path, ["a_dirty", "b_clean"])
    assert done.returncode == 1
    assert (tmp_path / "out" / "junit" / "b_clean.xml").is_file()
    assert "a_dirty has DRC violations" in done.stderr


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_a_bad_config_fails_with_2_and_the_others_still_build(tmp_path: Path) -> None:
    done = run_build_all(tmp_path, ["a_broken", "b_dirty", "c_clean"])
    assert done.returncode == 2
    assert sorted(p.name for p in (tmp_path / "out" / "junit").iterdir()) == ["b_dirty.xml", "c_clean.xml"]


def test_the_workflow_runs_the_script_and_publishes_junit_and_previews_even_on_failure() -> None:
    yaml = pytest.importorskip("yaml")
    flow = yaml.safe_load((CI / "layout.yml").read_text())
    steps = flow["jobs"]["build"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert any("ci/build-all.sh" in r for r in runs)
    junit = next(s for s in steps if "junit" in s.get("uses", ""))
    assert junit["with"]["report_paths"] == "out/junit/*.xml" and "cancelled" in junit["if"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")
                  and "preview" in s["with"]["path"])
    assert "out/*/preview/" in upload["with"]["path"] and "out/*/report.html" in upload["with"]["path"]
    assert "cancelled" in upload["if"]
    assert flow["jobs"]["build"]["env"]["CI"] == "true"
