"""Benchmark: a template die on a 300 mm wafer (a fan-out unit on a 600 × 600 mm carrier panel), full mask set
built and written, plating and isolation checked.

Prints time per step, peak Python memory (tracemalloc, in a second run) and process peak RSS,
and file sizes. The die is a template's (`templates/wlcsp_fanin.py` by default; any family
that builds a wafer, e.g. `--template backside_wlcsp` or `relief_csp_wafer`), routed by its
family; `--template fanout_2die` places the fan-out unit on a 600 × 600 mm panel (its lower-left
and upper-right corner balls depopulated for the unit marks, a die shift on every tenth unit).

`--all` runs every family in turn (the sheet family through bench_sheet_wafer.py's steps), each in its own
process, and prints one table: wafer build with every mask written (wall and CPU, the die's routing not
counted), masks written, the build process's peak RSS, then the hierarchical DRC of the written GDS in a
further process (bench_drc_wafer.py's child: best of --repeat, wall and CPU, the first run's CPU (cold: what a
single run costs), its peak RSS, violations); targets
2 s each (CPU is the figure to read on a shared machine).

    python benchmarks/bench_wafer.py [--template NAME] [--fill 0.2] [--keep DIR]
    python benchmarks/bench_wafer.py --all [--repeat 1]
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
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "wafer"))

from layoutgen.config import load_config  # noqa: E402
from layoutgen.design import Plating, Wafer  # noqa: E402
from layoutgen.families import builder  # noqa: E402
from layoutgen.gdsio import write_layout  # noqa: E402
from layoutgen.pdk import load_pdk  # noqa: E402
from layoutgen.wafer import build_wafer, check_isolation, check_plating, mask_order_rows, write_mask_order  # noqa: E402
from layoutgen.wafer.checks import geometry_from_layout  # noqa: E402


PANEL_UM = 600000.0
KEY_300_UM = 103000.0    # |x| = |y| of the backside template's wafer-frame keys moved onto a 300 mm wafer
FAMILIES = ("wlcsp_fanin", "relief_csp_wafer", "backside_wlcsp", "fanout_2die", "compliant_terminals_wafer")


def fanout_panel(design, out: Path):
    """The fan-out design on a 600 × 600 mm panel, corner balls freed for the unit marks, a die-shift file."""
    from layoutgen.families.fanout import CarrierPanel

    pkg = design.package
    balls = pkg.balls.model_copy(update={"depopulate": [*pkg.balls.depopulate, "R1", "A15"]})
    shift = out / "shift.csv"
    rows = ["unit,dx,dy,rotation"] + [f"R{r}C{c},3,-2,0.01" for r in range(2, 70, 10) for c in range(2, 70, 10)]
    shift.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return design.model_copy(update={"package": pkg.model_copy(update={
        "balls": balls, "panel": CarrierPanel(size=(PANEL_UM, PANEL_UM)), "die_shift": str(shift)})})


def on_wafer(design, diameter: int, fill: float | None):
    """The design's wafer at `diameter` mm: its plating widths kept, thieving `fill`, a 26 x 33 mm reticle."""
    plating = design.wafer.plating if design.wafer else Plating()
    update = {"diameter": diameter, "reticle": (26000.0, 33000.0),
              "plating": plating.model_copy(update={"thieving_density": fill})}
    if design.wafer is not None and design.wafer.alignment.keys and diameter == 300:
        # The template's keys in the scribe sit in its smaller wafer's edge region: on 300 mm, at the corners' lane
        # crossings of the same region (the 300 mm die map of a 4 mm die leaves them clear there).
        keys = [k.model_copy(update={"x": math.copysign(KEY_300_UM, k.x), "y": math.copysign(KEY_300_UM, k.y)})
                if k.frame == "wafer" else k for k in design.wafer.alignment.keys]
        update["alignment"] = design.wafer.alignment.model_copy(update={"keys": keys})
    return design.wafer.model_copy(update=update) if design.wafer else Wafer(**update)


def template_die(name: str, fill: float | None, out: Path | None = None):
    """(design, pdk, die, source) for a template's die on a 300 mm wafer, its plating widths kept."""
    design = load_config(ROOT / "templates" / f"{name}.py")
    if design.package.family == "fanout":
        design = fanout_panel(design, out)
        pdk = load_pdk(design.pdk)
        t = time.perf_counter()
        die = builder(design.package.family)(design, pdk)
        return design, pdk, die, f"{name} unit (fanout, PDK {pdk.name}), routed in {time.perf_counter() - t:.2f} s"
    design.wafer = on_wafer(design, 300, fill)
    pdk = load_pdk(design.pdk)
    t = time.perf_counter()
    die = builder(design.package.family)(design, pdk)
    return design, pdk, die, f"{name} die ({design.package.family}, PDK {pdk.name}), routed in {time.perf_counter() - t:.2f} s"


