"""Flat whole-deck DRC of a flattened wafer: ours untiled and tiled (1 and 2 Dask workers)
against KLayout flat, on the same file.

Builds the fan-in template (templates/wlcsp_fanin.py) on a wafer of `--diameter` mm
without its own DRC, flattens the wafer cell with KLayout into one flat cell (what a
vendor's flattened mask data looks like), then in separate processes:

- ours untiled: `run_drc(..., hierarchical=False)`, the whole sky400 deck;
- ours tiled on 1 and 2 local Dask worker processes (`--tiles auto`), the whole deck
  (opens, shorts and the plating check tiled too; the wafer-size plating network read by
  each tile only in its window, see layoutgen/drc/tiles.py);
- KLayout flat: every width and space rule of the deck as `Region.width_check` /
  `Region.space_check` (the deck's other rule kinds have no one-call KLayout equivalent).

Printed: wall times, ratios, peak memory (RSS) of the process, and for the tiled runs the
largest peak of a worker process; violation counts. Shared code: drc_bench_common.py.

Run: python benchmarks/bench_drc_flatwafer.py [--diameter 200] [--skip untiled] [--gds /tmp/flat200.gds]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from drc_bench_common import HEADER, child_main, compare  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def flat_wafer(tmp: Path, diameter: float) -> Path:
    """The template built on a `diameter` mm wafer, its top cell flattened into a new GDS."""
    import klayout.db as kdb

    from layoutgen.pipeline import build

    cfg = tmp / "wafer_cfg.py"
    template = ROOT / "templates" / "wlcsp_fanin.py"
    cfg.write_text(f"exec(compile(open({str(template)!r}).read(), {str(template)!r}, 'exec'))\n"
                   f"design = design.model_copy(update={{'wafer': design.wafer.model_copy(update={{'diameter': {diameter}}})}})\n")
    result = build(cfg, tmp / "out", drc=False, quiet=True)
    ly = kdb.Layout()
    ly.read(str(result.out_dir / f"{result.summary['design']}.gds"))
    top = ly.top_cell()
    top.flatten(-1, True)
    out = tmp / "flat_wafer.gds"
    ly.write(str(out))
    return out


def main() -> None:
    if child_main(sys.argv):
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--diameter", type=float, default=200.0)
    ap.add_argument("--skip", default="", help="comma list of runs to skip: klayout, untiled, tiled1, tiled2")
    ap.add_argument("--gds", type=Path, help="keep the flat wafer here (outside the repository, e.g. /tmp) and "
                                               "reuse it when it exists")
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        if a.gds is not None and a.gds.is_file():
            path = a.gds
        else:
            path = flat_wafer(Path(tmp), a.diameter)
            if a.gds is not None:
                path = Path(shutil.copyfile(path, a.gds))
        print(f"{a.diameter:g} mm wafer flattened in {time.perf_counter() - t0:.0f} s: {path.stat().st_size / 1e6:.0f} MB GDS")
        print(f"{HEADER}  violations (KLayout: width + space edge pairs; ours: whole deck)")
        compare(__file__, path, f"{a.diameter:g} mm", None, skip, lambda c: str(sum(c.values())))


if __name__ == "__main__":
    main()
