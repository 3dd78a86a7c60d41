"""Family 1: fan-in WLCSP: RDL from the pads to a ball grid, UBM, bumps or Cu posts, plated on the wafer.

`model` holds the parameters (`FanInWlcsp`, `Posts`), `build` the die, `posts` the post mechanics.
"""

from .model import FanInWlcsp, Posts

__all__ = ["FanInWlcsp", "Posts"]
