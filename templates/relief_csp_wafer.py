"""Relief CSP at substrate level: the 4 × 4 mm relief die of relief_csp.py on a 200 mm wafer.

A moulded stress-relief layer with an access well over every pad and a two-tier protrusion
under every ball; tracks from the wells up to bonding pads on the recessed tiers; an
encapsulation layer exposing the bonding pads; balls printed through a solder paste stencil.
Every level is wafer-size: the mould levels (WELL, MOULD1, MOULD2, mirrored: the mould faces
the wafer) and the relief print stencils, die array, scribe and dicing lanes, plating network,
the die map, and the marks: the first mould level and the first print stencil are zero layers
(prealigned to the notch; their crosses are the keys for the rest), every later level has
box-in-box and verniers on the level it aligns to. Copy this file, edit the die, the pads, the protrusions, the stencil, the
wafer and its key, and run
    layoutgen build templates/relief_csp_wafer.py
All lengths in µm; the die is centred at (0, 0).
"""

from layoutgen import BallGrid, Design, Die, Plating, Wafer, peripheral_pads
from layoutgen.families.relief_csp import BallStencil, Protrusions, ReliefCsp, Tiers

DIE = 4000.0

# 12 pads per side at 250 µm, 90 µm in from the die edge; every 6th pad is VDD, every 6th
# (offset by 3) is VSS, the others carry their own signal.
pads = peripheral_pads(
    DIE, DIE, per_side=12, pitch=250, inset=90, size=70,
    nets={"VDD": list(range(1, 49, 6)), "VSS": list(range(4, 49, 6))},
)

design = Design(
    name="relief_csp_wafer",
    pdk="relief400",
    revision="A",
    die=Die(name="RELIEF_CSP_4X4", width=DIE, height=DIE, pads=pads),
    package=ReliefCsp(
        protrusions=Protrusions(
            grid=BallGrid(rows=7, cols=7, pitch=400, depopulate=["D4"]),
            footprint=260,            # protrusion footprint (MOULD1), across flats
            shape="octagon",
            tiers=Tiers(
                recess=180,           # recessed tier (MOULD2): the ball seat; the 40 µm rim around it is protuberant
                recess_offset=(0, 0),
                base=10,              # relief thickness over the die (well depth)
                recessed_height=20,   # recessed tier above the relief surface
                protuberant_height=40,
            ),
        ),
        well_clearance=5,             # wells reach 5 µm beyond the pad openings
        stencil=BallStencil(thickness=100, shape="round", overprint=80),
    ),
    # 200 mm wafer, 4.1 mm pitch (100 µm scribe, 50 µm saw kerf holding the 30 µm plating bus),
    # whole dies inside the 3 mm edge exclusion, a 2 mm contact ring. Where the incoming wafer has
    # keys, name them: alignment=Alignment(keys=[AlignmentKey(x=..., y=..., size=40, frame="die")])
    # (each level's box around a key must stay clear of that level's own drawing in the die).
    wafer=Wafer(diameter=200, edge_exclusion=3000, scribe=100, kerf=50,
                plating=Plating(tail_width=20, bus_width=30, ring_width=2000),
                test_sites=["centre", "top", "bottom"]),   # process test structures in three die sites
)
