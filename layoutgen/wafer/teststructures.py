"""Process test structures (a PCM site): daisy chains, Kelvin vias, line-width and space combs, plating monitors.

`test_site(pdk, stack, size, name)` draws, in one cell of `size` centred at the origin, for a
family's conductor stack (`Stack`: the levels its own masks draw, the vias between them, the
probe-pad level, and the sheet and via resistances of its process):

- a daisy chain per via: links alternating on the lower and upper level through `links` vias,
  probe pads on the top level at both ends; expected R = vias × R_via + Σ links Rs × (centre
  distance / link width) (end effects of the landings neglected, as a chain is designed to);
- a Kelvin via per via: one via with a force and a sense arm on each level (R = R_via);
- for a sidewall contact (the backside's GROOVE2: the lead meets the pad only at the face the cut
  makes through it) the chain runs through the product's stack instead: pads in a first groove,
  each cut twice, the current crossing each pad between its two cut faces and climbing the groove
  wall to a link on the back, links alternating between the banks; its Kelvin is one such link;
- on the relief CSP, a line straight across a row of the product's protrusions, every tier step
  climbed and descended counted in its length (moulded: the mould's tiers; printed: the print
  stencils' apertures over the base print, which covers the site as it covers a die);
- a Kelvin per contact up to a pad level that must lie inside its land (fan-in: PV2 or POST
  from RDL to UBM, which no chain can alternate on): the contact stack three times, force and
  sense both on the pad under test (R = R_contact);
- per level drawn as lines (it has a space rule), a line-width bridge (a straight line at the
  level's minimum width between two pads: R = Rs × length / width, the electrical line width)
  and a space comb (two interdigitated combs at the minimum width and space: open when clear);
- per plated level, a plating-thickness monitor (a solid square for the profilometer or XRF),
  or, where the level has a density rule, columns of them over the rest of the site.

Every structure is listed (`Structure`) with its probe pads' coordinates (from the cell
centre; the caller adds the site's place) and its net labelled on the top level: `TS_<structure>`
at every pad of a structure that is one piece, `TS_<comb>_A` / `_B` on a comb's two halves, so
a netlist extraction finds every chain end to end and apart from product nets. A level below
the top reaches its pads through the via stack.

On a wafer (`Wafer.test_sites`: die sites R<row>C<col>), `pdk_stack` takes a family's levels and
resistances from its PDK's resistance.toml and `wafer_test_sites` makes the die-sized site cell;
on a plated wafer each plated piece gets one plating tail into the lane from one of its pads
(how that is probed: `PROBING`). Where the scribe lane is wide enough (`kerf_need`), `kerf_row` puts a daisy
chain, a line and a comb per level in the lane above the top row of dies (beyond the bus on a plated wafer, each
plated piece with one tail to it); `kerf_check` says why not where it does not.
All lengths in µm, R in Ω.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import Polygon, box

from ..cells.shapes import circle, rect
from ..errors import ConfigError
from ..layout import Cell
from ..pdk import Pdk
from ..units import LENGTH_EPS_UM

PROBE_PAD_UM = 100.0     # probe pad side: a cantilever or vertical probe card lands on 60-80 µm pads
PROBE_PITCH_UM = 200.0   # pads of one structure, centre to centre
CHAIN_VIAS = 40          # vias per daisy chain
MONITOR_UM = 500.0       # plating-thickness monitor side
COMB_FINGERS = 10        # fingers per comb
LINE_PITCHES = 5         # a line-width bridge spans this many probe pitches (1 mm: 100 squares at 10 µm)
MONITOR_PITCH_UM = 1000.0  # monitors spread over a site for a level with a density rule: one per mm in x and y
STRAP_UM = 20.0            # the strap joining a column of monitors
RELIEF_PROTRUSIONS = 4     # protrusions a relief line crosses (the rest of its row is left to the density monitors)


@dataclass(frozen=True)
class Stack:
    """A family's conductor stack for test structures: levels bottom to top (its own masks, and a reference level the
    chain runs through: the backside's PAD), vias between them (via, lower, upper), the probe-pad level, sheet
    resistance per level (Ω/□), resistance per via (Ω), sources."""

    levels: list[str]
    vias: list[tuple[str, str, str]]
    top: str
    sheet_ohm_sq: dict[str, float]
    via_ohm: dict[str, float]
    source: str = ""                 # the PDK's file, named from the PDK (the same on every machine)
    plated: list[str] | None = None   # the levels that are plated (a thickness monitor each); None: every level
    # contacts from a level up to a pad level that must lie inside it (via, level, pad level: PV2 from RDL to UBM):
    # no chain can alternate on them, so each gets a Kelvin whose probe pads are that stack
    contacts: list[tuple[str, str, str]] = field(default_factory=list)
    # vias whose resistance is per contact area: (specific contact resistivity Ω·µm², face height µm); a sidewall
    # contact (the backside's GROOVE2) is a face `face_um` high along the length the cut runs through the pad
    via_ohm_um2: dict[str, tuple[float, float]] = field(default_factory=dict)
    sidewall: list[str] = field(default_factory=list)   # vias that contact their lower level at a cut's face
    relief: "Relief | None" = None                      # the relief CSP's protrusion, for the line over its tiers

    def contact_ohm(self, via: str, length: float | None = None) -> float:
        """The resistance of one contact of `via`: the PDK's value, or ρc / (face × `length`) for an area-specific one."""
        if via in self.via_ohm:
            return self.via_ohm[via]
        rho, face = self.via_ohm_um2[via]
        assert length is not None, f"{via}: an area-specific contact needs its length"
        return rho / (face * length)


@dataclass(frozen=True)
class Tier:
    """One drawn level of a protrusion that a line over it climbs: its shapes (protrusion at the origin), the height each
    crossing of their outline climbs or descends (µm), and the names of its edge count and step in the summary."""

    layer: str
    shapes: tuple[Polygon, ...]
    step_um: float
    edges_key: str
    step_key: str


@dataclass(frozen=True)
class Relief:
    """The relief CSP's protrusion as the product draws it (at the origin): its outline, the levels that make its tiers
    (the mould's footprint and recessed tier, or the print stencils' apertures), the ball grid's pitch, the tier heights
    above the relief surface (µm); for a printed relief the base print's stencil (printed over the site as over a die),
    where the stencils' bridges leave a tier unprinted, and the quarter turns the product places it at."""

    footprint: Polygon
    tiers: tuple[Tier, ...]
    pitch: float
    protuberant_um: float
    recessed_um: float
    formula: str
    base: str | None = None
    gaps: Polygon | None = None
    turns: tuple[float, ...] = (0.0,)
    foils: tuple[tuple[str, float], ...] = ()    # printed: each stencil's foil thickness (µm), labelled as the die does


@dataclass
class Structure:
    """One test structure: name, kind, layers, probe pads (name, x, y), what it measures and the expected value."""

    name: str
    kind: str
    layers: list[str]
    pads: list[tuple[str, float, float]]
    expected: dict = field(default_factory=dict)

    def moved(self, dx: float, dy: float) -> "Structure":
        """The structure with its pads moved by (dx, dy)."""
        return Structure(self.name, self.kind, self.layers, [(n, round(x + dx, 6), round(y + dy, 6)) for n, x, y in self.pads],
                         self.expected)

    def net(self, pad: str) -> str:
        """The net of a probe pad: one per structure (its pads are one piece of metal), a comb's halves one each."""
        return f"TS_{self.name}_{pad}" if self.kind == "space_comb" else f"TS_{self.name}"

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "layers": self.layers,
                "pads": [{"pad": n, "net": self.net(n), "x_um": x, "y_um": y} for n, x, y in self.pads],
                **self.expected}


def _rule(pdk: Pdk, kind: str, layer: str, other: str | None = None) -> float:
    r = pdk.find_rule(kind, layer, other)
    return r.value if r is not None and r.value is not None else 0.0


def width(pdk: Pdk, layer: str) -> float:
    """The level's minimum line width (its width rule), on the grid."""
    w = _rule(pdk, "width", layer)
    if not w:
        raise ConfigError(f"PDK {pdk.name}: layer {layer} has no width rule: its test structures need one")
    return pdk.snap_up(w)


def space(pdk: Pdk, layer: str) -> float:
    """The level's minimum space (its space rule, else its width)."""
    return pdk.snap_up(_rule(pdk, "space", layer) or width(pdk, layer))


def cut(pdk: Pdk, via: str) -> Polygon:
    """The via opening at the origin: round of its size rule, else a square of its width rule."""
    d = _rule(pdk, "size", via)
    if d:
        return circle(d, pdk.circle_vertices, pdk.grid_um, "inscribed")
    return rect(width(pdk, via), width(pdk, via), pdk.grid_um)


