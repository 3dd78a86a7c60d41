"""The design a config describes: die, pads, ball grid, package family, wafer. All lengths in µm.

Each model records the config file and line that created it, so errors found later (against
the PDK, or by the router) can point the user at the line to change.
"""

from __future__ import annotations

import contextvars
import fnmatch
import re
import sys
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from .units import AREA_EPS_UM2, LENGTH_EPS_UM

# The config file being executed; models created while it runs remember their line in it.
CONFIG_FILE: contextvars.ContextVar[str | None] = contextvars.ContextVar("CONFIG_FILE", default=None)

JEDEC_ROW_LETTERS = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in "IOQSXZ"]

Length = Annotated[float, Field(gt=0, description="µm")]


def field_line(path: Path, start: int, field: str | None) -> int:
    """The line at or after `start` where `field=` is written (within 40 lines), else `start`."""
    if not field:
        return start
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return start
    pat = re.compile(rf"\b{re.escape(field)}\s*=")
    for i in range(start - 1, min(len(lines), start + 39)):
        if pat.search(lines[i]):
            return i + 1
    return start


def _config_line() -> tuple[str, int] | None:
    """The innermost (file, line) of the running config file on the call stack."""
    target = CONFIG_FILE.get()
    if target is None:
        return None
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_filename == target:
            return (target, frame.f_lineno)
        frame = frame.f_back
    return None


class FieldValueError(ValueError):
    """A model check's failure that names its field: reported as `Model.field = value: reason` at
    the config line where the field is written (not the model's whole value)."""

    def __init__(self, field: str | tuple, value: object, reason: str) -> None:
        super().__init__(reason)
        self.field = (field,) if isinstance(field, str) else tuple(field)
        self.value, self.reason = value, reason


class Model(BaseModel):
    """Base of the design models: strict fields, and the config line that made the object."""

    # allow_inf_nan=False: NaN and ±inf are refused in every float field (they would reach
    # round() and GEOS, or summary.json as invalid JSON).
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)
    _src: tuple[str, int] | None = PrivateAttr(default=None)

    def model_post_init(self, __context: object) -> None:
        self._src = _config_line()

    def model_copy(self, *, update: dict | None = None, deep: bool = False):
        """A copy with `update` applied, validated as construction is: a bad value raises the same
        error (pydantic's own model_copy trusts `update` and skips every check)."""
        if not update:
            return super().model_copy(deep=deep)
        base = super().model_copy(deep=deep)
        new = type(self).model_validate({**{k: getattr(base, k) for k in type(self).model_fields}, **update})
        if new._src is None:
            new._src = self._src
        return new

    def where(self) -> str:
        """'file:line' of the config that created this object, or '<unknown>'."""
        return f"{self._src[0]}:{self._src[1]}" if self._src else "<unknown>"


class Pad(Model):
    """One chip I/O pad: name, net, centre (from the die centre), size and shape."""

    name: str = Field(min_length=1, description="pad name as the die vendor gives it")
    net: str = Field(min_length=1, description="net name; pads of one net are joined inside the die")
    x: float = Field(description="centre x from the die centre, µm")
    y: float = Field(description="centre y from the die centre, µm")
    width: Length = Field(default=60.0, description="pad width, µm")
    height: Length = Field(default=60.0, description="pad height, µm")
    shape: Literal["rect", "octagon", "round"] = Field(default="rect", description="pad outline")


def _parse_ball(name: str) -> tuple[int, int]:
    """(row index, column index) of a JEDEC ball name such as 'A1' or 'AB12'."""
    m = re.fullmatch(r"([A-Z]+)(\d+)", name.strip().upper())
    if not m:
        raise ValueError(f"{name!r} is not a ball name like 'A1' or 'AB12'")
    letters, num = m.groups()
    letters_idx = 0
    for ch in letters:
        if ch not in JEDEC_ROW_LETTERS:
            raise ValueError(f"ball row letter {ch!r} in {name!r} is not used by JEDEC (no I, O, Q, S, X, Z)")
    # Rows A..Y, then AA, AB, ... (two letters, JEDEC style).
    if len(letters) == 1:
        letters_idx = JEDEC_ROW_LETTERS.index(letters)
    elif len(letters) == 2:
        letters_idx = len(JEDEC_ROW_LETTERS) * (JEDEC_ROW_LETTERS.index(letters[0]) + 1) + JEDEC_ROW_LETTERS.index(letters[1])
    else:
        raise ValueError(f"ball name {name!r} has too many row letters")
    col = int(num) - 1
    if col < 0:
        raise ValueError(f"ball column in {name!r} starts at 1")
    return letters_idx, col


