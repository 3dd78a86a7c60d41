"""What every family shares about the die: the size the PDK accepts, the outline and the seal ring band."""

from __future__ import annotations

from ..cells.shapes import rect
from ..design import Die, check_pads_clear_of_seal
from ..errors import ConfigError
from ..layout import Cell
from ..pdk import Pdk


def seal_width(die: Die, pdk: Pdk) -> float:
    """The seal ring band width: the die's own, else the PDK's."""
    return die.seal_width if die.seal_width is not None else pdk.die.seal_width_um


def add_die_frame(cell: Cell, die: Die, pdk: Pdk, layer: str = "DIE") -> float:
    """Draw the die outline (centred on the origin) on `layer` and the seal ring band inside it on
    SEAL (none when the band is 0); the seal width."""
    seal = seal_width(die, pdk)
    outline = rect(die.width, die.height, pdk.grid_um)
    cell.add(layer, outline)
    if seal > 0:
        cell.add("SEAL", outline.difference(rect(die.width - 2 * seal, die.height - 2 * seal, pdk.grid_um)))
    return seal


def check_die_size(die: Die, pdk: Pdk) -> None:
    """A ConfigError naming the config line unless the die's size is within the PDK's limits."""
    lim = pdk.die
    if not (lim.min_width_um <= die.width <= lim.max_width_um and lim.min_height_um <= die.height <= lim.max_height_um):
        raise ConfigError(
            f"{die.where()}: Die.width × height = {die.width:g} × {die.height:g} µm: PDK {pdk.name} accepts "
            f"{lim.min_width_um:g} × {lim.min_height_um:g} up to {lim.max_width_um:g} × {lim.max_height_um:g} µm")
    try:
        check_pads_clear_of_seal(die, seal_width(die, pdk))
    except ValueError as e:
        raise ConfigError(f"{die.where()}: Die.pads: {e} (PDK {pdk.name})") from None
