"""Family 5's parameters: dies placed in the unit, wiring levels, ball grid, bus rings, passives, panel. All lengths in µm."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from layoutgen.design import Alignment, BallGrid, Die, Length, Model, Package


NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


class FanoutDie(Model):
    """One die placed in the unit: the die (outline and pads), its centre and its rotation."""

    die: Die = Field(description="the die: outline, pads (from its own centre)")
    x: float = Field(default=0.0, description="die centre x from the unit centre, µm")
    y: float = Field(default=0.0, description="die centre y from the unit centre, µm")
    rotation: Literal[0, 90, 180, 270] = Field(default=0, description="counter-clockwise rotation, degrees")
    name: str | None = Field(default=None, pattern=NAME_PATTERN, description="instance name (default: the die's name)")

    @property
    def instance(self) -> str:
        """The instance name: `name`, else the die's name."""
        return self.name or self.die.name

    def place(self, x: float, y: float) -> tuple[float, float]:
        """A point given from the die centre, in unit coordinates (rotated, then moved)."""
        r = self.rotation
        px, py = {0: (x, y), 90: (-y, x), 180: (-x, -y), 270: (y, -x)}[r]
        return self.x + px, self.y + py

    def footprint(self) -> tuple[float, float]:
        """(width, height) of the placed die (swapped at 90° and 270°)."""
        w, h = self.die.width, self.die.height
        return (h, w) if self.rotation in (90, 270) else (w, h)


class BusRing(Model):
    """A power or ground bus: a closed rectangular band on one wiring level."""

    net: str = Field(min_length=1, description="the ring's net (VDD, VSS, ...)")
    size: tuple[float, float] = Field(description="centreline width × height of the ring, µm")
    width: Length = Field(description="band width, µm")
    center: tuple[float, float] = Field(default=(0.0, 0.0), description="ring centre from the unit centre, µm")
    level: int | None = Field(default=None, ge=1, description="wiring level (default: the top one)")

    @field_validator("size")
    @classmethod
    def _positive(cls, v: tuple[float, float]) -> tuple[float, float]:
        if min(v) <= 0:
            raise ValueError("ring size must be positive")
        return v


class Passive(Model):
    """What every passive device has: a name, the two nets it joins, its centre in the unit."""

    name: str = Field(pattern=NAME_PATTERN, description="device name (L1, C1, R1, ...)")
    nets: tuple[str, str] = Field(description="the two nets at its pins")
    x: float = Field(description="device centre x from the unit centre, µm")
    y: float = Field(description="device centre y from the unit centre, µm")

    @field_validator("nets")
    @classmethod
    def _two_nets(cls, v: tuple[str, str]) -> tuple[str, str]:
        if v[0] == v[1]:
            raise ValueError(f"both pins on net {v[0]!r}: a device between a net and itself is shorted")
        return v


class SpiralInductor(Passive):
    """A square spiral inductor: turns on one level, an underpass one level below to its inner end.

    `nets`: (net at the outer pin, net at the inner pin).
    """

    turns: int = Field(ge=1, le=30, description="number of turns")
    width: Length = Field(description="trace width, µm")
    spacing: Length = Field(description="space between turns, µm")
    inner_diameter: Length = Field(description="inner edge-to-edge size of the innermost turn, µm")
    level: int | None = Field(default=None, ge=2, description="level of the turns (default: top); underpass one below")


class MimCapacitor(Passive):
    """A parallel-plate capacitor: top plate on one level, a larger bottom plate one level below.

    `nets`: (bottom plate net, top plate net).
    """

    width: Length = Field(description="top plate width, µm")
    height: Length = Field(description="top plate height, µm")
    level: int | None = Field(default=None, ge=2, description="level of the top plate (default: top)")


class MeanderResistor(Passive):
    """A meander resistor in one wiring level: vertical legs joined alternately top and bottom.

    `nets`: (net at the left pin, net at the right pin).
    """

    legs: int = Field(ge=1, le=200, description="number of legs")
    leg_length: Length = Field(description="centreline length of one leg, µm")
    width: Length | None = Field(default=None, description="trace width, µm (default: the level's minimum)")
    spacing: Length | None = Field(default=None, description="space between legs, µm (default: the level's minimum)")
    level: int = Field(default=1, ge=1, description="wiring level")


