"""Compliant terminals at wafer scale: one copper sheet over a 200 mm wafer of the 5 × 5 mm chips of compliant_terminals.py.

Process (family 3, after WO 98/28955, p. 10: "wafer 22 and structure 13 may be about 10-30 cm
in diameter"): one 150 µm copper sheet, 10 mm wider than the wafer and held taut in a ring
frame, carries the leads of every chip on its bottom. Its tips are bonded to all the chips at
once at the bond temperature, the sheet is lifted, the compliant layer injected, and the sheet
etched into terminals over the whole wafer; the assembly is then severed along the scribe
lines. The masks expose the sheet at room temperature: at the bond temperature, 180 K hotter,
the copper has grown 17 ppm/K and the silicon 2.6 ppm/K, so every sheet mask is drawn scaled
by (1 + 2.6e-6·180) / (1 + 17e-6·180) ≈ 0.99741 about the wafer centre (the mask label and the
mask order table say so) and the leads land on the contacts when hot. The frame outline is
drawn once around the sheet; the fiducial crosses are etched through the sheet first (THRU)
beside the dies at the two ends of the x axis, and every later mask carries them (MARK); below
each, every later mask frames the cross of the mask it aligns to (box-in-box) and has x and y
verniers against it, on its own layer (mask_order.csv names each mask's mark). Two
injection ports (fig. 15) are etched through the sheet with them, between the wafer and the
frame, for the liquid that lifts the sheet and cures into the compliant layer.

Copy this file, edit the die, the contacts, the sheet and the wafer, and run
    layoutgen build templates/compliant_terminals_wafer.py
All lengths in µm; the wafer is centred at (0, 0), seen from the sheet's top.
"""

from layoutgen import Design, Die, Wafer, peripheral_pads
from layoutgen.families.sheet_terminals import (
    Fiducials, Frame, InjectionPorts, PotentialPlane, SheetTerminals, WaferSheet,
)

DIE = 5000.0

# 14 contacts per side at 200 µm, 100 µm in from the die edge; every 7th is VDD, every 7th
# (offset by 3) is VSS, the others carry their own signal.
pads = peripheral_pads(
    DIE, DIE, per_side=14, pitch=200, inset=100, size=60,
    nets={"VDD": list(range(1, 57, 7)), "VSS": list(range(4, 57, 7))},
)

design = Design(
    name="compliant_terminals_wafer",
    pdk="sheet100",
    revision="A",
    die=Die(name="SHEET_TERMINALS_5X5", width=DIE, height=DIE, pads=pads),
    package=SheetTerminals(
        placement="per_lead",
        offsets=[400, 800],
        spot_shape="circle",
        terminal_top=120,
        sheet_thickness=150,
        etch_factor=3.0,
        lift=250,
        lead_slack=0.1,
        liner_diameter=60,
        tip_diameter=40,
        plane=PotentialPlane(thickness=30, tied=["VSS"]),   # one ground plane over the whole wafer
        frame=Frame(inset=1000),                             # frame outline 1 mm inside the sheet's edge
        fiducials=Fiducials(size=400),                       # crosses at the wafer's mark sites
        ports=InjectionPorts(count=2, diameter=1500),        # fig. 15: the compliant liquid goes in through these
        sheet=WaferSheet(
            margin=5000,              # sheet edge 5 mm beyond the wafer edge: a 210 mm sheet
            expansion=17.0,           # copper, ppm/K (or the holding frame's, when it keeps the sheet taut)
            wafer_expansion=2.6,      # silicon, ppm/K
            temperature_step=180,     # bond temperature minus mask exposure temperature, K
        ),
    ),
    # 200 mm wafer, 5.1 mm pitch (100 µm scribe, 50 µm saw kerf), whole dies inside the 3 mm edge exclusion.
    wafer=Wafer(diameter=200, edge_exclusion=3000, scribe=100, kerf=50,
                test_sites=["centre", "top", "bottom"]),   # process test structures in three chip sites
)
