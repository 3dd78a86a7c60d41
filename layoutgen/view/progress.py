"""Progress bars for long steps (routing, wafer assembly, DRC): on a terminal only, never in CI.

    with steps(len(nets), "routing", quiet=args.quiet) as step:
        for net in nets:
            ...
            step()            # one step done; step(3) for three, step(label="DRC: space") to relabel

Bars go to stderr, so stdout stays clean for results. No bar when `quiet`, when stderr is not a
terminal, or when the environment variable CI is set (to anything but "", "0" or "false").
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, TypeVar

T = TypeVar("T")
Step = Callable[..., None]


def bars_wanted(quiet: bool = False, stream: IO[str] | None = None) -> bool:
    """True when a progress bar should be drawn on `stream` (default stderr)."""
    if quiet or os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
        return False
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


@contextmanager
def steps(total: int | None, label: str, quiet: bool = False, stream: IO[str] | None = None) -> Iterator[Step]:
    """A bar of `total` steps (None: unknown) named `label`; yields `step(n=1, label=None)`."""
    if not bars_wanted(quiet, stream):
        yield lambda n=1, label=None: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=sys.stderr if stream is None else stream)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(label, total=total)

        def step(n: int = 1, label: str | None = None) -> None:
            """Advance by `n` steps, renaming the bar when `label` is given."""
            bar.update(task, advance=n, **({"description": label} if label else {}))

        yield step


def track(items: Iterable[T], label: str, total: int | None = None, quiet: bool = False,
          stream: IO[str] | None = None) -> Iterator[T]:
    """Yield `items`, advancing a bar by one for each (total from len() when it has one)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with steps(total, label, quiet, stream) as step:
        for item in items:
            yield item
            step()