def landing(pdk: Pdk, via: str, layer: str) -> float:
    """Side of the square landing on `layer` around `via`: the opening plus the enclosure rule each side, at least the
    level's width."""
    x0, _, x1, _ = cut(pdk, via).bounds
    return max(2 * pdk.snap_up((x1 - x0) / 2 + _rule(pdk, "enclosure", layer, via)), width(pdk, layer))


class _Site:
    """Collects shapes, labels and structures while the rows are laid out top to bottom."""

    def __init__(self, pdk: Pdk, stack: Stack, size: tuple[float, float], name: str):
        self.pdk, self.stack, self.size = pdk, stack, size
        self.cell = Cell(name)
        self.structures: list[Structure] = []
        self.margin = 2 * PROBE_PAD_UM
        self.y = size[1] / 2 - self.margin     # top of the next row
        self.left = -size[0] / 2 + self.margin

    def row(self, height: float) -> float:
        """The centre y of a new row `height` tall; ConfigError when the site is full."""
        y = self.y - height / 2
        self.y -= height + self.margin / 2
        if self.y < -self.size[1] / 2 + self.margin / 2:
            raise ConfigError(f"the {self.size[0]:g} × {self.size[1]:g} µm test site cannot hold every test structure "
                              f"of PDK {self.pdk.name}: reserve a larger site")
        return y

    def pad(self, level: str, x: float, y: float, net: str) -> None:
        """A probe pad at (x, y) on the top level, reached from `level` through the via stack below it."""
        pdk, st, g = self.pdk, self.stack, self.pdk.grid_um
        chain = st.levels[st.levels.index(level):st.levels.index(st.top) + 1]
        for lv in chain:
            self.cell.add(lv, rect(PROBE_PAD_UM, PROBE_PAD_UM, g, x, y))
        for lo, hi in zip(chain, chain[1:]):
            via = next(v for v, a, b in st.vias if (a, b) == (lo, hi))
            self.cell.add(via, shapely.affinity.translate(cut(pdk, via), x, y))
        self.cell.label(st.top, net, x, y)

    def add(self, s: Structure) -> None:
        self.structures.append(s)


