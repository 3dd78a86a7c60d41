"""The reticle shot map: how many dies one exposure holds and which shots cover the whole dies. All lengths in µm.

A shot is a block of nx × ny die sites (dies plus half the lanes around them), as many as
fit in the reticle field; shots are aligned to the die grid, and the block phase is chosen
to cover every whole die with the fewest shots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from .diemap import DieMap
from layoutgen.units import STEP_EPS


@dataclass(frozen=True)
class ShotMap:
    """Dies per shot (nx, ny), shot size, block phase, and the shots (sx, sy) that hold whole dies."""

    per_shot: tuple[int, int]
    size: tuple[float, float]
    phase: tuple[int, int]
    shots: tuple[tuple[int, int], ...]

    @property
    def dies_per_shot(self) -> int:
        """Die sites in one shot."""
        return self.per_shot[0] * self.per_shot[1]

    def centre(self, dm: DieMap, shot: tuple[int, int]) -> tuple[float, float]:
        """Centre of shot (sx, sy) on the wafer."""
        (nx, ny), (a, b) = self.per_shot, self.phase
        (ox, oy), (px, py) = dm.offset, dm.pitch
        return (ox + (a + shot[0] * nx + (nx - 1) / 2.0) * px, oy + (b + shot[1] * ny + (ny - 1) / 2.0) * py)

    def runs(self) -> list[tuple[int, int, int]]:
        """Shots as runs (sy, first sx, last sx) of neighbours in a row."""
        out: list[tuple[int, int, int]] = []
        for sx, sy in sorted(self.shots, key=lambda s: (s[1], s[0])):
            if out and out[-1][0] == sy and out[-1][2] == sx - 1:
                out[-1] = (sy, out[-1][1], sx)
            else:
                out.append((sy, sx, sx))
        return out


def _shots_for(ij: np.ndarray, per_shot: tuple[int, int], phase: tuple[int, int]) -> np.ndarray:
    """The distinct shots (sx, sy) holding the dies `ij` for one block phase."""
    s = np.floor_divide(ij - np.asarray(phase), np.asarray(per_shot))
    if not len(s):
        return s.reshape(0, 2)
    # One integer key per shot, ordered as the rows (sx, then sy): a 1-D unique, much quicker than the rows' own.
    lo = s.min(axis=0)
    span = int(s[:, 1].max() - lo[1]) + 1
    key = np.unique((s[:, 0] - lo[0]) * span + (s[:, 1] - lo[1]))
    return np.stack([key // span + lo[0], key % span + lo[1]], axis=1)


def shot_map(dm: DieMap, reticle: tuple[float, float], where: str = "<unknown>") -> ShotMap:
    """The shot map with the fewest shots covering every whole die."""
    nx, ny = math.floor(reticle[0] / dm.pitch[0] + STEP_EPS), math.floor(reticle[1] / dm.pitch[1] + STEP_EPS)
    if nx < 1 or ny < 1:
        (w, h), (px, py) = dm.die, dm.pitch
        site = f"die site of {px:g} × {py:g} µm (the {w:g} × {h:g} µm die plus the {px - w:g} µm scribe)"
        if w <= reticle[0] and h <= reticle[1] and px - w > min(w, h):   # the die fits; an outsize scribe does not
            raise ConfigError(f"{where}: Wafer.scribe = {px - w:g}: a {site} is larger than the "
                              f"{reticle[0]:g} × {reticle[1]:g} µm reticle field (Wafer.reticle)")
        raise ConfigError(f"{where}: Wafer.reticle = {reticle}: the field holds no {site}")
    ij = dm.indices()
    best: tuple[int, tuple[int, int], np.ndarray] | None = None
    for a in range(nx):
        for b in range(ny):
            shots = _shots_for(ij, (nx, ny), (a, b))
            if best is None or len(shots) < best[0]:
                best = (len(shots), (a, b), shots)
    assert best is not None
    _, phase, shots = best
    return ShotMap(per_shot=(nx, ny), size=(nx * dm.pitch[0], ny * dm.pitch[1]), phase=phase,
                   shots=tuple((int(sx), int(sy)) for sx, sy in shots))
