"""Relief CSP: a 4 × 4 mm die, 48 peripheral pads, 7 × 7 tiered protrusions at 400 µm (centre one empty).

A moulded stress-relief layer with an access well over every pad and a two-tier protrusion
under every ball; tracks from the wells up to bonding pads on the recessed tiers; an
encapsulation layer exposing the bonding pads; balls printed through a solder paste stencil.
Copy this file, edit the die, the pads, the protrusions and the stencil, and run
    layoutgen build templates/relief_csp.py
All lengths in µm; the die is centred at (0, 0).
"""

from layoutgen import BallGrid, Design, Die, peripheral_pads
from layoutgen.families.relief_csp import BallStencil, Protrusions, ReliefCsp, Tiers

DIE = 4000.0

# 12 pads per side at 250 µm, 90 µm in from the die edge; every 6th pad is VDD, every 6th
# (offset by 3) is VSS, the others carry their own signal.
pads = peripheral_pads(
    DIE, DIE, per_side=12, pitch=250, inset=90, size=70,
    nets={"VDD": list(range(1, 49, 6)), "VSS": list(range(4, 49, 6))},
)

design = Design(
    name="relief_csp",
    pdk="relief400",
    revision="A",
    die=Die(name="RELIEF_CSP_4X4", width=DIE, height=DIE, pads=pads),
    package=ReliefCsp(
        # The relief is printed through three stencils (claims 3-4: STENCIL, STENCIL2, STENCIL3),
        # each protrusion turned so that its rim stencil's bridge gaps sit clear of its track;
        # route="mould" moulds it instead (claim 2: the mould's WELL, MOULD2, MOULD1 masks).
        # The mask set holds only the chosen route's masks.
        route="print",
        tracks="plated",              # claim 8; "lapped" (claim 7) is refused for this relief, with the reason
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
)
