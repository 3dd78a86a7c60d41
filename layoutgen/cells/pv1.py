"""PV1: the polymer 1 via opening over a chip pad, inside the pad by the PDK's enclosure."""

from __future__ import annotations

from shapely.geometry import Polygon

from ..errors import ConfigError
from ..pdk import Pdk
from .shapes import grow, width_across_flats
from layoutgen.units import LENGTH_EPS_UM


def pv1_opening(pad: Polygon, pdk: Pdk, pad_name: str = "") -> Polygon:
    """The PV1 opening: the pad shrunk by PAD-encloses-PV1; refused below PV1's minimum width."""
    enc = pdk.value("enclosure", "PAD", "PV1")
    w_min = pdk.value("width", "PV1")
    opening = grow(pad, -enc, pdk.grid_um)
    x0, y0, x1, y1 = pad.bounds
    if opening.is_empty or min(width_across_flats(opening), opening.bounds[2] - opening.bounds[0],
                               opening.bounds[3] - opening.bounds[1]) < w_min - LENGTH_EPS_UM:
        raise ConfigError(
            f"pad {pad_name} ({x1 - x0:g} × {y1 - y0:g} µm) is too small: a PV1 opening inside it by "
            f"{enc} µm would be below the {w_min} µm minimum (pads ≥ {w_min + 2 * enc:g} µm)"
        )
    return opening
