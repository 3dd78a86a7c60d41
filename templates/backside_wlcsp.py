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

from layoutgen import Alignment, AlignmentKey, BallGrid, Design, Die, Plating, Wafer, peripheral_pads
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
    # The backside masks register to the front: GROOVE1 (the first) frames two 40 µm front-side keys
    # in the wafer's edge region, at opposite corners clear of every die site, seen through the
    # 100 µm silicon in infrared (backside="through_wafer" etches a window over each key instead,
    # widened by 100 / tan 75° like the grooves); every later backside mask registers to GROOVE1's
    # etched marks. AlignmentKey(x, y) with the default frame="die" names a key in the die's own
    # layout instead. Mask files are mirrored.
    wafer=Wafer(diameter=200, edge_exclusion=3000, scribe=100, kerf=50, reticle=(20500, 24600),
                plating=Plating(tail_width=20, bus_width=30, ring_width=2000),
                alignment=Alignment(keys=[AlignmentKey(x=-68300, y=-68300, frame="wafer"),
                                    AlignmentKey(x=68300, y=68300, frame="wafer")], backside="ir"),
                test_sites=["centre", "top", "bottom"]),   # process test structures in three die sites
)
