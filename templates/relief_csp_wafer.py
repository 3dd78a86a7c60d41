"""Relief CSP at substrate level: the 4 × 4 mm relief die of relief_csp.py on a 200 mm wafer.

A moulded stress-relief layer with an access well over every pad and a two-tier protrusion
under every ball; tracks from the wells up to bonding pads on the recessed tiers; an
encapsulation layer exposing the bonding pads; balls printed through a solder paste stencil.
Every level is wafer-size: the mould levels (WELL, MOULD1, MOULD2, mirrored: the mould faces
the wafer) and the relief print stencils, die array, scribe and dicing lanes, plating network,
the die map, and the marks: the first mould level and the first print stencil are zero layers
(prealigned to the notch; their crosses are the keys for the rest), every later level has
box-in-box and verniers on the level it aligns to.

Edit the die, its pads, protrusions and stencil in relief_csp.py (this file takes it as it is,
moulded instead of printed) and the wafer here, and run
    layoutgen build templates/relief_csp_wafer.py
All lengths in µm; the die is centred at (0, 0).
"""

from pathlib import Path

from layoutgen import Plating, Wafer, load

die = load(Path(__file__).with_name("relief_csp.py"))
design = die.model_copy(update={
    "name": "relief_csp_wafer",
    # over a whole wafer the relief is moulded (claim 2: WELL, MOULD2, MOULD1), tracks plated (claim 8)
    "package": die.package.model_copy(update={"route": "mould", "tracks": "plated"}),
    # 200 mm wafer, 4.1 mm pitch (100 µm scribe, 50 µm saw kerf holding the 30 µm plating bus),
    # whole dies inside the 3 mm edge exclusion, a 2 mm contact ring. Where the incoming wafer has
    # keys, name them: alignment=Alignment(keys=[AlignmentKey(x=..., y=..., size=40, frame="die")])
    # (each level's box around a key must stay clear of that level's own drawing in the die).
    "wafer": Wafer(diameter=200, edge_exclusion=3000, scribe=100, kerf=50,
                   plating=Plating(tail_width=20, bus_width=30, ring_width=2000),
                   test_sites=["centre", "top", "bottom"]),   # process test structures in three die sites
})
