"""A corpus of fan-in WLCSP floorplans as real chips have them, one function per floorplan.

Each entry is (class, design factory). The classes follow issue 14: tight dies, power pads
sharing a ball, fixed pinouts, no-connect balls, staggered pad rings, bunched pads, pads on
two sides, pads inside the ball array, grid variants and explicit ball lists, partial
assignment, net classes, 0.35 and 0.3 mm pitch, and the smallest designs. All lengths in µm;
every die is centred at (0, 0) and built without a wafer (the router is what is measured).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from layoutgen.design import BallGrid, Design, Die, NetClass, Pad, ball_name
from layoutgen.families.wlcsp_fanin.model import FanInWlcsp
from layoutgen.pads import peripheral_pads


def design(name: str, pdk: str, w: float, h: float, pads: list[Pad], balls: BallGrid) -> Design:
    """A die-only fan-in WLCSP design."""
    return Design(name=name, pdk=pdk, die=Die(name=name.upper(), width=w, height=h, pads=pads),
                  package=FanInWlcsp(balls=balls))


def row(prefix: str, n: int, pitch: float, y: float | None = None, x: float | None = None, start: int = 0,
        size: float = 60.0, nets: dict[int, str] | None = None) -> list[Pad]:
    """n pads in a row along x at height y (or along y at x), centred, at a pitch."""
    out = []
    for i in range(n):
        t = (i - (n - 1) / 2) * pitch
        px, py = (t, y) if y is not None else (x, t)
        name = f"{prefix}{start + i + 1}"
        out.append(Pad(name=name, net=(nets or {}).get(i, name), x=px, y=py, width=size, height=size))
    return out


def staggered(die: float, per_side: int, pitch: float, inset_outer: float, inset_inner: float) -> list[Pad]:
    """A two-row staggered pad ring: even pads in the outer row, odd pads half a pitch on, in the inner row."""
    pads = []
    for side, (sx, sy) in enumerate([(0, -1), (1, 0), (0, 1), (-1, 0)]):
        for i in range(per_side):
            t = (i - (per_side - 1) / 2) * pitch
            inset = inset_outer if i % 2 == 0 else inset_inner
            d = die / 2 - inset
            x, y = (t, sy * d) if sx == 0 else (sx * d, t)
            name = f"S{side}_{i}"
            pads.append(Pad(name=name, net=name, x=x, y=y, width=50, height=50))
    return pads


def hexagonal(rows: int, cols: int, pitch: float, missing: set[str] = frozenset()) -> list[tuple[str, float, float]]:
    """Balls of a hexagonal array: rows pitch·√3/2 apart, every other row shifted half a pitch."""
    dy = math.ceil(pitch * math.sqrt(3) / 2)
    out = []
    for r in range(rows):
        for c in range(cols):
            name = ball_name(r, c)
            if name in missing:
                continue
            x = (c - (cols - 1) / 2) * pitch + (pitch / 4 if r % 2 else -pitch / 4)
            out.append((name, x, ((rows - 1) / 2 - r) * dy))
    return out


def _one_pad_2x2():
    return design("one_pad_2x2", "sky400", 1000, 1000, [Pad(name="P1", net="A", x=0, y=-420, width=60, height=60)],
                  BallGrid(rows=2, cols=2, pitch=400))


def _one_pad_two_balls():
    return design("one_pad_two_balls", "sky400", 1000, 1000, [Pad(name="P1", net="A", x=0, y=-430, width=60, height=60)],
                  BallGrid(rows=1, cols=2, pitch=400))


def _one_pad_offset():
    return design("one_pad_offset", "sky400", 1400, 1400, [Pad(name="P1", net="A", x=610, y=250, width=60, height=60)],
                  BallGrid(rows=2, cols=2, pitch=400, offset=(-100.0, 50.0)))


def _tight(pdk: str, pitch: float, n: int, edge: float, per_side: int, pad_pitch: float):
    die = (n - 1) * pitch + 2 * edge
    return lambda: design(f"tight_{pdk}_{n}x{n}", pdk, die, die,
                          peripheral_pads(die, die, per_side, pad_pitch, inset=70, size=60), BallGrid(rows=n, cols=n, pitch=pitch))


def _power_auto():
    pads = peripheral_pads(2400, 2400, 6, 150, inset=70, size=60,
                           nets={"VDD": [1, 2, 9, 10], "VSS": [4, 5, 16, 17]})
    return design("power_auto", "sky400", 2400, 2400, pads, BallGrid(rows=5, cols=5, pitch=400))


def _power_explicit():
    pads = peripheral_pads(2400, 2400, 4, 180, inset=70, size=60, nets={"VDD": [1, 2], "VSS": [7, 8]})
    nets = {"A1": "P13", "A2": "P12", "A3": "P11", "A4": "P10", "B1": "P14", "B4": "P9",
            "C1": "P15", "C4": "VSS", "D1": "P16", "D2": "VDD", "D3": "P3", "D4": "P4", "C3": "P6", "C2": "P5"}
    return design("power_explicit", "sky400", 2400, 2400, pads, BallGrid(rows=4, cols=4, pitch=400, assign="explicit", nets=nets))


def _one_net_two_balls():
    pads = peripheral_pads(2400, 2400, 3, 200, inset=70, size=60, nets={"VDD": [2, 8]})
    nets = {"D1": "P1", "D2": "VDD", "D4": "P3", "B4": "P4", "C4": "P5", "A4": "P6", "A3": "P7", "A1": "VDD",
            "A2": "P9", "B1": "P12", "C1": "P10", "D3": "P11"}
    return design("one_net_two_balls", "sky400", 2400, 2400, pads, BallGrid(rows=4, cols=4, pitch=400, assign="explicit", nets=nets))


def _one_pad_two_balls_of_a_net():
    return design("one_pad_two_balls_of_a_net", "sky400", 1000, 1000, [Pad(name="P1", net="A", x=0, y=-430, width=60, height=60)],
                  BallGrid(rows=1, cols=2, pitch=400, assign="explicit", nets={"A1": "A", "A2": "A"}))


def _one_pad_three_balls():
    pads = [Pad(name="P1", net="A", x=-200, y=-630, width=60, height=60),
            Pad(name="P2", net="B", x=200, y=-630, width=60, height=60)]
    return design("one_pad_three_balls", "sky400", 1400, 1400, pads,
                  BallGrid(rows=2, cols=2, pitch=400, assign="explicit", nets={"A1": "A", "B1": "A", "A2": "A", "B2": "B"}))


def _pinout_swapped():
    pads = peripheral_pads(2400, 2400, 3, 200, inset=70, size=60)
    ring = ["D2", "D3", "D4", "C4", "B4", "A4", "A3", "A2", "A1", "B1", "C1", "D1"]
    nets = {b: f"P{k + 1}" for k, b in enumerate(ring)}
    nets["D2"], nets["D3"] = nets["D3"], nets["D2"]  # a late pin swap
    nets["A3"], nets["A2"] = nets["A2"], nets["A3"]
    return design("pinout_swapped", "sky400", 2400, 2400, pads, BallGrid(rows=4, cols=4, pitch=400, assign="explicit", nets=nets))


def _pinout_datasheet():
    pads = peripheral_pads(2800, 2800, 4, 200, inset=70, size=60)
    balls = BallGrid(rows=5, cols=5, pitch=400).positions()
    order = sorted(balls, key=lambda b: math.atan2(b[2], b[1]))
    outer = [b for b in order if max(abs(b[1]), abs(b[2])) > 700]
    nets = {b[0]: f"P{(5 * k) % 16 + 1}" for k, b in enumerate(outer[:16])}
    return design("pinout_datasheet", "sky400", 2800, 2800, pads, BallGrid(rows=5, cols=5, pitch=400, assign="explicit", nets=nets))


def _outer_ring(n: int) -> list[tuple[str, float, float]]:
    """The outer ring of an n × n ball array at 400 µm, in counter-clockwise order (by angle from −x)."""
    balls = BallGrid(rows=n, cols=n, pitch=400).positions()
    edge = (n - 1) * 200 - 1
    return sorted((b for b in balls if max(abs(b[1]), abs(b[2])) > edge), key=lambda b: math.atan2(b[2], b[1]))


def _pinout_reversed():
    pads = peripheral_pads(2800, 2800, 4, 200, inset=70, size=60)
    ring = _outer_ring(5)
    by_angle = sorted(pads, key=lambda p: math.atan2(p.y, p.x))  # counter-clockwise
    # the balls take the pads in the opposite sense: pads counter-clockwise, balls clockwise
    nets = {b[0]: by_angle[-k].net for k, b in enumerate(ring)}
    return design("pinout_reversed", "sky400", 2800, 2800, pads, BallGrid(rows=5, cols=5, pitch=400, assign="explicit", nets=nets))


def _pinout_corner_swap():
    pads = peripheral_pads(2400, 2400, 3, 200, inset=70, size=60)
    ring = ["D2", "D3", "D4", "C4", "B4", "A4", "A3", "A2", "A1", "B1", "C1", "D1"]
    nets = {b: f"P{k + 1}" for k, b in enumerate(ring)}
    nets["D3"], nets["C4"] = nets["C4"], nets["D3"]  # a late swap of two nets on adjacent sides, across corner D4
    return design("pinout_corner_swap", "sky400", 2400, 2400, pads, BallGrid(rows=4, cols=4, pitch=400, assign="explicit", nets=nets))


def _pinout_deep():
    pads = peripheral_pads(2800, 2800, 5, 180, inset=70, size=60)
    balls = BallGrid(rows=5, cols=5, pitch=400).positions()
    outer = sorted((b for b in balls if max(abs(b[1]), abs(b[2])) > 700), key=lambda b: math.atan2(b[2], b[1]))
    # C3, two rings deep, carries the bottom side's middle pad: its trace passes between D2 and D4 (one
    # ring in, nets of the pads beside it) and between two outer balls of other nets
    inner = {"C3": "P3", "D2": "P2", "D4": "P4", "B3": "P13"}
    rest = sorted((p for p in pads if p.net not in inner.values()), key=lambda p: math.atan2(p.y, p.x))
    nets = {b[0]: p.net for b, p in zip(outer, rest)} | inner
    return design("pinout_deep", "sky400", 2800, 2800, pads, BallGrid(rows=5, cols=5, pitch=400, assign="explicit", nets=nets))


def _pinout_overfull():
    pads = peripheral_pads(3600, 3600, (13, 12, 12, 12), 200, inset=70, size=60)
    balls = BallGrid(rows=7, cols=7, pitch=400).positions()
    ring0 = sorted((b for b in balls if max(abs(b[1]), abs(b[2])) > 1100), key=lambda b: math.atan2(b[2], b[1]))
    inner = sorted((b for b in balls if max(abs(b[1]), abs(b[2])) < 1100), key=lambda b: math.atan2(b[2], b[1]))
    order = sorted(range(len(pads)), key=lambda i: math.atan2(pads[i].y, pads[i].x))
    # every other pad feeds an inner ball, drawn 75 µm wide: each outer gap (165 µm) carries one such trace
    deep = set(order[0::2])  # 25 of the 49 pads
    names = {i: (f"W{i + 1}" if i in deep else f"P{i + 1}") for i in range(len(pads))}
    pads = [p.model_copy(update={"net": names[i]}) for i, p in enumerate(pads)]
    nets = ({b[0]: names[i] for b, i in zip(ring0, [i for i in order if i not in deep])}
            | {b[0]: names[i] for b, i in zip(inner, [i for i in order if i in deep])})
    return design("pinout_overfull", "sky400", 3600, 3600, pads,
                  BallGrid(rows=7, cols=7, pitch=400, assign="explicit", nets=nets,
                           net_classes={"W*": NetClass(width=75, space=10)}))


def _no_connect():
    pads = peripheral_pads(2000, 2000, 2, 300, inset=70, size=60)
    nets = {"A1": "P5", "A3": "P6", "C1": "P8", "C3": "P2", "B1": "P7", "B3": "P3", "C2": "P1", "A2": "P4"}
    nets.pop("B3")
    nets["B3"] = "P3"
    nets.pop("A2")
    nets["B2"] = "P4"  # A2 is a no-connect; the centre ball carries P4
    return design("no_connect", "sky400", 2000, 2000, pads, BallGrid(rows=3, cols=3, pitch=400, assign="explicit", nets=nets))


def _staggered(n: int, per_side: int):
    die = (n - 1) * 400 + 1000
    return lambda: design(f"staggered_{n}", "sky400", die, die, staggered(die, per_side, 50.0, 65.0, 135.0),
                          BallGrid(rows=n, cols=n, pitch=400))


def _bunched(pitch: float):
    pads = row("B", 10, pitch, y=-1135, size=50) + row("T", 6, pitch, y=1135, size=50)
    return lambda: design(f"bunched_{int(pitch)}", "sky400", 2400, 2400, pads, BallGrid(rows=5, cols=5, pitch=400))


def _two_sides():
    pads = row("L", 10, 150, x=-1330) + row("R", 10, 150, x=1330)
    return design("two_sides", "sky400", 2800, 2800, pads, BallGrid(rows=6, cols=6, pitch=400))


def _two_sides_far():
    pads = row("B", 8, 140, y=-1930) + row("T", 8, 140, y=1930)
    return design("two_sides_tall", "sky400", 2400, 4000, pads, BallGrid(rows=9, cols=5, pitch=400))


def _area_io():
    pads = [Pad(name=f"C{i}", net=f"C{i}", x=x, y=y, width=50, height=50)
            for i, (x, y) in enumerate([(0, 0), (400, 0), (0, 400), (400, 400), (-400, -400)])]
    pads += peripheral_pads(2600, 2600, 3, 300, inset=70, size=60)
    return design("area_io", "sky400", 2600, 2600, pads, BallGrid(rows=5, cols=5, pitch=400, offset=(200.0, 200.0), depopulate=["E5"]))


def _centre_row():
    pads = row("M", 12, 100, y=0.0, size=50)
    return design("centre_row", "sky400", 2400, 2000, pads, BallGrid(rows=4, cols=5, pitch=400))


def _centre_row_dense():
    pads = row("M", 16, 80, y=0.0, size=50) + row("E", 4, 400, y=-1130)
    return design("centre_row_dense", "sky350", 2500, 2400, pads, BallGrid(rows=6, cols=6, pitch=350))


def _full(n: int, per_side: int, pitch_pads: float):
    die = (n - 1) * 400 + 900
    return lambda: design(f"full_{n}", "sky400", die, die, peripheral_pads(die, die, per_side, pitch_pads, inset=70, size=60),
                          BallGrid(rows=n, cols=n, pitch=400))


def _depop_corners():
    pads = peripheral_pads(2800, 2800, 5, 180, inset=70, size=60)
    return design("depop_corners", "sky400", 2800, 2800, pads, BallGrid(rows=6, cols=6, pitch=400, depopulate=["A1", "A6", "F1", "F6", "C3:D4"]))


def _offset_grid():
    pads = peripheral_pads(2600, 2600, 4, 200, inset=70, size=60)
    return design("offset_grid", "sky400", 2600, 2600, pads, BallGrid(rows=5, cols=5, pitch=400, offset=(-150.0, 100.0)))


def _hex_list():
    pads = peripheral_pads(2600, 2400, 4, 200, inset=70, size=60)
    return design("hex_list", "sky400", 2600, 2400, pads, BallGrid(pitch=400, at=hexagonal(5, 5, 400, {"C3", "A5"})))


def _staggered_list():
    balls = [(ball_name(r, c), (c - 2.5) * 400 + (100 if r % 2 else -100), (2 - r) * 400)
             for r in range(5) for c in range(6) if (r, c) not in {(2, 2), (2, 3)}]
    pads = peripheral_pads(3000, 2600, (5, 4, 5, 4), 220, inset=70, size=60)
    return design("staggered_list", "sky400", 3000, 2600, pads, BallGrid(pitch=400, at=balls))


def _partial():
    pads = peripheral_pads(2800, 2800, 5, 180, inset=70, size=60, nets={"VDD": [3, 13], "VSS": [8, 18]})
    return design("partial", "sky400", 2800, 2800, pads,
                  BallGrid(rows=6, cols=6, pitch=400, nets={"A1": "VDD", "F6": "VSS", "C6": "P12"}))


def _net_classes():
    pads = peripheral_pads(2800, 2800, 5, 180, inset=70, size=60, nets={"VDD1": [3], "VDD2": [13], "VSS": [8, 18]})
    return design("net_classes", "sky400", 2800, 2800, pads,
                  BallGrid(rows=6, cols=6, pitch=400, net_classes={"VDD*": NetClass(width=20, space=15),
                                                                   "VSS": NetClass(width=25, space=10)}))


def _pitch(pdk: str, pitch: float, n: int, per_side: int, pad_pitch: float, edge: float):
    die = (n - 1) * pitch + 2 * edge
    return lambda: design(f"pitch_{int(pitch)}_{n}", pdk, die, die,
                          peripheral_pads(die, die, per_side, pad_pitch, inset=70, size=55), BallGrid(rows=n, cols=n, pitch=pitch))


FLOORPLANS: dict[str, tuple[str, Callable[[], Design]]] = {
    "one_pad_2x2": ("simplest", _one_pad_2x2),
    "one_pad_two_balls": ("simplest", _one_pad_two_balls),
    "one_pad_offset": ("simplest", _one_pad_offset),
    "tight_400": ("tight die", _tight("sky400", 400, 5, 230, 5, 150)),
    "tight_350": ("tight die", _tight("sky350", 350, 5, 210, 4, 350)),
    "tight_500": ("tight die", _tight("sky500", 500, 4, 275, 4, 160)),
    "tight_400_full": ("tight die", _tight("sky400", 400, 4, 200, 3, 400)),
    "power_auto": ("power pads on one ball", _power_auto),
    "power_explicit": ("power pads on one ball", _power_explicit),
    "one_net_two_balls": ("power pads on one ball", _one_net_two_balls),
    "one_pad_two_balls_of_a_net": ("one net on several balls", _one_pad_two_balls_of_a_net),
    "one_pad_three_balls": ("one net on several balls", _one_pad_three_balls),
    "pinout_swapped": ("fixed pinout", _pinout_swapped),
    "pinout_datasheet": ("fixed pinout", _pinout_datasheet),
    "pinout_corner_swap": ("fixed pinout", _pinout_corner_swap),
    "pinout_reversed": ("fixed pinout", _pinout_reversed),
    "pinout_deep": ("fixed pinout", _pinout_deep),
    "pinout_overfull": ("fixed pinout", _pinout_overfull),
    "no_connect": ("no-connect ball", _no_connect),
    "staggered_6": ("staggered pads", _staggered(6, 8)),
    "staggered_8": ("staggered pads", _staggered(8, 12)),
    "bunched_65": ("bunched pads", _bunched(65)),
    "bunched_75": ("bunched pads", _bunched(75)),
    "two_sides": ("two sides", _two_sides),
    "two_sides_tall": ("two sides", _two_sides_far),
    "area_io": ("pads inside the array", _area_io),
    "centre_row": ("pads inside the array", _centre_row),
    "centre_row_dense": ("pads inside the array", _centre_row_dense),
    "full_6": ("grids", _full(6, 5, 200)),
    "full_8": ("grids", _full(8, 12, 150)),
    "depop_corners": ("grids", _depop_corners),
    "offset_grid": ("grids", _offset_grid),
    "hex_list": ("ball list", _hex_list),
    "staggered_list": ("ball list", _staggered_list),
    "partial": ("partial assignment", _partial),
    "net_classes": ("net classes", _net_classes),
    "pitch_350": ("0.35 / 0.3 mm pitch", _pitch("sky350", 350, 6, 6, 160, 215)),
    "pitch_300": ("0.35 / 0.3 mm pitch", _pitch("sky300", 300, 6, 6, 140, 200)),
    "pitch_300_8": ("0.35 / 0.3 mm pitch", _pitch("sky300", 300, 8, 10, 110, 200)),
}


def build_checked(d: Design, folder) -> tuple[object, object]:
    """Build the die of a design, write its GDS into `folder` and run the PDK's full DRC on it."""
    from pathlib import Path

    from layoutgen.drc import run_drc
    from layoutgen.families.wlcsp_fanin.build import build_die
    from layoutgen.gdsio import write_layout
    from layoutgen.pdk import load_pdk

    pdk = load_pdk(d.pdk)
    die = build_die(d, pdk)
    path = write_layout(die.layout, pdk, Path(folder) / f"{d.name}.gds")
    return die, run_drc(path, pdk)
