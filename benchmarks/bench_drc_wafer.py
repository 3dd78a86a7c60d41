"""DRC of a whole wafer: a template die on a 300 mm wafer, the whole deck with the plating and
isolation checks, checked hierarchically (`layoutgen.drc.hier`): time per step and peak memory.

The wafer is built by `layoutgen.pipeline.build` from `templates/<template>.py` (default
wlcsp_fanin; any family that builds a wafer, e.g. backside_wlcsp) with
its wafer at 300 mm as bench_wafer.py makes it (`on_wafer`: the template's plating widths and
alignment keys, no fill, a 26 x 33 mm reticle). The DRC runs
in its own process on the written GDS, so the peak RSS is the DRC's own (baseline: the process
after imports). `--flat` also runs the flat check (minutes and gigabytes on 300 mm: DRC.md),
`--diameter 100` a smaller wafer.

`--template fanout_2die` checks the fan-out unit on a 600 × 600 mm carrier panel instead (as
bench_wafer.py builds it: unit marks, test sites, adapted units).

    python benchmarks/bench_drc_wafer.py [--template NAME] [--diameter 300] [--repeat 3] [--flat] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_wafer_gds(template: str, diameter: int, out: Path) -> tuple[Path, str, float]:
    """The template's die on a wafer, written: (GDS, PDK name, build seconds)."""
    from layoutgen.pipeline import build

    src = ROOT / "templates" / f"{template}.py"
    cfg = out / "wafer_config.py"
    sys.path.insert(0, str(ROOT / "benchmarks"))
    if template.startswith("fanout"):
        cfg.write_text(f"__file__ = {str(src)!r}  # the template's own folder for what it loads\n"
                       f"exec(compile(open({str(src)!r}).read(), {str(src)!r}, 'exec'))\n"
                       "from pathlib import Path\n"
                       "from bench_wafer import fanout_panel\n"
                       f"design = fanout_panel(design, Path({str(out)!r}))\n", encoding="utf-8")
        t = time.perf_counter()
        result = build(cfg, out=out / "out", drc=False, quiet=True)
        return next(result.out_dir.glob("*.gds")), result.summary["pdk"]["name"], time.perf_counter() - t
    cfg.write_text(f"__file__ = {str(src)!r}  # the template's own folder for what it loads\n"
                       f"exec(compile(open({str(src)!r}).read(), {str(src)!r}, 'exec'))\n"
                   "from bench_wafer import on_wafer\n"
                   f"design = design.model_copy(update={{'wafer': on_wafer(design, {diameter}, None)}})\n",
                   encoding="utf-8")
    t = time.perf_counter()
    result = build(cfg, out=out / "out", drc=False, quiet=True)
    return next(result.out_dir.glob("*.gds")), result.summary["pdk"]["name"], time.perf_counter() - t


def run_child(path: str, pdk_name: str, mode: str, repeat: int) -> dict:
    """The DRC in this process: best of `repeat`, the last run's figures."""
    from layoutgen.drc import run_drc
    from layoutgen.pdk import load_pdk

    pdk = load_pdk(pdk_name)
    base = _rss_mb()
    best, best_cpu, cold_cpu, result = float("inf"), float("inf"), None, None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        result = run_drc(path, pdk, hierarchical=(mode == "hier"))
        best = min(best, time.perf_counter() - t)
        best_cpu = min(best_cpu, time.process_time() - c)
        cold_cpu = time.process_time() - c if cold_cpu is None else cold_cpu    # the first run: what a user's single run costs
    counts = result.flat_counts()
    return {"s": best, "cpu_s": best_cpu, "cold_cpu_s": cold_cpu, "base_mb": base, "peak_mb": _rss_mb(), "reported": sum(result.counts().values()),
            "counts": {k: v for k, v in counts.items() if v}, "stats": getattr(result, "stats", {}),
            "plating": [v.message for v in result.of_rule("PLATE.NET")][:3],
            "isolation": [v.message for v in result.of_rule("PLATE.ISO")][:3]}


def _child(path: Path, pdk: str, mode: str, repeat: int, timeout: float | None = None) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--gds", str(path), "--pdk", pdk, "--repeat", str(repeat)],
                         capture_output=True, text=True, check=True, timeout=timeout)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--template", default="wlcsp_fanin", help="the template whose die is placed (default wlcsp_fanin)")
    ap.add_argument("--diameter", type=int, default=300, choices=[100, 150, 200, 300])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--flat", action="store_true", help="also run the flat check (slow)")
    ap.add_argument("--keep", metavar="DIR", help="keep the wafer here")
    ap.add_argument("--child", choices=["hier", "flat"])
    ap.add_argument("--gds")
    ap.add_argument("--pdk")
    a = ap.parse_args()
    if a.child:
        print(json.dumps(run_child(a.gds, a.pdk, a.child, a.repeat)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(a.keep) if a.keep else Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        path, pdk, built = build_wafer_gds(a.template, a.diameter, out)
        what = "600 × 600 mm panel" if a.template.startswith("fanout") else f"{a.diameter} mm wafer"
        print(f"{what} of the {a.template} die (PDK {pdk}): built and written in {built:.2f} s, "
              f"GDS {path.stat().st_size / 1e3:.0f} kB")
        h = _child(path, pdk, "hier", a.repeat)
        st = next(iter(h["stats"].values()))
        print(f"hierarchical DRC, whole deck with plating and isolation: {h['s']:.3f} s wall, {h['cpu_s']:.3f} s CPU "
              f"(best of {a.repeat}; the first, cold run {h['cold_cpu_s']:.3f} s CPU), "
              f"peak RSS {h['peak_mb']:.0f} MB (baseline after imports {h['base_mb']:.0f} MB)")
        print(f"  placements {st.get('placements')}, cells {st.get('cells')}, site types {st.get('types')}, "
              f"band types {st.get('band_types')} ({st.get('band_types_in_context')} with shapes that meet), "
              f"rest tiles {st.get('rest_tiles')}")
        print(f"  steps (CPU s): " + ", ".join(f"{k} {v}" for k, v in st.get("cpu_s", {}).items()))
        print(f"  steps (s): read {st.get('read_s')}, " + ", ".join(f"{k} {v}" for k, v in st.get("times_s", {}).items())
              + "  (own_and_wafer: the top's own shapes, PLATE.NET and PLATE.ISO)")
        print(f"  violations reported {h['reported']}; counted per placement (a flat check's count): {h['counts']}")
        print(f"  PLATE.NET: {h['plating'] or 'clean'}; PLATE.ISO: {h['isolation'] or 'clean'}")
        if a.flat:
            t = time.perf_counter()
            try:
                f = _child(path, pdk, "flat", 1, timeout=3600)
                print(f"flat DRC: {f['s']:.1f} s, peak RSS {f['peak_mb']:.0f} MB; counts {f['counts']}")
            except subprocess.TimeoutExpired:
                print(f"flat DRC: stopped after {time.perf_counter() - t:.0f} s")


if __name__ == "__main__":
    main()
