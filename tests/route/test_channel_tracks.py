"""The ring planner's small pieces: tracks chosen in a gap (assign.choose_tracks) and channels
drawn once per side (channel.drawn), checked against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from layoutgen.route.rdl.assign import choose_tracks
from layoutgen.route.rdl.channel import ChannelFull, Clearance, Floor, channel_curves, drawn


@pytest.mark.parametrize("targets, expected", [
    ([9.0, 11.0], [10.0, 20.0]),  # both nearest 10: the second is pushed up to the next track
    ([5.0], [0.0]),  # halfway between two tracks: the lower
    ([29.0, 31.0, 32.0], [10.0, 20.0, 30.0]),  # all nearest 30: pushed down, the tracks above run out
    ([-50.0, 100.0], [0.0, 30.0]),  # beyond the gap: its outermost tracks
    ([1.0, 2.0, 3.0, 4.0], [0.0, 10.0, 20.0, 30.0]),  # as many traces as tracks: every track, in order
])
def test_each_trace_takes_the_track_nearest_its_target_that_the_others_leave(targets, expected):
    assert choose_tracks([0.0, 10.0, 20.0, 30.0], targets) == expected


def _channel(ceiling: float):
    """Two traces moving +u side by side (the front one leaves at 60, the one behind at 50),
    one (λ = 10, t_o = 4) apart; floor 0."""
    arrive, leave = np.array([0.0, 10.0]), np.array([50.0, 60.0])
    floor = Floor(0.0, 0.0, 1e9, np.zeros(2, dtype=bool), np.zeros(2))
    return arrive, leave, np.zeros(2, dtype=bool), (lambda *_: (floor, ceiling)), Clearance(10.0, 4.0)


def test_a_channel_is_drawn_once_per_side_and_its_overflow_remembered():
    arrive, leave, from_ball, bounds, clear = _channel(100.0)
    floor, ceiling = bounds()
    fresh = channel_curves(arrive, leave, floor, ceiling, clear)
    # the trace in front runs on the floor; the one behind hugs it one λ higher
    assert fresh[1][0] == (10.0, 0.0) and fresh[1][-1] == (60.0, 0.0)
    assert max(v for _, v in fresh[0]) == pytest.approx(10.0)
    memo, asked = {}, []
    counted = lambda *c: asked.append(c[0]) or bounds(*c)  # noqa: E731
    assert drawn(0, arrive, leave, from_ball, counted, clear, memo) == fresh
    assert drawn(0, arrive, leave, from_ball, counted, clear, memo) == fresh
    assert asked == [0], "the second drawing of the same channel comes from the memo"
    # the same traces under a ceiling 6 µm up: the trace behind overflows, every time it is asked
    arrive, leave, from_ball, low, clear = _channel(6.0)
    memo = {}
    for _ in range(2):
        with pytest.raises(ChannelFull) as full:
            drawn(0, arrive, leave, from_ball, low, clear, memo)
        assert full.value.index == 0 and full.value.needed == pytest.approx(10.0)
