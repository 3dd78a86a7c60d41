"""DRC speed and memory: our shapely engine against KLayout's flat Region checks.

Builds (with gdstk) a 5 × 5 mm fan-in WLCSP-like die on RDL: 144 ball pads (Ø250, 64-gons,
12 × 12 at 350 µm pitch), 100 pads on the die edge and 100 traces 10 µm wide from pads to
balls (ring 0 straight, rings 1 and 2 through the channels between balls), with 7 injected
spacing violations (floating stubs 6 µm from a trace) and 5 width violations (8 µm necks).
Then a 10 × 10 block of that die, flattened into one cell, and the same block with every
die slightly different ("varied": ball diameters differ by 10 nm per die), which defeats
our engine's translation classes and shows its speed on layouts without repetition. Each engine runs in its own
process on the written GDS, so each one's peak memory is its own:

- ours: read + flatten, then merge + width + space (RDL.W.1 / RDL.S.1, 10 µm);
- KLayout: read, then Region of the flattened layer + width_check + space_check (Euclidean).

Run: python benchmarks/bench_drc.py [--cases die,block] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gdstk
import numpy as np

RDL = (20, 0)
DIE = 5000.0
PITCH = 350.0
BALL = 250.0
TRACE = 10.0
RULE = 10.0


def _circle(cx: float, cy: float, d: float, n: int = 64) -> np.ndarray:
    a = np.arange(n) * 2 * math.pi / n
    return np.round(np.c_[cx + d / 2 * np.cos(a), cy + d / 2 * np.sin(a)] / 0.005) * 0.005


def _rect(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], float)


def _vtrace(x: float, y0: float, y1: float, w: float = TRACE) -> np.ndarray:
    return _rect(x - w / 2, min(y0, y1), x + w / 2, max(y0, y1))


def _htrace(y: float, x0: float, x1: float) -> np.ndarray:
    return _rect(min(x0, x1), y - TRACE / 2, max(x0, x1), y + TRACE / 2)


def bottom_side(inject: bool) -> list[np.ndarray]:
    """Pads and traces of one die side (bottom, die centred on the origin): 25 pads; ring 0
    straight up into row 0 (columns 0–10), ring 1 up a channel and left into row 1 (columns
    1–9), ring 2 up a channel and left into row 2 (columns 2–6). Rotating this by 90° gives
    the other sides without conflicts (pinwheel)."""
    x = lambda c: -1925.0 + PITCH * c  # noqa: E731
    y = lambda r: -1925.0 + PITCH * r  # noqa: E731
    pad_y = -2400.0
    out: list[np.ndarray] = []
    for c in range(11):                                   # ring 0
        lx = x(c)
        out.append(_rect(lx - 15, pad_y - 30, lx + 15, pad_y + 30))
        if inject and c in (1, 3, 5, 7, 9):               # 8 µm neck: width violation
            out += [_vtrace(lx, pad_y, -2200), _vtrace(lx, -2200, -2100, 8.0), _vtrace(lx, -2100, y(0))]
        else:
            out.append(_vtrace(lx, pad_y, y(0)))
        if inject and c in (0, 2, 4, 6, 8, 10):           # stub 6 µm beside the trace: space
            out.append(_rect(lx + 11, -2250, lx + 31, -2230))
    for c in range(1, 10):                                # ring 1
        lx = x(c) + 155
        out += [_rect(lx - 15, pad_y - 30, lx + 15, pad_y + 30), _vtrace(lx, pad_y, y(1) + 5), _htrace(y(1), lx + 5, x(c))]
    for c in range(2, 7):                                 # ring 2
        lx = x(c) + 195
        out += [_rect(lx - 15, pad_y - 30, lx + 15, pad_y + 30), _vtrace(lx, pad_y, y(2) + 5), _htrace(y(2), lx + 5, x(c))]
        if inject and c == 4:                             # 7th spacing violation
            out.append(_rect(lx + 11, -2150, lx + 31, -2130))
    return out


def die_polygons(inject: bool = True, ball: float = BALL) -> list[np.ndarray]:
    """All RDL polygons of one die, centred on the origin."""
    polys = [_circle(-1925 + PITCH * i, -1925 + PITCH * j, ball) for i in range(12) for j in range(12)]
    side = bottom_side(inject)
    for k in range(4):
        c, s = round(math.cos(k * math.pi / 2)), round(math.sin(k * math.pi / 2))
        rot = np.array([[c, s], [-s, c]], float)
        polys += [p @ rot for p in side if k == 0 or not _is_injection(p)]
    return polys


def _is_injection(p: np.ndarray) -> bool:
    """Stubs and necks are injected on the bottom side only (7 + 5 per die)."""
    w, h = np.ptp(p, axis=0)
    return (abs(w - 20) < 1e-9 and abs(h - 20) < 1e-9) or (abs(w - 8) < 1e-9 and abs(h - 100) < 1e-9)


def write_gds(path: Path, blocks: int, varied: bool = False) -> int:
    """Write a flat cell of `blocks` × `blocks` dies; returns the polygon count. `varied`
    gives every die its own ball diameter (250 µm + 10 nm × die index), so no die is a
    translated copy of another: the worst case for our translation classes."""
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("BLOCK" if blocks > 1 else "DIE")
    base = die_polygons()
    n = 0
    for i in range(blocks):
        for j in range(blocks):
            off = np.array([i * DIE, j * DIE])
            polys = die_polygons(ball=BALL + 0.01 * (i * blocks + j)) if varied else base
            for p in polys:
                cell.add(gdstk.Polygon(p + off, layer=RDL[0], datatype=RDL[1]))
                n += 1
    lib.write_gds(str(path))
    return n


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_ours(path: str, repeat: int) -> dict:
    """Our engine in this process: read, then merge + width + space, best of `repeat`."""
    from layoutgen.drc.merge import merge
    from layoutgen.drc.read import Layout, layer_key
    from layoutgen.drc.space import check_space
    from layoutgen.drc.width import check_width

    base = _rss_mb()
    t0 = time.perf_counter()
    layout = Layout(path)
    flat = layout.flatten(layout.pick_tops(None)[0])
    polys = flat.polys.select(layer_key(*RDL))
    t_read = time.perf_counter() - t0
    best, width, space = math.inf, [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        shapes = merge(polys, flat.dbu_um)
        width = check_width(shapes, RULE)
        space = check_space(shapes, RULE)
        best = min(best, time.perf_counter() - t0)
    return {"read_s": t_read, "check_s": best, "width": len(width), "space": len(space),
            "shapes": len(polys), "merged": len(shapes), "classes": len(shapes.reps),
            "base_mb": base, "peak_mb": _rss_mb()}


def run_klayout(path: str, repeat: int) -> dict:
    """KLayout flat Region checks in this process, best of `repeat`."""
    import klayout.db as kdb

    base = _rss_mb()
    t0 = time.perf_counter()
    ly = kdb.Layout()
    ly.read(path)
    top = ly.top_cell()
    li = ly.layer(*RDL)
    t_read = time.perf_counter() - t0
    d = round(RULE / ly.dbu)
    best, w, s = math.inf, None, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        region = kdb.Region(top.begin_shapes_rec(li))
        w = region.width_check(d, False, kdb.Metrics.Euclidian)
        s = region.space_check(d, False, kdb.Metrics.Euclidian)
        best = min(best, time.perf_counter() - t0)
    sites = lambda ep: kdb.Region([p for p in ep.polygons(1)]).merged().count()  # noqa: E731
    return {"read_s": t_read, "check_s": best, "width": w.count(), "space": s.count(),
            "width_sites": sites(w), "space_sites": sites(s), "base_mb": base, "peak_mb": _rss_mb()}


def _child(engine: str, path: Path, repeat: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", engine, "--gds", str(path), "--repeat", str(repeat)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="die,block,varied", help="die, block (10 × 10 dies), varied (block, no two dies alike)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", choices=["ours", "klayout"])
    ap.add_argument("--gds")
    a = ap.parse_args()
    if a.child:
        res = run_ours(a.gds, a.repeat) if a.child == "ours" else run_klayout(a.gds, a.repeat)
        print(json.dumps(res))
        return
    sizes = {"die": (1, False), "block": (10, False), "varied": (10, True)}
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'case':6} {'shapes':>7} {'ours s':>8} {'KLayout s':>10} {'ratio':>6} "
              f"{'ours MB':>8} {'KL MB':>7}  violations (ours | KLayout edge pairs / sites)")
        for case in a.cases.split(","):
            path = Path(tmp) / f"{case}.gds"
            t0 = time.perf_counter()
            n = write_gds(path, *sizes[case])
            build = time.perf_counter() - t0
            ours = _child("ours", path, a.repeat)
            kl = _child("klayout", path, a.repeat)
            print(f"{case:6} {n:7d} {ours['check_s']:8.3f} {kl['check_s']:10.3f} {ours['check_s'] / kl['check_s']:6.2f} "
                  f"{ours['peak_mb']:8.0f} {kl['peak_mb']:7.0f}  "
                  f"width {ours['width']} | {kl['width']}/{kl['width_sites']}, "
                  f"space {ours['space']} | {kl['space']}/{kl['space_sites']}")
            print(f"       built in {build:.2f} s; read: ours {ours['read_s']:.3f} s, KLayout {kl['read_s']:.3f} s; "
                  f"merged shapes {ours['merged']} in {ours['classes']} translation classes; "
                  f"baseline RSS ours {ours['base_mb']:.0f} MB, KLayout {kl['base_mb']:.0f} MB")


if __name__ == "__main__":
    main()