def ball_name(row: int, col: int) -> str:
    """JEDEC name of the ball at (row, col), both from 0: A1, B3, ..., AA1."""
    n = len(JEDEC_ROW_LETTERS)
    letters = JEDEC_ROW_LETTERS[row] if row < n else JEDEC_ROW_LETTERS[row // n - 1] + JEDEC_ROW_LETTERS[row % n]
    return f"{letters}{col + 1}"


def expand_balls(spec: str) -> list[tuple[int, int]]:
    """(row, col) of a ball name or a rectangular range 'E5:H8'."""
    if ":" in spec:
        a, b = spec.split(":", 1)
        (r0, c0), (r1, c1) = _parse_ball(a), _parse_ball(b)
        return [(r, c) for r in range(min(r0, r1), max(r0, r1) + 1) for c in range(min(c0, c1), max(c0, c1) + 1)]
    return [_parse_ball(spec)]


class NetClass(Model):
    """Trace width and space for the nets whose names match a pattern (`VDD*`), µm; ≥ the PDK rules."""

    width: Length = Field(description="trace width for these nets, µm")
    space: Length = Field(description="space from these nets' traces to other metal, µm")


class BallGrid(Model):
    """The balls: an area grid (rows × columns at a pitch) or an explicit list of ball positions.

    Ball A1 is the top-left ball seen from the bump side's mask (top view of the die):
    rows are lettered A, B, ... downwards (JEDEC letters, no I O Q S X Z), columns 1, 2, ...
    to the right. `at` lists (name, x, y) instead, for staggered or hexagonal arrays; `pitch`
    is then the smallest ball pitch. Assignment: 'explicit' takes `nets` as the whole ball
    map (balls not in it are no-connects); 'auto' picks every ball itself, keeping the balls
    `nets` fixes (partial assignment).
    """

    rows: int | None = Field(default=None, ge=1, le=60, description="number of ball rows (None with `at`)")
    cols: int | None = Field(default=None, ge=1, le=60, description="number of ball columns (None with `at`)")
    pitch: Length = Field(description="ball pitch (smallest centre-to-centre distance), µm")
    offset: tuple[float, float] = Field(default=(0.0, 0.0), description="grid centre from the die centre, µm")
    at: list[tuple[str, float, float]] | None = Field(default=None, description="explicit balls (name, x, y) from the die centre, µm, instead of rows × cols")
    depopulate: list[str] = Field(default_factory=list, description="ball names or ranges ('E5:H8') left out")
    assign: Literal["auto", "explicit"] = Field(default="auto", description="net-to-ball assignment: auto (nets fix some balls) or explicit")
    nets: dict[str, str] = Field(default_factory=dict, description="ball name -> net: the whole map (explicit) or fixed balls (auto)")
    net_classes: dict[str, NetClass] = Field(default_factory=dict, description="net name or pattern ('VDD*') -> trace width and space")

    @field_validator("depopulate")
    @classmethod
    def _ball_specs_parse(cls, v: list[str]) -> list[str]:
        for spec in v:
            expand_balls(spec)
        return v

    @field_validator("nets")
    @classmethod
    def _net_keys_parse(cls, v: dict[str, str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for name, net in v.items():
            try:
                _parse_ball(name)
            except ValueError as e:
                raise FieldValueError(name, net, str(e)) from None
            if not net:
                raise FieldValueError(name, net, f"ball {name} has an empty net name (leave a no-connect ball out of nets)")
            ball = name.strip().upper()   # 'a1' is ball A1, as in depopulate
            if ball in out:
                raise FieldValueError(name, net, f"ball {ball} is named twice in nets")
            out[ball] = net
        return out

    @field_validator("at")
    @classmethod
    def _at_names_parse(cls, v: list[tuple[str, float, float]] | None) -> list[tuple[str, float, float]] | None:
        return None if v is None else [(n.strip().upper() if isinstance(n, str) else n, x, y) for n, x, y in v]

    @model_validator(mode="after")
    def _grid_or_list(self) -> "BallGrid":
        if self.at is None and (self.rows is None or self.cols is None):
            raise FieldValueError("rows" if self.rows is None else "cols", None,
                                  "give rows and cols, or the ball positions at=[('A1', x, y), ...]")
        if self.at is not None and (self.rows is not None or self.cols is not None):
            raise FieldValueError("at", self.at, "give either rows and cols or at=[...], not both")
        if self.at is not None:
            names = [n for n, _, _ in self.at]
            for n in names:
                try:
                    _parse_ball(n)
                except ValueError as e:
                    raise FieldValueError("at", n, str(e)) from None
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise FieldValueError("at", dup[0], f"ball {dup[0]} is listed twice in at")
        if self.assign == "explicit" and not self.nets:
            raise FieldValueError("assign", self.assign, "assign='explicit' needs nets={'A1': 'VDD', ...}")
        known = {n for n, _, _ in self.positions()}
        gone = self._gone()
        for name, net in self.nets.items():
            if _parse_ball(name) in gone:
                raise FieldValueError(("nets", name), net, f"ball {name} is depopulated (depopulate={self.depopulate!r})")
            if name not in known:
                where = f"the {self.rows} × {self.cols} grid" if self.at is None else "the balls listed in at"
                raise FieldValueError(("nets", name), net, f"ball {name} is outside {where}")
        return self

    def _gone(self) -> set[tuple[int, int]]:
        return {rc for spec in self.depopulate for rc in expand_balls(spec)}

    def positions(self) -> list[tuple[str, float, float]]:
        """(name, x, y) of every populated ball, row by row from A1 (or in the order of `at`)."""
        gone = self._gone()
        ox, oy = self.offset
        if self.at is not None:
            return [(n, ox + x, oy + y) for n, x, y in self.at if _parse_ball(n) not in gone]
        out = []
        for r in range(self.rows):
            for c in range(self.cols):
                if (r, c) in gone:
                    continue
                x = ox + (c - (self.cols - 1) / 2) * self.pitch
                y = oy + ((self.rows - 1) / 2 - r) * self.pitch
                out.append((ball_name(r, c), x, y))
        return out

    def net_class(self, net: str) -> NetClass | None:
        """The class of a net: an exact name first, else the first pattern that matches."""
        if net in self.net_classes:
            return self.net_classes[net]
        return next((c for p, c in self.net_classes.items() if fnmatch.fnmatchcase(net, p)), None)


# Cells layoutgen generates are named from their parameters with these prefixes (cells/stacks.py,
# wafer/, each family's cells) or `<die>_PLATED`, `<design>_WAFER<d>`, `<design>_<MASK>`. A die
# of such a name would be replaced by (or place) the generated cell: its name is refused.
GENERATED_CELL_PREFIXES = ("PADSTACK_", "BALLSTACK_", "ALIGNMARKS_", "SHOT_", "WELLSTACK_", "BS_", "FO_",
                           "SHEET_CONTACT_", "SHEET_FIDUCIAL_", "SHEET_LEAD_", "SHEET_TERMINAL_", "FANOUT_", "PANEL_")


def generated_name_clash(name: str, design_name: str | None = None) -> str | None:
    """Why `name` could be the name of a cell layoutgen generates, or None."""
    for prefix in GENERATED_CELL_PREFIXES:
        if name.startswith(prefix):
            return f"names starting with {prefix} are reserved for the cells layoutgen generates"
    if name.endswith("_PLATED"):
        return "names ending in _PLATED are reserved for the plated die cells of a wafer"
    if design_name and re.fullmatch(rf"{re.escape(design_name.replace('-', '_'))}_WAFER\d+|{re.escape(design_name)}_WAFER\d+", name):
        return f"{name} is the name of the wafer cell of design {design_name!r}"
    return None


class Die(Model):
    """The die: outline centred at the origin, its I/O pads, the seal ring band."""

    name: str = Field(default="DIE", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="die cell name")
    width: Length = Field(description="die width including the seal ring, µm")
    height: Length = Field(description="die height including the seal ring, µm")
    pads: list[Pad] = Field(min_length=1, description="I/O pads")
    seal_width: float | None = Field(default=None, ge=0, description="seal ring band width, µm (PDK default)")

    @field_validator("name")
    @classmethod
    def _not_a_generated_name(cls, v: str) -> str:
        why = generated_name_clash(v)
        if why:
            raise ValueError(f"{why}; choose another die name")
        return v

    @model_validator(mode="after")
    def _pads_unique_and_inside(self) -> "Die":
        seen: set[str] = set()
        for i, p in enumerate(self.pads):
            if p.name in seen:
                raise FieldValueError(("pads", i, "name"), p.name, f"pad name {p.name!r} used twice")
            seen.add(p.name)
            if abs(p.x) + p.width / 2 > self.width / 2 or abs(p.y) + p.height / 2 > self.height / 2:
                raise FieldValueError(("pads", i), p.name, f"pad {p.name} at ({p.x}, {p.y}) lies outside the "
                                      f"{self.width} × {self.height} die")
        if self.seal_width is not None:
            try:
                check_pads_clear_of_seal(self, self.seal_width)
            except ValueError as e:
                raise FieldValueError("seal_width", self.seal_width, str(e)) from None
        shorted = overlapping_pads(self.pads)
        if shorted:
            a, b = shorted
            raise FieldValueError(("pads", self.pads.index(b)), b.name,
                                  f"pads {a.name} (net {a.net}) at ({a.x:g}, {a.y:g}) and {b.name} (net {b.net}) at "
                                  f"({b.x:g}, {b.y:g}) overlap: their nets would be shorted")
        return self


def pad_outline(p: Pad):
    """The pad's outline (shapely, µm): a rectangle, an octagon or an ellipse in its width × height."""
    import shapely
    from shapely import affinity

    w, h = p.width / 2, p.height / 2
    if p.shape == "rect":
        return shapely.box(p.x - w, p.y - h, p.x + w, p.y + h)
    if p.shape == "round":
        return affinity.scale(shapely.Point(p.x, p.y).buffer(1.0, quad_segs=16), w, h)
    c = (2 - 2 ** 0.5)                      # an octagon's corner cut, as a fraction of the half size
    return shapely.Polygon([(p.x + sx * a * w, p.y + sy * b * h) for sx, sy, a, b in
                            [(1, -1, 1 - c, 1), (1, -1, 1, 1 - c), (1, 1, 1, 1 - c), (1, 1, 1 - c, 1),
                             (-1, 1, 1 - c, 1), (-1, 1, 1, 1 - c), (-1, -1, 1, 1 - c), (-1, -1, 1 - c, 1)]])


def overlapping_pads(pads: list[Pad]) -> tuple[Pad, Pad] | None:
    """The first two pads of different nets whose outlines overlap (share area), or None."""
    import numpy as np
    import shapely

    shapes = np.array([pad_outline(p) for p in pads], dtype=object)
    i, j = shapely.STRtree(shapes).query(shapes, predicate="intersects")
    for a, b in sorted(zip(i.tolist(), j.tolist())):
        if a < b and pads[a].net != pads[b].net and shapely.area(shapely.intersection(shapes[a], shapes[b])) > AREA_EPS_UM2:
            return pads[a], pads[b]
    return None


def check_pads_clear_of_seal(die: "Die", seal: float) -> None:
    """A ValueError naming the first pad that reaches into the seal ring band (`seal` µm at the die edge)."""
    if seal <= 0:
        return
    for p in die.pads:
        if abs(p.x) + p.width / 2 > die.width / 2 - seal + LENGTH_EPS_UM or abs(p.y) + p.height / 2 > die.height / 2 - seal + LENGTH_EPS_UM:
            raise ValueError(f"pad {p.name} at ({p.x:g}, {p.y:g}), {p.width:g} × {p.height:g} µm, reaches into the "
                             f"{seal:g} µm seal ring band at the die edge")


class Package(Model):
    """Base of every process family's parameters; `family` names the builder that uses them."""

    family: str
    # Whether the family gives BallGrid.nets their balls before assigning the rest automatically.
    ball_nets_with_auto: ClassVar[bool] = False


class Plating(Model):
    """The kerf-connected plating network: tails, scribe-lane bus, wafer-edge contact ring."""

    tail_width: Length = Field(default=20.0, description="plating tail width from each net to the scribe bus, µm")
    bus_width: Length = Field(default=30.0, description="bus width in the scribe lanes, µm")
    ring_width: Length = Field(default=2000.0, description="contact ring width at the wafer edge, µm")
    thieving_density: float | None = Field(default=None, gt=0, lt=1, description="target RDL density for dummy fill (None: no fill)")


class AlignmentKey(Model):
    """A key already on the incoming wafer that the first mask aligns to: centre and outer size, in a die or on the wafer."""

    x: float = Field(description="key centre x, µm: from the die centre (frame='die') or the wafer centre (frame='wafer')")
    y: float = Field(description="key centre y, µm, in the same frame")
    frame: Literal["die", "wafer"] = Field(default="die", description="'die': a key in the die's own layout (used in the "
                                           "two dies nearest the wafer's x axis ends); 'wafer': a key in the scribe at that wafer position")
    size: Length = Field(default=40.0, description="outer size of the key, µm (the first mask's box frames it)")


class Alignment(Model):
    """How the masks register to the wafer: the first mask to keys already on it (or to its own, zero layer); where marks go."""

    keys: list[AlignmentKey] = Field(default_factory=list, description="incoming keys the first mask aligns to; "
                                     "none: the first mask is a zero layer, prealigned to the notch/flat, and creates the keys")
    backside: Literal["ir", "through_wafer"] = Field(default="ir", description="how a backside first mask sees the "
                                                     "front keys: through the silicon in infrared, or as keys etched through the wafer")
    sites: list[tuple[float, float]] | None = Field(default=None, description="mark sites (wafer x, y, µm); None: one "
                                                    "near each end of the x axis inside the edge exclusion")
    vernier_step: Length = Field(default=0.5, description="vernier resolution: pitch difference of the two masks' lines, µm")

    @model_validator(mode="after")
    def _keys_fix_rotation(self) -> "Alignment":
        if self.keys and not any(k.frame == "die" for k in self.keys) and len(self.keys) < 2:
            raise FieldValueError("keys", [(k.x, k.y) for k in self.keys],
                                  "one wafer-frame key fixes no rotation: give two, or a key in the die (frame='die')")
        if self.sites is not None and len(self.sites) < 2:
            raise FieldValueError("sites", self.sites, "an aligner needs two mark sites, apart")
        return self


class Stepper(Model):
    """A stepper job as well as the 1X masks: a reticle per mask at the stepper's reduction, and the job file."""

    reduction: Literal[1, 4, 5] = Field(default=5, description="stepper reduction: the reticle is the wafer pattern × this")
    max_field: tuple[Length, Length] = Field(default=(26000.0, 33000.0), description="largest field (x, y) the tool "
                                             "exposes at the wafer, µm (26 × 33 mm: today's 4× and 5× steppers and scanners)")
    reticle_pattern: Length = Field(default=132000.0, description="side of the reticle's pattern area, µm "
                                    "(132 mm: a 6-inch reticle)")

    def check_field(self, reticle: tuple[float, float]) -> None:
        """ValueError when the field times the reduction is larger than the reticle's pattern area."""
        if max(reticle) * self.reduction > self.reticle_pattern:
            raise ValueError(f"the {reticle[0]:g} × {reticle[1]:g} µm field at {self.reduction}× is "
                             f"{max(reticle) * self.reduction / 1000:g} mm: larger than the reticle's "
                             f"{self.reticle_pattern / 1000:g} mm pattern area (Stepper.reticle_pattern)")


class Wafer(Model):
    """The wafer: size, orientation mark, edge exclusion, scribe and saw kerf, plating, reticle."""

    diameter: Literal[100, 150, 200, 300] = Field(description="wafer diameter, mm")
    orientation: Literal["notch", "flat"] = Field(default="notch", description="notch or flat at the bottom")
    edge_exclusion: float = Field(default=3000.0, ge=0, description="edge exclusion, µm")
    scribe: Length = Field(default=100.0, description="scribe lane width between dies, µm")
    kerf: Length = Field(default=50.0, description="saw kerf width (removed by dicing), µm")
    offset: tuple[float, float] | Literal["auto"] = Field(default="auto", description="die grid offset from the wafer centre (µm), or 'auto' to maximise the die count")
    reticle: tuple[float, float] | None = Field(default=None, description="reticle field (x, y) in µm, at most the stepper's max_field")
    plating: Plating = Field(default_factory=Plating, description="plating network")
    alignment: Alignment = Field(default_factory=Alignment, description="alignment keys and mark sites")
    stepper: Stepper | None = Field(default=None, description="reticles and a stepper job as well as the 1X masks (needs reticle)")
    test_sites: list[str] = Field(default_factory=list, description="die sites that carry process test structures instead of a die: "
                                  "R<row>C<col> (from R1C1 at the bottom-left of the die map) or a place: 'centre' (the site "
                                  "nearest the wafer centre), 'top', 'bottom', 'left', 'right' (the last site of its column "
                                  "or row); [] none")
    kerf_structures: bool | None = Field(default=None, description="process test structures in the scribe lane as well (the "
                                         "lane above the top row of dies, beside its plating bus, cut off the dies by the "
                                         "saw): None where the lane holds them, True required (an error naming why when it "
                                         "cannot), False never")

    @model_validator(mode="after")
    def _kerf_and_field(self) -> "Wafer":
        if self.kerf >= self.scribe:
            raise FieldValueError("scribe", self.scribe, f"the scribe lane must be wider than the saw kerf that runs "
                                  f"in it (kerf = {self.kerf:g} µm)")
        if self.plating.bus_width >= self.kerf:
            raise FieldValueError(("plating", "bus_width"), self.plating.bus_width, f"the plating bus must fit inside "
                                  f"the saw kerf (kerf = {self.kerf:g} µm) so dicing removes it")
        limit = (self.stepper or Stepper()).max_field
        if self.reticle and (self.reticle[0] > limit[0] or self.reticle[1] > limit[1] or min(self.reticle) <= 0):
            raise FieldValueError("reticle", self.reticle, f"must be positive and at most {limit[0]:g} × {limit[1]:g} µm "
                                  "(the largest field of the stepper, Stepper.max_field)")
        if self.stepper is not None:
            if not self.reticle:
                raise FieldValueError("stepper", self.stepper, "stepper needs reticle=(x, y): the field a shot exposes")
            try:
                self.stepper.check_field(self.reticle)
            except ValueError as e:
                raise FieldValueError(("stepper", "reduction"), self.stepper.reduction, str(e)) from None
        return self


class Design(Model):
    """A whole design: name, PDK, die, package family and its parameters."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_\-]*$", max_length=100,
                      description="design name (output folder; at most 100 characters, file names add to it)")
    pdk: str = Field(min_length=1, description="PDK name or folder")
    revision: str = Field(default="A", pattern=r"^[A-Za-z0-9_.\-]{1,16}$", description="mask revision label")
    die: Die | None = Field(default=None, description="the die (families that place several dies name them in their package)")
    package: Package = Field(description="the process family and its parameters (FanInWlcsp, ...)")
    wafer: Wafer | None = Field(default=None, description="the wafer; None builds the die only")
    config_path: Path | None = Field(default=None, exclude=True, description="set by the loader")

    @model_validator(mode="after")
    def _has_a_die(self) -> "Design":
        if self.die is None and not getattr(self.package, "places_dies", False):
            raise ValueError(f"family {self.package.family!r} needs die=Die(...)")
        for die in [self.die, *(getattr(d, "die", None) for d in getattr(self.package, "dies", []))]:
            why = die is not None and generated_name_clash(die.name, self.name)
            if why:
                raise ValueError(f"Die.name = {die.name!r}: {why}; choose another die name")
        balls = getattr(self.package, "balls", None)
        if isinstance(balls, BallGrid) and self.die is not None:
            from .errors import ConfigError

            line = field_line(Path(balls._src[0]), balls._src[1], "nets") if balls._src else None
            where = f"{balls._src[0]}:{line}" if balls._src else balls.where()
            if balls.assign == "auto" and balls.nets and not self.package.ball_nets_with_auto:
                raise ConfigError(f"{where}: BallGrid.nets = {dict(list(balls.nets.items())[:3])!r}...: family "
                                  f"{self.package.family!r} uses nets= only with assign='explicit'; with assign='auto' "
                                  f"it would be ignored")
            nets = {p.net for p in self.die.pads}
            for ball, net in balls.nets.items():
                if net not in nets:
                    raise ConfigError(f"{where}: BallGrid.nets[{ball!r}] = {net!r}: no pad of die {self.die.name} "
                                      f"has net {net!r} (nets: {', '.join(sorted(nets)[:12])}"
                                      f"{', ...' if len(nets) > 12 else ''})")
            mapped = set(balls.nets.values())
            loose = [p for p in self.die.pads if p.net not in mapped]
            if balls.assign == "explicit" and loose:
                p = loose[0]
                more = f" (and {len({q.net for q in loose}) - 1} more nets)" if len({q.net for q in loose}) > 1 else ""
                raise ConfigError(f"{where}: BallGrid.nets: net {p.net!r} (pad {p.name} at ({p.x:g}, {p.y:g})) has no "
                                  f"ball in the explicit ball map{more}; give it a ball, or use assign='auto'")
        return self

