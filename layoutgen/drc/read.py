"""Read a GDS (or OASIS) file into cells, their own shapes and their placements, and flatten a cell.

Shapes are kept as integer vertex arrays in database units (the file's own precision),
so that a placement is a numpy transform and a grid check is exact. Reading is explicit:
`cell_shapes` gives what one cell draws itself, `placements` what it places, and
`flatten` composes them (memoised per cell), so a hierarchical checker can look at each
unique cell once and then only at what the placements add.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import math
import os
import threading

import gdstk
import numpy as np

from ..errors import DrcError


def layer_key(layer: int, datatype: int) -> int:
    """One integer for a GDS (layer, datatype) or (layer, texttype) pair."""
    return (layer << 16) | datatype


@dataclass(frozen=True)
class Polys:
    """Polygons as one integer vertex array: polygon i is xy[offsets[i]:offsets[i+1]]."""

    xy: np.ndarray        # (N, 2) int64, database units
    offsets: np.ndarray   # (P + 1,) int64
    key: np.ndarray       # (P,) int64 layer_key of each polygon

    @staticmethod
    def empty() -> "Polys":
        """No polygons."""
        return Polys(np.zeros((0, 2), np.int64), np.zeros(1, np.int64), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.key)

    def select(self, key: int) -> "Polys":
        """The polygons on one layer key."""
        keep = self.key == key
        counts = np.diff(self.offsets)
        vmask = np.repeat(keep, counts)
        offsets = np.zeros(int(keep.sum()) + 1, np.int64)
        np.cumsum(counts[keep], out=offsets[1:])
        return Polys(self.xy[vmask], offsets, self.key[keep])

    def polygon_index(self) -> np.ndarray:
        """The polygon index of every vertex."""
        return np.repeat(np.arange(len(self.key)), np.diff(self.offsets))


@dataclass(frozen=True)
class Labels:
    """Text labels: string, position (database units) and layer key (layer, texttype)."""

    text: np.ndarray      # (L,) object
    xy: np.ndarray        # (L, 2) int64
    key: np.ndarray       # (L,) int64

    @staticmethod
    def empty() -> "Labels":
        """No labels."""
        return Labels(np.zeros(0, object), np.zeros((0, 2), np.int64), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.key)

    def select(self, key: int) -> "Labels":
        """The labels on one layer key."""
        keep = self.key == key
        return Labels(self.text[keep], self.xy[keep], self.key[keep])


@dataclass(frozen=True)
class Placement:
    """One reference: child cell name and its transform (GDS order: mirror, scale, rotate, move)."""

    child: str
    origin: tuple[float, float]        # database units
    rotation: float                    # radians
    magnification: float
    x_reflection: bool
    offsets: np.ndarray                # (R, 2) repetition offsets in database units, (0, 0) if none
    # a regular array (GDS AREF): columns, rows and the two lattice vectors (database units)
    lattice: tuple[int, int, tuple[float, float], tuple[float, float]] | None = None

    def apply(self, xy: np.ndarray) -> np.ndarray:
        """Every repetition of `xy` (int64, database units) placed: (R * N, 2) int64."""
        if self.rotation == 0.0 and self.magnification == 1.0 and not self.x_reflection:
            move = np.asarray(self.origin, np.float64) + self.offsets
            if (move == np.rint(move)).all():          # a move by whole units: in integers, the same sums
                return (xy[None, :, :] + move.astype(np.int64)[:, None, :]).reshape(-1, 2)
        pts = xy.astype(np.float64)
        if self.x_reflection:
            pts[:, 1] = -pts[:, 1]
        c, s = np.cos(self.rotation), np.sin(self.rotation)
        m = self.magnification
        placed = pts @ np.array([[c * m, s * m], [-s * m, c * m]]) + np.asarray(self.origin)
        out = (placed[None, :, :] + self.offsets[:, None, :]).reshape(-1, 2)
        return np.rint(out).astype(np.int64)


@dataclass(frozen=True)
class Flat:
    """A cell flattened: every polygon and label it draws, placements resolved."""

    cell: str
    polys: Polys
    labels: Labels
    dbu_um: float

    @cached_property
    def bounds_dbu(self) -> tuple[int, int, int, int] | None:
        """Extent of all polygons (x0, y0, x1, y1), or None when the cell is empty."""
        if len(self.polys.xy) == 0:
            return None
        lo, hi = self.polys.xy.min(axis=0), self.polys.xy.max(axis=0)
        return int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1])


class _TopCells:
    """Picking the cells to check, for a file read by either reader (`path`, `cells`, `top_names`)."""

    path: Path
    cells: dict

    def top_names(self) -> list[str]:
        raise NotImplementedError

    def pick_tops(self, top: str | None) -> list[str]:
        """The cells to check: `top` if given, else every top cell (usually one)."""
        if top is not None:
            if top not in self.cells:
                known = ", ".join(sorted(self.cells)) or "none"
                raise DrcError(f"{self.path}: no cell {top!r} (cells: {known})")
            return [top]
        tops = self.top_names()
        if not tops:
            raise DrcError(f"{self.path}: no top cell (the file has no cells, or every cell is placed in a cycle)")
        return tops


class Layout(_TopCells):
    """A GDS file read: its library, database unit and the cells by name."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        oasis = self.path.suffix.lower() in (".oas", ".oasis")
        kind = "OASIS" if oasis else "GDS"
        if not self.path.is_file():
            raise DrcError(f"cannot read {kind} {self.path}: no such file")
        try:
            if oasis:
                precision = gdstk.oas_precision(str(self.path))
                unit = 1e-6
            else:
                unit, precision = gdstk.gds_units(str(self.path))
        except Exception as e:
            raise DrcError(f"cannot read {kind} {self.path}: {e} (not a GDSII/OASIS stream, or truncated)") from None
        for what, v in (("user unit", unit), ("database unit", precision)):
            if not (math.isfinite(v) and v > 0):  # sizes would be mirrored or infinite: nothing could be checked
                raise DrcError(f"cannot read {kind} {self.path}: its {what} is {v!r} m; it must be a positive number")
        try:
            if oasis:
                self.library = gdstk.read_oas(str(self.path), unit=1e-6)
            else:
                self.library = gdstk.read_gds(str(self.path), unit=1e-6)
        except Exception as e:  # gdstk raises OSError/RuntimeError with terse text
            what = "an OASIS file" if oasis else "a GDSII stream"
            raise DrcError(f"cannot read {kind} {self.path}: {e} (not {what}, or truncated)") from None
        self.dbu_um = precision * 1e6
        self.cells: dict[str, gdstk.Cell] = {c.name: c for c in self.library.cells}
        self._flat: dict[str, Flat] = {}
        self._own: dict[str, tuple[Polys, Labels]] = {}
        self._pls: dict[str, list[Placement]] = {}
        self._counts: dict[tuple[int, int], int] | None = None

    def layer_counts(self) -> dict[tuple[int, int], int]:
        """(layer, datatype) -> number of polygons the cells draw themselves (each cell once, not
        per placement): what is in the file, to compare with what a deck knows. Counted once (a copy returned)."""
        if self._counts is None:
            keys = np.concatenate([self.own(name)[0].key for name in self.cells]) if self.cells else np.zeros(0, np.int64)
            uniq, counts = np.unique(keys, return_counts=True)
            self._counts = {(k >> 16, k & 0xFFFF): n for k, n in zip(uniq.tolist(), counts.tolist())}
        return dict(self._counts)

    def top_names(self) -> list[str]:
        """Names of the top cells (placed by no other cell)."""
        return [c.name for c in self.library.top_level() if isinstance(c, gdstk.Cell)]

    def own(self, name: str) -> tuple[Polys, Labels]:
        """What cell `name` draws itself (no placements), memoised."""
        if name not in self._own:
            self._own[name] = cell_shapes(self.cells[name], self.dbu_um)
        return self._own[name]

    def placements(self, name: str) -> list[Placement]:
        """The references of cell `name`, in database units, memoised (a list not to be changed)."""
        if name not in self._pls:
            self._pls[name] = placements(self.cells[name], self.dbu_um, self.path)
        return self._pls[name]

    def flatten(self, name: str, _depth: int = 0) -> Flat:
        """Cell `name` with every placement resolved, memoised per cell."""
        if name in self._flat:
            return self._flat[name]
        if _depth > 64:
            raise DrcError(f"{self.path}: cell hierarchy deeper than 64 at {name!r} (a reference cycle?)")
        polys, labels = self.own(name)
        poly_parts, label_parts = [polys], [labels]
        for pl in batched(self.placements(name)):
            child = self.flatten(pl.child, _depth + 1)
            poly_parts.append(place_polys(child.polys, pl))
            label_parts.append(place_labels(child.labels, pl))
        flat = Flat(name, concat_polys(poly_parts), concat_labels(label_parts), self.dbu_um)
        self._flat[name] = flat
        return flat


