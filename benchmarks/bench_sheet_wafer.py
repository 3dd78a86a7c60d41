"""Benchmark: the wafer-scale sheet of templates/compliant_terminals_wafer.py on a 300 mm wafer (targets: 2 s to build
with every mask written, 2 s for its hierarchical DRC; issue #19).

Times the steps the build takes (the die, the sheet over the wafer, the combined GDS, every mask derived at the
thermal scale and written, the mask order table), then the project's hierarchical DRC of the written GDS (the whole
sheet100 deck, NET.OPEN per die included; best of --repeat) against KLayout's deep (hierarchical) width and space
checks of the LEAD and SPOT layers on the same file, as the named reference, measured in the same run.

    python benchmarks/bench_sheet_wafer.py [--diameter 300] [--repeat 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_steps(diameter: int, out: Path) -> tuple[dict, dict, Path]:
    """The sheet built and written as the pipeline does: times per step, the wafer summary, the combined GDS."""
    from layoutgen.config import load_config
    from layoutgen.families import builder
    from layoutgen.families.sheet_terminals.substrate import mask_scale
    from layoutgen.gdsio import write_layout
    from layoutgen.masks import derive_mask, mask_layer, mask_layer_map
    from layoutgen.pdk import load_pdk
    from layoutgen.wafer import mask_order_rows, write_mask_order
    from layoutgen.wafer.sheet import build_sheet_wafer

    design = load_config(ROOT / "templates" / "compliant_terminals_wafer.py")
    design = design.model_copy(update={"wafer": design.wafer.model_copy(update={"diameter": diameter})})
    pdk = load_pdk(design.pdk)
    times: dict[str, float] = {}
    t = time.perf_counter()
    die = builder(design.package.family)(design, pdk)
    times["die (leads, spots, rings)"] = time.perf_counter() - t
    t = time.perf_counter()
    wafer = build_sheet_wafer(design, pdk, die)
    times["sheet over the wafer"] = time.perf_counter() - t
    t = time.perf_counter()
    gds = write_layout(wafer.layout, pdk, out / f"{design.name}.gds")
    times["write combined GDS"] = time.perf_counter() - t
    t = time.perf_counter()
    used, scale, masks = set(wafer.layout.layers()), mask_scale(design), []
    (out / "masks").mkdir(parents=True, exist_ok=True)
    for mask in pdk.masks:
        if not (used & set(mask.layers)) - {"MARK"}:
            continue
        m = derive_mask(wafer.layout, mask, pdk, design.name, design.revision, wafer.field, scale=scale)
        rel = Path("masks") / f"{mask.name}.gds"
        write_layout(m, pdk, out / rel, layer_map=mask_layer_map(mask, pdk))
        masks.append({"name": mask.name, "file": str(rel), "layers": mask.layers, "gds_layer": list(mask_layer(mask, pdk)),
                      "field": mask.field, "invert": mask.invert, "mirror": mask.mirror, "aligns_to": mask.aligns_to,
                      "scale": scale, "smallest_feature_um": wafer.summary["mask_features"].get(mask.name)})
    write_mask_order(mask_order_rows(pdk, masks, design.wafer), out / "masks")
    times[f"{len(masks)} masks scaled + written"] = time.perf_counter() - t
    return times, wafer.summary, gds


def drc_times(gds: Path, repeat: int) -> tuple[float, float, object]:
    """(project's hierarchical DRC best of `repeat`, KLayout deep width+space of LEAD and SPOT best of `repeat`, result)."""
    import klayout.db as kdb

    from layoutgen.drc import run_drc
    from layoutgen.pdk import load_pdk

    pdk = load_pdk("sheet100")
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = run_drc(gds, pdk, hierarchical=True)
        best = min(best, time.perf_counter() - t)
    ref = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        ly = kdb.Layout()
        ly.read(str(gds))
        dss = kdb.DeepShapeStore()
        for name, space_kind in (("LEAD", "space"), ("SPOT", "spot_spacing")):
            r = kdb.Region(ly.top_cell().begin_shapes_rec(ly.layer(*pdk.layer(name).gds)), dss)
            r.width_check(round(pdk.value("width", name) / ly.dbu) - 1).count()
            r.space_check(round(pdk.value(space_kind, name) / ly.dbu) - 1).count()
        ref = min(ref, time.perf_counter() - t)
    return best, ref, result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--diameter", type=int, default=300, choices=[100, 150, 200, 300])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", type=Path, default=None, help="write into this folder and keep it")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        times, s, gds = build_steps(args.diameter, out)
        sh = s["sheet"]
        print(f"sheet: {sh['diameter_mm']:g} mm over a {s['diameter_mm']} mm wafer, {s['dies']:,} dies of "
              f"{s['die_um'][0]:g} × {s['die_um'][1]:g} µm, masks at scale {sh['mask_scale']:.9f} "
              f"(array pitch {sh['mask_pitch_um'][0]:g} µm for {s['pitch_um'][0]:g})")
        total = sum(times.values())
        for k, v in times.items():
            print(f"  {k:<30} {v:7.3f} s")
        print(f"  {'build total':<30} {total:7.3f} s   target 2 s: {total / 2:.2f} × the target")
        hier, ref, result = drc_times(gds, args.repeat)
        counts = result.counts()
        print(f"  {'hierarchical DRC (whole deck)':<30} {hier:7.3f} s   target 2 s: {hier / 2:.2f} × the target; "
              f"{len(result.checked_rules())} rules checked, {sum(counts.values())} violations")
        print(f"  {'KLayout deep, LEAD+SPOT w+s':<30} {ref:7.3f} s   project DRC / KLayout = {hier / ref:.1f}")
        sizes = {p.relative_to(out).as_posix(): p.stat().st_size for p in sorted(out.rglob("*.gds"))}
        print(f"  GDS written: {len(sizes)} files, {sum(sizes.values()) / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
