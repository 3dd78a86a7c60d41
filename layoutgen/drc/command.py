"""`layoutgen drc FILE.gds --pdk NAME`: check a GDS, print the table, write the reports."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import DrcError, LayoutgenError

# The engine, the PDK loader and rich are imported when the check runs, so that
# `layoutgen --help` (which defines these arguments) stays quick.


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The drc subcommand's arguments."""
    parser.add_argument("gds", metavar="FILE.gds", help="layout to check (any GDS, ours or edited by hand)")
    parser.add_argument("--pdk", required=True, help="PDK name (e.g. sky400) or a PDK folder")
    parser.add_argument("--pdk-path", action="append", default=argparse.SUPPRESS, metavar="DIR",
                        help="extra folder to search for PDKs (repeatable)")
    parser.add_argument("--top", metavar="CELL", help="cell to check (default: every top cell)")
    parser.add_argument("-o", "--out", metavar="DIR", help="where drc.json and drc.lyrdb go (default: beside the input)")
    parser.add_argument("--junit", metavar="F", help="also write JUnit XML (one testcase per rule) to F")
    parser.add_argument("--waivers", metavar="FILE", help="TOML file of accepted violations (see layoutgen.drc.waivers)")
    parser.add_argument("--strict", action="store_true",
                        help="shapes on layers the PDK does not define are an error (exit 2), not a warning")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--flat", dest="hierarchical", action="store_false", default=None,
                      help="flatten the layout and check it whole (default: hierarchical when the top places many cells)")
    mode.add_argument("--hierarchical", dest="hierarchical", action="store_true",
                      help="check each placed cell once, then what the placements add, whatever the layout")


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
        pdk = load_pdk(args.pdk, extra=extra)
        result = run_drc(args.gds, pdk, top=args.top, waivers=args.waivers, hierarchical=args.hierarchical)
        if getattr(args, "strict", False) and result.unknown_layers:
            raise DrcError(f"{args.gds}: {unknown_layers_text(result)} (--strict)")
        out_dir = Path(args.out) if args.out else Path(args.gds).resolve().parent
        paths = write_reports(result, out_dir, junit=args.junit)
    except LayoutgenError as e:
        err.print(f"[red]error:[/red] {escape(str(e))}", highlight=False)
        return e.exit_code
    except OSError as e:
        err.print(f"[red]error:[/red] cannot write the reports: {escape(str(e))}", highlight=False)
        return 2
    print_table(result, console)
    console.print("reports: " + ", ".join(str(p) for p in paths.values()), highlight=False)
    return 0 if result.ok else 1


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="layoutgen drc")
    add_arguments(_parser)
    sys.exit(main(_parser.parse_args()))
