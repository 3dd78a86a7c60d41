"""PV1: the polymer 1 via opening over a chip pad, inside the pad by the PDK's enclosure."""

from __future__ import annotations

from shapely.geometry import Polygon

from ..errors import ConfigError
from ..pdk import Pdk
from .shapes import circle, rect


def pv1_opening(pad_width: float, pad_height: float, pad_shape: str, pdk: Pdk, pad_name: str = "") -> Polygon:
    """The PV1 opening: the pad shrunk by PAD-encloses-PV1, at least PV1's minimum width."""
    enc = pdk.value("enclosure", "PAD", "PV1")
    w_min = pdk.value("width", "PV1")
    w, h = pad_width - 2 * enc, pad_height - 2 * enc
    if min(w, h) < w_min:
        raise ConfigError(
            f"pad {pad_name} ({pad_width} × {pad_height} µm) is too small: a PV1 opening inside it by "
            f"{enc} µm would be {min(w, h):g} µm wide, below the {w_min} µm minimum (pads ≥ {w_min + 2 * enc:g} µm)"
        )
    if pad_shape == "rect":
        return rect(pdk.snap(w), pdk.snap(h), pdk.grid_um)
    return circle(min(w, h), pdk.circle_vertices, pdk.grid_um, "circumscribed", "round" if pad_shape == "round" else "octagon")
