"""Post compliance per ball: F = 3·Y·I·d/L³ with d = Δα·ΔT·r, measured on the template's balls."""

from __future__ import annotations

import math

import pytest

from layoutgen.config import load_config
from layoutgen.errors import ConfigError
from layoutgen.families.wlcsp_fanin.posts import Posts, per_ball, post_force_n
from layoutgen.families.wlcsp_fanin.build import post_table
from layoutgen.pdk import load_pdk

from conftest import TEMPLATES


def test_force_follows_the_cantilever_formula():
    # D = 100 µm, L = 100 µm, Y = 117 GPa, d = 1 µm: F = 3·Y·(π D⁴/64)·d / L³
    expect = 3 * 117e9 * math.pi * (100e-6) ** 4 / 64 * 1e-6 / (100e-6) ** 3
    assert post_force_n(100, 100, 1.0, 117) == pytest.approx(expect, rel=1e-12)
    assert post_force_n(100, 200, 1.0, 117) == pytest.approx(expect / 8, rel=1e-12)   # L³
    assert post_force_n(200, 100, 1.0, 117) == pytest.approx(expect * 16, rel=1e-12)  # D⁴


def test_per_ball_force_grows_with_distance_from_the_die_centre():
    posts = Posts(height=100, cte_mismatch_ppm=14, delta_t=100)
    rows = per_ball([("A1", 0.0, 0.0), ("A2", 1000.0, 0.0), ("A3", 600.0, 800.0)], {"A2": "VDD"}, 185.0, posts)
    assert rows[0]["force_mN"] == 0 and rows[0]["displacement_um"] == 0
    assert rows[1]["displacement_um"] == pytest.approx(14e-6 * 100 * 1000)       # 1.4 µm
    assert rows[1]["force_mN"] == pytest.approx(rows[2]["force_mN"])               # same distance
    assert rows[1]["net"] == "VDD"
    assert rows[1]["compliance_um_per_mN"] == pytest.approx(rows[1]["displacement_um"] / rows[1]["force_mN"], rel=1e-3)


def test_template_reports_every_ball_with_the_pv2_width():
    design = load_config(TEMPLATES / "wlcsp_fanin.py")
    pdk = load_pdk("sky400")
    balls = [(n, x, y) for n, x, y in design.package.balls.positions()]
    rows = post_table(design, pdk, balls, {})
    assert len(rows) == 128
    assert all(184.7 < r["post_width_um"] < 185 for r in rows)
    corner = max(rows, key=lambda r: r["distance_um"])
    assert corner["distance_um"] == pytest.approx(math.hypot(2200, 2200), abs=0.01)


def test_post_height_outside_the_polymer_window_is_refused(write_config):
    with pytest.raises(ConfigError, match=r"cfg.py:2: Posts.height = 300"):
        load_config(write_config("from layoutgen import Posts\np = Posts(height=300)\n"))
