"""The die map: whole dies on the die pitch inside the edge exclusion. All lengths in µm.

Die centres sit at (ox + i·px, oy + j·py). The grid offset (ox, oy) is the user's, or is
searched to maximise the number of whole dies, as gross-die calculators do: for each of a
fine set of row offsets oy the best column offset ox is found exactly (the count only
changes where a row's allowed interval meets a die edge, so those points are the only
candidates), then the best pair is polished by alternating exact searches in y and in x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .outline import WaferShape

EPS = 1e-6          # µm: a die edge this close to the limit counts as inside
SEARCH_STEPS = 128  # row offsets tried over one pitch before polishing


def gross_die_estimate(diameter_um: float, edge_exclusion_um: float, pitch_x: float, pitch_y: float) -> float:
    """Dies per wafer by the usual estimate π(d/2)²/S − π·d/√(2S), d reduced by the edge exclusion."""
    d = diameter_um - 2.0 * edge_exclusion_um
    s = pitch_x * pitch_y
    return math.pi * (d / 2.0) ** 2 / s - math.pi * d / math.sqrt(2.0 * s)


@dataclass(frozen=True)
class DieMap:
    """Whole dies on the wafer: die size, pitch, grid offset and the runs of dies in each row."""

    die: tuple[float, float]
    pitch: tuple[float, float]
    offset: tuple[float, float]
    runs: tuple[tuple[int, int, int], ...]  # (row j, first column i0, last column i1), bottom to top

    @property
    def count(self) -> int:
        """Number of whole dies."""
        return sum(i1 - i0 + 1 for _, i0, i1 in self.runs)

    def indices(self) -> np.ndarray:
        """(i, j) of every die, row by row, (n, 2) int."""
        parts = [np.c_[np.arange(i0, i1 + 1), np.full(i1 - i0 + 1, j)] for j, i0, i1 in self.runs]
        return np.concatenate(parts) if parts else np.zeros((0, 2), int)

    def centres(self) -> np.ndarray:
        """Centre (x, y) of every die, row by row, (n, 2)."""
        ij = self.indices()
        return np.c_[self.offset[0] + ij[:, 0] * self.pitch[0], self.offset[1] + ij[:, 1] * self.pitch[1]]

    def run_origin(self, run: tuple[int, int, int]) -> tuple[float, float]:
        """Centre of the first die of a run."""
        j, i0, _ = run
        return self.offset[0] + i0 * self.pitch[0], self.offset[1] + j * self.pitch[1]

    def lanes(self, radius: float) -> tuple[np.ndarray, np.ndarray]:
        """x of every vertical and y of every horizontal scribe-lane centre line within `radius`."""
        (ox, oy), (px, py) = self.offset, self.pitch
        xs = ox + (np.arange(math.floor((-radius - ox) / px) - 1, math.ceil((radius - ox) / px) + 1) + 0.5) * px
        ys = oy + (np.arange(math.floor((-radius - oy) / py) - 1, math.ceil((radius - oy) / py) + 1) + 0.5) * py
        return xs[np.abs(xs) < radius], ys[np.abs(ys) < radius]

    def row_sites(self) -> list[tuple[float, float, float, float]]:
        """Per run, the box (x0, y0, x1, y1) its die sites fill (dies plus half the lanes)."""
        (ox, oy), (px, py) = self.offset, self.pitch
        return [(ox + (i0 - 0.5) * px, oy + (j - 0.5) * py, ox + (i1 + 0.5) * px, oy + (j + 0.5) * py)
                for j, i0, i1 in self.runs]


def _counts(lo: np.ndarray, hi: np.ndarray, pitch: float, cands: np.ndarray) -> np.ndarray:
    """Dies on a line of pitch `pitch` shifted by each candidate that fit the centre intervals [lo, hi]."""
    lo, hi = lo.reshape(1, -1), hi.reshape(1, -1)
    c = cands.reshape(-1, 1)
    n = np.floor((hi - c) / pitch + EPS) - np.ceil((lo - c) / pitch - EPS) + 1.0
    return np.nansum(np.clip(n, 0.0, None), axis=1)


def _best_shift(lo: np.ndarray, hi: np.ndarray, pitch: float, grid: float) -> tuple[float, int]:
    """The shift in [0, pitch) on `grid` that fits most dies in the centre intervals, and that count."""
    ends = np.concatenate([np.ceil((lo[np.isfinite(lo)] % pitch) / grid - EPS) * grid,
                           np.floor((hi[np.isfinite(hi)] % pitch) / grid + EPS) * grid])
    cands = np.concatenate([[0.0, round(pitch / 2.0 / grid) * grid], np.unique(ends % pitch)])
    counts = _counts(lo, hi, pitch, cands)
    k = int(np.argmax(counts))
    return float(cands[k]), int(counts[k])


def _row_centre_intervals(shape: WaferShape, die: tuple[float, float], pitch_y: float, oy: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices j and the allowed die-centre x intervals of each row for row offset `oy`."""
    re = shape.usable_radius
    js = np.arange(math.floor((-re - oy) / pitch_y) - 1, math.ceil((re - oy) / pitch_y) + 2)
    yc = oy + js * pitch_y
    lo, hi = shape.x_intervals(yc - die[1] / 2.0, yc + die[1] / 2.0)
    return js, lo + die[0] / 2.0, hi - die[0] / 2.0


