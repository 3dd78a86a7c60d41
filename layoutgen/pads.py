"""Pad lists: a peripheral ring helper and the CSV pad tables die vendors hand over."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from .design import CONFIG_FILE, Pad
from .errors import ConfigError


def peripheral_pads(
    die_width: float,
    die_height: float,
    per_side: int | tuple[int, int, int, int],
    pitch: float,
    inset: float = 70.0,
    size: float = 60.0,
    nets: dict[str, list[int]] | None = None,
    prefix: str = "P",
) -> list[Pad]:
    """A ring of pads inset from the die edge, numbered counter-clockwise from the bottom-left.

    `per_side` is one count or (bottom, right, top, left); each side's pads are centred on
    the side at `pitch`. Every pad's net is its name unless `nets` maps a net to pad numbers
    (1-based), e.g. {"VDD": [1, 17, 33], "VSS": [2, 18, 34]}.
    """
    counts = (per_side,) * 4 if isinstance(per_side, int) else tuple(per_side)
    if len(counts) != 4:
        raise ConfigError(f"peripheral_pads: per_side must be one count or four, got {per_side!r}")
    hx, hy = die_width / 2 - inset, die_height / 2 - inset
    net_of = {n: net for net, numbers in (nets or {}).items() for n in numbers}
    total = sum(counts)
    for net, numbers in (nets or {}).items():
        wrong = [n for n in numbers if not (isinstance(n, int) and 1 <= n <= total)]
        if wrong:
            raise ConfigError(f"peripheral_pads: nets[{net!r}] names pad number {wrong[0]!r}, but the pads are numbered 1 to {total}")
    pads: list[Pad] = []
    # (start point, direction) of each side walked counter-clockwise: bottom, right, top, left.
    sides = [((0.0, -hy), (1, 0)), ((hx, 0.0), (0, 1)), ((0.0, hy), (-1, 0)), ((-hx, 0.0), (0, -1))]
    for count, ((cx, cy), (dx, dy)) in zip(counts, sides):
        span = (count - 1) * pitch
        for i in range(count):
            t = -span / 2 + i * pitch
            number = len(pads) + 1
            name = f"{prefix}{number}"
            pads.append(Pad(name=name, net=net_of.get(number, name), x=cx + dx * t, y=cy + dy * t, width=size, height=size))
    return pads


def pads_from_csv(path: str | Path, origin: Literal["center", "lower_left"] = "center",
                  die_size: tuple[float, float] | None = None) -> list[Pad]:
    """Pads from a CSV with columns name, net, x, y[, width, height, shape] (µm).

    Coordinates are from the die centre, or from the die's lower-left corner when
    `origin="lower_left"` (then `die_size` is needed). A relative path is taken from the
    config file's folder. A bad row raises a ConfigError naming the CSV file and line.
    """
    p = Path(path)
    cfg = CONFIG_FILE.get()
    if not p.is_absolute() and cfg:
        p = Path(cfg).parent / p
    if origin == "lower_left" and die_size is None:
        raise ConfigError(f"pads_from_csv({str(path)!r}): origin='lower_left' needs die_size=(width, height)")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise ConfigError(f"pads_from_csv: cannot read {p}: {e.strerror}") from None
    rows = csv.DictReader(text.splitlines())
    need = {"name", "net", "x", "y"}
    if rows.fieldnames is None or not need <= {f.strip().lower() for f in rows.fieldnames}:
        raise ConfigError(f"{p}:1: pad CSV needs the columns name, net, x, y (found {rows.fieldnames})")
    dx, dy = ((-die_size[0] / 2, -die_size[1] / 2) if origin == "lower_left" and die_size else (0.0, 0.0))
    pads: list[Pad] = []
    for line_no, row in enumerate(rows, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        if not any(row.values()):
            continue
        try:
            fields = {k: row[k] for k in ("name", "net", "x", "y", "width", "height", "shape") if row.get(k)}
            pad = Pad(**fields)
            pads.append(pad.model_copy(update={"x": pad.x + dx, "y": pad.y + dy}))
        except ValidationError as e:
            err = e.errors()[0]
            field = ".".join(str(x) for x in err["loc"])
            raise ConfigError(f"{p}:{line_no}: pad {field} = {err.get('input')!r}: {err['msg']}") from None
    if not pads:
        raise ConfigError(f"{p}: no pads in the CSV")
    return pads
