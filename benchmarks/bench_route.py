"""Routing quality, speed and memory: the floorplan corpus by class, the 16 × 16 die, a 1,000-pad die.

Run: python benchmarks/bench_route.py [--repeat N] [--skip-corpus] [--split] [--flip-chip]
Prints, per floorplan class of tests/route/floorplans.py: nets routed, total trace length
against the sum of octilinear (0/45/90°) pad-centre-to-ball-centre distances (the lower bound
a single-layer router aims at; a trace may end anywhere on its pad, so a route can beat it
slightly), the smallest space between different nets' RDL against the rule, and the routing
time. Then the 6.8 mm die with a full 16 × 16 array at 400 µm (256 pads; target well under
1 s), an 8.4 mm die with a full 20 × 20 array and 75 µm pad pitch (400 pads, ten rings deep), and a 6.8 mm die with 1,000 pads and a full 32 × 32 array at 200 µm, routed at 5/5 µm
with 110 µm capture pads (a custom rule set defined here; target < 10 s), with peak memory; a 3.4 mm
die with 232 pads spaced unevenly between its sides (64 on two edges, 52 on the others), whose fan-out
band is drawn as a channel. Last, a flip-chip floorplan sized like the 3 mm die of OpenROAD's `rdl_route` test (139 nets at 6/6 µm): a
17 × 17 bump array at 160 µm without its centre row and column, 205 peripheral pads of 139 nets.
`--split` prints only where the 1,000-pad die's CPU time goes, phase by phase.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import platform
import resource
import statistics
import sys
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("layoutgen") is None:  # a plain checkout, not installed
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "route"))

import numpy as np  # noqa: E402
import shapely  # noqa: E402

from layoutgen.errors import LayoutgenError  # noqa: E402
from layoutgen.route.rdl import RouteRules, Terminal, route  # noqa: E402
from layoutgen.route.rdl.example import Die, capture_pad, example_die, jedec_row, square  # noqa: E402
from layoutgen.route.rdl.geometry import routing_metal  # noqa: E402
from layoutgen.route.rdl.maze import octilinear  # noqa: E402


def figures(routing, pads, balls, rules) -> tuple[float, float, float, float]:
    """(routed length, octilinear lower bound, smallest space between different nets' metal, and
    the median over nets of each net's space to its nearest neighbour within 4 rule spaces)."""
    by_pad = {p.name: p for p in pads}
    by_ball = {b.name: b for b in balls}
    length = sum(r.length_um for r in routing.routes)
    bound = sum(octilinear(by_pad[r.pad].x - by_ball[r.ball].x, by_pad[r.pad].y - by_ball[r.ball].y)
                for r in routing.routes)
    parts = defaultdict(list)
    for net, g in routing_metal(routing, rules).items():
        parts[net].append(g)
    for p in pads:
        parts[p.net].append(p.shape)
    for b in balls:
        parts[routing.ball_nets.get(b.name, "~" + b.name)].append(b.shape)
    nets = list(parts)
    geoms = np.array([shapely.union_all(parts[n]) for n in nets], dtype=object)
    i, j = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=4.0 * rules.space)
    keep = i != j
    if not keep.any():
        return length, bound, math.inf, math.inf
    d = shapely.distance(geoms[i[keep]], geoms[j[keep]])
    nearest = np.full(len(nets), np.inf)
    np.minimum.at(nearest, i[keep], d)
    return length, bound, float(d.min()), float(np.median(nearest[np.isfinite(nearest)]))


def _space(value: float, width: int = 8) -> str:
    """A space in µm, or '>4s' when no other net's metal is within four rule spaces."""
    return f"{value:{width}.2f}" if math.isfinite(value) else f"{'>4s':>{width}s}"