def _col_centre_intervals(shape: WaferShape, die: tuple[float, float], pitch_x: float, ox: float) -> tuple[np.ndarray, np.ndarray]:
    """Allowed die-centre y intervals of each column for column offset `ox`."""
    re = shape.usable_radius
    ins = np.arange(math.floor((-re - ox) / pitch_x) - 1, math.ceil((re - ox) / pitch_x) + 2)
    xc = ox + ins * pitch_x
    lo, hi = shape.y_intervals(xc - die[0] / 2.0, xc + die[0] / 2.0)
    return lo + die[1] / 2.0, hi - die[1] / 2.0


def count_dies(shape: WaferShape, die: tuple[float, float], pitch: tuple[float, float], offset: tuple[float, float]) -> int:
    """Number of whole dies for one grid offset."""
    _, lo, hi = _row_centre_intervals(shape, die, pitch[1], offset[1])
    return int(_counts(lo, hi, pitch[0], np.array([offset[0]]))[0])


def search_offset(shape: WaferShape, die: tuple[float, float], pitch: tuple[float, float], grid: float,
                  steps: int = SEARCH_STEPS) -> tuple[float, float]:
    """The grid offset (on `grid`, within one pitch) that fits the most whole dies."""
    px, py = pitch
    oys = [0.0, round(py / 2.0 / grid) * grid] + [round(k * py / steps / grid) * grid for k in range(1, steps)]
    best = (-1, 0.0, 0.0)
    for oy in dict.fromkeys(oys):
        _, lo, hi = _row_centre_intervals(shape, die, py, oy)
        ox, n = _best_shift(lo, hi, px, grid)
        if n > best[0]:
            best = (n, ox, oy)
    n, ox, oy = best
    for _ in range(4):  # polish: exact in y for this x, then exact in x for that y
        lo, hi = _col_centre_intervals(shape, die, px, ox)
        oy2, _ = _best_shift(lo, hi, py, grid)
        _, lo, hi = _row_centre_intervals(shape, die, py, oy2)
        ox2, n2 = _best_shift(lo, hi, px, grid)
        if n2 <= n:
            break
        n, ox, oy = n2, ox2, oy2
    return ox, oy


def die_map(shape: WaferShape, die: tuple[float, float], pitch: tuple[float, float], offset: tuple[float, float]) -> DieMap:
    """The whole dies for a grid offset, as runs of columns per row."""
    ox, oy = offset
    js, lo, hi = _row_centre_intervals(shape, die, pitch[1], oy)
    runs = []
    for j, los, his in zip(js.tolist(), lo, hi):
        for a, b in zip(los, his):
            if not (np.isfinite(a) and np.isfinite(b)):
                continue
            i0 = math.ceil((a - ox) / pitch[0] - EPS)
            i1 = math.floor((b - ox) / pitch[0] + EPS)
            if i0 <= i1:
                runs.append((int(j), int(i0), int(i1)))
    return DieMap(die=die, pitch=pitch, offset=(ox, oy), runs=tuple(sorted(runs, key=lambda r: (r[0], r[1]))))


def partial_sites(dm: DieMap, radius: float) -> int:
    """Die sites the wafer edge cuts or the exclusion rejects: on the wafer but not whole dies."""
    (ox, oy), (px, py), (w, h) = dm.offset, dm.pitch, dm.die
    i = np.arange(math.floor((-radius - ox) / px) - 1, math.ceil((radius - ox) / px) + 2)
    j = np.arange(math.floor((-radius - oy) / py) - 1, math.ceil((radius - oy) / py) + 2)
    xc, yc = np.meshgrid(ox + i * px, oy + j * py)
    dx, dy = np.clip(np.abs(xc) - w / 2.0, 0.0, None), np.clip(np.abs(yc) - h / 2.0, 0.0, None)
    on_wafer = int(np.count_nonzero(dx * dx + dy * dy < radius * radius))
    return on_wafer - dm.count


def without(dm: DieMap, boxes: list[tuple[float, float, float, float]]) -> tuple[DieMap, int]:
    """The map less the dies whose site (die plus half the lanes) meets any of `boxes` (drop-in sites), and how many went."""
    if not boxes:
        return dm, 0
    ij, xy = dm.indices(), dm.centres()
    hx, hy = dm.pitch[0] / 2.0, dm.pitch[1] / 2.0
    hit = np.zeros(len(ij), bool)
    for x0, y0, x1, y1 in boxes:
        hit |= (xy[:, 0] - hx < x1) & (xy[:, 0] + hx > x0) & (xy[:, 1] - hy < y1) & (xy[:, 1] + hy > y0)
    runs: list[tuple[int, int, int]] = []
    for (i, j) in ij[~hit].tolist():
        if runs and runs[-1][0] == j and runs[-1][2] == i - 1:
            runs[-1] = (j, runs[-1][1], i)
        else:
            runs.append((j, i, i))
    return DieMap(die=dm.die, pitch=dm.pitch, offset=dm.offset, runs=tuple(runs)), int(hit.sum())
