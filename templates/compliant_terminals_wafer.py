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

Edit the chip, its contacts and leads in compliant_terminals.py (this file takes it as it is)
and the sheet and the wafer here, and run
    layoutgen build templates/compliant_terminals_wafer.py
All lengths in µm; the wafer is centred at (0, 0), seen from the sheet's top.
"""

from pathlib import Path

from layoutgen import Wafer, load
from layoutgen.families.sheet_terminals import Fiducials, Frame, InjectionPorts, WaferSheet

chip = load(Path(__file__).with_name("compliant_terminals.py"))
design = chip.model_copy(update={
    "name": "compliant_terminals_wafer",
    "package": chip.package.model_copy(update={
        "frame": Frame(inset=1000),                           # frame outline 1 mm inside the sheet's edge
        "fiducials": Fiducials(size=400),                     # crosses at the wafer's mark sites
        "ports": InjectionPorts(count=2, diameter=1500),      # fig. 15: the compliant liquid goes in through these
        "sheet": WaferSheet(
            margin=5000,              # sheet edge 5 mm beyond the wafer edge: a 210 mm sheet
            expansion=17.0,           # copper, ppm/K (or the holding frame's, when it keeps the sheet taut)
            wafer_expansion=2.6,      # silicon, ppm/K
            temperature_step=180,     # bond temperature minus mask exposure temperature, K
        ),
    }),
    # 200 mm wafer, 5.1 mm pitch (100 µm scribe, 50 µm saw kerf), whole dies inside the 3 mm edge exclusion.
    "wafer": Wafer(diameter=200, edge_exclusion=3000, scribe=100, kerf=50,
                   test_sites=["centre", "top", "bottom"]),   # process test structures in three chip sites
})