def _to_dbu(points: np.ndarray, dbu_um: float) -> np.ndarray:
    return np.rint(np.asarray(points, np.float64) / dbu_um).astype(np.int64)


def _repetition_offsets(rep: gdstk.Repetition | None, dbu_um: float) -> np.ndarray:
    offs = rep.get_offsets() if rep is not None else np.zeros((0, 2))
    if len(offs) == 0:
        return np.zeros((1, 2), np.float64)
    return np.rint(np.asarray(offs, np.float64) / dbu_um)


def _lattice(rep: gdstk.Repetition | None, dbu_um: float) -> tuple[int, int, tuple[float, float], tuple[float, float]] | None:
    """Columns, rows and lattice vectors (database units) of a regular array repetition, else None."""
    if rep is None or rep.size <= 1 or rep.columns is None or rep.rows is None:
        return None
    if rep.spacing is not None:
        v1, v2 = (rep.spacing[0], 0.0), (0.0, rep.spacing[1])
    elif rep.v1 is not None and rep.v2 is not None:
        v1, v2 = rep.v1, rep.v2
    else:
        return None
    return (int(rep.columns), int(rep.rows), (round(v1[0] / dbu_um), round(v1[1] / dbu_um)),
            (round(v2[0] / dbu_um), round(v2[1] / dbu_um)))