def corpus() -> None:
    """Route every corpus floorplan through the fan-in builder and print figures per class."""
    from floorplans import FLOORPLANS

    import layoutgen.families.wlcsp_fanin.build as fanin
    from layoutgen.pdk import load_pdk

    seen = {}
    original = fanin.route_onto

    def recording(top, layer, pads, balls, keepin, rules, mode, where, what=""):
        start = time.perf_counter()
        routing = original(top, layer, pads, balls, keepin, rules, mode, where, what)
        seen.update(routing=routing, pads=pads, balls=balls, rules=rules, t=time.perf_counter() - start,
                    keepin=keepin, mode=mode)
        return routing

    fanin.route_onto = recording
    rows = defaultdict(list)
    for name, (cls, make) in FLOORPLANS.items():
        d = make()
        seen.clear()
        try:
            fanin.build_die(d, load_pdk(d.pdk))
        except LayoutgenError as e:
            rows[cls].append((name, len(d.die.pads), 0, None, None, None, None, None, str(e).split(": ", 1)[-1][:60]))
            continue
        r = seen["routing"]
        length, bound, space, median = figures(r, seen["pads"], seen["balls"], seen["rules"])
        tracemalloc.start()
        route(seen["pads"], seen["balls"], seen["keepin"], seen["rules"], mode=seen["mode"])
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        rows[cls].append((name, len(d.die.pads), len(r.routes), length / bound if bound else 1.0, space, median,
                          seen["rules"].space, seen["t"], f"{peak:5.1f}  {r.router}"))
    fanin.route_onto = original
    print(f"{'class':24s} {'floorplan':20s} {'nets':>9s} {'len/oct':>8s} {'min/median space/rule':>22s} "
          f"{'time s':>7s}  {'MiB':>5s}  router")
    worst = 0.0
    for cls, items in rows.items():
        for name, n, routed, ratio, space, median, rule, t, how in items:
            if ratio is None:
                print(f"{cls:24s} {name:20s} {routed:4d}/{n:<4d} {'-':>8s} {'-':>22s} {'-':>7s}  refused: {how}")
                continue
            worst = max(worst, ratio)
            print(f"{cls:24s} {name:20s} {routed:4d}/{n:<4d} {ratio:8.3f} {_space(space)} /{_space(median, 7)} /{rule:<4g} "
                  f"{t:7.3f}  {how}")
    print(f"worst length ratio {worst:.3f} (aim <= 1.05 on open floorplans)")


def edge_pads(edge_um: float, per_side: tuple[int, ...], pitch_um: tuple[float, ...], size_um: float,
              net: Callable[[int], str] = lambda k: f"N{k + 1}") -> tuple[Terminal, ...]:
    """Square pads along the die edges `edge_um` from the centre (top, right, bottom, left, clockwise),
    per side a count and a pitch, centred on the side; the k-th pad is P{k + 1} on net `net(k)`."""
    pads: list[Terminal] = []
    for side, (dx, dy, ux, uy) in enumerate([(0, 1, 1, 0), (1, 0, 0, -1), (0, -1, -1, 0), (-1, 0, 0, 1)]):
        for i in range(per_side[side]):
            k, a = len(pads), (i - (per_side[side] - 1) / 2.0) * pitch_um[side]
            x, y = round(dx * edge_um + ux * a, 6), round(dy * edge_um + uy * a, 6)
            pads.append(Terminal(f"P{k + 1}", net(k), x, y, square(x, y, size_um)))
    return tuple(pads)


def flip_chip_die(die_um: float = 3000.0, n: int = 17, pitch_um: float = 160.0, bump_um: float = 90.0,
                  per_side: tuple[int, ...] = (52, 51, 51, 51), pad_pitch_um: float = 48.0,
                  landing_um: float = 30.0, inset_um: float = 60.0, power_pads: int = 70,
                  power: tuple[str, ...] = ("VDD", "VSS", "DVDD", "DVSS")) -> Die:
    """A flip-chip die: an n × n bump array without its centre row and column (the core's own
    supply, not routed on the RDL), pads along each edge (`per_side`, top first, clockwise), of
    which `power_pads` spread evenly share the `power` nets in turn and every other pad is a
    signal net of its own; 6/6 µm rules (a rule set of its own, as a PDK would give)."""
    rules = RouteRules(width=6.0, space=6.0, grid=0.005, teardrop_max_fraction=0.5, pitch=pitch_um)
    mid = n // 2
    balls = [Terminal(f"{jedec_row(r)}{c + 1}", None, (c - mid) * pitch_um, (mid - r) * pitch_um,
                      capture_pad((c - mid) * pitch_um, (mid - r) * pitch_um, bump_um, rules.grid))
             for r in range(n) for c in range(n) if mid not in (r, c)]
    total = sum(per_side)

    def net(k: int) -> str:
        """Power pad k of an even spread (k·P/T steps up after it), else the next signal net."""
        before = k * power_pads // total  # power pads before pad k
        return power[before % len(power)] if (k + 1) * power_pads // total > before else f"S{k - before + 1}"

    pads = edge_pads(die_um / 2.0 - inset_um, per_side, (pad_pitch_um,) * 4, landing_um, net)
    keepin = square(0.0, 0.0, die_um - 2.0 * (25.0 + 10.0))  # less the seal band and its clearance
    return Die(pads, tuple(balls), keepin, rules)