def build_and_write(design, pdk, die, out: Path) -> dict:
    """Wafer built, combined GDS and every mask written, mask order table: times per step."""
    from wafer_support import write_masks

    times = {}
    if design.package.family == "fanout":
        from layoutgen.wafer.panel import panel_layout

        t = time.perf_counter()
        layout, figures, field, files = panel_layout(design, pdk, die)
        times["panel_layout"] = time.perf_counter() - t
        t = time.perf_counter()
        write_layout(layout, pdk, out / f"{design.name}.gds")
        for name, text in files.items():
            (out / name).write_text(text, encoding="utf-8")
        times["write combined GDS"] = time.perf_counter() - t
        t = time.perf_counter()
        masks = write_masks(layout, field, design, pdk, out)
        write_mask_order(mask_order_rows(pdk, masks, design.package.panel), out / "masks")
        times["derive + write masks"] = time.perf_counter() - t
        return {"result": None, "figures": figures, "times": times, "masks": masks}
    t = time.perf_counter()
    result = build_wafer(design, pdk, die, run_checks=False)
    times["build_wafer"] = time.perf_counter() - t
    t = time.perf_counter()
    write_layout(result.layout, pdk, out / f"{design.name}.gds")
    times["write combined GDS"] = time.perf_counter() - t
    t = time.perf_counter()
    masks = write_masks(result.layout, result.field, design, pdk, out)
    for m in masks:
        m["smallest_feature_um"] = result.summary["mask_features"][m["name"]]
    write_mask_order(mask_order_rows(pdk, masks), out / "masks")
    times["derive + write masks"] = time.perf_counter() - t
    return {"result": result, "times": times, "masks": masks}


def run_checks(result, pdk) -> dict:
    """Plating and isolation checks on the built layout: times and results."""
    t = time.perf_counter()
    geom = geometry_from_layout(result.layout, pdk)
    plating = check_plating(geom, pdk)
    isolation = check_isolation(geom, pdk)
    return {"time": time.perf_counter() - t, "plating": plating, "isolation": isolation}


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (MB); GEOS memory included, unlike tracemalloc."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def panel_figures(design, pdk, die, out: Path) -> None:
    """The fan-out panel's build and write times, best of three, and its figures."""
    best: dict[str, float] = {}
    for _ in range(3):
        run = build_and_write(design, pdk, die, out)
        for k, v in run["times"].items():
            best[k] = min(best.get(k, v), v)
    f = run["figures"]
    print(f"panel: {f['panel_um'][0] / 1000:g} × {f['panel_um'][1] / 1000:g} mm, {f['units']:,} units ({f['dies']:,} dies), "
          f"{len(f['test_sites'])} test sites, {f['die_shift']['units_adapted']} units adapted to their die shift")
    for k, v in best.items():
        print(f"  {k:<24} {v:7.3f} s (best of 3)")
    print(f"  {'build total':<24} {sum(best.values()):7.3f} s   process peak RSS {peak_rss_mb():.0f} MB")
    sizes = {p.relative_to(out).as_posix(): p.stat().st_size for p in sorted(out.rglob("*.gds"))}
    for name, size in sizes.items():
        print(f"  {name:<24} {size / 1024:9.1f} KiB")


def one_family(name: str, out: Path) -> dict:
    """The family's substrate built once with every mask written, in this process: figures for `--all`."""
    if name == "compliant_terminals_wafer":
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_sheet_wafer import build_steps

        c0 = time.process_time()
        times, _, gds = build_steps(300, out)
        die = next(v for k, v in times.items() if k.startswith("die"))
        return {"build_s": sum(times.values()) - die, "cpu_s": time.process_time() - c0 - die,
                "masks": len(list((out / "masks").glob("*.gds"))), "rss_mb": peak_rss_mb(), "gds": str(gds), "pdk": "sheet100"}
    design, pdk, die, _ = template_die(name, None, out)
    c0, t0 = time.process_time(), time.perf_counter()
    run = build_and_write(design, pdk, die, out)
    return {"build_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, "masks": len(run["masks"]),
            "rss_mb": peak_rss_mb(), "gds": str(out / f"{design.name}.gds"), "pdk": pdk.name}