def cell_shapes(cell: gdstk.Cell, dbu_um: float) -> tuple[Polys, Labels]:
    """The polygons (paths converted) and labels one cell draws itself, in database units."""
    shapes = list(cell.polygons)
    for path in cell.paths:
        shapes.extend(path.to_polygons())
    polys = Polys.empty()
    if shapes:
        # All vertices converted in one call; repetitions expand in order, each polygon's copies together.
        pts = [p.points for p in shapes]
        counts = np.fromiter((len(p) for p in pts), np.int64, len(pts))
        starts = np.zeros(len(pts) + 1, np.int64)
        np.cumsum(counts, out=starts[1:])
        xy = _to_dbu(np.concatenate(pts).reshape(-1, 2), dbu_um)
        keys = np.fromiter((layer_key(p.layer, p.datatype) for p in shapes), np.int64, len(shapes))
        reps = [p.repetition for p in shapes]
        repeated = [i for i, r in enumerate(reps) if r.size > 0]
        offs = {i: _repetition_offsets(reps[i], dbu_um).astype(np.int64) for i in repeated}
        nrep = np.ones(len(shapes), np.int64)
        for i, o in offs.items():
            nrep[i] = len(o)
        keep = np.flatnonzero(counts >= 3)
        if len(keep):
            ring_of = np.repeat(keep, nrep[keep])
            shift = np.zeros((len(ring_of), 2), np.int64)
            if offs:
                shift = np.concatenate([offs.get(i, np.zeros((1, 2), np.int64)) for i in keep])
            n_v = counts[ring_of]
            first = np.repeat(starts[ring_of] - (np.cumsum(n_v) - n_v), n_v)
            offsets = np.zeros(len(ring_of) + 1, np.int64)
            np.cumsum(n_v, out=offsets[1:])
            polys = ordered(canonical(Polys(xy[first + np.arange(int(n_v.sum()))] + np.repeat(shift, n_v, axis=0),
                                            offsets, keys[ring_of])))
    texts, xys, lkeys = [], [], []
    for lab in cell.labels:
        for off in _repetition_offsets(lab.repetition, dbu_um):
            texts.append(lab.text)
            xys.append(_to_dbu(lab.origin, dbu_um) + off.astype(np.int64))
            lkeys.append(layer_key(lab.layer, lab.texttype))
    labels = (
        Labels(np.array(texts, object), np.array(xys, np.int64).reshape(-1, 2), np.array(lkeys, np.int64))
        if texts else Labels.empty()
    )
    return polys, labels


