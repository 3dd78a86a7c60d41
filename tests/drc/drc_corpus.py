"""Small layouts for the DRC tests, each with a known number of violations per rule.

Every case writes a GDS (sky400 layer numbers, 1 nm database unit) and returns the rules it
exercises with the count each must find. Shapes marked "at value" sit exactly on the rule
value and must not be reported. Lengths in µm.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import gdstk
import numpy as np

from layoutgen.pdk import load_pdk

PDK = load_pdk("sky400")
GRID = 0.005

# Extra rules for the kinds sky400 does not use (area, hole_area, overlap).
EXTRA_RULES = """
[[rule]]
name = "RDL.A.1"
kind = "area"
layer = "RDL"
value = 400
description = "RDL shape area ≥ 400 µm²"

[[rule]]
name = "RDL.H.1"
kind = "hole_area"
layer = "RDL"
value = 900
description = "Hole inside RDL ≥ 900 µm²"

[[rule]]
name = "PLATE.OV.RDL"
kind = "overlap"
layer = "PLATE"
other = "RDL"
value = 5
description = "Plating tail overlaps RDL by ≥ 5 µm where they meet"
"""


def write_test_pdk(folder: Path) -> Path:
    """A PDK folder 'drctest': sky400 plus area, hole_area and overlap rules."""
    d = folder / "drctest"
    d.mkdir(parents=True, exist_ok=True)
    (d / "pdk.toml").write_text('name = "drctest"\nextends = "sky400"\ndescription = "sky400 + test rules"\n')
    (d / "rules.toml").write_text(EXTRA_RULES)
    return d


def snap(v: float) -> float:
    """`v` on the 5 nm grid."""
    return round(v / GRID) * GRID


class Gds:
    """A one-cell layout being drawn, with sky400 layer names."""

    def __init__(self, cell: str = "TOP") -> None:
        self.lib = gdstk.Library(unit=1e-6, precision=1e-9)
        self.cell = self.lib.new_cell(cell)

    @staticmethod
    def gds(layer: str) -> tuple[int, int]:
        return PDK.layers[layer].gds

    def poly(self, layer: str, pts) -> "Gds":
        l, d = self.gds(layer)
        self.cell.add(gdstk.Polygon([(float(x), float(y)) for x, y in pts], layer=l, datatype=d))
        return self

    def rect(self, layer: str, x0: float, y0: float, x1: float, y1: float) -> "Gds":
        return self.poly(layer, [(x0, y0), (x1, y0), (x1, y1), (x0, y1)])

    def circle(self, layer: str, cx: float, cy: float, d: float, n: int = 64) -> "Gds":
        a = np.arange(n) * 2 * math.pi / n
        return self.poly(layer, [(snap(cx + d / 2 * math.cos(t)), snap(cy + d / 2 * math.sin(t))) for t in a])

    def ring(self, layer: str, x0: float, y0: float, x1: float, y1: float, band: float) -> "Gds":
        """A rectangular band drawn as four rectangles."""
        self.rect(layer, x0, y0, x1, y0 + band).rect(layer, x0, y1 - band, x1, y1)
        return self.rect(layer, x0, y0 + band, x0 + band, y1 - band).rect(layer, x1 - band, y0 + band, x1, y1 - band)

    def label(self, layer: str, text: str, x: float, y: float) -> "Gds":
        l, _ = self.gds(layer)
        self.cell.add(gdstk.Label(text, (x, y), layer=l, texttype=PDK.labels.text_datatype))
        return self

    def write(self, path: Path) -> Path:
        self.lib.write_gds(str(path))
        return path


Case = Callable[[Path], dict[str, int]]


def case_width(path: Path) -> dict[str, int]:
    """RDL.W.1 (10): clean at value: 10 wide line, L of 10 wide arms, 45° strip; 3 narrow parts."""
    g = Gds()
    g.rect("RDL", 0, 0, 200, 10)                                     # at value
    g.rect("RDL", 0, 100, 10, 300).rect("RDL", 0, 100, 200, 110)     # L, arms at value
    g.poly("RDL", [(300, 0), (310, 0), (510, 200), (500, 200)])      # 45° strip, 7.07 wide: violation
    g.rect("RDL", 0, 400, 200, 409.995)                              # 9.995: violation
    g.rect("RDL", 300, 400, 340, 440).rect("RDL", 340, 416, 380, 424).rect("RDL", 380, 400, 420, 440)  # 8 µm bridge
    g.write(path)
    return {"RDL.W.1": 3}


def case_space(path: Path) -> dict[str, int]:
    """RDL.S.1 (10): at value: lines 10 apart, corners 10 apart (6, 8), notch 10; 5 violations."""
    g = Gds()
    g.rect("RDL", 0, 0, 200, 20).rect("RDL", 0, 30, 200, 50)          # 10 apart: at value
    g.rect("RDL", 300, 0, 320, 20).rect("RDL", 326, 28, 346, 48)      # corner gap (6, 8) = 10: at value
    g.rect("RDL", 0, 100, 200, 120).rect("RDL", 0, 129.995, 200, 150)  # 9.995: violation
    g.rect("RDL", 300, 100, 320, 120).rect("RDL", 325, 125, 345, 145)  # corner gap 7.07: violation
    # U with a 10-wide notch (at value) and one with an 8-wide notch (violation)
    g.poly("RDL", [(0, 200), (50, 200), (50, 260), (30, 260), (30, 220), (20, 220), (20, 260), (0, 260)])
    g.poly("RDL", [(100, 200), (150, 200), (150, 260), (129, 260), (129, 220), (121, 220), (121, 260), (100, 260)])
    # a frame whose hole is 6 wide (violation), drawn as a GDS keyhole polygon
    g.poly("RDL", [(300, 200), (360, 200), (360, 260), (300, 260), (300, 230), (327, 230),
                   (327, 250), (333, 250), (333, 210), (327, 210), (327, 230), (300, 230)])
    # two 64-gon pads 9 apart (violation)
    g.circle("RDL", 500, 100, 100).circle("RDL", 609, 100, 100)
    g.write(path)
    return {"RDL.S.1": 5}


def case_enclosure(path: Path) -> dict[str, int]:
    """RDL.EN.PV1 (10): PV1 50² in RDL 70² (at value); 9.995 short, straddling, bare: 3."""
    g = Gds()
    g.rect("RDL", 0, 0, 70, 70).rect("PV1", 10, 10, 60, 60)                # at value
    g.rect("RDL", 100, 0, 170, 70).rect("PV1", 110, 10, 160, 60.005)       # 9.995 at top
    g.rect("RDL", 200, 0, 270, 70).rect("PV1", 240, 10, 290, 60)           # straddles the RDL edge
    g.rect("PV1", 300, 10, 350, 60)                                        # no RDL at all
    g.rect("RDL", 400, 0, 480, 80).rect("PV1", 415, 15, 465, 65)           # 15: fine
    g.write(path)
    return {"RDL.EN.PV1": 3}


def case_separation(path: Path) -> dict[str, int]:
    """PV1.PV2.S (25): 25 apart (at value); 24.995, overlap, corners 20 apart: 3."""
    g = Gds()
    g.rect("PV1", 0, 0, 50, 50).rect("PV2", 75, 0, 275, 200)               # at value
    g.rect("PV1", 0, 300, 50, 350).rect("PV2", 74.995, 300, 275, 500)      # 24.995
    g.rect("PV1", 0, 600, 50, 650).rect("PV2", 40, 600, 240, 800)          # overlap
    g.rect("PV1", 400, 0, 450, 50).rect("PV2", 462, 66, 662, 266)          # corners (12, 16) = 20
    g.write(path)
    return {"PV1.PV2.S": 3}


def case_area(path: Path) -> dict[str, int]:
    """RDL.A.1 (400 µm²): 20×20 (at value), 19.995×20 and 5×5: 2."""
    g = Gds()
    g.rect("RDL", 0, 0, 20, 20).rect("RDL", 100, 0, 119.995, 20).rect("RDL", 200, 0, 205, 5)
    g.write(path)
    return {"RDL.A.1": 2}


def case_hole_area(path: Path) -> dict[str, int]:
    """RDL.H.1 (900 µm²): frame with a 30×30 hole (at value), one with 29×30: 1."""
    g = Gds()
    g.ring("RDL", 0, 0, 70, 70, 20)
    g.ring("RDL", 100, 0, 169, 70, 20)
    g.write(path)
    return {"RDL.H.1": 1}


def case_overlap(path: Path) -> dict[str, int]:
    """PLATE.OV.RDL (5): 5×20 overlap (at value); 4×20 overlap, abutting: 2; far away: none."""
    g = Gds()
    g.rect("RDL", 0, 0, 100, 20).rect("PLATE", 95, 0, 200, 20)            # at value
    g.rect("RDL", 0, 100, 100, 120).rect("PLATE", 96, 100, 200, 120)      # 4 wide
    g.rect("RDL", 0, 200, 100, 220).rect("PLATE", 100, 200, 200, 220)     # abuts only
    g.rect("PLATE", 300, 0, 400, 20)                                      # meets nothing
    g.write(path)
    return {"PLATE.OV.RDL": 2}


def case_size(path: Path) -> dict[str, int]:
    """BUMP.SIZE (261 ± 2): Ø261, Ø262.99 fine; Ø264 and a 261 square: 2."""
    g = Gds()
    g.circle("BUMP", 0, 0, 261).circle("BUMP", 1000, 0, 262.99).circle("BUMP", 2000, 0, 264)
    g.rect("BUMP", 2870, -130.5, 3131, 130.5)
    g.write(path)
    return {"BUMP.SIZE": 2}


def case_pitch(path: Path) -> dict[str, int]:
    """BUMP.P.1 (400): a row at 400 (at value), a pair at 399.995 and a pair at 300: 2."""
    g = Gds()
    for k in range(3):
        g.circle("BUMP", 400 * k, 0, 261)
    g.circle("BUMP", 0, 1000, 261).circle("BUMP", 399.995, 1000, 261)
    g.circle("BUMP", 0, 2000, 261).circle("BUMP", 300, 2000, 261)
    g.write(path)
    return {"BUMP.P.1": 2}


def case_edge_distance(path: Path) -> dict[str, int]:
    """UBM.SEAL.D (155): seal ring 0..1000 band 25; UBM centres 155 from the edge (at value),
    150 from it, and one outside the ring: 2."""
    g = Gds()
    g.ring("SEAL", 0, 0, 1000, 1000, 25)
    g.circle("UBM", 155, 500, 100).circle("UBM", 500, 155, 100).circle("UBM", 500, 500, 100)
    g.circle("UBM", 850, 850, 100)                                         # 150 from two edges
    g.circle("UBM", 1200, 500, 100)                                        # outside
    g.write(path)
    return {"UBM.SEAL.D": 2}


def case_grid(path: Path) -> dict[str, int]:
    """GRID.1 (0.005): on grid fine; a vertex 1 nm off, and a polygon with two such: 2."""
    g = Gds()
    g.rect("RDL", 0, 0, 20, 20)
    g.poly("RDL", [(100, 0), (120.001, 0), (120, 20), (100, 20)])
    g.poly("PV1", [(200, 0), (240.002, 0), (240, 40.003), (200, 40)])
    g.write(path)
    return {"GRID.1": 2}


def case_angle(path: Path) -> dict[str, int]:
    """RDL.ANGLE (45°): rectangle, 45° trace into a 64-gon pad fine; a 30°-rotated square
    (4 edges) and a right triangle (2 acute corners): 6."""
    g = Gds()
    g.rect("RDL", 0, 0, 100, 20)
    g.circle("RDL", 500, 0, 250)
    h = 10 / math.sqrt(2)                                                    # 45° trace, 20 wide, into the pad
    g.poly("RDL", [(snap(300 + h), snap(-200 - h)), (snap(460 + h), snap(-40 - h)),
                   (snap(460 - h), snap(-40 + h)), (snap(300 - h), snap(-200 + h))])
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    sq = [(0, 0), (50, 0), (50, 50), (0, 50)]
    g.poly("RDL", [(snap(800 + x * c - y * s), snap(y * c + x * s)) for x, y in sq])
    g.poly("PV1", [(0, 300), (100, 300), (100, 400)])
    g.write(path)
    return {"RDL.ANGLE": 6}


def _density_scale() -> float:
    """The deck's density window in units of 1000 µm (the cases are drawn for a window W, step W/2)."""
    from layoutgen.pdk import load_pdk

    return load_pdk("sky400").rule("density", "RDL").window / 1000.0


