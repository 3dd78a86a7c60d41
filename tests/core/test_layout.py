"""The in-memory layout keeps one cell per name: a second, different cell under a taken name is refused."""

from __future__ import annotations

import pytest
from shapely.geometry import box

from layoutgen.errors import LayoutError
from layoutgen.layout import Cell, Layout


def test_an_identical_cell_under_its_name_is_the_one_already_there():
    layout = Layout(top="TOP")
    first = layout.add(Cell("PAD_100").add("PAD", box(0, 0, 100, 100)))
    again = layout.add(Cell("PAD_100").add("PAD", box(0, 0, 100, 100)))
    assert again is first and list(layout.cells) == ["PAD_100"]


def test_float_noise_far_below_the_database_unit_is_the_same_cell():
    layout = Layout(top="TOP")
    first = layout.add(Cell("CUT_120p09").add("GROOVE2", box(0, -5, 120.09000000000003, 5)))
    assert layout.add(Cell("CUT_120p09").add("GROOVE2", box(0, -5, 120.08999999999997, 5))) is first
    with pytest.raises(LayoutError, match="two different cells named 'CUT_120p09'"):
        layout.add(Cell("CUT_120p09").add("GROOVE2", box(0, -5, 120.091, 5)))


def test_two_different_cells_under_one_name_are_refused_naming_both():
    layout = Layout(top="TOP")
    layout.add(Cell("DIE").add("DIE", box(0, 0, 5000, 5000)).place("PAD_100", 10, 10))
    with pytest.raises(LayoutError, match=r"two different cells named 'DIE': the first holds shapes 1 on DIE, "
                                          r"0 labels, placing PAD_100, the second shapes 2 on RDL, 0 labels"):
        layout.add(Cell("DIE").add("RDL", box(0, 0, 10, 10), box(20, 0, 30, 10)))
    assert layout.cells["DIE"].shapes["DIE"][0].area == 5000 * 5000
