"""Which ball each pad goes to: a fixed ball map, a partial one, or a free choice (all lengths in µm).

Explicit: the balls' nets decide; several pads of a net share its ball, and a net with several
balls gets each of them joined to one of its pads (a pad may feed several balls). Auto: balls that already carry a
net are kept (partial assignment); the other pads are matched to the free balls at the least
total straight-line length (scipy's assignment solver). Minimum-length matchings of points
have no two segments crossing, which is what a single planar layer needs. When pads
outnumber the free balls, the pads of a shared net (power, ground) are grouped along the die
edge and each group gets one ball.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from layoutgen.errors import RoutingError
from .model import Terminal


def assign_balls(pads: Sequence[Terminal], balls: Sequence[Terminal], mode: str) -> list[tuple[int, int]]:
    """(pad index, ball index) of every trace to draw."""
    fixed: dict[str, list[int]] = defaultdict(list)
    for b, ball in enumerate(balls):
        if ball.net is not None:
            fixed[ball.net].append(b)
    by_net: dict[str, list[int]] = defaultdict(list)
    for i, pad in enumerate(pads):
        by_net[pad.net].append(i)
    pairs: list[tuple[int, int]] = []
    for net, bs in fixed.items():
        if net not in by_net:
            continue  # a ball whose net no pad has stays unconnected (and is reported as a no-connect)
        pairs += _spread(pads, balls, by_net[net], bs)
    free_pads = [i for net, ids in by_net.items() if net not in fixed for i in ids]
    if mode == "explicit":
        if free_pads:
            p = pads[free_pads[0]]
            raise RoutingError(f"pad {p.name} (net {p.net}) at ({p.x:.1f}, {p.y:.1f}) has no ball of its net "
                               f"in the explicit ball map; give net {p.net} a ball")
        return pairs
    free_balls = [b for b, ball in enumerate(balls) if ball.net is None]
    return pairs + _match(pads, balls, free_pads, free_balls)


def _spread(pads, balls, pad_ids: list[int], ball_ids: list[int]) -> list[tuple[int, int]]:
    """Pads of one net onto its balls: pads and balls paired at the least total length, then every
    pad left over joins its nearest ball (power pads sharing a ball) and every ball left over is
    joined from its nearest pad (a net with more balls than pads: each extra ball gets its own
    trace from that pad, so no ball of the net is left open)."""
    from scipy.optimize import linear_sum_assignment  # here: importing the router does not load scipy.optimize

    cost = _distance(pads, balls, pad_ids, ball_ids)
    r, c = linear_sum_assignment(cost)
    pairs = [(pad_ids[i], ball_ids[j]) for i, j in zip(r, c)]
    pads_taken, balls_taken = set(r.tolist()), set(c.tolist())
    for i in range(len(pad_ids)):
        if i not in pads_taken:
            pairs.append((pad_ids[i], ball_ids[int(np.argmin(cost[i]))]))
    for j in range(len(ball_ids)):
        if j not in balls_taken:
            pairs.append((pad_ids[int(np.argmin(cost[:, j]))], ball_ids[j]))
    return pairs


def _match(pads, balls, pad_ids: list[int], ball_ids: list[int]) -> list[tuple[int, int]]:
    """Free pads onto free balls at the least total length; shared nets grouped when balls run short."""
    from scipy.optimize import linear_sum_assignment  # here: importing the router does not load scipy.optimize

    if not pad_ids:
        return []
    groups = _groups(pads, pad_ids, len(ball_ids))
    length, row = _distance(pads, balls, pad_ids, ball_ids), {p: k for k, p in enumerate(pad_ids)}
    cost = np.array([length[[row[i] for i in g]].sum(axis=0) for g in groups])  # one matrix, not one per group
    r, c = linear_sum_assignment(cost)
    return [(i, ball_ids[j]) for g, j in zip((groups[k] for k in r), c) for i in g]


def _groups(pads, pad_ids: list[int], nballs: int) -> list[list[int]]:
    """Pads in groups that each get one ball: one pad each when balls suffice, else shared nets grouped."""
    if len(pad_ids) <= nballs:
        return [[i] for i in pad_ids]
    by_net: dict[str, list[int]] = defaultdict(list)
    for i in pad_ids:
        by_net[pads[i].net].append(i)
    single = [ids for ids in by_net.values() if len(ids) == 1]
    shared = [ids for ids in by_net.values() if len(ids) > 1]
    room = nballs - len(single)
    n_shared = sum(len(ids) for ids in shared)
    if room < len(shared):
        raise RoutingError(f"{len(pad_ids)} pads of {len(by_net)} nets need at least {len(by_net)} balls, "
                           f"but only {nballs} are free")
    out = [list(ids) for ids in single]
    for ids in shared:
        k = max(1, min(len(ids), math.floor(room * len(ids) / n_shared)))
        angle = sorted(ids, key=lambda i: math.atan2(pads[i].y, pads[i].x))
        out += [list(part) for part in np.array_split(np.array(angle), k)]
    return [[int(i) for i in g] for g in out]


def _distance(pads, balls, pad_ids: list[int], ball_ids: list[int]) -> np.ndarray:
    """Straight-line distance of every pad to every ball."""
    p = np.array([(pads[i].x, pads[i].y) for i in pad_ids]).reshape(-1, 2)
    b = np.array([(balls[j].x, balls[j].y) for j in ball_ids]).reshape(-1, 2)
    return np.hypot(p[:, None, 0] - b[None, :, 0], p[:, None, 1] - b[None, :, 1])
