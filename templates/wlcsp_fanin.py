"""Fan-in WLCSP: a 5 × 5 mm die, 128 peripheral pads, 12 × 12 balls at 400 µm (centre 4 × 4 empty),
on a 200 mm wafer with a kerf-connected plating network.

Copy this file, edit the die, the pads and the ball grid, and run
    layoutgen build templates/wlcsp_fanin.py
All lengths in µm; the die is centred at (0, 0).
"""

from layoutgen import BallGrid, Design, Die, FanInWlcsp, Plating, Posts, Wafer, peripheral_pads

DIE = 5000.0

# 32 pads per side at 140 µm, 70 µm in from the die edge. Power and ground are shared nets:
# every 8th pad is VDD, every 8th (offset by 4) is VSS; the others carry their own signal.
pads = peripheral_pads(
    DIE, DIE, per_side=32, pitch=140, inset=70, size=60,
    nets={"VDD": list(range(1, 129, 8)), "VSS": list(range(5, 129, 8))},
)

design = Design(
    name="wlcsp_fanin",
    pdk="sky400",
    revision="A",
    die=Die(name="WLCSP_FANIN_5X5", width=DIE, height=DIE, pads=pads),
    package=FanInWlcsp(
        balls=BallGrid(rows=12, cols=12, pitch=400, depopulate=["E5:H8"]),
        bump="round",
        # Cu posts that bend (seed 001, claim 1): 25 µm across, 250 µm long in the polymer (the
        # PDK's 10:1 post via), 25 µm proud of it. Under a 60 K swing with the board 14 ppm/K
        # off the die, the corner post's top moves 2.6 µm and its root sees σ = 3·Y·d·D/2L²
        # = 183 MPa, below plated copper's 250 MPa yield: the summary lists force, stress and
        # margin per ball. A −40…125 °C cycle (165 K) would yield the outer posts: the build
        # stops and names them (or, with on_yield="warn", reports them).
        posts=Posts(diameter=25, height=250, projection=25, modulus_gpa=117, yield_mpa=250,
                    load="board", cte_mismatch_ppm=14.0, delta_t=60),
    ),
    # The wafer: dies on a 5.1 mm pitch (100 µm scribe, 50 µm saw kerf holding the 30 µm plating
    # bus), whole dies only inside the 3 mm edge exclusion, a 2 mm contact ring at the edge,
    # and a 20 × 25 mm reticle field for the shot map.
    wafer=Wafer(diameter=200, edge_exclusion=3000, scribe=100, kerf=50, reticle=(20400, 25500),
                plating=Plating(tail_width=20, bus_width=30, ring_width=2000),
                test_sites=["centre", "top", "bottom"]),   # process test structures in three die sites
)
