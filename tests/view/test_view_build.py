"""`layoutgen build` leaves the pictures and the report beside the layout."""

from __future__ import annotations

from pathlib import Path

import klayout.lay as klay


def test_build_writes_the_die_and_mask_pictures_and_the_report(fanin_build: Path) -> None:
    import json

    out = fanin_build
    summary = json.loads((out / "summary.json").read_text())
    masks = [m["name"] for m in summary["masks"]]
    zooms = [f"zoom_{m}_{what}.png" for m in masks for what in ("die", "mark")] if "wafer" in summary else []
    expected = ["die.png", *sorted(f"mask_{m}.png" for m in masks), *zooms]
    found = sorted(p.name for p in (out / "preview").glob("*.png"))
    assert [n for n in found if n != "wafer.png"] == sorted(expected)
    pb = klay.PixelBuffer.read_png(str(out / "preview" / "die.png"))
    assert (pb.width(), pb.height()) == (1200, 1200)
    rdl = 0xFFD01010
    assert any(pb.pixel(x, y) == rdl for x in range(0, 1200, 3) for y in range(0, 1200, 3))
    report = (out / "report.html").read_text(encoding="utf-8")
    assert report.count("data:image/png;base64,") == len(found)
