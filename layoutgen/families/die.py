"""Die checks every family shares: the die size the PDK accepts and the seal ring band."""

from __future__ import annotations

from ..design import Die, check_pads_clear_of_seal
from ..errors import ConfigError
from ..pdk import Pdk


def seal_width(die: Die, pdk: Pdk) -> float:
    """The seal ring band width: the die's own, else the PDK's."""
    return die.seal_width if die.seal_width is not None else pdk.die.seal_width_um


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