def all_families(repeat: int) -> None:
    """Every family's 300 mm wafer (fan-out: 600 × 600 mm panel): build + masks and hierarchical DRC, one line each."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_drc_wafer import _child

    print(f"{'family template':<28} {'build s':>8} {'(CPU)':>7} {'masks':>5} {'RSS MB':>7}   {'DRC s':>7} {'(CPU)':>7} {'cold':>7} {'RSS MB':>7}  "
          f"{'violations':<10} hierarchy")
    for name in FAMILIES:
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run([sys.executable, __file__, "--template", name, "--keep", tmp, "--json"],
                                  capture_output=True, text=True, check=True)
            b = json.loads(done.stdout.strip().splitlines()[-1])
            h = _child(Path(b["gds"]), b["pdk"], "hier", repeat)
            st = next(iter(h["stats"].values()), {}) if h["stats"] else {}
            how = (f"site types {st['types']}, band types {st.get('band_types')}" if "types" in st
                   else st.get("mode", "") or "")
            print(f"{name:<28} {b['build_s']:8.3f} {b['cpu_s']:7.3f} {b['masks']:5d} {b['rss_mb']:7.0f}   "
                  f"{h['s']:7.3f} {h['cpu_s']:7.3f} {h['cold_cpu_s']:7.3f} {h['peak_mb']:7.0f}  {h['reported']:<10} {how}", flush=True)
    print("targets: build with every mask written 2 s, hierarchical DRC 2 s (issue #19)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--template", default="wlcsp_fanin", help="the template whose die is placed (default wlcsp_fanin)")
    ap.add_argument("--fill", type=float, default=None, help="thieving density (default: no fill)")
    ap.add_argument("--keep", type=Path, default=None, help="write into this folder and keep it")
    ap.add_argument("--all", action="store_true", help="every family: build, masks, DRC, peak memory (one table)")
    ap.add_argument("--repeat", type=int, default=1, help="with --all: DRC runs per family, the best reported")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)   # --all's child: one family's figures
    args = ap.parse_args()
    if args.all:
        return all_families(args.repeat)
    if args.json:
        args.keep.mkdir(parents=True, exist_ok=True)
        print(json.dumps(one_family(args.template, args.keep)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        design, pdk, die, source = template_die(args.template, args.fill, out)
        print(f"die: {source}")
        if design.package.family == "fanout":
            return panel_figures(design, pdk, die, out)
        rss0 = peak_rss_mb()
        run = build_and_write(design, pdk, die, out)
        rss1 = peak_rss_mb()
        chk = run_checks(run["result"], pdk)
        rss2 = peak_rss_mb()
        tracemalloc.start()
        build_and_write(design, pdk, die, out)
        _, peak_build = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        run_checks(run["result"], pdk)
        _, peak_checks = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        s = run["result"].summary
        print(f"wafer: {s['diameter_mm']} mm, {s['dies']:,} dies of {s['die_um'][0]:g} × {s['die_um'][1]:g} µm, "
              f"estimate {s['gross_die_estimate']:,}, {s['shots']['shots']} shots of {s['shots']['dies_per_shot']} dies")
        total = sum(run["times"].values())
        for k, v in run["times"].items():
            print(f"  {k:<24} {v:7.3f} s")
        print(f"  {'build total':<24} {total:7.3f} s   peak RSS +{rss1 - rss0:5.1f} MB, Python heap peak {peak_build / 1e6:5.1f} MB")
        print(f"  {'plating + isolation':<24} {chk['time']:7.3f} s   peak RSS +{rss2 - rss1:5.1f} MB, Python heap peak {peak_checks / 1e6:5.1f} MB")
        print(f"  process peak RSS {rss2:.0f} MB (interpreter, klayout, shapely and the die included; "
              f"{rss0:.0f} MB before the wafer build)")
        print(f"  plating:   {chk['plating'].message}")
        print(f"  isolation: {chk['isolation'].message}")
        if s["fill"]:
            print(f"  fill: {s['fill']['stripes']:,} stripes, density {s['fill']['density_in_region']:.3f} in the edge region "
                  f"(target {s['fill']['target']})")
        sizes = {p.relative_to(out).as_posix(): p.stat().st_size for p in sorted(out.rglob("*.gds"))}
        for name, size in sizes.items():
            print(f"  {name:<24} {size / 1024:9.1f} KiB")
        print(f"  {'all GDS':<24} {sum(sizes.values()) / 1024:9.1f} KiB")


if __name__ == "__main__":
    main()
