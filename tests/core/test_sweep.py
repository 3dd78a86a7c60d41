"""A sweep builds every design on Dask, writes each one's outputs as `build` does, keeps
going past a design that fails, and tabulates the results (CSV and HTML)."""

from __future__ import annotations

import csv
import json

import pytest
from dask.distributed import Client, LocalCluster

from layoutgen import BallGrid, Design, Die, FanInWlcsp, Posts, peripheral_pads
from layoutgen.cli import main as cli_main
from layoutgen.errors import ConfigError
from layoutgen.sweep import load_sweep, sweep


def small(name: str, size: float, per_side: int, rows: int, pitch: float, posts: bool = False) -> Design:
    pads = peripheral_pads(size, size, per_side=per_side, pitch=300, inset=70, size=60)
    return Design(name=name, pdk="sky400", die=Die(name=name.upper(), width=size, height=size, pads=pads),
                  package=FanInWlcsp(balls=BallGrid(rows=rows, cols=rows, pitch=pitch),
                                     posts=Posts(diameter=25, height=250, cte_mismatch_ppm=14.0, delta_t=60) if posts else None))


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None) as cluster:
        with Client(cluster) as c:
            yield c


def test_six_designs_on_two_workers_with_one_failing(client, tmp_path):
    cfg = tmp_path / "cfg.py"
    cfg.write_text("from layoutgen import BallGrid, Design, Die, FanInWlcsp, peripheral_pads\n"
                   "design = Design(name='from_file', pdk='sky400', die=Die(width=2000, height=2000, "
                   "pads=peripheral_pads(2000, 2000, per_side=2, pitch=300)), "
                   "package=FanInWlcsp(balls=BallGrid(rows=3, cols=3, pitch=400)))\n")
    designs = [small("s2000_p400", 2000, 4, 4, 400), small("s2400_p400", 2400, 5, 5, 400, posts=True),
               small("s2400_p450", 2400, 4, 4, 450), small("s2400_p500", 2400, 3, 4, 500, posts=True),
               small("too_many_pads", 2000, 6, 2, 400), cfg]
    out = tmp_path / "out"
    result = sweep(designs, out_root=out, client=client)
    rows = {r["design"]: r for r in result.rows}
    assert list(rows) == ["s2000_p400", "s2400_p400", "s2400_p450", "s2400_p500", "too_many_pads", "from_file"]
    bad = rows.pop("too_many_pads")
    assert bad["status"] == "config error" and "4 balls for 24 nets" in bad["error"]
    assert not (out / "too_many_pads").exists()
    for name, r in rows.items():
        assert (r["status"], r["routed"], r["drc"]) == ("ok", "yes", "clean"), name
        summary = json.loads((out / name / "summary.json").read_text())
        assert (out / name / f"{name}.gds").is_file() and (out / name / "drc.lyrdb").is_file()
        assert r["total_trace_um"] == summary["routing"]["total_length_um"] > 0
        assert r["max_trace_um"] == summary["routing"]["max_length_um"]
        forces = [b["force_mN"] for b in summary.get("per_ball", [])]
        assert r["max_post_force_mN"] == (max(forces) if forces else "")
    assert rows["s2400_p400"]["max_post_force_mN"] > 0 and rows["s2000_p400"]["max_post_force_mN"] == ""
    assert result.exit_code == 2
    with result.csv_path.open() as f:
        table = list(csv.DictReader(f))
    assert [t["design"] for t in table] == [r["design"] for r in result.rows]
    assert table[4]["status"] == "config error"
    page = result.html_path.read_text()
    assert page.count("<tr") == 7 and "4 balls for 24 nets" in page


def test_sweep_file_errors_name_the_file_and_line(tmp_path, capsys):
    f = tmp_path / "sw.py"
    f.write_text("designs = [\n  1 / 0,\n]\n")
    with pytest.raises(ConfigError, match=r"sw.py:2: ZeroDivisionError"):
        load_sweep(f)
    f.write_text("designs = ['a.py', 'a.py']\nother = 1\n")
    assert [p.name for p in load_sweep(f)] == ["a.py", "a.py"]
    f.write_text("design = None\n")
    assert cli_main(["sweep", str(f)]) == 2
    assert "must set `designs = [...]`" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="more than one design named d"):
        sweep([small("d", 2000, 2, 2, 400), small("d", 2000, 2, 2, 400)], out_root=tmp_path)
