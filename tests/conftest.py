"""Shared fixtures: repository paths and a way to write small config files."""

from __future__ import annotations

import compileall
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"


def pytest_configure(config: pytest.Config) -> None:
    """Byte-compile the package once before the test processes start: with PYTHONDONTWRITEBYTECODE set (as on
    the CI machines) every `layoutgen` subprocess of the tests would otherwise compile all of it again."""
    if not hasattr(config, "workerinput"):
        compileall.compile_dir(ROOT / "layoutgen", quiet=2)


@pytest.fixture
def write_config(tmp_path: Path):
    """Write a config file from text (dedented) and return its path."""

    def _write(text: str, name: str = "cfg.py") -> Path:
        p = tmp_path / name
        p.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
        return p

    return _write


def template_variant(template: Path, path: Path, change: str = "") -> Path:
    """Write a config at `path` that runs `template` (as if from its own folder: `__file__` is the template's, so it
    finds the configs it loads beside it) and then `change` (lines that alter its `design`)."""
    path.write_text(f"__file__ = {str(template)!r}\nexec(compile(open({str(template)!r}).read(), {str(template)!r}, 'exec'))\n"
                    f"{change}\n", encoding="utf-8")
    return path


# A small fan-in design (2 × 2 mm die, 16 pads, 4 × 4 balls) as config text: `.format(name=..., pdk=...)`.
DESIGN = """
from layoutgen import BallGrid, Design, Die, FanInWlcsp, Posts, peripheral_pads

pads = peripheral_pads(2000, 2000, per_side=4, pitch=300, nets={{"VDD": [1, 9], "VSS": [5, 13]}})
design = Design(name={name!r}, pdk={pdk!r}, die=Die(name="CI_DIE", width=2000, height=2000, pads=pads),
                package=FanInWlcsp(balls=BallGrid(rows=4, cols=4, pitch=400), posts=Posts(diameter=20, height=200)))
"""
# sky400 and one rule every bump breaks: a real violation that a waiver can accept.
STRICT = {"pdk.toml": 'name = "strict"\nextends = "sky400"\ndescription = "sky400 and a test rule"\n',
          "rules.toml": '[[rule]]\nname = "TEST.BUMP.A"\nkind = "area"\nlayer = "BUMP"\nvalue = 1e9\n'
                        'description = "test: every bump is too small"\n'}
WAIVER = '[[waiver]]\nrule = "TEST.*"\nregion = [-1000, -1000, 1000, 1000]\nreason = "test rule"\n'


@pytest.fixture(scope="module")
def no_previews():
    """build() writes no preview PNGs in the module that asks for this (tests that measure GDS, masks and summaries
    only: previews are half a small build's time, and tests/view checks them)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("layoutgen.pipeline.render_previews", lambda *a, **k: [])
        yield


def shared_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, name: str) -> tuple[Path, Path]:
    """(folder, lock file) for something made once per test run: shared by both test processes under xdist
    (the run's own base folder, new each run), the session's own folder otherwise."""
    if hasattr(request.config, "workerinput"):
        root = tmp_path_factory.getbasetemp().parent / "shared"
        root.mkdir(exist_ok=True)
        return root / name, root / f"{name}.lock"
    folder = tmp_path_factory.mktemp(name)
    return folder, folder.with_suffix(".lock")


@pytest.fixture(scope="session")
def fanin_build(request, tmp_path_factory) -> Path:
    """The fan-in template built whole (200 mm wafer, masks, DRC, previews) once per test run, whichever test
    process asks first (a file lock makes the other wait); tests only read it (tests/view: pictures and report;
    tests/core: a rebuild gives the same bytes)."""
    import fcntl

    from layoutgen.pipeline import build

    folder, lock = shared_dir(request, tmp_path_factory, "fanin")
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        done = folder / "wlcsp_fanin" / "summary.json"
        if not done.is_file():
            build(TEMPLATES / "wlcsp_fanin.py", out=folder, quiet=True)
    return folder / "wlcsp_fanin"