def case_density(path: Path) -> dict[str, int]:
    """RDL.DEN (window W, step W/2, 2–85 %), drawn in units of W/1000: extent 2000² (die
    outline), block A 950² at the origin (90 % in the first window) and B 800² at 1100: two
    windows empty: 3."""
    k = _density_scale()
    g = Gds()
    g.rect("DIE", 0, 0, 2000 * k, 2000 * k)
    g.rect("RDL", 0, 0, 950 * k, 950 * k).rect("RDL", 1100 * k, 1100 * k, 1900 * k, 1900 * k)
    g.write(path)
    return {"RDL.DEN": 3}


def case_density_clean(path: Path) -> dict[str, int]:
    """RDL.DEN: 100 µm stripes every 200 µm over 2000²: 50 % everywhere (units of W/1000)."""
    k = _density_scale()
    g = Gds()
    g.rect("DIE", 0, 0, 2000 * k, 2000 * k)
    for i in range(10):
        g.rect("RDL", 200 * i * k, 0, (200 * i + 100) * k, 2000 * k)
    g.write(path)
    return {"RDL.DEN": 0}


def _ball(g: Gds, net: str, x: float, y: float, name: str) -> None:
    g.circle("RDL", x, y, 280).circle("PV2", x, y, 200).circle("UBM", x, y, 240).circle("BUMP", x, y, 261)
    g.label("BUMP", net, x, y).label("TEXT", name, x, y)


