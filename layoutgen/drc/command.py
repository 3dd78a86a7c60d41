"""`layoutgen drc FILE.gds|FILE.oas|OUT_DIR [--pdk NAME]`: check a layout, print the table, write the reports.

On layoutgen's own output (its folder, or a file in it) the PDK and the waivers come from the
build's summary.json, so `--pdk` is needed only for other layouts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import DrcError, LayoutgenError

# The engine, the PDK loader and rich are imported when the check runs, so that
# `layoutgen --help` (which defines these arguments) stays quick.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The drc subcommand's arguments."""
    parser.add_argument("gds", metavar="LAYOUT", help="GDS or OASIS file to check (ours or edited by hand), or a build's output folder")
    parser.add_argument("--pdk", help="PDK name (e.g. sky400) or a PDK folder (default: the build's, from summary.json)")
    parser.add_argument("--pdk-path", action="append", default=argparse.SUPPRESS, metavar="DIR",
                        help="extra folder to search for PDKs (repeatable)")
    parser.add_argument("--top", metavar="CELL", help="cell to check (default: every top cell)")
    parser.add_argument("-o", "--output", metavar="DIR", help="where drc.json and drc.lyrdb go (default: beside the input)")
    parser.add_argument("--out", dest="output", help=argparse.SUPPRESS)    # the former spelling
    parser.add_argument("--all", dest="show_all", action="store_true", help="list every rule, not only the failing ones")
    parser.add_argument("--junit", metavar="F", help="also write JUnit XML (one testcase per rule) to F")
    parser.add_argument("--waivers", metavar="FILE", help="TOML file of accepted violations (see layoutgen.drc.waivers)")
    parser.add_argument("--strict", action="store_true",
                        help="shapes on layers the PDK does not define are an error (exit 2), not a warning")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--flat", dest="hierarchical", action="store_false", default=None,
                      help="flatten the layout and check it whole (default: hierarchical when the top places many cells)")
    mode.add_argument("--hierarchical", dest="hierarchical", action="store_true",
                      help="check each placed cell once, then what the placements add, whatever the layout")
    parser.add_argument("--tiles", metavar="auto|SIDE_UM",
                        help="check flat in tiles on Dask (tile side in µm, or auto); each violation reported once")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="with --tiles: a Dask scheduler (tcp://host:8786); default: a local cluster on this machine's cores")
    parser.add_argument("--workers", type=int, metavar="N", help="with --tiles and no --scheduler: local worker processes")


def resolve_input(path: Path, pdk: str | None, waivers: str | None) -> tuple[Path, str, str | None]:
    """The layout file, PDK and waivers for a path: a build's folder or a file in it
    gives its summary's PDK (a folder PDK resolved against the config's folder) and its waivers."""
    folder = path if path.is_dir() else path.parent
    if folder.name == "masks":
        folder = folder.parent
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = {}
    summary = summary if isinstance(summary, dict) else {}
    if path.is_dir():
        name = summary.get("design")
        if not name or not (path / f"{name}.gds").is_file():
            raise DrcError(f"{path}: not a layoutgen output folder (no summary.json naming its GDS); pass the layout file")
        path = path / f"{name}.gds"
    info = summary.get("pdk") if isinstance(summary.get("pdk"), dict) else {}
    if pdk is None:
        pdk = str(folder / info["folder"]) if info.get("folder") else info.get("name")
        if pdk is None:
            raise DrcError(f"{path}: no --pdk given and no layoutgen summary.json beside it to take the PDK from")
    drc = summary.get("drc") if isinstance(summary.get("drc"), dict) else {}
    if waivers is None and drc.get("waivers"):
        waivers = str(folder / drc["waivers"])
    return path, pdk, waivers


def main(args: argparse.Namespace) -> int:
    """Run the check: 0 clean (or all waived), 1 violations, 2 bad input."""
    from rich.console import Console
    from rich.markup import escape

    from ..pdk import load_pdk
    from .engine import run_drc
    from .report import print_table, unknown_layers_text, write_reports

    console = Console()
    err = Console(stderr=True)
    extra = getattr(args, "pdk_path", None)
    if isinstance(extra, (str, Path)):
        extra = [extra]
    try:
        gds, pdk_name, waivers = resolve_input(Path(args.gds), args.pdk, args.waivers)
        pdk = load_pdk(pdk_name, extra=extra)
        tiles = getattr(args, "tiles", None)
        if tiles is not None:
            from .tiles import parse_tiles, run_drc_tiled

            if args.hierarchical:
                raise DrcError("--tiles checks flat: it cannot be combined with --hierarchical")
            result = run_drc_tiled(gds, pdk, top=args.top, waivers=waivers, tile_um=parse_tiles(tiles),
                                   scheduler=args.scheduler, workers=args.workers)
        elif getattr(args, "scheduler", None) or getattr(args, "workers", None):
            raise DrcError("--scheduler and --workers go with --tiles")
        else:
            result = run_drc(gds, pdk, top=args.top, waivers=waivers, hierarchical=args.hierarchical)
        if getattr(args, "strict", False) and result.unknown_layers:
            raise DrcError(f"{args.gds}: {unknown_layers_text(result)} (--strict)")
        out_dir = Path(args.output) if args.output else gds.resolve().parent
        paths = write_reports(result, out_dir, junit=args.junit)
    except LayoutgenError as e:
        err.print(f"[red]error:[/red] {escape(str(e))}", highlight=False)
        return e.exit_code
    except OSError as e:
        err.print(f"[red]error:[/red] cannot write the reports: {escape(str(e))}", highlight=False)
        return 2
    print_table(result, console, show_all=args.show_all)
    console.print("reports: " + ", ".join(str(p) for p in paths.values()), highlight=False)
    return 0 if result.ok else 1


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="layoutgen drc")
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))
