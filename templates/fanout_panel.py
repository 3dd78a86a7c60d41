"""Fan-out at substrate level: the 8 × 8 mm two-die unit of fanout_2die.py on a 100 × 100 mm carrier panel.

The dies are placed face down on a carrier, moulded and the wiring levels built over the whole
panel, so every mask is panel-size: the unit array with its singulation lanes and a free frame,
global marks in the frame, box-in-box unit marks at two corners of every unit (where the two
corner balls R1 and A15 are left out for them), two unit sites given to process test structures
(daisy chains, Kelvins, combs, plating monitors; teststructures.csv lists their probe pads).
After pick-and-place, measure where each die landed and give the file: VIA1 and the capture
pads of WIRE1 then follow each die, the levels above stay nominal.

Edit the unit in fanout_2die.py (this file takes it as it is) and the panel here, and run
    layoutgen build templates/fanout_panel.py
All lengths in µm; the panel is centred at (0, 0).
"""

from pathlib import Path

from layoutgen import CarrierPanel, load

unit = load(Path(__file__).with_name("fanout_2die.py"))
balls = unit.package.balls.model_copy(update={"depopulate": [*unit.package.balls.depopulate, "R1", "A15"]})
design = unit.model_copy(update={"name": "fanout_panel", "package": unit.package.model_copy(update={
    "balls": balls,
    "panel": CarrierPanel(size=(100000, 100000), frame=5000),
    # "die_shift": "die_shift.csv",   # measured placement per unit: unit,dx,dy,rotation (µm, µm, degrees)
})})