def uneven_die() -> Die:
    """A 3.4 mm die, full 16 × 16 array at 200 µm (5/5 µm, 110 µm capture pads), 64 pads at 47 µm on
    the top and bottom edges and 52 at 58 µm on the left and right: the outer traces move farther
    sideways than one 45° jog can between the outer balls and the pads (the band drawn as a channel)."""
    fine = RouteRules(width=5.0, space=5.0, grid=0.005, teardrop_max_fraction=0.5, pitch=200.0)
    base = example_die(3400.0, 16, 16, 200.0, pads_per_side=2, capture_um=110.0, rules=fine)
    return Die(edge_pads(1660.0, (64, 52, 64, 52), (47.0, 58.0, 47.0, 58.0), 18.0), base.balls, base.keepin, fine)


def timed(label: str, die, repeat: int, target: float) -> bool:
    """Route one die (first call, median of `repeat`), print time, nets, ratio, space and peak memory."""
    start, start_cpu = time.perf_counter(), time.process_time()
    try:
        routing = route(die.pads, die.balls, die.keepin, die.rules)
    except LayoutgenError as e:
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        tracemalloc.start()
        try:
            route(die.pads, die.balls, die.keepin, die.rules)
        except LayoutgenError:
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"{label}: 0/{len(die.pads)} nets, refused after {wall:.3f} s wall / {cpu:.3f} s CPU "
              f"(target < {target:g} s), peak {peak / 2**20:.1f} MiB traced: {e}")
        return False
    first, first_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        route(die.pads, die.balls, die.keepin, die.rules)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    tracemalloc.start()
    route(die.pads, die.balls, die.keepin, die.rules)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    length, bound, space, median = figures(routing, die.pads, die.balls, die.rules)
    median_t = statistics.median(times) if times else first
    nets = (f"{len(routing.routes)}/{len(die.pads)} pads, "
            f"{len({r.net for r in routing.routes})}/{len({p.net for p in die.pads})} nets")
    print(f"{label}: {nets} ({routing.router} router), length/octilinear "
          f"{length / bound:.3f}, space smallest {space:.2f} / median {median:.2f} µm (rule {die.rules.space:g}), "
          f"first {first:.3f} s wall / {first_cpu:.3f} s CPU, median of {len(times)} {median_t:.3f} s wall / "
          f"{statistics.median(cpu) if cpu else float('nan'):.3f} s CPU (target < {target:g} s), "
          f"peak {peak / 2**20:.1f} MiB traced")
    return len(routing.routes) == len(die.pads) and median_t < target