def _pad(g: Gds, net: str, x: float, y: float) -> None:
    g.rect("PAD", x - 40, y - 40, x + 40, y + 40).rect("PV1", x - 25, y - 25, x + 25, y + 25)
    g.rect("RDL", x - 40, y - 40, x + 40, y + 40).label("PAD", net, x, y)


def wlcsp_die(path: Path, faults: tuple[str, ...] = ()) -> Path:
    """A 1.6 mm fan-in die clean for the whole sky400 deck: 3×3 balls at 400 µm pitch
    (Ø261 bumps), 8 pads, 20 µm traces (one at 45°), nets VDD on two pads and two balls,
    N4 with one pad and two balls. `faults` injects: 'open' (N7 trace cut), 'short'
    (a trace joins the N7 and N8 pads), 'narrow' (N8 trace 8 µm wide), 'close' (a stub
    6 µm from N6's trace)."""
    g = Gds("DIE_TOP")
    g.rect("DIE", 0, 0, 1600, 1600).ring("SEAL", 0, 0, 1600, 1600, 25)
    balls = {(400, 400): "N1", (400, 800): "VDD", (400, 1200): "VDD", (800, 400): "N4", (800, 800): "N4",
             (800, 1200): "N5", (1200, 400): "N6", (1200, 800): "N7", (1200, 1200): "N8"}
    for (x, y), net in balls.items():
        _ball(g, net, x, y, f"{'ABC'[(y - 400) // 400]}{(x - 400) // 400 + 1}")
    pads = {(160, 160): "N1", (100, 800): "VDD", (100, 1200): "VDD", (800, 100): "N4", (800, 1500): "N5",
            (1500, 400): "N6", (1500, 800): "N7", (1500, 1200): "N8"}
    for (x, y), net in pads.items():
        _pad(g, net, x, y)
    g.poly("RDL", [(150, 160), (170, 160), (410, 400), (390, 400)])        # N1, 45°
    g.rect("RDL", 100, 790, 400, 810).rect("RDL", 100, 1190, 400, 1210)    # VDD
    g.rect("RDL", 790, 100, 810, 800)                                       # N4: pad, ball, ball
    g.rect("RDL", 790, 1200, 810, 1500)                                     # N5
    if "short" in faults:
        g.rect("RDL", 1490, 800, 1510, 1200)                                # N7 pad to N8 pad
    g.rect("RDL", 1200, 390, 1500, 410)                                     # N6
    if "close" in faults:
        g.rect("RDL", 1360, 416, 1420, 436)                                 # floating stub 6 from N6
    if "open" in faults:
        g.rect("RDL", 1200, 790, 1340, 810).rect("RDL", 1360, 790, 1500, 810)
    else:
        g.rect("RDL", 1200, 790, 1500, 810)                                 # N7
    if "narrow" in faults:
        g.rect("RDL", 1200, 1196, 1500, 1204)
    else:
        g.rect("RDL", 1200, 1190, 1500, 1210)                               # N8
    return g.write(path)


CASES: dict[str, Case] = {
    "width": case_width,
    "space": case_space,
    "enclosure": case_enclosure,
    "separation": case_separation,
    "area": case_area,
    "hole_area": case_hole_area,
    "overlap": case_overlap,
    "size": case_size,
    "pitch": case_pitch,
    "edge_distance": case_edge_distance,
    "grid": case_grid,
    "angle": case_angle,
    "density": case_density,
    "density_clean": case_density_clean,
}
