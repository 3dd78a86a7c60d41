"""Pictures: the PNG has the asked size, shows RDL in the PDK's colour where RDL is drawn and nowhere else."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import klayout.lay as klay
import pytest
from test_view_fixtures import (DIE, EMPTY_SPOT, HALF, TRACE_MIDDLE, TRACE_W, WAFER_PITCH, design_dir,  # noqa: F401
                                make_design_dir)

from layoutgen.pdk import load_pdk
from layoutgen.view.command import add_render_arguments, main_render
from layoutgen.view.files import ViewError
from layoutgen.view.render import MARGIN, render_png, render_previews

PDK = load_pdk("sky400")


def argb(colour: str) -> int:
    """The PixelBuffer value of an opaque "#rrggbb" colour."""
    return 0xFF000000 | int(colour.lstrip("#"), 16)


RDL = argb(PDK.layer("RDL").color)
BUMP = argb(PDK.layer("BUMP").color)
WHITE = 0xFFFFFFFF


def to_pixel(x: float, y: float, size: int, half_extent: float) -> tuple[int, int]:
    """Pixel of layout point (x, y) in a square picture of a cell spanning ±half_extent (µm), margin included."""
    span = 2 * half_extent * (1 + 2 * MARGIN)
    return int((x + span / 2) / span * size), int((span / 2 - y) / span * size)


def window(png: Path, x: float, y: float, half_px: int, half_extent: float = HALF) -> Counter:
    """Colours of the (2·half_px)² pixels around layout point (x, y)."""
    pb = klay.PixelBuffer.read_png(str(png))
    cx, cy = to_pixel(x, y, pb.width(), half_extent)
    return Counter(pb.pixel(i, j) for i in range(cx - half_px, cx + half_px) for j in range(cy - half_px, cy + half_px))


def all_colours(png: Path) -> Counter:
    """Every pixel's colour of a picture."""
    pb = klay.PixelBuffer.read_png(str(png))
    return Counter(pb.pixel(i, j) for i in range(0, pb.width()) for j in range(0, pb.height()))


def test_the_pdk_colours_rdl_d01010() -> None:
    assert PDK.layer("RDL").color == "#d01010"


def test_die_picture_has_the_asked_size_and_rdl_colour_exactly_where_rdl_is_drawn(design_dir: Path, tmp_path: Path) -> None:
    png = render_png(design_dir / "demo.gds", tmp_path / "die.png", design_dir / "demo.lyp")
    pb = klay.PixelBuffer.read_png(str(png))
    assert (pb.width(), pb.height()) == (1200, 1200)
    colours = all_colours(png)
    assert len(colours) > 3 and colours[WHITE] < 0.99 * 1200 * 1200      # not blank
    # Inside the 30 µm trace (≈ 35 px wide) RDL's stipple shows the RDL colour; 8 px around its middle
    # stay inside the trace.
    assert TRACE_W / 2 / (2 * HALF * (1 + 2 * MARGIN)) * 1200 > 8
    assert window(png, *TRACE_MIDDLE, half_px=8)[RDL] >= 5
    # Where nothing but the die outline is drawn, there is no RDL colour.
    assert window(png, *EMPTY_SPOT, half_px=20)[RDL] == 0


def test_layers_option_draws_only_those_layers_by_name_or_number(design_dir: Path, tmp_path: Path) -> None:
    bump = render_png(design_dir / "demo.gds", tmp_path / "bump.png", design_dir / "demo.lyp", layers=["BUMP"], size=(400, 400))
    colours = all_colours(bump)
    assert colours[BUMP] > 0 and colours[RDL] == 0
    by_number = render_png(design_dir / "demo.gds", tmp_path / "rdl.png", design_dir / "demo.lyp", layers=["20/0"], size=(400, 400))
    colours = all_colours(by_number)
    assert colours[RDL] > 0 and colours[BUMP] == 0


def test_picture_of_a_wide_size_keeps_the_layout_undistorted(design_dir: Path, tmp_path: Path) -> None:
    png = render_png(design_dir / "demo.gds", tmp_path / "wide.png", design_dir / "demo.lyp", size=(600, 300))
    pb = klay.PixelBuffer.read_png(str(png))
    assert (pb.width(), pb.height()) == (600, 300)
    # The square die fills the height: the left and right quarter stay background.
    assert all(pb.pixel(i, j) == WHITE for i in range(0, 140, 7) for j in range(0, 300, 7))