class CarrierPanel(Model):
    """A rectangular carrier panel: units in rows and columns, singulation lanes between them, a free frame."""

    kind: Literal["panel"] = "panel"
    size: tuple[float, float] = Field(description="panel width × height, µm")
    frame: float = Field(default=5000.0, ge=0, description="band at the panel edge kept free of units, µm")
    edge_exclusion: float = Field(default=2000.0, ge=0, description="band at the panel edge kept free of marks "
                                  "(clamps, handling), µm")
    alignment: Alignment = Field(default_factory=Alignment, description="mark sites (panel x, y, µm) and vernier step")
    test_units: list[str] | None = Field(default=None, description="unit sites (R<row>C<col>) given to the process test "
                                         "structures; None: the middle units of the bottom and top rows; []: none")

    @field_validator("size")
    @classmethod
    def _positive(cls, v: tuple[float, float]) -> tuple[float, float]:
        if min(v) <= 0:
            raise ValueError("panel size must be positive")
        return v

    @model_validator(mode="after")
    def _no_keys(self) -> "CarrierPanel":
        if self.alignment.keys:
            raise ValueError("a bare carrier has no incoming keys: its first mask (CAVITY) is the zero layer")
        return self


class ReconstitutedWafer(Model):
    """A reconstituted (moulded) round wafer of units: units in rows inside the edge exclusion, marks outside them."""

    kind: Literal["wafer"] = "wafer"
    diameter: Literal[200, 300, 330] = Field(description="wafer diameter, mm")
    orientation: Literal["notch", "flat"] = Field(default="notch", description="notch or flat at the bottom")
    edge_exclusion: float = Field(default=3000.0, ge=0, description="edge exclusion (no unit, no mark), µm")
    alignment: Alignment = Field(default_factory=Alignment, description="mark sites (wafer x, y, µm) and vernier step")
    test_units: list[str] | None = Field(default=None, description="unit sites (R<row>C<col>) given to the process test "
                                         "structures; None: the middle units of the bottom and top rows; []: none")

    @model_validator(mode="after")
    def _no_keys(self) -> "ReconstitutedWafer":
        if self.alignment.keys:
            raise ValueError("a reconstituted wafer has no incoming keys: its first mask (CAVITY) is the zero layer")
        return self


class Fanout(Package):
    """Family 5: a fan-out unit: dies in carrier cavities, n wiring levels to a ball grid, buses, passives."""

    ball_nets_with_auto: ClassVar[bool] = True   # explicit nets first, then auto for the rest

    family: Literal["fanout"] = "fanout"
    places_dies: ClassVar[bool] = True
    size: tuple[float, float] = Field(description="unit (package) width × height, µm")
    dies: list[FanoutDie] = Field(min_length=1, description="the dies, each placed and rotated")
    balls: BallGrid = Field(description="ball grid, centred on the unit unless offset")
    levels: int = Field(default=2, ge=1, le=9, description="wiring levels (WIRE1..WIREn, VIA1..VIAn)")
    rings: list[BusRing] = Field(default_factory=list, description="power / ground bus rings")
    inductors: list[SpiralInductor] = Field(default_factory=list, description="spiral inductors")
    capacitors: list[MimCapacitor] = Field(default_factory=list, description="MIM capacitors")
    resistors: list[MeanderResistor] = Field(default_factory=list, description="meander resistors")
    lane: Length = Field(default=100.0, description="singulation lane width between units, µm")
    panel: CarrierPanel | ReconstitutedWafer | None = Field(
        default=None, discriminator="kind", description="the substrate the units are made on: a rectangular carrier panel or a "
        "reconstituted round wafer (see layoutgen.wafer.panel)")
    unit_marks: Literal["corners", "none"] = Field(
        default="corners", description="the unit marks on a panel or wafer: at the lower-left and upper-right corners of "
        "every unit (keep those corners free), or none (the units register to the global marks only)")
    die_shift: str | None = Field(default=None, description="CSV of the measured die shift after placement (columns unit, "
                                  "dx, dy, rotation; optional die), relative to the config: the first via mask is adapted "
                                  "per unit (needs `panel`)")
    route_pitch: float | None = Field(default=None, gt=0, description="routing grid pitch, µm (default: the smallest "
                                      "≥ every level's width + space that puts the ball centres on the grid)")
    via_cost: float = Field(default=200.0, gt=0, description="routing cost of a level change, in µm of trace")
    top_level_cost: float = Field(default=1.5, ge=1, description="routing cost per µm on the ball level, relative to the others")

    @field_validator("size")
    @classmethod
    def _size_positive(cls, v: tuple[float, float]) -> tuple[float, float]:
        if min(v) <= 0:
            raise ValueError("unit size must be positive")
        return v

    @model_validator(mode="after")
    def _names_unique(self) -> "Fanout":
        seen: set[str] = set()
        for d in self.dies:
            if d.instance in seen:
                raise ValueError(f"die instance {d.instance!r} used twice: give FanoutDie(name=...) to each copy")
            seen.add(d.instance)
        for dev in [*self.inductors, *self.capacitors, *self.resistors]:
            if dev.name in seen:
                raise ValueError(f"name {dev.name!r} used twice (dies and passives need distinct names)")
            seen.add(dev.name)
        return self