def placements(cell: gdstk.Cell, dbu_um: float, path: Path | str = "") -> list[Placement]:
    """The references a cell makes, each with its transform and repetition offsets."""
    out = []
    for ref in cell.references:
        child = ref.cell.name if isinstance(ref.cell, gdstk.Cell) else str(ref.cell)
        if not isinstance(ref.cell, gdstk.Cell):
            raise DrcError(f"{path}: cell {cell.name!r} places cell {child!r}, which the file does not define")
        ox, oy = ref.origin
        out.append(Placement(
            child=child,
            origin=(round(ox / dbu_um), round(oy / dbu_um)),
            rotation=float(ref.rotation),
            magnification=float(ref.magnification),
            x_reflection=bool(ref.x_reflection),
            offsets=_repetition_offsets(ref.repetition, dbu_um),
            lattice=_lattice(ref.repetition, dbu_um),
        ))
    return out


def batched(pls: list[Placement]) -> list[Placement]:
    """The same placements with each run of consecutive single ones (no repetition) that place one
    cell the same way (one orientation, a quarter turn's multiple, no scaling), apart from where, as
    one placement whose repetitions are theirs in turn: placed in one step, the same vertices in the
    same order (a unit's 60 pad vias, a die's ball pads; arrays stay as they are)."""
    out: list[Placement] = []
    run: list[Placement] = []

    def flush() -> None:
        if len(run) == 1:
            out.append(run[0])
        elif run:
            offs = np.concatenate([np.asarray(p.origin, np.float64) + p.offsets for p in run])
            out.append(Placement(run[0].child, (0, 0), run[0].rotation, 1.0, run[0].x_reflection, offs))
        run.clear()

    for pl in pls:
        quarter = len(pl.offsets) == 1 and pl.magnification == 1.0 and math.isclose(pl.rotation / (math.pi / 2), round(pl.rotation / (math.pi / 2)),
                                                            abs_tol=1e-12)
        if run and not (quarter and (pl.child, pl.rotation, pl.x_reflection) == (run[0].child, run[0].rotation, run[0].x_reflection)):
            flush()
        if quarter:
            run.append(pl)
        else:
            out.append(pl)
    flush()
    return out


def place_polys(polys: Polys, pl: Placement) -> Polys:
    """Every repetition of `polys` under placement `pl` (vertices put back in `canonical` order
    when the placement rotates or mirrors)."""
    reps = len(pl.offsets)
    if len(polys) == 0:
        return Polys.empty()
    if pl.rotation or pl.x_reflection:
        one = Placement(pl.child, pl.origin, pl.rotation, pl.magnification, pl.x_reflection, np.zeros((1, 2)))
        polys = canonical(Polys(one.apply(polys.xy), polys.offsets, polys.key))
        pl = Placement(pl.child, (0, 0), 0.0, 1.0, False, pl.offsets)
    if reps == 1 and not pl.offsets.any() and not any(pl.origin) and pl.magnification == 1.0:
        return polys                                      # as it is, where it is
    xy = pl.apply(polys.xy)
    n = len(polys.xy)
    offsets = np.empty(reps * len(polys) + 1, np.int64)
    offsets[:-1] = (polys.offsets[:-1][None, :] + n * np.arange(reps, dtype=np.int64)[:, None]).ravel()
    offsets[-1] = reps * n
    return Polys(xy, offsets, np.tile(polys.key, reps))