def test_same_layout_gives_the_same_png_bytes(design_dir: Path, tmp_path: Path) -> None:
    a = render_png(design_dir / "demo.gds", tmp_path / "a.png", design_dir / "demo.lyp", size=(500, 500))
    b = render_png(design_dir / "demo.gds", tmp_path / "b.png", design_dir / "demo.lyp", size=(500, 500))
    assert a.read_bytes() == b.read_bytes()


def test_unknown_layer_or_cell_is_an_error_naming_what_exists(design_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ViewError, match=r"unknown layer 'NOPE'.*RDL \(20/0\)"):
        render_png(design_dir / "demo.gds", tmp_path / "x.png", design_dir / "demo.lyp", layers=["NOPE"])
    with pytest.raises(ViewError, match=rf"no cell 'NOPE' \(top cells: {DIE}\)"):
        render_png(design_dir / "demo.gds", tmp_path / "x.png", design_dir / "demo.lyp", cell="NOPE")
    with pytest.raises(ViewError, match="no such layout file"):
        render_png(tmp_path / "missing.gds", tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_previews_are_the_die_each_mask_alone_and_the_wafer(tmp_path: Path) -> None:
    out = make_design_dir(tmp_path, with_wafer=True)
    written = render_previews(out, "demo", size=(400, 400))
    assert [p.name for p in written] == ["die.png", "mask_BUMP.png", "mask_RDL.png", "wafer.png"]
    assert all(p.parent == out / "preview" for p in written)
    # The die picture shows the die cell, not the wafer: RDL where the trace is.
    assert window(out / "preview" / "die.png", *TRACE_MIDDLE, half_px=2)[RDL] >= 1
    bump = all_colours(out / "preview" / "mask_BUMP.png")
    assert bump[BUMP] > 0 and bump[RDL] == 0
    rdl = all_colours(out / "preview" / "mask_RDL.png")
    assert rdl[RDL] > 0 and rdl[BUMP] == 0
    # The wafer map shows where the 3 × 3 dies are (their outlines), not what is inside them.
    pb = klay.PixelBuffer.read_png(str(out / "preview" / "wafer.png"))
    die_outline = argb(PDK.layer("DIE").color)
    for i in (-1, 0, 1):
        for j in (-1, 0, 1):
            px, py = to_pixel(i * WAFER_PITCH - HALF, j * WAFER_PITCH, pb.width(), 2.2 * WAFER_PITCH)
            near = {pb.pixel(a, b) for a in range(px - 3, px + 3) for b in range(py - 3, py + 3)}
            assert die_outline in near, (i, j)
    wafer = all_colours(out / "preview" / "wafer.png")
    assert wafer[RDL] == 0 and wafer[BUMP] == 0


def test_previews_without_a_wafer_write_no_wafer_picture_and_drop_stale_ones(design_dir: Path) -> None:
    stale = design_dir / "preview" / "wafer.png"
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    names = [p.name for p in render_previews(design_dir, "demo", size=(200, 200))]
    assert names == ["die.png", "mask_BUMP.png", "mask_RDL.png"]
    assert not stale.exists()


def _render(argv: list[str]) -> int:
    p = argparse.ArgumentParser()
    add_render_arguments(p)
    return main_render(p.parse_args(argv))


def test_render_command_writes_the_png_asked(design_dir: Path, tmp_path: Path, capsys) -> None:
    png = tmp_path / "sub" / "rdl.png"
    assert _render([str(design_dir / "demo.gds"), "-o", str(png), "--layers", "RDL,PV1", "--size", "300x200"]) == 0
    assert capsys.readouterr().out.strip() == str(png)
    pb = klay.PixelBuffer.read_png(str(png))
    assert (pb.width(), pb.height()) == (300, 200)
    # A folder without -o renders every preview.
    assert _render([str(design_dir), "--size", "100"]) == 0
    assert sorted(p.name for p in (design_dir / "preview").iterdir()) == ["die.png", "mask_BUMP.png", "mask_RDL.png"]
    # A mask file alone finds the design's .lyp in the folder above.
    assert _render([str(design_dir / "masks" / "RDL.gds"), "--size", "200"]) == 0
    assert all_colours(design_dir / "masks" / "RDL.png")[RDL] > 0