def split(die) -> None:
    """Route one die once and print its CPU time by phase, each phase's own time (what it calls
    in another phase counted there): a few wrapped calls, so unlike cProfile, whose per-call
    cost inflates pure-Python phases several times over, the figures add up to the plain run."""
    import functools

    import layoutgen.route.rdl.anywhere  # noqa: F401  (the modules whose functions are wrapped)
    from layoutgen.route.rdl import assign, band, channel, router, spread

    phases = [  # (module, function, phase); the same function wrapped where each module calls it
        (router, "plan_side", "plan"), (assign, "_plan_rows", "plan"),
        (router, "relieve_channels", "relief (replans)"),
        (channel, "channel_curves", "channel curves"), (band, "channel_curves", "band stairs"),
        (band, "band_stairs", "band stairs"), (spread, "spread", "spread"),
        (spread, "checked", "final check"), (router, "checked", "final check"),
        (router, "route_anywhere", "lattice router"),
    ]
    own: dict[str, float] = defaultdict(float)
    stack: list[list] = []  # [phase, when its own time last resumed]

    def wrapped(fn, phase):
        @functools.wraps(fn)
        def call(*args, **kwargs):
            now = time.process_time()
            own[stack[-1][0]] += now - stack[-1][1]
            relief = any(p == "relief (replans)" for p, _ in stack) and phase in ("plan", "channel curves")
            stack.append([phase + (" in relief" if relief else ""), now])
            try:
                return fn(*args, **kwargs)
            finally:
                end = time.process_time()
                name, resumed = stack.pop()
                own[name] += end - resumed
                stack[-1][1] = end

        return call

    originals = [(m, name, getattr(m, name)) for m, name, _ in phases]
    for m, name, phase in phases:
        setattr(m, name, wrapped(getattr(m, name), phase))
    try:
        start = time.process_time()
        stack.append(["rest", start])
        routing = route(die.pads, die.balls, die.keepin, die.rules)
        end = time.process_time()
        own["rest"] += end - stack.pop()[1]
    finally:
        for m, name, fn in originals:
            setattr(m, name, fn)
    total = end - start
    print(f"CPU split ({len(routing.routes)}/{len(die.pads)} nets, {routing.router} router), {total:.2f} s:")
    for phase, t in sorted(own.items(), key=lambda kv: -kv[1]):
        print(f"  {phase:28s} {t:6.2f} s  {100.0 * t / total:5.1f} %")


def main() -> int:
    """Print the figures; exit 1 if a benchmark die misses a net or its time target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs after the first (default 3)")
    parser.add_argument("--skip-corpus", action="store_true", help="only the benchmark dies")
    parser.add_argument("--split", action="store_true", help="only the 1,000-pad die's CPU split by phase")
    parser.add_argument("--flip-chip", action="store_true", help="only the flip-chip die")
    args = parser.parse_args()
    print(f"python {platform.python_version()} on {platform.machine()}")
    fine = RouteRules(width=5.0, space=5.0, grid=0.005, teardrop_max_fraction=0.5, pitch=200.0)
    big = example_die(6800.0, 32, 32, 200.0, pads_per_side=250, pad_pitch_um=25.0, capture_um=110.0,
                      landing_um=18.0, pad_inset_um=40.0, rules=fine)
    if args.split:
        split(big)
        return 0
    flip = flip_chip_die()
    flip_label = (f"3 mm flip-chip die, 17 x 17 @ 160 um less the centre cross ({len(flip.balls)} bumps), "
                  f"{len(flip.pads)} pads of {len({p.net for p in flip.pads})} nets (6/6 um, 90 um bumps)")
    if args.flip_chip:
        return 0 if timed(flip_label, flip, args.repeat, 2.0) else 1
    if not args.skip_corpus:
        corpus()
    ok = timed("6.8 mm die, 16 x 16 @ 400 um, 256 pads", example_die(6800.0, 16, 16, 400.0, pads_per_side=64,
                                                                     pad_pitch_um=95.0), args.repeat, 1.0)
    ok &= timed("8.4 mm die, 20 x 20 @ 400 um, 400 pads at 75 um (10 rings deep)",
                example_die(8400.0, 20, 20, 400.0, pads_per_side=100, pad_pitch_um=75.0), args.repeat, 2.0)
    ok &= timed("5.2 mm die, 24 x 24 @ 200 um, 560 pads at 33 um (5/5 um, 110 um capture; corner channels relieved)",
                example_die(5200.0, 24, 24, 200.0, pads_per_side=140, pad_pitch_um=33.0, capture_um=110.0,
                            landing_um=18.0, pad_inset_um=40.0, rules=fine), max(0, args.repeat - 2), 10.0)
    ok &= timed("6.8 mm die, 32 x 32 @ 200 um, 1000 pads at 25 um (5/5 um, 110 um capture; band as a channel)",
                big, max(0, args.repeat - 2), 10.0)
    ok &= timed("3.4 mm die, 16 x 16 @ 200 um, 232 pads, 64 a side at 47 um and 52 at 58 um (5/5 um; band as a channel)",
                uneven_die(), args.repeat, 2.0)
    ok &= timed(flip_label, flip, args.repeat, 2.0)
    print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0:.0f} MiB")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