def ordered(polys: Polys) -> Polys:
    """The same polygons sorted by layer, then lower-left corner (y, x), then upper-right corner
    and vertex count: one order whatever order the file stores them in (a tile's view, picked
    from KLayout's index, lists its polygons in the order the whole file does)."""
    if len(polys) < 2:
        return polys
    counts = np.diff(polys.offsets)
    starts = polys.offsets[:-1]
    x, y = polys.xy[:, 0], polys.xy[:, 1]
    lo_x, lo_y = np.minimum.reduceat(x, starts), np.minimum.reduceat(y, starts)
    hi_x, hi_y = np.maximum.reduceat(x, starts), np.maximum.reduceat(y, starts)
    order = np.lexsort((counts, hi_x, hi_y, lo_x, lo_y, polys.key))
    if (order == np.arange(len(order))).all():
        return polys
    n = counts[order]
    offsets = np.zeros(len(order) + 1, np.int64)
    np.cumsum(n, out=offsets[1:])
    first = np.repeat(starts[order] - offsets[:-1], n)
    return Polys(polys.xy[first + np.arange(int(n.sum()))], offsets, polys.key[order])


def canonical(polys: Polys) -> Polys:
    """The same polygons with each one's vertices in one order whatever order the file gave:
    clockwise from the lowest (then leftmost) vertex, as KLayout stores a polygon. Two readers
    of one file (this one, and a tile's view that KLayout picks) then give equal vertex lists,
    so equal markers where edges tie."""
    if len(polys) == 0:
        return polys
    xy, off = polys.xy, polys.offsets
    counts = np.diff(off)
    starts = off[:-1]
    pid = np.repeat(np.arange(len(counts)), counts)
    k = np.arange(len(xy)) - starts[pid]
    nxt = starts[pid] + (k + 1) % counts[pid]
    x, y = xy[:, 0].astype(np.float64), xy[:, 1].astype(np.float64)
    twice_area = np.add.reduceat(x * y[nxt] - x[nxt] * y, starts)
    ccw = twice_area[pid] > 0                                   # reverse these: clockwise
    k = np.where(ccw, counts[pid] - 1 - k, k)
    idx = starts[pid] + k
    xy = xy[idx]
    order = np.lexsort((xy[:, 0], xy[:, 1], pid))
    first = order[starts] - starts                              # position of each polygon's lowest vertex
    k = np.arange(len(xy)) - starts[pid]
    return Polys(xy[starts[pid] + (k + first[pid]) % counts[pid]], off, polys.key)


def place_labels(labels: Labels, pl: Placement) -> Labels:
    """Every repetition of `labels` under placement `pl`."""
    if len(labels) == 0:
        return Labels.empty()
    reps = len(pl.offsets)
    return Labels(np.tile(labels.text, reps), pl.apply(labels.xy), np.tile(labels.key, reps))


def concat_polys(parts: list[Polys]) -> Polys:
    """Polygons of several sets as one."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Polys.empty()
    if len(parts) == 1:
        return parts[0]
    starts = np.cumsum([0] + [len(p.xy) for p in parts[:-1]])
    offsets = np.concatenate([p.offsets[:-1] + s for p, s in zip(parts, starts)] + [[starts[-1] + len(parts[-1].xy)]])
    return Polys(np.concatenate([p.xy for p in parts]), offsets.astype(np.int64), np.concatenate([p.key for p in parts]))


def concat_labels(parts: list[Labels]) -> Labels:
    """Labels of several sets as one."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Labels.empty()
    return Labels(
        np.concatenate([p.text for p in parts]),
        np.concatenate([p.xy for p in parts]),
        np.concatenate([p.key for p in parts]),
    )


# ---------------------------------------------------------------- a region of a file (tiled DRC)

_REGION_LAYOUTS: dict[tuple[str, int, int], object] = {}
_REGION_LOCK = threading.Lock()


