"""The ball array as a lattice, seen from each die side (all lengths in µm).

Each side gets a local frame turned by a multiple of 90°: `u` runs along the side clockwise
around the die, `v` points out of the die through that side. In it the side's balls form
columns (along `u`) and the ring of balls nearest that side is the top row, `v_top`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from layoutgen.errors import RoutingError
from .model import Terminal

SIDES = ("top", "right", "bottom", "left")


def to_local(side: int, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World (x, y) to the local (u, v) of a side (0 top, 1 right, 2 bottom, 3 left)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return [(x, y), (-y, x), (-x, -y), (y, -x)][side]


def to_world(side: int, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Local (u, v) of a side back to world (x, y)."""
    u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
    return [(u, v), (v, -u), (-u, -v), (-v, u)][side]


@dataclass(frozen=True)
class BallGrid:
    """Ball centres as lattice positions: column and row index of every ball."""

    pitch: float
    x: np.ndarray
    y: np.ndarray
    col: np.ndarray
    row: np.ndarray
    ncols: int
    nrows: int

    @property
    def centre(self) -> tuple[float, float]:
        """Centre of the array's bounding box."""
        return (float(self.x.min() + self.x.max()) / 2.0, float(self.y.min() + self.y.max()) / 2.0)

    @property
    def half_extent(self) -> tuple[float, float]:
        """Half width and half height of the array (ball centre to ball centre), never 0."""
        hx = (float(self.x.max() - self.x.min())) / 2.0
        hy = (float(self.y.max() - self.y.min())) / 2.0
        return max(hx, self.pitch / 2.0), max(hy, self.pitch / 2.0)

    def depth(self, side: int) -> np.ndarray:
        """Rows between each ball and the array edge facing a side (0 = outer ring)."""
        return [self.nrows - 1 - self.row, self.ncols - 1 - self.col, self.row, self.col][side]

    @property
    def ring(self) -> np.ndarray:
        """Ring of every ball: its depth from the nearest array edge."""
        return np.min([self.depth(s) for s in range(4)], axis=0)

    def ring_positions(self, ring: int) -> int:
        """Number of lattice positions (populated or not) in a ring."""
        cols, rows = self.ncols - 2 * ring, self.nrows - 2 * ring
        if cols <= 0 or rows <= 0:
            return 0
        if cols == 1 or rows == 1:
            return cols * rows
        return 2 * (cols + rows) - 4


def infer_grid(balls: Sequence[Terminal], pitch: float) -> BallGrid:
    """Place every ball on the array lattice of the given pitch, or say which ball is off it."""
    x = np.array([b.x for b in balls], dtype=float)
    y = np.array([b.y for b in balls], dtype=float)
    col_f, row_f = (x - x.min()) / pitch, (y - y.min()) / pitch
    col, row = np.rint(col_f).astype(int), np.rint(row_f).astype(int)
    off = np.flatnonzero((np.abs(col_f - col) > 1e-6) | (np.abs(row_f - row) > 1e-6))
    if off.size:
        b = balls[int(off[0])]
        raise RoutingError(
            f"ball {b.name} (net {b.net}) at ({b.x:.3f}, {b.y:.3f}) is off the {pitch} µm ball "
            f"lattice; the router needs balls on one area array of the rule pitch"
        )
    keys = col * (row.max() + 1) + row
    if len(np.unique(keys)) != len(keys):
        raise RoutingError("two balls sit on the same array position; ball centres must differ")
    return BallGrid(pitch, x, y, col, row, int(col.max()) + 1, int(row.max()) + 1)


@dataclass(frozen=True)
class SideFrame:
    """The array seen from one side: local ball coordinates, columns and depths."""

    side: int
    u: np.ndarray
    v: np.ndarray
    col: np.ndarray
    depth: np.ndarray
    ncols: int
    u_min: float
    v_top: float
    pitch: float

    def column_u(self, col: int) -> float:
        """Local u of a lattice column."""
        return self.u_min + col * self.pitch


def side_frame(grid: BallGrid, side: int) -> SideFrame:
    """The local frame of one die side."""
    u, v = to_local(side, grid.x, grid.y)
    u_min = float(u.min())
    col = np.rint((u - u_min) / grid.pitch).astype(int)
    ncols = [grid.ncols, grid.nrows][side % 2]
    return SideFrame(side, u, v, col, grid.depth(side), ncols, u_min, float(v.max()), grid.pitch)
