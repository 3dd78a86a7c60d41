"""Units and the float tolerances every module compares with: lengths are µm, areas µm², throughout.

A GDS stores integers of the database unit (1 nm in every shipped PDK); geometry is computed in
floating point µm, so a length that should equal a limit comes out a few ulps off. These
constants say, by meaning, how close counts as equal; all lie far below one database unit.
"""

from __future__ import annotations

import math

# A computed length (µm) within this of a limit meets it: `if width < rule.value - LENGTH_EPS_UM`.
LENGTH_EPS_UM = 1e-9
# A ratio counted in whole steps (length / grid step, length / pitch) within this of an integer is
# that integer: `math.ceil(x / grid - STEP_EPS)` does not round 3.0000000001 steps up to 4.
STEP_EPS = 1e-9
# A dimensionless ratio (aspect, area ratio) or an angle in degrees within this of a limit meets it.
RATIO_EPS = 1e-9
# Two shapes whose overlap (µm²) is within this do not overlap: they only touch.
AREA_EPS_UM2 = 1e-9
# Two directions are parallel when their cross product is within this fraction of |u|·|v|.
PARALLEL_EPS = 1e-9


def snap(value: float, grid: float) -> float:
    """The multiple of `grid` nearest to `value` (rounded to 1e-9 µm so that equal snaps compare equal)."""
    return round(round(value / grid) * grid, 9)


def snap_up(value: float, grid: float) -> float:
    """The smallest multiple of `grid` not below `value` (for sizes that must not shrink)."""
    return round(math.ceil(value / grid - STEP_EPS) * grid, 9)


def snap_down(value: float, grid: float) -> float:
    """The largest multiple of `grid` not above `value` (for room that must not grow)."""
    return round(math.floor(value / grid + STEP_EPS) * grid, 9)
