"""The Python API: `layoutgen.build` takes a Design or a path, any number of times in one process."""

from __future__ import annotations

from pathlib import Path

import klayout.db as kdb
import pytest

import layoutgen
from layoutgen import BallGrid, Design, Die, FanInWlcsp, Posts, build, load, peripheral_pads

from conftest import TEMPLATES


def small_design() -> Design:
    pads = peripheral_pads(2000, 2000, per_side=4, pitch=300, nets={"VDD": [1, 9], "VSS": [5, 13]})
    return Design(name="api", pdk="sky400", die=Die(name="API_DIE", width=2000, height=2000, pads=pads),
                  package=FanInWlcsp(balls=BallGrid(rows=4, cols=4, pitch=400), posts=Posts(diameter=20, height=200)))


def with_pitch(design: Design, pitch: float, name: str) -> Design:
    balls = design.package.balls.model_copy(update={"pitch": pitch})
    return design.model_copy(update={"name": name, "package": design.package.model_copy(update={"balls": balls})})


def bump_centres(gds: Path) -> list[tuple[float, float]]:
    """Centres of the merged BUMP openings (50/0) in the written GDS, read by klayout.db."""
    ly = kdb.Layout()
    ly.read(str(gds))
    region = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(50, 0))).merged()
    return sorted((round(p.bbox().center().x * ly.dbu, 3), round(p.bbox().center().y * ly.dbu, 3)) for p in region.each())


@pytest.fixture(scope="module")
def three_builds(tmp_path_factory):
    """Three different designs built one after the other in this process: two pitches and a bigger die."""
    out = tmp_path_factory.mktemp("api")
    base = small_design()
    bigger = base.model_copy(update={"name": "api_big", "die": base.die.model_copy(update={"width": 2400, "height": 2400})})
    return [build(with_pitch(base, 400, "api_400"), out=out),
            build(with_pitch(base, 450, "api_450"), out=out, drc=False),
            build(bigger, out=out)]


def test_the_names_are_the_functions() -> None:
    assert callable(layoutgen.build) and layoutgen.build is build
    assert layoutgen.load is load and layoutgen.BuildResult.__name__ == "BuildResult"


def test_three_designs_in_one_process_each_get_their_own_geometry(three_builds) -> None:
    a, b, c = three_builds
    assert [r.out_dir.name for r in three_builds] == ["api_400", "api_450", "api_big"]
    assert a.drc is not None and a.drc.ok and b.drc is None and c.drc.ok
    for result, pitch in ((a, 400), (b, 450)):
        centres = bump_centres(result.gds)
        xs = sorted({x for x, _ in centres})
        assert len(centres) == 16 and [round(x1 - x0, 3) for x0, x1 in zip(xs, xs[1:])] == [pitch] * 3
    assert c.summary["die"]["width_um"] == pytest.approx(2400) and a.summary["die"]["width_um"] == pytest.approx(2000)


def test_the_result_lists_its_files_and_shows_the_die_in_jupyter(three_builds) -> None:
    a = three_builds[0]
    assert {"api_400.gds", "summary.json", "drc.json", "report.html", "masks/BUMP.gds"} <= set(a.paths)
    assert all(p.is_file() for p in a.paths.values())
    png = a._repr_png_()
    assert png.startswith(b"\x89PNG") and png == (a.out_dir / "preview" / "die.png").read_bytes()
    assert "DRC clean" in repr(a)


def test_load_gives_the_design_and_build_takes_a_path_too(tmp_path: Path) -> None:
    design = load(TEMPLATES / "wlcsp_fanin.py")
    assert isinstance(design, Design) and design.name == "wlcsp_fanin"
    assert design.config_path == (TEMPLATES / "wlcsp_fanin.py").resolve()
    # a path still builds, with the former keyword names
    cfg = tmp_path / "small.py"
    cfg.write_text("from test_api import small_design\ndesign = small_design()\n", encoding="utf-8")
    result = build(cfg, out_root=tmp_path / "out", run_drc=False)
    assert result.gds.is_file() and result.drc is None
    with pytest.raises(TypeError, match="outdir"):
        build(cfg, outdir=tmp_path)


def test_model_copy_validates_the_change_as_construction_does(write_config) -> None:
    """pydantic's model_copy(update=...) trusts the update; ours checks it like the constructor (#16)."""
    from pydantic import ValidationError

    from layoutgen import Wafer
    from layoutgen.errors import ConfigError

    wafer = Wafer(diameter=100)
    for bad in ({"scribe": 40}, {"scribe": -1}, {"scribe": float("nan")}, {"nope": 1}):
        with pytest.raises(ValidationError) as copied:
            wafer.model_copy(update=bad)
        with pytest.raises(ValidationError) as made:
            Wafer(diameter=100, **bad)
        assert copied.value.errors()[0]["msg"] == made.value.errors()[0]["msg"]
    wide = wafer.model_copy(update={"scribe": 200, "kerf": 120})    # fields checked together, not one by one
    assert (wide.scribe, wide.kerf, wide.diameter) == (200, 120, 100)
    # In a config: the same ConfigError, file:line and field, as a bad value written in the constructor.
    cfg = write_config("from layoutgen import Wafer\nw = Wafer(diameter=100)\nw2 = w.model_copy(update={'scribe': 40})\n")
    with pytest.raises(ConfigError, match=rf"{cfg}:3: Wafer.scribe = 40.0: the scribe lane must be wider than the saw kerf"):
        load(cfg)
