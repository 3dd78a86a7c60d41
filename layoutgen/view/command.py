"""The `layoutgen render` and `layoutgen view` commands: their arguments and what they run."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from .files import ViewError, design_name, find_design_files
from .klive import KLIVE_PORT, open_layout

# klayout.lay (for `render`) is imported when a picture is drawn, so that `layoutgen --help` stays quick.


MAX_SIDE_PX = 16384


def _size(text: str) -> tuple[int, int]:
    """Parse "WxH" (or one number for a square) into pixels."""
    m = re.fullmatch(r"\s*(\d+)\s*(?:[xX]\s*(\d+))?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"picture size {text!r}: give WIDTHxHEIGHT in pixels, e.g. 1200x800")
    w, h = int(m[1]), int(m[2] or m[1])
    if not (1 <= w <= MAX_SIDE_PX and 1 <= h <= MAX_SIDE_PX):
        # KLayout allocates the whole picture at once: 100000 x 100000 is 40 GB and ends in a crash.
        raise argparse.ArgumentTypeError(f"picture size {text!r}: each side must be 1 to {MAX_SIDE_PX} pixels")
    return w, h


def add_render_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of `layoutgen render`."""
    p.add_argument("target", type=Path, help="a .gds/.oas file, or an output folder out/<design>/")
    p.add_argument("-o", "--output", type=Path, default=None,
                   help="the PNG to write (default: FILE.png beside a file; for a folder, every preview)")
    p.add_argument("--layers", action="append", default=None, metavar="L1,L2",
                   help="only these layers, by .lyp name (RDL) or GDS number (20/0); comma-separated, repeatable")
    p.add_argument("--cell", default=None, help="the cell to draw (default: the top cell)")
    p.add_argument("--lyp", type=Path, default=None, help="layer properties (default: the .lyp found beside the layout)")
    p.add_argument("--size", type=_size, default=None, metavar="WxH",
                   help="picture size in pixels (default 1200x1200)")
    p.add_argument("--texts", action="store_true", help="also draw text labels (net and ball names)")


def _default_png(target: Path, gds: Path, layers: list[str] | None, cell: str | None) -> Path:
    """Where a picture goes without -o: beside the file, or in a folder's preview/, named by what it shows."""
    name = "_".join([gds.stem, *([cell] if cell else []), *(s.replace("/", "-") for s in layers or [])])
    return (target / "preview" if target.is_dir() else gds.parent) / f"{name}.png"


def main_render(args: argparse.Namespace) -> int:
    """Run `layoutgen render`: print the PNG(s) written; ViewError on bad input."""
    from .render import SIZE, render_png, render_previews

    target: Path = args.target
    layers = [s for item in (args.layers or []) for s in item.split(",") if s.strip()] or None
    whole_folder = target.is_dir() and args.output is None and not (layers or args.cell or args.texts)
    if whole_folder:
        written = render_previews(target, design_name(target), size=args.size or SIZE)
    else:
        files = find_design_files(target)
        lyp = args.lyp or files.lyp
        png = args.output or _default_png(target, files.gds, layers, args.cell)
        written = [render_png(files.gds, png, lyp, layers=layers, cell=args.cell,
                              size=args.size or SIZE, texts=args.texts)]
    if not written:
        raise ViewError(f"{target}: nothing to draw")
    for p in written:
        print(p)
    return 0


def add_view_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of `layoutgen view`."""
    p.add_argument("target", type=Path, help="a .gds file, or an output folder out/<design>/")
    p.add_argument("--port", type=int, default=KLIVE_PORT,
                   help=f"klive port of a running KLayout (default {KLIVE_PORT})")
    p.add_argument("--print", dest="start", action="store_false",
                   help="never start a new KLayout, print its command instead (a running one is still used)")


def main_view(args: argparse.Namespace) -> int:
    """Run `layoutgen view`: open the layout in KLayout or print how to; always 0 when the files exist."""
    print(open_layout(args.target, port=args.port, start=args.start))
    return 0
