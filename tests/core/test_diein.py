"""Die data in: pads read back from a GDS/OASIS written by gdstk and from a LEF/DEF pair equal the pads that made them."""

from __future__ import annotations

import math
from pathlib import Path

import gdstk
import pytest

from layoutgen import Pad, pads_from_def, pads_from_layout
from layoutgen.errors import ConfigError

DIE = (3000.0, 2000.0)
PADS = [
    Pad(name="P1", net="VDD", x=-1400.0, y=-900.0, width=60, height=60),
    Pad(name="P2", net="IO_A", x=-1200.0, y=-900.0, width=50, height=80),
    Pad(name="P10", net="VDD", x=1400.0, y=900.0, width=60, height=60),
    Pad(name="VSS1", net="VSS", x=0.0, y=850.0, width=70, height=70, shape="octagon"),
    Pad(name="CLK", net="CLK", x=300.25, y=-0.5, width=64, height=64, shape="round"),
]
NETS = {"VDD": ["P1", "P10"], "VSS": ["VSS1"]}


def pad_polygon(pad: Pad, dx: float, dy: float) -> gdstk.Polygon:
    x, y = pad.x + dx, pad.y + dy
    if pad.shape == "rect":
        return gdstk.rectangle((x - pad.width / 2, y - pad.height / 2), (x + pad.width / 2, y + pad.height / 2), layer=36)
    if pad.shape == "octagon":
        r = pad.width / 2 / math.cos(math.pi / 8)     # flats on the axes: corners at 22.5° + k·45°
        return gdstk.Polygon([(x + r * math.cos(a), y + r * math.sin(a))
                              for a in (math.pi / 8 + k * math.pi / 4 for k in range(8))], layer=36)
    return gdstk.ellipse((x, y), pad.width / 2, tolerance=0.01, layer=36)


def write_die(path: Path) -> Path:
    """The die as a chip designer's GDS: origin at the lower-left corner, outline on 0/0,
    pads on 36/0 with their names on 36/10, the first two pads in a child cell placed once."""
    dx, dy = DIE[0] / 2, DIE[1] / 2
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    top, child = lib.new_cell("CHIP_TOP"), lib.new_cell("IO_CELL")
    top.add(gdstk.rectangle((0, 0), DIE, layer=0))
    for i, pad in enumerate(PADS):
        cell, ox, oy = (child, 100.0, 0.0) if i < 2 else (top, 0.0, 0.0)
        cell.add(pad_polygon(pad, dx - ox, dy - oy))
        cell.add(gdstk.Label(pad.name, (pad.x + dx - ox + 3, pad.y + dy - oy - 2), layer=36, texttype=10))
    top.add(gdstk.Reference(child, (100.0, 0.0)))
    top.add(gdstk.Label("not a pad", (5, 5), layer=36, texttype=10))
    lib.write_oas(str(path)) if path.suffix == ".oas" else lib.write_gds(str(path))
    return path


def same(read: list[Pad], made: list[Pad], nets: dict[str, list[str]]) -> None:
    net_of = {n: net for net, names in nets.items() for n in names}
    by_name = {p.name: p for p in read}
    assert sorted(by_name) == sorted(p.name for p in made)
    for pad in made:
        got = by_name[pad.name]
        assert got.net == net_of.get(pad.name, pad.name)
        assert got.shape == pad.shape
        tol = 0.1 if pad.shape == "round" else 1e-3
        assert got.x == pytest.approx(pad.x, abs=tol) and got.y == pytest.approx(pad.y, abs=tol)
        assert got.width == pytest.approx(pad.width, abs=tol) and got.height == pytest.approx(pad.height, abs=tol)


@pytest.mark.parametrize("suffix", [".gds", ".oas"])
def test_pads_from_a_layout_equal_the_pads_that_made_it(tmp_path: Path, suffix: str) -> None:
    path = write_die(tmp_path / f"die{suffix}")
    pads = pads_from_layout(path, layer=36, text_layer="36/10", nets=NETS)
    same(pads, PADS, NETS)
    assert [p.name for p in pads] == ["CLK", "P1", "P2", "P10", "VSS1"]   # natural order


def test_layout_errors_name_the_file_and_what_is_missing(tmp_path: Path) -> None:
    path = write_die(tmp_path / "die.gds")
    with pytest.raises(ConfigError, match=r"die\.gds: no pad layer 37/0 in the file \(layers: 0/0, 36/0, 36/10\)"):
        pads_from_layout(path, layer=37)
    with pytest.raises(ConfigError, match=r"die\.gds: no cell 'NOPE' \(cells: CHIP_TOP, IO_CELL\)"):
        pads_from_layout(path, layer=36, cell="NOPE")
    with pytest.raises(ConfigError, match=r"die\.gds: the pad opening at \(.*\) µm on layer 36/0 has no text on layer 36/0"):
        pads_from_layout(path, layer=36)
    with pytest.raises(ConfigError, match=r"missing\.gds: no such file"):
        pads_from_layout(tmp_path / "missing.gds", layer=36)


LEF = """VERSION 5.8 ;
UNITS
  DATABASE MICRONS 1000 ;
END UNITS
LAYER AP
  TYPE ROUTING ;
  DIRECTION VERTICAL ;
  WIDTH 10 ;
END AP
END LIBRARY
"""


def write_def(path: Path, pads: list[Pad], origin: tuple[float, float]) -> Path:
    """A DEF whose PINS are the rectangular pads (DIEAREA from `origin`, 1 nm units)."""
    ox, oy = origin
    um = lambda v: round(v * 1000)  # noqa: E731
    lines = ["VERSION 5.8 ;", "DESIGN CHIP ;", "UNITS DISTANCE MICRONS 1000 ;",
             f"DIEAREA ( {um(ox)} {um(oy)} ) ( {um(ox + DIE[0])} {um(oy + DIE[1])} ) ;", f"PINS {len(pads)} ;"]
    for p in pads:
        cx, cy = ox + DIE[0] / 2 + p.x, oy + DIE[1] / 2 + p.y
        lines += [f"- {p.name} + NET {p.net} + DIRECTION INOUT",
                  f"  + LAYER AP ( {-um(p.width / 2)} {-um(p.height / 2)} ) ( {um(p.width / 2)} {um(p.height / 2)} )",
                  f"  + PLACED ( {um(cx)} {um(cy)} ) N ;"]
    lines += ["END PINS", "END DESIGN", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_pads_from_lef_def_equal_the_pads_that_made_them(tmp_path: Path) -> None:
    rects = [p for p in PADS if p.shape == "rect"]
    lef = tmp_path / "tech.lef"
    lef.write_text(LEF, encoding="utf-8")
    pads = pads_from_def(write_def(tmp_path / "die.def", rects, origin=(500.0, -250.0)), lef=lef)
    same(pads, rects, {p.net: [q.name for q in rects if q.net == p.net] for p in rects})
    with pytest.raises(ConfigError, match=r"die\.def: no PINS with shapes on layer M9"):
        pads_from_def(tmp_path / "die.def", lef=lef, layer="M9")
    with pytest.raises(ConfigError, match=r"nolef\.lef: no such file"):
        pads_from_def(tmp_path / "die.def", lef=tmp_path / "nolef.lef")