def _daisy_chain(site: _Site, via: str, lower: str, upper: str) -> None:
    pdk, st, g = site.pdk, site.stack, site.pdk.grid_um
    a_lo, a_hi = landing(pdk, via, lower), landing(pdk, via, upper)
    pitch = pdk.snap_up(max(a_lo + space(pdk, lower), a_hi + space(pdk, upper), 2 * max(a_lo, a_hi)))
    name = f"CHAIN_{via}"
    x_pad = site.left + PROBE_PAD_UM / 2
    x0 = x_pad + PROBE_PAD_UM / 2 + pitch
    room = site.size[0] / 2 - site.margin - PROBE_PAD_UM - pitch - x0     # for the vias after the first
    n = min(CHAIN_VIAS, 2 * int((room // pitch + 1) // 2))                  # an even number: both ends on the upper level
    if n < 4:
        raise ConfigError(f"a daisy chain of {via} at {pitch:g} µm pitch does not fit the {site.size[0]:g} µm test site")
    y = site.row(PROBE_PAD_UM)
    xs = [x0 + k * pitch for k in range(n)]
    x_end = xs[-1] + pitch + PROBE_PAD_UM / 2
    for x in xs:
        site.cell.add(via, shapely.affinity.translate(cut(pdk, via), x, y))
    lo_links = [(xs[k], xs[k + 1]) for k in range(0, n - 1, 2)]
    hi_links = [(xs[k], xs[k + 1]) for k in range(1, n - 1, 2)]
    for xa, xb in lo_links:
        site.cell.add(lower, box(xa - a_lo / 2, y - a_lo / 2, xb + a_lo / 2, y + a_lo / 2))
    for xa, xb in hi_links:
        site.cell.add(upper, box(xa - a_hi / 2, y - a_hi / 2, xb + a_hi / 2, y + a_hi / 2))
    # leads on the upper level from each pad to the first and last via
    site.cell.add(upper, box(x_pad, y - a_hi / 2, xs[0] + a_hi / 2, y + a_hi / 2),
                  box(xs[-1] - a_hi / 2, y - a_hi / 2, x_end, y + a_hi / 2))
    site.pad(upper, x_pad, y, f"TS_{name}")
    site.pad(upper, x_end, y, f"TS_{name}")
    rs_lo, rs_hi, rv = st.sheet_ohm_sq[lower], st.sheet_ohm_sq[upper], st.via_ohm[via]
    sq_lo = len(lo_links) * pitch / a_lo
    sq_hi = len(hi_links) * pitch / a_hi + ((xs[0] - x_pad) + (x_end - xs[-1])) / a_hi
    r = n * rv + sq_lo * rs_lo + sq_hi * rs_hi
    site.add(Structure(name, "daisy_chain", [lower, via, upper], [("A", x_pad, y), ("B", x_end, y)], {
        "vias": n, "via_pitch_um": pitch, "links": {lower: len(lo_links), upper: len(hi_links)},
        "squares": {lower: round(sq_lo, 6), upper: round(sq_hi, 6)},
        "link_width_um": {lower: a_lo, upper: a_hi},
        "sheet_resistance_ohm_sq": {lower: rs_lo, upper: rs_hi}, "via_resistance_ohm": rv,
        "expected_resistance_ohm": round(r, 9),
        "formula": "R = vias × R_via + Σ levels squares × Rs (squares = link centre distance / link width; "
                   "leads from the pads' centres counted on the upper level)"}))


def _kelvin(site: _Site, via: str, lower: str, upper: str) -> None:
    pdk, st = site.pdk, site.stack
    a_lo, a_hi = landing(pdk, via, lower), landing(pdk, via, upper)
    name = f"KELVIN_{via}"
    arm = 2 * PROBE_PITCH_UM
    y = site.row(2 * arm + PROBE_PAD_UM)
    x = site.left + arm + PROBE_PAD_UM / 2
    site.cell.add(via, shapely.affinity.translate(cut(pdk, via), x, y))
    w_lo, w_hi = max(a_lo, width(pdk, lower)), max(a_hi, width(pdk, upper))
    site.cell.add(lower, box(x - arm, y - w_lo / 2, x + w_lo / 2, y + w_lo / 2),   # force, to the left
                  box(x - w_lo / 2, y - arm, x + w_lo / 2, y + w_lo / 2))         # sense, down
    site.cell.add(upper, box(x - w_hi / 2, y - w_hi / 2, x + arm, y + w_hi / 2),   # force, to the right
                  box(x - w_hi / 2, y - w_hi / 2, x + w_hi / 2, y + arm))         # sense, up
    pads = [("F_LO", x - arm, y, lower), ("S_LO", x, y - arm, lower), ("F_HI", x + arm, y, upper), ("S_HI", x, y + arm, upper)]
    for p, px, py, lv in pads:
        site.pad(lv, px, py, f"TS_{name}")
    site.add(Structure(name, "kelvin", [lower, via, upper], [(p, px, py) for p, px, py, _ in pads], {
        "expected_resistance_ohm": st.via_ohm[via], "formula": "R = V(S_HI − S_LO) / I(F_HI → F_LO) = R_via"}))


def _contact_kelvin(site: _Site, via: str, lower: str, upper: str) -> None:
    """A Kelvin of one contact from `lower` up to the pad level `upper`: three pads, each the contact stack (a land on
    `lower`, the via, the pad on `upper` inside the land); force and sense both on the pad under test (two needles),
    `lower` arms to a force pad on the left and a sense pad below. R = V(S_HI − S_LO) / I(F_HI → F_LO) = R_contact."""
    pdk, st, g = site.pdk, site.stack, site.pdk.grid_um
    x0, _, x1, _ = cut(pdk, via).bounds
    u = max(width(pdk, upper), 2 * pdk.snap_up((x1 - x0) / 2 + _rule(pdk, "enclosure", upper, via)))
    land = max(u + 2 * pdk.snap_up(_rule(pdk, "enclosure", lower, upper)), landing(pdk, via, lower))
    arm = 2 * PROBE_PITCH_UM + land
    name = f"KELVIN_{via}"
    y = site.row(arm + land)
    x = site.left + arm + land / 2
    yc = y + arm / 2
    pads = [("F_HI", x - u / 4, yc), ("S_HI", x + u / 4, yc), ("F_LO", x - arm, yc), ("S_LO", x, yc - arm)]
    for px, py in ((x, yc), (x - arm, yc), (x, yc - arm)):
        site.cell.add(lower, rect(land, land, g, px, py))
        site.cell.add(upper, rect(u, u, g, px, py))
        site.cell.add(via, shapely.affinity.translate(cut(pdk, via), px, py))
    w = width(pdk, lower)
    site.cell.add(lower, box(x - arm, yc - w / 2, x, yc + w / 2), box(x - w / 2, yc - arm, x + w / 2, yc))
    for p, px, py in pads:
        site.cell.label(upper, f"TS_{name}", px, py)
    rc = st.via_ohm[via]
    site.add(Structure(name, "kelvin", [lower, via, upper], pads, {
        "expected_resistance_ohm": rc, "pad_um": u, "land_um": land,
        "formula": f"R = V(S_HI − S_LO) / I(F_HI → F_LO) = R_contact of one {via} from {lower} to {upper} "
                   f"(F_HI and S_HI: two needles on the pad under test)"}))


def _line_and_comb(site: _Site, level: str) -> None:
    _line(site, level)
    _comb(site, level)


def _line(site: _Site, level: str) -> None:
    """A line-width bridge: a straight line at the level's minimum width between two pads."""
    pdk, st = site.pdk, site.stack
    w = width(pdk, level)
    name = f"LINE_{level}"
    y = site.row(PROBE_PAD_UM)
    xa = site.left + PROBE_PAD_UM / 2
    xb = xa + LINE_PITCHES * PROBE_PITCH_UM
    length = xb - xa - PROBE_PAD_UM
    site.cell.add(level, box(xa, y - w / 2, xb, y + w / 2))
    site.pad(level, xa, y, f"TS_{name}")
    site.pad(level, xb, y, f"TS_{name}")
    rs = st.sheet_ohm_sq[level]
    site.add(Structure(name, "line_width", [level], [("A", xa, y), ("B", xb, y)], {
        "width_um": w, "length_um": length, "sheet_resistance_ohm_sq": rs,
        "expected_resistance_ohm": round(rs * length / w, 9),
        "formula": "R = Rs × length / width between the pads' edges (electrical line width: w = Rs × length / R)"}))


def _comb(site: _Site, level: str, ends: bool = False) -> None:
    """A space comb: two interdigitated combs at the level's minimum width and space, 4 probe pitches long, both pads on
    the left; `ends`: as tall as a probe pad (for a scribe lane), a pad at each end."""
    pdk = site.pdk
    w, s = width(pdk, level), space(pdk, level)
    name = f"COMB_{level}"
    finger = PROBE_PAD_UM - 2 * w - s if ends else 4 * PROBE_PITCH_UM
    h = finger + 2 * w + s
    y = site.row(h if ends else h + PROBE_PAD_UM)
    x0 = site.left + PROBE_PAD_UM
    n = COMB_FINGERS
    top, bot = y + h / 2, y - h / 2
    pitch = 2 * (w + s)
    x1 = x0 + n * pitch
    site.cell.add(level, box(x0, top - w, x1, top), box(x0 + w + s, bot, x1 + w + s, bot + w))
    for k in range(n):
        xa = x0 + k * pitch
        site.cell.add(level, box(xa, bot + w + s, xa + w, top))                          # from the top spine
        site.cell.add(level, box(xa + w + s, bot, xa + 2 * w + s, top - w - s))          # from the bottom spine
    if ends:   # A left of the top spine, B right of the bottom spine, each a space from the other half
        pa, pb = (x0 - PROBE_PAD_UM / 2, y), (x1 + s + PROBE_PAD_UM / 2, y)
    else:      # both on the left (a plated comb ties each half to the kerf by a tail from its pad, straight out of the site)
        pa, pb = (x0 - s - PROBE_PAD_UM / 2, top - w / 2), (x0 - s - PROBE_PAD_UM / 2, bot + w / 2)
        site.cell.add(level, box(pa[0], top - w, x0, top), box(pb[0], bot, x0 + w + s, bot + w))
    site.pad(level, *pa, f"TS_{name}_A")
    site.pad(level, *pb, f"TS_{name}_B")
    site.add(Structure(name, "space_comb", [level], [("A", *pa), ("B", *pb)], {
        "width_um": w, "space_um": s, "fingers": 2 * n, "facing_length_um": round((2 * n - 1) * (finger - s), 6),
        "expected": "open (no path between A and B): a short means a bridged space"}))


# ---------------------------------------------------------------- backside: the chain through the groove's cut

SIDEWALL_PAD_UM = 60.0   # a groove chain's pad along the row: the length of each sidewall contact (a product pad's)


@dataclass(frozen=True)
class _Groove:
    """The backside groove profile a sidewall chain is drawn with (µm): the pads' length along the row and half-height
    across it, the two cuts' offset from the row line and half width, the lead landing's half width and reach past the
    pads, the pad pitch, the wall's run across the wafer plane and its real length, the band by the groove edge that
    wiring only crosses, and the wiring's width and space."""

    pad: float
    pad_half: float
    cut_at: float
    cut_half: float
    land_half: float
    reach: float
    pitch: float
    run: float
    wall: float
    band: float
    w: float
    s: float

    @classmethod
    def of(cls, pdk: Pdk, upper: str) -> "_Groove":
        import math

        from ..families.backside_wlcsp.cells.groove import cut_reach
        from ..families.backside_wlcsp.cells.lead import landing_half
        from ..families.backside_wlcsp.rules import wall_run

        w, s = width(pdk, upper), space(pdk, upper)
        lh = landing_half(pdk)
        cut_at = pdk.snap_up(lh + s / 2)                 # the two leads' landings a space apart
        reach = cut_reach(pdk)
        run = wall_run(pdk)
        t = pdk.process_value("substrate_thickness_um", "the backside test structures' wall length")
        angle = math.radians(pdk.process_value("wall_angle_deg", "the backside test structures' wall length"))
        band = next((r.value for r in pdk.rules if r.kind == "wall_crossing" and r.value is not None), 0.0)
        pitch = pdk.snap_up(SIDEWALL_PAD_UM + 2 * reach + 2 * (s + w))   # room for a plating tail between two pads' cuts
        return cls(SIDEWALL_PAD_UM, cut_at + lh, cut_at, pdk.snap_up(_rule(pdk, "width", "GROOVE2") / 2), lh, reach, pitch,
                   run, t / math.sin(angle), band, w, s)

    def grooves(self, pdk: Pdk, xs: list[float], y: float) -> tuple[Polygon, list[Polygon], list[Polygon], float]:
        """The first-groove opening over pads at `xs` on the row line `y`, the pads, the two cuts through each pad (one
        piece per pad and cut), and the opening's half width."""
        from ..families.backside_wlcsp.cells.groove import groove1_extent

        h = self.pad / 2
        start, length, half = groove1_extent([(x - h, x + h) for x in xs], self.pad_half, self.cut_at + self.cut_half,
                                             self.run, pdk)
        pads = [box(x - h, y - self.pad_half, x + h, y + self.pad_half) for x in xs]
        cuts = [box(x - h - self.reach, y + side * self.cut_at - self.cut_half, x + h + self.reach,
                    y + side * self.cut_at + self.cut_half) for x in xs for side in (-1, 1)]
        return box(start, y - half, start + length, y + half), pads, cuts, half

    def landing(self, x: float, y: float) -> Polygon:
        """A lead's landing lining one cut where it runs through the pad centred at x (its stretch), `land_half` across."""
        return box(x - self.pad / 2, y - self.land_half, x + self.pad / 2, y + self.land_half)

    def strip_squares(self) -> float:
        """Squares of a pad's strip between its two cuts, the current crossing it from one cut face to the other."""
        return (2 * self.cut_at - 2 * self.cut_half) / self.pad

    def wall_squares(self) -> float:
        """Squares a lead gains climbing one wall: the wall's real length less its drawn run, over the lead's width."""
        return (self.wall - self.run) / self.w


def _groove_chain(site: _Site, via: str, lower: str, upper: str) -> None:
    """A daisy chain through the backside stack: pads in one first groove, each cut twice by the second groove; the
    current enters a pad at one cut's face (the lead lining that cut, a sidewall contact), crosses the pad's strip
    between the cuts, leaves at the other cut's face, and its lead climbs the groove wall to a link on the back surface
    that comes down the wall to the next pad: links alternate between the groove's two banks, probe pads on the upper
    bank. R = contacts × R_face + pads × Rs_pad × strip squares + Rs_wire × (drawn squares + wall squares)."""
    pdk, st = site.pdk, site.stack
    gv = _Groove.of(pdk, upper)
    name = f"CHAIN_{via}"
    net = f"TS_{name}"
    room = site.size[0] - 2 * site.margin - 2 * (PROBE_PAD_UM + gv.pitch)
    n = min(CHAIN_VIAS // 2, 2 * int((room // gv.pitch + 1) // 2))       # pads: an even number, both ends on the upper bank
    if n < 2:
        raise ConfigError(f"a daisy chain of {via} at {gv.pitch:g} µm pad pitch does not fit the {site.size[0]:g} µm test site")
    xs = [pdk.snap(-(n - 1) * gv.pitch / 2 + k * gv.pitch) for k in range(n)]   # centred: every link's tail leaves upwards
    opening0, _, _, half = gv.grooves(pdk, xs, 0.0)
    bar = half + gv.band                                      # the links run on the back, clear of the wall's band
    height = 2 * (bar + gv.w) + 2 * PROBE_PAD_UM
    yc = site.row(height) - PROBE_PAD_UM / 2                  # the row line: the probe pads above the upper bank
    opening, pads, cuts, _ = gv.grooves(pdk, xs, yc)
    site.cell.add("GROOVE1", opening)
    site.cell.add("GROOVE2", *cuts)
    site.cell.add(lower, *pads)
    lo, hi = yc - gv.cut_at, yc + gv.cut_at
    y_lo, y_hi = yc - bar - gv.w, yc + bar + gv.w              # the far edge of each bank's links
    # pad k enters at the upper cut (even k) or the lower (odd k) and leaves at the other; link k → k+1 on the bank of
    # the cut it leaves by: the lower bank after an even pad, the upper after an odd one
    for k in range(n):
        for y in (lo, hi):
            site.cell.add(upper, gv.landing(xs[k], y))
            site.cell.add(upper, box(xs[k] - gv.w / 2, y_lo, xs[k] + gv.w / 2, y) if y == lo else
                          box(xs[k] - gv.w / 2, y, xs[k] + gv.w / 2, y_hi))
    for k in range(n - 1):
        ya, yb = (y_lo, y_lo + gv.w) if k % 2 == 0 else (y_hi - gv.w, y_hi)
        site.cell.add(upper, box(xs[k] - gv.w / 2, ya, xs[k + 1] + gv.w / 2, yb))
        # its net, at the foot of the link: a plating tail leaves upwards from there, across the link's full width
        site.cell.label(upper, net, pdk.snap((xs[k] + xs[k + 1]) / 2), pdk.snap(ya))
    # the probe pads on the upper bank, a pitch beyond the end pads, joined to their leads on the back
    py = y_hi - gv.w + PROBE_PAD_UM / 2
    pa, pb = xs[0] - gv.pitch - PROBE_PAD_UM / 2, xs[-1] + gv.pitch + PROBE_PAD_UM / 2
    site.cell.add(upper, box(pa, y_hi - gv.w, xs[0] + gv.w / 2, y_hi), box(xs[-1] - gv.w / 2, y_hi - gv.w, pb, y_hi))
    site.pad(upper, pa, py, net)
    site.pad(upper, pb, py, net)
    # the current's path on the wiring: each lead from its cut up (or down) to its bank's link, the links, the end runs
    up = (y_hi - gv.w / 2) - (hi + gv.land_half)            # a lead's centre line from its landing to its link's
    leads = 2 * n
    drawn = (leads * up + (n - 1) * gv.pitch + 2 * gv.pitch) / gv.w   # leads, links, and each end's run to its probe pad
    walls = leads                                           # every lead climbs one wall
    sq_wire = drawn + walls * gv.wall_squares()
    rc = st.contact_ohm(via, gv.pad)
    rs_lo, rs_hi = st.sheet_ohm_sq[lower], st.sheet_ohm_sq[upper]
    contacts = 2 * n
    r = contacts * rc + n * gv.strip_squares() * rs_lo + sq_wire * rs_hi
    site.add(Structure(name, "daisy_chain", [lower, via, upper, "GROOVE1"], [("A", pa, py), ("B", pb, py)], {
        "contacts": contacts, "cut_pads": n, "pad_pitch_um": gv.pitch, "contact_length_um": gv.pad,
        "links": {lower: n, upper: n - 1},
        "squares": {lower: round(n * gv.strip_squares(), 6), upper: round(sq_wire, 6)},
        "wall": {"crossings": walls, "drawn_run_um": round(gv.run, 6), "length_um": round(gv.wall, 6),
                 "squares": round(walls * gv.wall_squares(), 6)},
        "link_width_um": {lower: gv.pad, upper: gv.w},
        "sheet_resistance_ohm_sq": {lower: rs_lo, upper: rs_hi}, "contact_resistance_ohm": round(rc, 9),
        "expected_resistance_ohm": round(r, 9),
        "formula": f"R = contacts × R_face + pads × Rs_{lower} × (cut-to-cut distance / pad length) + Rs_{upper} × "
                   f"(centre-line squares from each landing's edge over the groove bottom, up the wall and along the "
                   f"back + per wall (wall length − drawn run) / width; the landings' spreading neglected); "
                   f"R_face = ρc / (face height × pad length); the wall is the substrate over sin(wall angle)"}))


def _groove_kelvin(site: _Site, via: str, lower: str, upper: str) -> None:
    """A Kelvin of one link of the groove chain: one pad cut twice, each cut's lead with a force and a sense arm up
    its bank to its own probe pads. R = V(S_HI − S_LO) / I(F_HI → F_LO) = 2 R_face + Rs_pad × strip squares."""
    pdk, st = site.pdk, site.stack
    gv = _Groove.of(pdk, upper)
    name = f"KELVIN_{via}"
    net = f"TS_{name}"
    x = pdk.snap(site.left + 2 * PROBE_PITCH_UM)
    _, _, _, half = gv.grooves(pdk, [x], 0.0)
    bar = half + gv.band
    yc = site.row(2 * (bar + PROBE_PAD_UM))
    opening, pads, cuts, _ = gv.grooves(pdk, [x], yc)
    site.cell.add("GROOVE1", opening)
    site.cell.add("GROOVE2", *cuts)
    site.cell.add(lower, *pads)
    arm = gv.s / 2 + gv.w / 2                     # each arm's centre off the pad's, a space between the two
    pads_at = []
    for side, f, sn in ((1, "F_HI", "S_HI"), (-1, "F_LO", "S_LO")):
        yl = yc + side * gv.cut_at
        edge = yc + side * bar                    # where the pads start, clear of the wall's band
        far = edge + side * gv.w
        site.cell.add(upper, gv.landing(x, yl))
        py = edge + side * PROBE_PAD_UM / 2
        for sign, p in ((-1, f), (1, sn)):
            ax = x + sign * arm
            px = x + sign * PROBE_PITCH_UM / 2
            site.cell.add(upper, box(ax - gv.w / 2, min(yl, far), ax + gv.w / 2, max(yl, far)),
                          box(min(ax, px), min(edge, far), max(ax, px), max(edge, far)))
            site.pad(upper, px, py, net)
            pads_at.append((p, px, py))
    rc = st.contact_ohm(via, gv.pad)
    rs = st.sheet_ohm_sq[lower]
    r = 2 * rc + gv.strip_squares() * rs
    site.add(Structure(name, "kelvin", [lower, via, upper, "GROOVE1"], pads_at, {
        "contacts": 2, "contact_length_um": gv.pad, "contact_resistance_ohm": round(rc, 9),
        "strip_squares": round(gv.strip_squares(), 6), "sheet_resistance_ohm_sq": {lower: rs},
        "expected_resistance_ohm": round(r, 9),
        "formula": f"R = V(S_HI − S_LO) / I(F_HI → F_LO) = 2 × R_face + Rs_{lower} × (cut-to-cut distance / pad length): one "
                   f"link of the chain, the probe and lead resistances excluded"}))


# ---------------------------------------------------------------- relief CSP: a line up and down the protrusions

def _relief_line(site: _Site, level: str, relief: Relief) -> None:
    """A line at the level's minimum width straight across a row of the product's protrusions, climbing onto each
    protuberant rim, down to the recessed tier, up again and down to the relief surface, as a product track climbs to
    its bonding pad: every crossing of a tier level's outline adds that tier's step to the path (moulded: the mould's
    footprint and recessed tier; printed: the footprint and rim prints' apertures, each protrusion turned so that no
    bridge gap lies under the line). R = Rs × (drawn length + Σ steps) / width, the track as thick on a wall as flat."""
    pdk, st = site.pdk, site.stack
    w = width(pdk, level)
    name = f"RELIEF_{level}"
    x0, y0, x1, y1 = relief.footprint.bounds
    span = x1 - x0
    xa = site.left + PROBE_PAD_UM / 2
    gap = relief.pitch - span                                 # the relief floor between two protrusions, and at the pads
    first = xa + PROBE_PAD_UM / 2 + gap                       # the first footprint's left edge
    room = site.size[0] / 2 - site.margin - PROBE_PAD_UM - gap - first
    n = min(RELIEF_PROTRUSIONS, int((room - span) // relief.pitch) + 1)
    if n < 1:
        raise ConfigError(f"a line over {span:g} µm protrusions does not fit the {site.size[0]:g} µm test site")
    y = site.row(max(y1 - y0, PROBE_PAD_UM))
    centres = [pdk.snap(first + span / 2 + k * relief.pitch - (x0 + x1) / 2) for k in range(n)]
    xb = pdk.snap(centres[-1] + (x0 + x1) / 2 + span / 2 + gap + PROBE_PAD_UM / 2)
    cy = pdk.snap(y - (y0 + y1) / 2)
    track = box(xa, y - w / 2, xb, y + w / 2)
    turn = next((a for a in relief.turns if relief.gaps is None or relief.gaps.is_empty or
                 track.intersection(shapely.affinity.translate(shapely.affinity.rotate(relief.gaps, a, origin=(0, 0)),
                                                               centres[0], cy)).area <= 1e-6), None)
    if turn is None:
        raise ConfigError(f"a line across the printed protrusions crosses a gap a stencil bridge leaves however they are "
                          f"turned ({', '.join(f'{a:g}°' for a in relief.turns)}): no relief line can be drawn over them")
    placed = {tier.layer: [shapely.affinity.translate(shapely.affinity.rotate(g, turn, origin=(0, 0)) if turn else g, cx, cy)
                           for cx in centres for g in tier.shapes] for tier in relief.tiers}
    for tier in relief.tiers:
        site.cell.add(tier.layer, *placed[tier.layer])
    site.cell.add(level, track)
    site.pad(level, xa, y, f"TS_{name}")
    site.pad(level, xb, y, f"TS_{name}")
    line = shapely.LineString([(xa + PROBE_PAD_UM / 2, y), (xb - PROBE_PAD_UM / 2, y)])
    edges = {tier.layer: sum(len(shapely.get_parts(line.intersection(g.boundary))) for g in placed[tier.layer])
             for tier in relief.tiers}
    steps = sum(edges[tier.layer] * tier.step_um for tier in relief.tiers)
    length = line.length
    rs = st.sheet_ohm_sq[level]
    counted: dict = {}
    for tier in relief.tiers:
        counted |= {tier.edges_key: edges[tier.layer], tier.step_key: round(tier.step_um, 6)}
    site.add(Structure(name, "relief_line", [level, *(tier.layer for tier in relief.tiers)], [("A", xa, y), ("B", xb, y)], {
        "width_um": w, "drawn_length_um": round(length, 6), "protrusions": n,
        **({"turn_deg": turn} if relief.gaps is not None else {}),
        "steps": {**counted, "total_um": round(steps, 6)},
        "path_length_um": round(length + steps, 6), "sheet_resistance_ohm_sq": rs,
        "expected_resistance_ohm": round(rs * (length + steps) / w, 9),
        "formula": relief.formula}))


def _monitor(site: _Site, level: str, x: float, y: float) -> None:
    name = f"PLATE_{level}"
    site.cell.add(level, rect(MONITOR_UM, MONITOR_UM, site.pdk.grid_um, x, y))
    site.cell.label(site.stack.top if level == site.stack.top else level, f"TS_{name}", x, y)
    site.add(Structure(name, "plating_monitor", [level], [("C", x, y)], {
        "size_um": MONITOR_UM, "expected": "plated thickness of the level (profilometer step or XRF at the centre)"}))


def test_site(pdk: Pdk, stack: Stack, size: tuple[float, float], name: str) -> tuple[Cell, list[Structure]]:
    """The test-structure cell (centred at the origin, `size`) and its structures; ConfigError when they do not fit."""
    site = _Site(pdk, stack, size, name)
    for via, lower, upper in stack.vias:
        (_groove_chain if via in stack.sidewall else _daisy_chain)(site, via, lower, upper)
    for via, lower, upper in stack.vias:
        (_groove_kelvin if via in stack.sidewall else _kelvin)(site, via, lower, upper)
    for via, lower, upper in stack.contacts:
        _contact_kelvin(site, via, lower, upper)
    if stack.relief is not None:
        _relief_line(site, stack.top, stack.relief)
    masked = {lay for m in pdk.masks for lay in m.layers}
    for level in stack.levels:   # a level the process patterns (on a mask) drawn as lines (a space rule)
        if _rule(pdk, "space", level) and level in masked:
            _line_and_comb(site, level)
    plated = [lv for lv in stack.levels if stack.plated is None or lv in stack.plated]
    spread = [lv for lv in plated if pdk.find_rule("density", lv) is not None]
    if plated and not spread:
        y = site.row(MONITOR_UM)
        for k, level in enumerate(plated):
            _monitor(site, level, site.left + MONITOR_UM / 2 + k * (MONITOR_UM + site.margin), y)
    for level in spread:
        _monitor_columns(site, level)
    for level in stack.levels:   # one polygon per piece of metal (a spot drawn as pad + lead would read as two spots)
        site.cell.shapes[level] = [shapely.set_precision(p, pdk.grid_um) for p in
                                   shapely.get_parts(shapely.union_all(site.cell.shapes.get(level, [])))]
    base = stack.relief.base if stack.relief is not None else None
    if base is not None:   # a printed relief's base layer under the structures, as under the product: one aperture
        inset = space(pdk, base)   # over the site, its foil web to the neighbouring dies' apertures at least the rule
        site.cell.add(base, rect(size[0] - 2 * inset, size[1] - 2 * inset, pdk.grid_um))
        from ..families.relief_csp.rules import thickness_label

        for k, (layer, th) in enumerate(stack.relief.foils):   # the stencil checks read each foil's thickness here
            site.cell.label("TEXT", thickness_label(layer, th), -size[0] / 2 + site.margin / 2,
                            -size[1] / 2 + site.margin / 2 - 20.0 * k)
    return site.cell, site.structures


def _monitor_columns(site: _Site, level: str) -> None:
    """Plating monitors over the rest of the site, for a level with a density rule: a monitor every `MONITOR_PITCH_UM`,
    each column of them one piece (joined by a strap down its middle) with its probe point at the foot, so the level's
    density stays within its rule in every window and the plated thickness is mapped across the site."""
    pdk, g = site.pdk, site.pdk.grid_um
    w, s = width(pdk, level), space(pdk, level)
    used = shapely.union_all([gm for shapes in site.cell.shapes.values() for gm in shapes])   # grooves, tiers too
    keep = used.buffer(max(s, site.margin / 2), join_style="mitre") if not used.is_empty else used
    half_w, half_h = site.size[0] / 2 - site.margin, site.size[1] / 2 - site.margin
    n = int((2 * half_w + MONITOR_PITCH_UM - MONITOR_UM) // MONITOR_PITCH_UM)
    m = int((2 * half_h + MONITOR_PITCH_UM - MONITOR_UM) // MONITOR_PITCH_UM)
    # from the right and bottom edges, away from the structures' rows (which start at the top left)
    x0 = half_w - MONITOR_UM / 2 - (n - 1) * MONITOR_PITCH_UM
    y0 = -half_h + MONITOR_UM / 2
    strap = max(w, STRAP_UM)
    col = 0

    def free(x: float, j: int) -> bool:
        return keep.is_empty or not keep.intersects(rect(MONITOR_UM, MONITOR_UM, g, x, y0 + j * MONITOR_PITCH_UM))

    for i in range(n):
        x = pdk.snap(x0 + i * MONITOR_PITCH_UM)
        up = 0
        while up < m and free(x, up):          # from the bottom up, until a square would meet a structure
            up += 1
        down = m
        while down > up and free(x, down - 1):  # and from the top down, above the structures
            down -= 1
        for js, foot in ((range(up), 0), (range(down, m), -1)):
            ys = [pdk.snap(y0 + j * MONITOR_PITCH_UM) for j in js]
            if ys:
                col += 1
                _monitor_column(site, level, f"PLATE_{level}_{col}", x, ys, ys[foot], strap)


def _monitor_column(site: _Site, level: str, name: str, x: float, ys: list[float], foot: float, strap: float) -> None:
    """One column of plating monitors joined by a strap, its probe point (and plating tail) at `foot`."""
    g = site.pdk.grid_um
    site.cell.add(level, *[rect(MONITOR_UM, MONITOR_UM, g, x, y) for y in ys])
    if len(ys) > 1:
        site.cell.add(level, box(x - strap / 2, ys[0], x + strap / 2, ys[-1]))
    site.cell.label(level, f"TS_{name}", x, foot)
    site.add(Structure(name, "plating_monitor", [level], [(f"C{k + 1}", x, y) for k, y in enumerate(ys)], {
        "size_um": MONITOR_UM, "pitch_um": MONITOR_PITCH_UM,
        "expected": "plated thickness of the level at each monitor (profilometer step or XRF at its centre): the "
                    "thickness map across the site"}))


def structures_csv(structures: list[Structure]) -> str:
    """One row per probe pad: structure, kind, pad, net, x, y, expected resistance (Ω, where it has one)."""
    lines = ["structure,kind,pad,net,x_um,y_um,expected_resistance_ohm"]
    for s in structures:
        r = s.expected.get("expected_resistance_ohm", "")
        for p, x, y in s.pads:
            lines.append(f"{s.name},{s.kind},{p},{s.net(p)},{x:.10g},{y:.10g},{r}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- a family's stack and the wafer's test sites

def pdk_stack(pdk: Pdk, drawn: set[str], plated: list[str], thickness: dict[str, float] | None = None,
              relief: Relief | None = None) -> Stack:
    """The test-structure stack of a PDK's own levels: the connectivity conductors the design draws that have a sheet
    resistance in the PDK's resistance.toml (bottom to top), the drawn vias between two of them that have a contact
    resistance there (`resistance_ohm`, or `specific_contact_resistivity_ohm_cm2` over a face `face_um` high);
    `plated` the levels the plating network feeds; `thickness` the design's thickness of a level whose sheet resistance
    the file gives for its `thickness_um` (Rs scales by thickness_um / T); `relief` the relief CSP's protrusion.
    PdkError when the file is missing or incomplete."""
    from ..errors import PdkError

    data, path = pdk.process_data("resistance", "the sheet and contact resistances of the test structures")
    sheet = {e["layer"]: float(e["sheet_resistance_ohm_sq"]) for e in data.get("level", [])}
    for lv, t in (thickness or {}).items():
        e = next((e for e in data.get("level", []) if e["layer"] == lv), None)
        if e is None:
            continue
        if "thickness_um" not in e:
            raise PdkError(f"{path}: [[level]] {lv} has no thickness_um: its sheet resistance cannot be scaled to the "
                           f"design's {t:g} µm")
        sheet[lv] = sheet[lv] * float(e["thickness_um"]) / t
    contact = {e["layer"]: float(e["resistance_ohm"]) for e in data.get("via", []) if "resistance_ohm" in e}
    # Ω·cm² to Ω·µm²: 1 cm² = 1e8 µm²
    area = {e["layer"]: (float(e["specific_contact_resistivity_ohm_cm2"]) * 1e8, float(e["face_um"]))
            for e in data.get("via", []) if "resistance_ohm" not in e}
    for e in data.get("via", []):
        if "resistance_ohm" not in e and ("specific_contact_resistivity_ohm_cm2" not in e or "face_um" not in e):
            raise PdkError(f"{path}: [[via]] {e.get('layer')} needs resistance_ohm, or specific_contact_resistivity_ohm_cm2 "
                           f"and face_um")
    levels = [c for c in pdk.connectivity.conductors if c in drawn and c in sheet]
    if not levels:
        raise PdkError(f"{path}: no [[level]] with a sheet resistance for any conductor this design draws "
                       f"({', '.join(c for c in pdk.connectivity.conductors if c in drawn) or 'none'})")
    known = set(contact) | set(area)
    vias = [(v.via, v.lower, v.upper) for v in pdk.connectivity.vias
            if v.via in drawn and v.lower in levels and v.upper in levels and v.via in known]
    pads = [(v.via, v.lower, v.upper) for v in pdk.connectivity.vias
            if v.via in drawn and v.lower in levels and v.upper in drawn and v.upper not in levels and v.via in contact
            and pdk.find_rule("enclosure", v.lower, v.upper) is not None]
    used = {v for v, _, _ in vias + pads}
    return Stack(levels=levels, vias=vias, top=levels[-1], sheet_ohm_sq={lv: sheet[lv] for lv in levels},
                 via_ohm={v: contact[v] for v in used if v in contact}, source=f"{pdk.name}/{Path(path).name}",
                 plated=[lv for lv in levels if lv in plated], contacts=pads,
                 via_ohm_um2={v: area[v] for v in used if v in area},
                 sidewall=[v.via for v in pdk.connectivity.vias if v.contact == "sidewall" and v.via in used],
                 relief=relief)


def package_relief(package, pdk: Pdk) -> Relief | None:
    """The relief CSP's protrusion for the line over its tiers, None for another family: moulded, the product's footprint
    (MOULD1) and recessed tier (MOULD2); printed, the apertures of its footprint and rim prints (STENCIL2, STENCIL3, each
    edge a step of that foil's thickness) with the gaps their bridges leave, over the base print (STENCIL)."""
    from ..families.relief_csp.model import ReliefCsp

    if not isinstance(package, ReliefCsp):
        return None
    from ..families.relief_csp.build import print_passes, protrusion_spec, protrusion_turns
    from ..families.relief_csp.cells.protrusion import relief_prints
    from ..families.relief_csp.cells.tiers import footprint, recessed_tier

    p, t = package.protrusions, package.protrusions.tiers
    foot = footprint(p.footprint, p.shape, pdk)
    if package.route == "mould":
        tiers = (Tier("MOULD1", (foot,), t.protuberant_height, "footprint_edges", "protuberant_um"),
                 Tier("MOULD2", (recessed_tier(t.recess, p.shape, t.recess_offset, pdk),),
                      t.protuberant_height - t.recessed_height, "recess_edges", "recess_step_um"))
        return Relief(foot, tiers, p.grid.pitch, t.protuberant_height, t.recessed_height, RELIEF_MOULD)
    passes = print_passes(package, pdk)
    prints = relief_prints(protrusion_spec(package, passes), pdk)
    tiers = (Tier("STENCIL2", tuple(prints["STENCIL2"].apertures), passes["STENCIL2"][0], "footprint_print_edges",
                  "footprint_print_um"),
             Tier("STENCIL3", tuple(prints["STENCIL3"].apertures), passes["STENCIL3"][0], "rim_print_edges", "rim_print_um"))
    gaps = shapely.union_all([b for r in prints.values() for b in r.bridges])
    return Relief(foot, tiers, p.grid.pitch, t.protuberant_height, t.recessed_height, RELIEF_PRINT, "STENCIL", gaps,
                  protrusion_turns(p), tuple((layer, th) for layer, (th, _) in passes.items()))


RELIEF_MOULD = ("R = Rs × (drawn length between the pads' edges + Σ tier steps climbed and descended) / width: onto "
                "each protuberant rim and off it (its height), into and out of each recessed tier (protuberant − "
                "recessed height); vertical mould walls, the track as thick on a wall as on the flat (assumed)")
RELIEF_PRINT = ("R = Rs × (drawn length between the pads' edges + Σ print steps climbed and descended) / width: onto and "
                "off each footprint print (the STENCIL2 foil's thickness, the recessed tier's height) and each rim print "
                "(the STENCIL3 foil's, protuberant − recessed height), counted where the line crosses those stencils' "
                "aperture edges; each protrusion turned as the product turns it, so that no bridge gap (unprinted) lies "
                "under the line; walls taken vertical, the track as thick on a wall as on the flat (assumed)")


def kerf_check(pdk: Pdk, stack: Stack, lane_um: float, bus_um: float, why_not: str = "") -> dict:
    """The summary's `kerf` entry when no structure is drawn in the scribe lanes: whether a row of probe pads with its
    clearances fits the lane (`kerf_need`), and why the structures are in the reserved die sites only."""
    s = lane_space(pdk, stack)
    need = kerf_need(pdk, stack, bus_um)
    if not lane_fits(lane_um, need):
        why = (f"the {lane_um:g} µm lanes are narrower than the {need:g} µm a row of {PROBE_PAD_UM:g} µm probe pads needs "
               f"with {s:g} µm to everything around" + (f", in the half of the lane beyond the {bus_um:g} µm plating bus "
                                                         f"(the dies' tails cross the other half to reach it)" if bus_um else "")
               + ": the test structures are in the reserved die sites")
    else:
        why = (f"the {lane_um:g} µm lanes could hold {PROBE_PAD_UM:g} µm probe pads ({need:g} µm needed), but "
               + (why_not or "Wafer.kerf_structures = False") + ": the test structures are in the reserved die sites")
    return {"lane_um": lane_um, "needs_um": need, "fits": lane_fits(lane_um, need), "placed": "sites", "reason": why}


def site_names(ij: np.ndarray) -> list[str]:
    """R<row>C<col> of every site (i, j), rows and columns counted from 1 at the bottom-left."""
    if len(ij) == 0:
        return []
    i0, j0 = int(ij[:, 0].min()), int(ij[:, 1].min())
    return [f"R{j - j0 + 1}C{i - i0 + 1}" for i, j in ij.tolist()]


# Sites named by where they are rather than by row and column: they stay valid when the wafer or the die changes.
PLACES = ("centre", "top", "bottom", "left", "right")


def placed_site(names: list[str], xy: np.ndarray, place: str) -> str:
    """R<row>C<col> of a named place: 'centre' the site nearest the wafer centre (ties: lower, then left);
    'top' and 'bottom' the last site up and down that site's column, 'left' and 'right' along its row."""
    c = int(np.lexsort((xy[:, 0], xy[:, 1], np.round(np.hypot(xy[:, 0], xy[:, 1]), 6)))[0])
    if place == "centre":
        return names[c]
    col = np.flatnonzero(np.isclose(xy[:, 0], xy[c, 0]))
    row = np.flatnonzero(np.isclose(xy[:, 1], xy[c, 1]))
    pick = {"top": col[np.argmax(xy[col, 1])], "bottom": col[np.argmin(xy[col, 1])],
            "right": row[np.argmax(xy[row, 0])], "left": row[np.argmin(xy[row, 0])]}[place]
    return names[int(pick)]


def reserve(dm, wanted: list[str], where: str):
    """The die map less the sites `wanted` (R<row>C<col>, named on the whole map, or a place of PLACES) and those
    sites' (name, x, y); ConfigError naming `where` for a site not on the map, or when nothing would be left."""
    from .diemap import without

    names = site_names(dm.indices())
    xy = dm.centres()
    if names:
        wanted = [placed_site(names, xy, w) if w in PLACES else w for w in wanted]
    bad = [n for n in wanted if n not in names]
    if bad:
        raise ConfigError(f"{where} = {wanted}: no die site {bad[0]} on the die map (sites are R<row>C<col> from R1C1 at "
                          f"the bottom-left, rows {1}..{len({j for j, _, _ in dm.runs})}, or one of {', '.join(PLACES)}; see the wafer map in summary.json)")
    picked = [(n, float(xy[names.index(n), 0]), float(xy[names.index(n), 1])) for n in dict.fromkeys(wanted)]
    kept, _ = without(dm, [(x - 1.0, y - 1.0, x + 1.0, y + 1.0) for _, x, y in picked])
    if kept.count == 0:
        raise ConfigError(f"{where} = {wanted}: the test sites take every die site of the wafer")
    return kept, picked


def structures_rows(placed: list[dict]) -> str:
    """teststructures.csv for structures placed at sites: one row per probe pad, `site.structure` in the first column."""
    out = structures_csv([])
    for st in placed:
        for pad in st["pads"]:
            out += (f"{st['site']}.{st['name']},{st['kind']},{pad['pad']},{pad['net']},{pad['x_um']:.10g},{pad['y_um']:.10g},"
                    f"{st.get('expected_resistance_ohm', '')}\n")
    return out


@dataclass
class TestSites:
    """The wafer's test sites: the site cell (with its plating tails on a plated wafer), where it goes, what it holds."""

    cell: Cell | None           # None: no die site reserved (kerf structures only)
    places: list[tuple[str, float, float]]
    structures: list[dict]
    stack: Stack
    kerf: dict | None = None
    reference: list[str] = field(default_factory=list)   # levels the structures run through that no mask makes

    def summary(self) -> dict:
        """The test-structure part of the wafer summary."""
        return {"file": "teststructures.csv", "cell": self.cell.name if self.cell is not None else None,
                "sites": [n for n, _, _ in self.places],
                **({"kerf": self.kerf} if self.kerf is not None else {}),
                **({"incoming_wafer": {lv: INCOMING for lv in self.reference}} if self.reference else {}),
                "levels": self.stack.levels, "vias": [v for v, _, _ in self.stack.vias], "resistance_source": self.stack.source,
                "probing": PROBING if self.stack.plated else "no plating network: every structure is its own metal",
                "structures": self.structures}


# What a level the structures run through but no mask makes (the backside's PAD) asks of the incoming wafer.
INCOMING = ("drawn in each test site but on no mask: the incoming wafer must carry this metal there (the chip maker's "
            "daisy-chain die in the reserved sites), as the site's GDS draws it")

# How structures on a plated wafer are probed (wafer summary, README).
PROBING = ("each plated piece of a structure is tied to the kerf bus by one tail from one of its probe pads (a single "
           "node: no second path, so a line, chain or Kelvin measured between its own pads is unaffected) and is probed "
           "after the level is plated and its seed etched; a comb's halves are both tied, so it reads shorted until the "
           "saw cuts the tails and is probed after dicing (open = clean); a chain whose links join through a level no tail "
           "feeds (the backside chain, through the pads) has a tail on every link and is probed after dicing too")


def blankets(pdk: Pdk, stack: Stack) -> list[tuple[str, float]]:
    """The blanket layers (on no mask) that must enclose a level of the stack (the backside's insulator under its
    wiring), each with the largest enclosure it must keep."""
    masked = {lay for m in pdk.masks for lay in m.layers}
    found: dict[str, float] = {}
    for r in pdk.rules:
        if r.kind == "enclosure" and r.other in stack.levels and r.layer not in stack.levels and r.layer not in masked:
            found[r.layer] = max(found.get(r.layer, 0.0), r.value or 0.0)
    return sorted(found.items())


def wafer_test_sites(pdk: Pdk, stack: Stack, places: list[tuple[str, float, float]], size: tuple[float, float],
                     tails: tuple[float, float, float] | None, name: str, where: str,
                     lane: tuple[float, float] | None = None) -> TestSites:
    """The test-site cell, die-sized (`size`, DIE outline), with every structure of `stack`; on a plated wafer
    (`tails` = reach beyond the site edge, width, space) one plating tail per plated piece, from a probe pad where
    it has one; `lane` (scribe lane width, plating bus width or 0) for the kerf check. ConfigError naming `where`
    when the structures or their tails do not fit."""
    from .plating import conductor_islands, plating_tails
    from ..layout import Layout

    try:
        cell, structures = test_site(pdk, stack, size, name)
    except ConfigError as e:
        raise ConfigError(f"{where} = {[n for n, _, _ in places]}: {e} (the die site is the test site)") from None
    outline = (-size[0] / 2, -size[1] / 2, size[0] / 2, size[1] / 2)
    cell.add("DIE", rect(size[0], size[1], pdk.grid_um))
    seal = pdk.die.seal_width_um   # the keep-out band at the edge a die's seal ring holds: the site is diced as a die is
    if seal > 0 and "SEAL" in pdk.layers:
        cell.add("SEAL", rect(size[0], size[1], pdk.grid_um).difference(rect(size[0] - 2 * seal, size[1] - 2 * seal, pdk.grid_um)))
    # a blanket layer (no mask) that must enclose a level, as the die draws it: over the whole site (backside ISO)
    masked = {lay for m in pdk.masks for lay in m.layers}
    for lay, _ in blankets(pdk, stack):
        cell.add(lay, rect(size[0], size[1], pdk.grid_um))
    if tails is not None and stack.plated:
        from .checks import network_layers

        reach, w, gap = tails
        layout = Layout(top=cell.name, cells={cell.name: cell})
        islands = conductor_islands(layout, cell.name, network_layers(pdk))
        made, stuck = plating_tails(islands, list(cell.labels), outline, reach, w, gap, pdk.grid_um, pad_layer=stack.top)
        if stuck:
            net, x, y = stuck[0]
            raise ConfigError(f"{where}: the test structure piece {net or 'without a probe pad'} at ({x:g}, {y:g}) has no "
                              f"straight way out of the site for its plating tail")
        cell.add("PLATE", *[t.shape for t in made])
    placed = [{"site": n, **st.moved(round(x, 6), round(y, 6)).to_json()} for n, x, y in places for st in structures]
    return TestSites(cell, places, placed, stack, kerf_check(pdk, stack, *lane) if lane is not None else None,
                     [lv for lv in stack.levels if lv not in masked])


# ---------------------------------------------------------------- structures in the scribe lane

KERF_GAP_UM = PROBE_PAD_UM   # between two structures along the lane


class _Lane(_Site):
    """A kerf structure: drawn along x on the centre line of a lane band `height` tall, from x = -length / 2."""

    def __init__(self, pdk: Pdk, stack: Stack, length: float, height: float, name: str):
        super().__init__(pdk, stack, (length, height), name)
        self.margin = 0.0
        self.left = -length / 2

    def row(self, height: float) -> float:
        if height > self.size[1] + LENGTH_EPS_UM:
            raise ConfigError(f"a {height:g} µm tall structure does not fit the {self.size[1]:g} µm band of the lane")
        return 0.0


def _kerf_makers(pdk: Pdk, stack: Stack) -> list[tuple[str, object]]:
    """What goes in the lane, in order: a daisy chain per via between two levels (a sidewall contact's chain needs its
    groove, too tall for a lane), a line-width bridge and a space comb per level drawn as lines on a mask."""
    masked = {lay for m in pdk.masks for lay in m.layers}
    out: list[tuple[str, object]] = [(f"CHAIN_{v}", lambda s, v=v, a=a, b=b: _daisy_chain(s, v, a, b))
                                     for v, a, b in stack.vias if v not in stack.sidewall]
    for level in stack.levels:
        if _rule(pdk, "space", level) and level in masked:
            out += [(f"LINE_{level}", lambda s, lv=level: _line(s, lv)),
                    (f"COMB_{level}", lambda s, lv=level: _comb(s, lv, ends=True))]
    return out


def _kerf_cell(pdk: Pdk, stack: Stack, maker, length: float, height: float, name: str) -> tuple[Cell, list[Structure], float]:
    """One kerf structure drawn in at most `length` along the lane: its cell (left end at x = 0, centre line at y = 0,
    one polygon per piece of metal), its structures, its length; ConfigError when it does not fit."""
    lane = _Lane(pdk, stack, length, height, name)
    maker(lane)
    x0, _, x1, _ = shapely.union_all([g for shapes in lane.cell.shapes.values() for g in shapes]).bounds
    if x1 - x0 > length + 1e-6:
        raise ConfigError(f"{name} is {x1 - x0:g} µm long: more than the {length:g} µm of lane left")
    cell = Cell(name)
    for layer, shapes in lane.cell.shapes.items():
        merged = shapely.union_all(shapes) if layer in stack.levels else None
        parts = shapely.get_parts(merged).tolist() if merged is not None else shapes
        cell.add(layer, *[shapely.set_precision(shapely.affinity.translate(g, -x0, 0.0), pdk.grid_um) for g in parts])
    for lb in lane.cell.labels:
        cell.label(lb.layer, lb.text, round(lb.x - x0, 6), lb.y)
    bx0, by0, bx1, by1 = shapely.union_all([g for lv in stack.levels for g in cell.shapes.get(lv, [])]).bounds
    for lay, en in blankets(pdk, stack):   # over the structure as over a site: the blanket the wiring must lie on
        e = pdk.snap_up(en)
        cell.add(lay, box(bx0 - e, by0 - e, bx1 + e, by1 + e))
    return cell, [s.moved(-x0, 0.0) for s in lane.structures], x1 - x0


@dataclass
class KerfRow:
    """Test structures in a scribe lane: a cell per structure and where it goes on the wafer (left end, centre line),
    their structures (wafer coordinates, site 'KERF') and the summary's `kerf` entry."""

    cells: list[Cell]
    places: list[tuple[str, float, float]]
    structures: list[dict]
    summary: dict


def lane_space(pdk: Pdk, stack: Stack) -> float:
    """The clearance a kerf row keeps to everything around it: the largest space of its levels (`space`: the space rule,
    else the width), over the levels the PDK gives a width (the ones structures are drawn on)."""
    return max(space(pdk, lv) for lv in stack.levels if _rule(pdk, "width", lv))


def kerf_need(pdk: Pdk, stack: Stack, bus_um: float) -> float:
    """The lane a row of kerf structures needs: a probe pad with its levels' largest space above and below; on a plated
    wafer all that in the half of the lane beyond the bus (the dies' tails cross the other half to reach it)."""
    s = lane_space(pdk, stack)
    return 2 * (PROBE_PAD_UM + 2 * s) + bus_um if bus_um else PROBE_PAD_UM + 2 * s


def lane_fits(lane_um: float, need_um: float) -> bool:
    """Whether a scribe lane of `lane_um` holds a kerf row needing `need_um` (`kerf_need`)."""
    return lane_um >= need_um - LENGTH_EPS_UM


def kerf_row(pdk: Pdk, stack: Stack, dm, lane_um: float, bus_um: float, tail_um: float, usable: Polygon,
             obstacles: list[Polygon], wanted: bool | None, where: str) -> KerfRow | None:
    """Test structures in the scribe lane above the top row of dies, the row nearest the wafer edge, where nothing lies
    beyond: on a plated wafer in the lane's outer half (between the bus and the lane's edge, the dies' tails crossing
    only the inner half), each plated piece tied to the bus by one tail straight down from a pad; without plating on
    the lane's centre line, where the saw runs. Either way the saw cuts them off every die. Placed one after the other
    from the left end of the stretch of the band nearest the wafer's centre line that is clear (by the largest space) of
    `obstacles` and inside `usable`, then the next stretch. None when `wanted` is False, or is None and they do not fit; ConfigError naming `where` when wanted
    and they do not."""
    if wanted is False:
        return None
    need = kerf_need(pdk, stack, bus_um)
    s = lane_space(pdk, stack)
    summary = {"lane_um": lane_um, "needs_um": need, "fits": lane_fits(lane_um, need)}

    def refuse(why: str) -> None:
        if wanted:
            raise ConfigError(f"{where} = True: {why}")
        return None

    if not lane_fits(lane_um, need):
        return refuse(f"the {lane_um:g} µm lanes are narrower than the {need:g} µm a row of {PROBE_PAD_UM:g} µm probe pads "
                      f"needs with {s:g} µm to everything around" + (f", in the half of the lane beyond the {bus_um:g} µm "
                      f"plating bus" if bus_um else ""))
    (ox, oy), (px, py), (w, h) = dm.offset, dm.pitch, dm.die
    j, i0, i1 = max(dm.runs)
    yc = oy + (j + 0.5) * py                                      # the lane above the top row
    lo = yc + bus_um / 2 + s if bus_um else yc - lane_um / 2 + s
    hi = yc + lane_um / 2 - s
    y = pdk.snap((lo + hi) / 2) if bus_um else pdk.snap(yc)
    band = box(ox + i0 * px - w / 2, y - PROBE_PAD_UM / 2, ox + i1 * px + w / 2, y + PROBE_PAD_UM / 2)
    blocked = shapely.union_all([g.buffer(s, join_style="mitre") for g in obstacles if g.intersects(band.buffer(s))]
                                + [band.difference(usable)])
    cuts = sorted((g.bounds[0], g.bounds[2]) for g in shapely.get_parts(band.intersection(blocked)) if g.area > 0)
    free, x = [], band.bounds[0]
    for a, b in cuts:
        if a > x:
            free.append((x, a))
        x = max(x, b)
    free.append((x, band.bounds[2]))
    free = sorted(((pdk.snap_up(a), pdk.snap(b)) for a, b in free if b - a > PROBE_PAD_UM),
                  key=lambda ab: (min(abs(ab[0]), abs(ab[1])) if ab[0] * ab[1] > 0 else 0.0, ab[0]))
    cells, places, structures = [], [], []
    k, at = 0, free[0][0] if free else 0.0
    for name, maker in _kerf_makers(pdk, stack):
        while k < len(free):
            try:
                cell, made, length = _kerf_cell(pdk, stack, maker, free[k][1] - at, PROBE_PAD_UM,
                                                f"KERF_{pdk.name.upper()}_{name}")
                break
            except ConfigError:
                k += 1
                at = free[k][0] if k < len(free) else 0.0
        else:
            return refuse(f"the lane above the top row of dies (y = {yc:g} µm) has no stretch left clear of the marks, "
                          f"dies and plating lines for {name}")
        if bus_um and stack.plated:
            _bus_tails(cell, stack, made, y - yc, tail_um, pdk.grid_um)
        cells.append(cell)
        places.append((cell.name, pdk.snap(at), y))
        structures += [{"site": "KERF", **st.moved(pdk.snap(at), y).to_json()} for st in made]
        at = pdk.snap_up(at + length + KERF_GAP_UM)
    summary |= {"placed": "kerf", "lane_y_um": round(yc, 6), "row_y_um": y,
                "reason": (f"the {lane_um:g} µm lanes hold a row of {PROBE_PAD_UM:g} µm probe pads ({need:g} µm needed): "
                           f"{len(structures)} structures in the lane above the top row of dies" +
                           (", in its half beyond the plating bus, each plated piece tied to the bus by one tail"
                            if bus_um else ", on its centre line") + "; the saw cuts them off every die")}
    summary["structures"] = [st["name"] for st in structures]
    return KerfRow(cells, places, structures, summary)


def _bus_tails(cell: Cell, stack: Stack, made: list[Structure], drop: float, width_um: float, grid: float) -> None:
    """One plating tail per plated piece of a kerf cell, straight down from its first probe pad to the bus centre line
    `drop` below the row's centre line: a single node on the bus, so a structure measured between its pads is not."""
    plated = [lv for lv in stack.levels if stack.plated is None or lv in stack.plated]
    pieces = [g for lv in plated for g in cell.shapes.get(lv, [])]
    half = round(width_um / 2 / grid) * grid
    tails = []
    for piece in pieces:
        pad = next(((x, y) for st in made for _, x, y in st.pads if piece.intersects(shapely.Point(x, y))), None)
        if pad is None:
            raise ConfigError(f"a kerf structure's piece at {piece.representative_point().coords[0]} has no probe pad for "
                              f"its plating tail")
        tails.append(box(pad[0] - half, -drop, pad[0] + half, pad[1]))   # from the pad's centre, as a die's tail
    cell.add("PLATE", *tails)