def _region_layout(path: str):
    """The file as KLayout holds it (compact, shapes indexed by box), read once per process;
    only the last file is kept."""
    import klayout.db as kdb

    st = os.stat(path)
    key = (os.path.abspath(path), st.st_mtime_ns, st.st_size)
    with _REGION_LOCK:
        ly = _REGION_LAYOUTS.get(key)
        if ly is None:
            _REGION_LAYOUTS.clear()
            ly = kdb.Layout()
            try:
                ly.read(path)
            except RuntimeError as e:
                raise DrcError(f"cannot read {path}: {e}") from None
            _REGION_LAYOUTS[key] = ly
        return ly


def region_bounds(path: str, cell: str) -> tuple[tuple[int, int, int, int] | None, int]:
    """Extent (database units) of cell `cell` of the file, flattened, and how many polygons it
    places (each placement counted), without flattening it."""
    ly = _region_layout(path)
    top = ly.cell(cell)
    if top is None:
        raise DrcError(f"{path}: no cell {cell!r}")
    mult: dict[int, int] = {top.cell_index(): 1}
    for ci in ly.each_cell_top_down():
        m = mult.get(ci, 0)
        if not m:
            continue
        for inst in ly.cell(ci).each_inst():
            mult[inst.cell_index] = mult.get(inst.cell_index, 0) + m * inst.size()
    n = 0
    for ci, m in mult.items():
        c = ly.cell(ci)
        n += m * sum(c.shapes(li).size() for li in ly.layer_indexes())
    b = top.bbox()
    return (None if b.empty() else (b.left, b.bottom, b.right, b.top)), n


def region_is_flat(path: str, cell: str) -> bool:
    """Whether cell `cell` of the file places no other cell (a flat file)."""
    ly = _region_layout(path)
    top = ly.cell(cell)
    return top is not None and top.child_instances() == 0


def read_region(path: str, cell: str, boxes: dict[int, tuple[int, int, int, int]], dbu_um: float) -> Flat:
    """The polygons and labels of `cell` (flattened) on each layer key of `boxes` whose extent
    touches that key's box (database units): whole shapes, never clipped. KLayout picks them
    from its index; they come back through a small GDS as the file reader makes them."""
    import klayout.db as kdb

    ly, top = _region_top(path, cell)
    sub = kdb.Layout()
    sub.dbu = ly.dbu
    out = sub.create_cell(cell)
    for key, (x0, y0, x1, y1) in boxes.items():
        li = ly.find_layer(key >> 16, key & 0xFFFF)
        if li is None:
            continue
        it = top.begin_shapes_rec_touching(li, kdb.Box(x0, y0, x1, y1))
        out.shapes(sub.layer(key >> 16, key & 0xFFFF)).insert(it)
    return _read_back(sub, cell, dbu_um)


def region_more(path: str, cell: str, boxes: dict[int, np.ndarray], seen: dict[int, np.ndarray], dbu_um: float) -> Flat:
    """The polygons of `cell` (flattened) on each layer key of `boxes` whose extent touches one
    of that key's boxes ((n, 4) database units) and none of its `seen` boxes (what earlier reads
    of the same keys returned), each once: the polygons a read grown by those boxes adds."""
    import klayout.db as kdb

    ly, top = _region_top(path, cell)
    sub = kdb.Layout()
    sub.dbu = ly.dbu
    out = sub.create_cell(cell)
    for key, new in boxes.items():
        li = ly.find_layer(key >> 16, key & 0xFFFF)
        if li is None or not len(new):
            continue
        target = out.shapes(sub.layer(key >> 16, key & 0xFFFF))
        done = np.concatenate([seen.get(key, np.zeros((0, 4), np.int64)), np.zeros((0, 4), np.int64)])
        for x0, y0, x1, y1 in np.asarray(new, np.int64).tolist():
            it = top.begin_shapes_rec_touching(li, kdb.Box(x0, y0, x1, y1))
            found, extents = [], []
            while not it.at_end():
                b = it.shape().bbox().transformed(it.trans())
                found.append((it.shape(), it.trans()))
                extents.append((b.left, b.bottom, b.right, b.top))
                it.next()
            if found:                        # those touching no box read before, tested in one call
                e = np.array(extents, np.int64)
                hit = ((done[None, :, 0] <= e[:, None, 2]) & (done[None, :, 2] >= e[:, None, 0]) &
                       (done[None, :, 1] <= e[:, None, 3]) & (done[None, :, 3] >= e[:, None, 1])).any(axis=1)
                for k in np.flatnonzero(~hit).tolist():
                    target.insert(*found[k])
            done = np.concatenate([done, [[x0, y0, x1, y1]]])
    return _read_back(sub, cell, dbu_um)


