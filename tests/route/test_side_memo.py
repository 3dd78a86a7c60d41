"""The ring router shares work between die sides whose problems are the same in their own frames
(route/rdl/router.py: `_local_key`, `_drawing_key`): a shared plan or drawing must be exactly what
the side would have planned or drawn itself, on symmetric floorplans and on ones that are not."""

from __future__ import annotations

import dataclasses

import pytest
import shapely

import layoutgen.route.rdl.router as router
from layoutgen.route.rdl import route
from layoutgen.route.rdl.example import example_die, square


def _shifted_left_side(die, du: float):
    """The die with its left-side pads moved `du` µm along the side (the floorplan no longer symmetric)."""
    edge = min(p.x for p in die.pads)
    pads = tuple(dataclasses.replace(p, y=p.y + du, shape=square(p.x, p.y + du, 65.0)) if p.x == edge else p
                 for p in die.pads)
    return dataclasses.replace(die, pads=pads)


def _routed(die, monkeypatch, share: bool):
    """(routing, sides planned, sides drawn) with sharing between sides on or off."""
    planned, drawn = [], []
    plan_side, local_paths = router.plan_side, router._local_paths
    monkeypatch.setattr(router, "plan_side", lambda job: planned.append(job.frame.side) or plan_side(job))
    monkeypatch.setattr(router, "_local_paths", lambda job, *a: drawn.append(job.frame.side) or local_paths(job, *a))
    if not share:  # every side its own key: nothing shared
        local_key, drawing_key = router._local_key, router._drawing_key
        monkeypatch.setattr(router, "_local_key", lambda job: (job.frame.side, local_key(job)))
        monkeypatch.setattr(router, "_drawing_key", lambda job, *a: (job.frame.side, drawing_key(job, *a)))
    routing = route(die.pads, die.balls, die.keepin, die.rules)
    monkeypatch.undo()
    return routing, planned, drawn


@pytest.mark.parametrize("shift", [0.0, 20.0])
def test_sides_share_plans_and_drawings_only_where_they_are_the_same(monkeypatch, shift):
    die = example_die(4200.0, 8, 8, 400.0, pads_per_side=16, pad_pitch_um=120.0)
    if shift:
        die = _shifted_left_side(die, shift)
    shared, planned, drawn = _routed(die, monkeypatch, share=True)
    alone, planned_alone, drawn_alone = _routed(die, monkeypatch, share=False)
    assert shared.router == alone.router == "ring"
    assert len(shared.routes) == len(die.pads)
    # the same traces, vertex for vertex, and the same checked metal
    assert [(r.pad, r.ball, r.path) for r in shared.routes] == [(r.pad, r.ball, r.path) for r in alone.routes]
    assert sorted(shared.metal) == sorted(alone.metal)
    assert all(shapely.equals_exact(shared.metal[n], alone.metal[n], 0.0) for n in shared.metal)
    # symmetric: every side's plan and drawing come from the first side planned and drawn alike;
    # the left side shifted: it is planned and drawn on its own (side 3), the other three shared
    assert len(planned) < len(planned_alone) and len(drawn) < len(drawn_alone)
    assert (3 in planned) == bool(shift) and (3 in drawn) == bool(shift)
    assert set(drawn_alone) == {0, 1, 2, 3}
