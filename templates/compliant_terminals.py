"""Compliant terminals etched from a copper sheet: a 5 × 5 mm chip, 56 contacts, leads to a staggered ring of terminals.

Process (family 3, after WO 98/28955): flexible leads on the bottom of a 150 µm copper sheet
are bonded tip-first on the chip contacts, the sheet is lifted 250 µm and a compliant layer
injected; etch-resist spots on the top then etch the sheet into one "cooling tower" terminal
per lead. This template uses the potential-plane variant: the first etch stops 30 µm short
and leaves a plane, the second opens a ring around every terminal except the VSS ones, which
stay joined to the plane (a ground plane). Each lead tip carries its Au-Sn bonding metal (BOND
mask). The four fiducials are etched through the sheet first (THRU mask) and drawn on every
mask, so the top-side masks register to the bottom-side leads through the opaque sheet.

Copy this file, edit the die, the contacts and the sheet, and run
    layoutgen build templates/compliant_terminals.py
All lengths in µm; the die is centred at (0, 0), seen from the sheet's top.
"""

from layoutgen import Design, Die, peripheral_pads
from layoutgen.families.sheet_terminals import Fiducials, Frame, PotentialPlane, SheetTerminals

DIE = 5000.0

# 14 contacts per side at 200 µm, 100 µm in from the die edge; every 7th is VDD, every 7th
# (offset by 3) is VSS, the others carry their own signal.
pads = peripheral_pads(
    DIE, DIE, per_side=14, pitch=200, inset=100, size=60,
    nets={"VDD": list(range(1, 57, 7)), "VSS": list(range(4, 57, 7))},
)

design = Design(
    name="compliant_terminals",
    pdk="sheet100",
    revision="A",
    die=Die(name="SHEET_TERMINALS_5X5", width=DIE, height=DIE, pads=pads),
    package=SheetTerminals(
        # One terminal per lead, over the lead's via liner. The fixed ends alternate 400 and
        # 800 µm in from the contacts, so neighbouring terminals sit 400 µm apart.
        placement="per_lead",
        offsets=[400, 800],
        # Or (figs. 8-9) terminals on an area grid, each lead's fixed end joined to its own terminal
        # by a via, a trace inside the dielectric and a via (masks SVIA, TRACE, TVIA instead of
        # LINER); the grid needs at least one terminal per lead:
        #   placement="grid", grid=BallGrid(rows=8, cols=8, pitch=350),
        # The patent's other embodiments (each with its own masks; see SheetTerminals' docstring):
        #   dielectric=False,        figs. 10-14: leads on the bare sheet, joined by the release etch's stem
        #   terminals="masses",      fig. 17: gold masses in cavities (MASS) are the terminals, no SPOT mask
        #   attach="posts", posts=RigidPosts(diameter=60, height=50),   fig. 19: rigid posts (PILLAR), no leads
        # and, over a whole wafer, templates/compliant_terminals_wafer.py (fig. 15's injection ports there).
        spot_shape="circle",          # "circle", "square", "triangle" or "polygon" (spot_sides=...)
        terminal_top=120,             # target terminal top; the spot is this + 2·depth/EF
        sheet_thickness=150,
        etch_factor=3.0,
        lift=250,                     # leads are ≥ (1 + lead_slack)·(lift + offset) long
        lead_slack=0.1,
        liner_diameter=60,
        tip_diameter=40,
        plane=PotentialPlane(thickness=30, tied=["VSS"]),
        frame=Frame(inset=0),
        fiducials=Fiducials(size=150, inset=200),
    ),
)
