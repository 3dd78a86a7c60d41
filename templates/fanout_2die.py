"""Fan-out unit on a metal carrier: two different dies, two wiring levels, a VDD/VSS bus ring,
a spiral inductor and a MIM capacitor, on an 8 × 8 mm unit with a 15 × 15 ball grid at 0.5 mm.

The MCU die (3.0 × 2.4 mm, 36 pads) sits as drawn; the RF die (1.6 × 1.6 mm, 24 pads) is turned
90° so that its pads 13–18 face the MCU's pads 11–18: six die-to-die nets run directly between
them. Every other signal pad fans out to the nearest free ball (chosen automatically so that
no two fan-out lines cross). VDD and VSS pads join the two bus rings, which run in the ball
grid's gaps and reach their balls (between the rings) on the top level. The RF output goes
through the spiral L1 to the antenna ball; C1 decouples VDD to VSS.

Copy this file, edit the dies, the placement and the ball grid, and run
    layoutgen build templates/fanout_2die.py
All lengths in µm; the unit is centred at (0, 0); die pads are given from the die centre.
"""

from layoutgen import BallGrid, Design, Die, peripheral_pads
from layoutgen.families.fanout import BusRing, Fanout, FanoutDie, MimCapacitor, SpiralInductor

UNIT = 8000.0

# MCU: 10 pads on the long sides, 8 on the short ones, numbered counter-clockwise from the
# bottom-left (bottom 1-10, right 11-18, top 19-28, left 29-36).
mcu_d2d = {11: "D2D5", 12: "D2D4", 13: "D2D3", 16: "D2D2", 17: "D2D1", 18: "D2D0"}
mcu_pads = peripheral_pads(
    3000, 2400, per_side=(10, 8, 10, 8), pitch=200, inset=100, size=80, prefix="M",
    nets={"VDD": [5, 15, 24, 33], "VSS": [6, 14, 25, 32], **{net: [n] for n, net in mcu_d2d.items()}},
)

# RF: 6 pads per side (bottom 1-6, right 7-12, top 13-18, left 19-24 before rotation).
rf_d2d = {13: "D2D0", 14: "D2D1", 15: "D2D2", 16: "D2D3", 17: "D2D4", 18: "D2D5"}
rf_pads = peripheral_pads(
    1600, 1600, per_side=6, pitch=200, inset=100, size=80, prefix="R",
    nets={"VDD": [3, 10], "VSS": [4, 11], "RF_OUT": [21], **{net: [n] for n, net in rf_d2d.items()}},
)

design = Design(
    name="fanout_2die",
    pdk="fanout500",
    revision="A",
    package=Fanout(
        size=(UNIT, UNIT),
        lane=100,
        levels=2,
        dies=[
            FanoutDie(die=Die(name="MCU", width=3000, height=2400, pads=mcu_pads), x=-1000, y=600, rotation=0),
            FanoutDie(die=Die(name="RF", width=1600, height=1600, pads=rf_pads), x=1700, y=800, rotation=90),
        ],
        balls=BallGrid(
            rows=15, cols=15, pitch=500,
            depopulate=["K11:L12", "L5:M6"],          # windows for the inductor and the capacitor
            nets={"B5": "VDD", "B11": "VDD", "P5": "VDD", "P11": "VDD",
                  "B8": "VSS", "P8": "VSS", "H2": "VSS", "H14": "VSS"},
        ),
        rings=[
            BusRing(net="VDD", size=(5500, 5500), width=100),   # in the gaps between ball rows 2/3 from the edge
            BusRing(net="VSS", size=(6500, 6500), width=100),
        ],
        inductors=[
            SpiralInductor(name="L1", nets=("RF_OUT", "ANT"), x=1750, y=-1250,
                           turns=3, width=20, spacing=20, inner_diameter=160),
        ],
        capacitors=[
            MimCapacitor(name="C1", nets=("VSS", "VDD"), x=-1250, y=-1750, width=400, height=400),
        ],
    ),
)
