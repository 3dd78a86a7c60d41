"""WLCSP with backside grooves: a 4 × 4 mm die, 48 pads in four edge rows, 48 balls (8 × 8 at 400 µm, centre 4 × 4 empty) on the back, on a 200 mm wafer.

From the back of the 100 µm thinned wafer a first groove (75° walls, its opening widened by
100 / tan 75° = 26.8 µm a side) exposes each pad row; a blanket insulator covers its walls and
bottom; a second groove then runs along each row through every pad and the client layer
between them, opening each pad's sidewall; the backside wiring lines each pad's own stretch of
that cut (the only place it meets the pad), climbs the groove wall to its ball pad, and
solder-mask openings and balls finish it. The masks are drawn in
die (front-view) coordinates and written mirrored, as the PDK says. Run
    layoutgen build templates/backside_wlcsp.py
All lengths in µm; the die is centred at (0, 0).
"""

from layoutgen import BallGrid, Design, Die, Plating, Wafer, peripheral_pads
from layoutgen.families.backside_wlcsp import BacksideWlcsp

DIE = 4000.0

# 12 pads per side at 200 µm, 130 µm in from the die edge (the groove over them keeps clear of
# the seal ring). Every 6th pad is VDD, every 6th (offset by 3) is VSS.
pads = peripheral_pads(
    DIE, DIE, per_side=12, pitch=200, inset=130, size=60,
    nets={"VDD": list(range(1, 49, 6)), "VSS": list(range(4, 49, 6))},
)

design = Design(
    name="backside_wlcsp",
    pdk="backside400",
    revision="A",
    die=Die(name="BACKSIDE_WLCSP_4X4", width=DIE, height=DIE, pads=pads),
    package=BacksideWlcsp(
        balls=BallGrid(rows=8, cols=8, pitch=400, depopulate=["C3:F6"]),
        ball="round",
    ),
    # 200 mm wafer, 100 µm scribe with a 50 µm saw kerf, 5 × 6 dies per reticle shot. The plating
    # tails, bus and contact ring are drawn on the back with the wiring (BSWIRE mask); tails are
    # as wide as a lead, since they climb the groove wall like one (BSWIRE.GROOVE1.X).
    wafer=Wafer(diameter=200, edge_exclusion=3000, scribe=100, kerf=50, reticle=(20500, 24600),
                plating=Plating(tail_width=20, bus_width=30, ring_width=2000)),
)