def _region_top(path: str, cell: str):
    """The file as KLayout holds it and its cell `cell` (a DrcError when the file has none)."""
    ly = _region_layout(path)
    top = ly.cell(cell)
    if top is None:
        raise DrcError(f"{path}: no cell {cell!r}")
    return ly, top


def _read_back(sub, cell: str, dbu_um: float) -> Flat:
    """The shapes KLayout picked (one flat cell of `sub`) as the file reader makes them, through a small GDS."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="layoutgen-tile-") as tmp:
        name = os.path.join(tmp, "region.gds")
        sub.write(name)
        lib = gdstk.read_gds(name, unit=1e-6)
    polys, labels = cell_shapes(lib.cells[0], dbu_um) if lib.cells else (Polys.empty(), Labels.empty())
    return Flat(cell, polys, labels, dbu_um)


def region_keys(path: str) -> list[int]:
    """The layer keys (layer, datatype) the file has shapes on, as KLayout reads it."""
    ly = _region_layout(path)
    return [layer_key(info.layer, info.datatype) for li, info in zip(ly.layer_indexes(), ly.layer_infos())]


class FileIndex(_TopCells):
    """A layout file as the tiled DRC's client sees it, from KLayout's reading (`read_region`'s,
    shared in the process): cells, top cells, polygon counts per layer and each cell's labels;
    polygons are never converted (each worker reads its own region). `own(name)` gives the cell's
    labels and no polygons: what `engine.not_applicable` and `engine.unknown_layers` ask."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            kind = "OASIS" if self.path.suffix.lower() in (".oas", ".oasis") else "GDS"
            raise DrcError(f"cannot read {kind} {self.path}: no such file")
        self._ly = _region_layout(str(self.path))
        self.dbu_um = self._ly.dbu
        self.cells = {c.name: c.cell_index() for c in self._ly.each_cell()}
        self._counts: dict[tuple[int, int], int] | None = None

    def top_names(self) -> list[str]:
        """Names of the top cells (placed by no other cell)."""
        return [self._ly.cell(ci).name for ci in self._ly.each_top_cell()]

    def layer_counts(self) -> dict[tuple[int, int], int]:
        """(layer, datatype) -> shapes other than texts the cells draw themselves (each cell once)."""
        import klayout.db as kdb

        if self._counts is None:
            out: dict[tuple[int, int], int] = {}
            for li, info in zip(self._ly.layer_indexes(), self._ly.layer_infos()):
                n = 0
                for c in self._ly.each_cell():
                    shapes = c.shapes(li)
                    if shapes.size():
                        n += shapes.size() - sum(1 for _ in shapes.each(kdb.Shapes.STexts))
                if n:
                    out[(info.layer, info.datatype)] = n
            self._counts = out
        return self._counts

    def own(self, name: str) -> tuple[Polys, Labels]:
        """The labels cell `name` draws itself, and no polygons (see the class)."""
        import klayout.db as kdb

        cell = self._ly.cell(name)
        texts, xys, keys = [], [], []
        for li, info in zip(self._ly.layer_indexes(), self._ly.layer_infos()):
            for sh in cell.shapes(li).each(kdb.Shapes.STexts):
                t = sh.text
                texts.append(t.string)
                xys.append((t.x, t.y))
                keys.append(layer_key(info.layer, info.datatype))
        labels = Labels(np.array(texts, object), np.array(xys, np.int64).reshape(-1, 2), np.array(keys, np.int64)) \
            if texts else Labels.empty()
        return Polys.empty(), labels
