"""The in-memory layout: named cells holding shapes per drawn layer, labels and references.

Plain data, no gdstk state: families build it, `gdsio` writes it. All coordinates in µm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely
from shapely.geometry.base import BaseGeometry

from .errors import LayoutError


@dataclass(frozen=True)
class Label:
    """A text label: the net name at a pad or ball centre, a ball name, a mask label."""

    layer: str
    text: str
    x: float
    y: float


@dataclass(frozen=True)
class Ref:
    """A placement of a cell: at (x, y), rotated (degrees), optionally an array."""

    cell: str
    x: float = 0.0
    y: float = 0.0
    rotation: float = 0.0
    x_reflection: bool = False
    columns: int = 1
    rows: int = 1
    spacing: tuple[float, float] = (0.0, 0.0)


@dataclass
class Cell:
    """One cell: polygons per layer name, labels, and references to other cells."""

    name: str
    shapes: dict[str, list[BaseGeometry]] = field(default_factory=dict)
    labels: list[Label] = field(default_factory=list)
    refs: list[Ref] = field(default_factory=list)

    def add(self, layer: str, *geoms: BaseGeometry) -> "Cell":
        """Add polygons (or multipolygons, split into parts) on `layer`."""
        bucket = self.shapes.setdefault(layer, [])
        for g in geoms:
            if g is None or g.is_empty:
                continue
            bucket.extend(shapely.get_parts(g).tolist() if g.geom_type.startswith("Multi") or g.geom_type == "GeometryCollection" else [g])
        return self

    def label(self, layer: str, text: str, x: float, y: float) -> "Cell":
        """Add a text label on `layer` at (x, y)."""
        self.labels.append(Label(layer, text, x, y))
        return self

    def place(self, cell: str, x: float = 0.0, y: float = 0.0, **kw) -> "Cell":
        """Place `cell` at (x, y)."""
        self.refs.append(Ref(cell, x, y, **kw))
        return self


# A TEXT label "JOIN:a,b" at a device (a spiral inductor, a meander resistor) says that nets a and
# b are one piece of metal on purpose: the connectivity check counts them as one net.
JOIN_PREFIX = "JOIN:"


def join_label(nets) -> str:
    """The TEXT label that declares `nets` joined by a device."""
    return JOIN_PREFIX + ",".join(sorted(set(nets)))


def joined_nets(text: str) -> list[str] | None:
    """The nets a JOIN label declares joined, or None for any other text."""
    return text[len(JOIN_PREFIX):].split(",") if text.startswith(JOIN_PREFIX) else None


def name_number(x: float) -> str:
    """A length in a cell name (names derive from parameters): 12.5 -> '12p5', -3 -> 'm3'."""
    return f"{x:g}".replace(".", "p").replace("-", "m")


# Two cells whose vertices differ by less than this are the same cell: far below the 1 nm database
# unit, so both write the same GDS (a length summed from grid-snapped parts carries float noise).
SAME_VERTEX_UM = 1e-6


def _same(a: Cell, b: Cell) -> bool:
    """Whether two cells hold the same labels, references and shapes (vertices within SAME_VERTEX_UM)."""
    if a == b:
        return True
    if a.labels != b.labels or a.refs != b.refs:
        return False
    sa = {k: v for k, v in a.shapes.items() if v}
    sb = {k: v for k, v in b.shapes.items() if v}
    if sa.keys() != sb.keys() or any(len(sa[k]) != len(sb[k]) for k in sa):
        return False
    return all(bool(shapely.equals_exact(sa[k], sb[k], tolerance=SAME_VERTEX_UM).all()) for k in sa)


def _contents(cell: Cell) -> str:
    """What a cell holds, in a few words (for an error)."""
    shapes = ", ".join(f"{len(g)} on {n}" for n, g in cell.shapes.items() if g) or "no shapes"
    refs = ", ".join(sorted({r.cell for r in cell.refs}))
    return f"shapes {shapes}, {len(cell.labels)} labels" + (f", placing {refs}" if refs else "")


@dataclass
class Layout:
    """A set of cells and the name of the top one."""

    top: str
    cells: dict[str, Cell] = field(default_factory=dict)

    def add(self, cell: Cell) -> Cell:
        """Add `cell`; one already here under its name is kept when identical (names derive from every
        parameter), a LayoutError naming both when it differs (one of them would silently go)."""
        have = self.cells.get(cell.name)
        if have is not None and have is not cell:
            if not _same(have, cell):
                raise LayoutError(f"two different cells named {cell.name!r}: the first holds {_contents(have)}, "
                                  f"the second {_contents(cell)}; a cell's name must tell apart everything that "
                                  f"changes it (rename one)")
            return have
        self.cells[cell.name] = cell
        return cell

    def layers(self) -> list[str]:
        """Names of every layer that holds shapes, in first-seen order."""
        seen: dict[str, None] = {}
        for c in self.cells.values():
            for name, geoms in c.shapes.items():
                if geoms:
                    seen.setdefault(name, None)
        return list(seen)

    def flat(self, layer: str, cell: str | None = None) -> list[BaseGeometry]:
        """Every polygon of `layer` under `cell` (default top), placed, as a flat list."""
        from shapely import affinity

        out: list[BaseGeometry] = []
        c = self.cells[cell or self.top]
        out.extend(c.shapes.get(layer, []))
        for r in c.refs:
            sub = self.flat(layer, r.cell)
            if not sub:
                continue
            for i in range(r.columns):
                for j in range(r.rows):
                    for g in sub:
                        h = g
                        if r.x_reflection:
                            h = affinity.scale(h, 1, -1, origin=(0, 0))
                        if r.rotation:
                            h = affinity.rotate(h, r.rotation, origin=(0, 0))
                        out.append(affinity.translate(h, r.x + i * r.spacing[0], r.y + j * r.spacing[1]))
        return out

    def flat_labels(self, layer: str, cell: str | None = None) -> list[Label]:
        """Every label of `layer` under `cell` (default top), placed (reflection, rotation, move)."""
        import math

        c = self.cells[cell or self.top]
        out = [lb for lb in c.labels if lb.layer == layer]
        for r in c.refs:
            cos, sin = math.cos(math.radians(r.rotation)), math.sin(math.radians(r.rotation))
            for lb in self.flat_labels(layer, r.cell):
                x, y = lb.x, (-lb.y if r.x_reflection else lb.y)
                x, y = x * cos - y * sin, x * sin + y * cos
                for i in range(r.columns):
                    for j in range(r.rows):
                        out.append(Label(lb.layer, lb.text, x + r.x + i * r.spacing[0], y + r.y + j * r.spacing[1]))
        return out
