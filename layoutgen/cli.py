"""The `layoutgen` command: build, drc, sweep, view, render, pdk. Exit 0 clean, 1 DRC violations, 2 bad input,
3 internal error, 128 + N on signal N (130 Ctrl-C, 143 SIGTERM)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from . import __version__
from .errors import BUG_REPORT, EXIT_INTERNAL, Interrupted, LayoutgenError


def _cmd_build(args: argparse.Namespace) -> int:
    from .pipeline import build

    result = build(args.config, out=args.output, drc=not args.no_drc, oasis=args.oasis, quiet=args.quiet,
                   pdk_path=args.pdk_path, junit=args.junit)
    if result.drc is not None and not result.drc.ok:
        from rich.console import Console

        from .drc.report import print_table

        print_table(result.drc, Console())
    elif result.drc is not None:
        waived = sum(result.drc.waived_counts().values())
        na = len(result.drc.not_applicable)
        print(f"DRC clean: {len(result.drc.checked_rules())} rules checked, 0 violations" + (f", {waived} waived" if waived else "")
              + (f"; {na} not applicable (no shapes on their layers)" if na else ""))
    counts = ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in result.summary["counts"].items())
    print(f"built {result.out_dir}: {counts}, {len(result.summary['masks'])} masks")
    return result.exit_code


def _cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import load_sweep, sweep

    result = sweep(load_sweep(args.sweep_file), out_root=args.output, scheduler=args.scheduler,
                   workers=args.workers, run_drc=not args.no_drc)
    for r in result.rows:
        print(f"{r['design']:24s} {r['status']:15s} {r['drc'] or r['error']}")
    print(f"table: {result.csv_path}, {result.html_path}")
    return result.exit_code


def _cmd_pdk_list(args: argparse.Namespace) -> int:
    from .pdk import list_pdks, load_pdk

    broken = 0
    for name in list_pdks(args.pdk_path):
        try:
            pdk = load_pdk(name, extra=args.pdk_path)
        except LayoutgenError as e:  # one broken PDK on the path must not hide the others
            print(f"error: {e}", file=sys.stderr)
            broken += 1
            continue
        print(f"{name:12s} {pdk.description}  ({pdk.path})")
    return 2 if broken else 0


def _cmd_pdk_show(args: argparse.Namespace) -> int:
    from .pdk import load_pdk

    pdk = load_pdk(args.name, extra=args.pdk_path)
    if args.json:
        print(json.dumps(pdk.model_dump(mode="json"), indent=2, allow_nan=False))
        return 0
    print(f"{pdk.name}: {pdk.description}\n  path {pdk.path}\n  grid {pdk.grid_um} µm, dbu {pdk.dbu_um} µm")
    print("layers:")
    for layer in pdk.layers.values():
        print(f"  {layer.name:8s} {layer.gds[0]:>3d}/{layer.gds[1]:<2d} {layer.purpose:9s} {layer.description}")
    print("masks:")
    for m in pdk.masks:
        print(f"  {m.name:8s} {'+'.join(m.layers):14s} field={m.field} invert={m.invert} mirror={m.mirror} aligns_to={m.aligns_to}")
    print("rules:")
    for r in pdk.rules:
        val = "" if r.value is None else f"{r.value:g}"
        print(f"  {r.name:12s} {r.kind:13s} {val:>7s}  {r.description}")
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of the `layoutgen` command."""
    p = argparse.ArgumentParser(prog="layoutgen", description=__doc__)
    p.add_argument("--version", action="version", version=f"layoutgen {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="build a config into out/<design>/")
    b.add_argument("config", help="the design's Python config file")
    b.add_argument("-o", "--output", default="out", help="output root folder (default: out)")
    b.add_argument("--no-drc", action="store_true", help="skip the DRC of the written GDS")
    b.add_argument("--oasis", action="store_true", help="also write the combined layout and the masks as OASIS")
    b.add_argument("--junit", metavar="F", help="also write the DRC as JUnit XML (one test case per rule) to F")
    b.add_argument("--pdk-path", action="append", default=[], metavar="DIR", help="extra folder to search for PDKs (repeatable)")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    b.set_defaults(func=_cmd_build)

    from .drc.command import add_arguments as add_drc_arguments
    from .drc.command import main as main_drc
    from .view.command import add_render_arguments, add_view_arguments, main_render, main_view

    d = sub.add_parser("drc", help="check any GDS against a PDK's rule deck")
    add_drc_arguments(d)
    d.set_defaults(func=main_drc)

    sw = sub.add_parser("sweep", help="build and check many designs on Dask; a table of the results")
    sw.add_argument("sweep_file", metavar="SWEEP.py", help="Python file that sets designs = [...] (Designs or config paths)")
    sw.add_argument("-o", "--output", default="out", help="output root (default: out); sweep.csv and sweep.html go here")
    sw.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler (tcp://host:8786); default: a local cluster")
    sw.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: the machine's cores)")
    sw.add_argument("--no-drc", action="store_true", help="skip the DRC of each written GDS")
    sw.set_defaults(func=_cmd_sweep)

    r = sub.add_parser("render", help="draw a layout as PNG (a folder: every preview of out/<design>/)")
    add_render_arguments(r)
    r.set_defaults(func=main_render)
    v = sub.add_parser("view", help="open a layout in KLayout with its .lyp and DRC markers, or print how")
    add_view_arguments(v)
    v.set_defaults(func=main_view)

    pk = sub.add_parser("pdk", help="list or show PDKs")
    pk.add_argument("--pdk-path", action="append", default=[], help="a folder with PDKs (repeatable)")
    pks = pk.add_subparsers(dest="pdk_command", required=True)
    pl = pks.add_parser("list", help="PDKs on the search path")
    pl.set_defaults(func=_cmd_pdk_list)
    ps = pks.add_parser("show", help="layers, masks and rules of one PDK")
    ps.add_argument("name", help="PDK name or folder")
    ps.add_argument("--json", action="store_true", help="machine-readable output")
    ps.set_defaults(func=_cmd_pdk_show)
    return p


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signum)


_CAUGHT = (signal.SIGTERM, signal.SIGHUP)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code (SIGTERM and SIGHUP end it like Ctrl-C: the
    build's stage is removed and the previous result kept)."""
    if hasattr(signal, "SIGPIPE") and argv is None:
        # `layoutgen pdk show sky400 | head`: a closed pipe ends the command quietly, as for any Unix tool.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args = parser().parse_args(argv)
    in_main = threading.current_thread() is threading.main_thread()
    previous = {s: signal.signal(s, _raise_interrupted) for s in _CAUGHT} if in_main else {}
    try:
        return args.func(args)
    except LayoutgenError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted (Ctrl-C): nothing written, the previous result is kept", file=sys.stderr)
        return 128 + signal.SIGINT
    except Interrupted as e:
        print(f"interrupted ({signal.Signals(e.signum).name}): nothing written, the previous result is kept",
              file=sys.stderr)
        return e.exit_code
    except Exception as e:  # a bug: say so, never exit 1 (DRC violations) or show a bare traceback
        if os.environ.get("LAYOUTGEN_DEBUG"):
            import traceback

            traceback.print_exc()
        print(f"internal error: {type(e).__name__}: {e}\n{BUG_REPORT} (LAYOUTGEN_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


if __name__ == "__main__":
    sys.exit(main())
