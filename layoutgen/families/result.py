"""What a family's builder returns: the die (or unit) layout and what the summary reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..layout import Layout


@dataclass
class DieResult:
    """A built die or package unit: layout (top = its cell) and summary data.

    `pads` and `ball_nets` feed the wafer level (plating tails, net labels); `counts` and
    `report` go to summary.json as they are.
    """

    layout: Layout
    nets: list[str]
    pads: list[tuple[str, str, float, float]] = field(default_factory=list)   # name, net, x, y
    balls: list[tuple[str, float, float]] = field(default_factory=list)       # name, x, y
    ball_nets: dict[str, str] = field(default_factory=dict)
    assignment: dict[str, str] = field(default_factory=dict)                  # pad -> ball (the first it feeds)
    route_lengths: dict[str, float] = field(default_factory=dict)             # pad -> µm (all its traces)
    pad_balls: dict[str, list[str]] = field(default_factory=dict)             # pad -> every ball it feeds
    counts: dict[str, int] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
