"""Family 3: terminals etched from a conductive sheet, flexible leads on its bottom (WO 98/28955).

Leads on the sheet's bottom run from a fixed end (large bulge over a via liner) to a tip
(small bulge) bonded on a chip contact; their narrow section meanders so that it is long
enough to follow the lift. Etch-resist spots on the sheet's top, biased for the etch
undercut, leave one "cooling tower" terminal each; the potential-plane variant adds an
isolation ring around each terminal that is not tied to the plane. A frame outline and
fiducials sit at the same coordinates on every mask. All lengths in µm, the die centred at
(0, 0) seen from the sheet's top.

`plan_sheet(design, pdk)` is the pure plan (positions, meanders, sizes); `build_die` turns it
into cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field as dc_field, replace
from typing import Literal

import numpy as np
import shapely
from pydantic import Field, model_validator
from shapely.geometry import Polygon
from shapely.strtree import STRtree

from layoutgen.cells.shapes import circle, grow, pad_outline, rect, width_across_flats
from .cells.fiducial import fiducial_cross
from .cells.frame import frame_field, frame_outline
from .cells.lead import Meander, MeanderError, lead_cell, lead_centreline, lead_length, plan_meander
from .cells.liner import liner_opening
from .cells.ring import isolation_ring
from .cells.spot import ETCH_MODELS, SpotShape, TowerSizes, spot_outline
from layoutgen.design import BallGrid, Design, Length, Model, Package, Pad
from layoutgen.errors import ConfigError
from layoutgen.layout import Cell, Layout, name_number
from layoutgen.pdk import Pdk
from layoutgen.units import LENGTH_EPS_UM, STEP_EPS, snap_up
from ..die import check_die_size
from ..result import DieResult
from .model import Fiducials, Frame, PotentialPlane, SheetTerminals
from .substrate import check_sheet_wafer, mask_scale

# The substrate level is one sheet over the whole wafer (layoutgen.wafer.sheet), its masks drawn at the thermal scale.
WAFER_LEVEL = "sheet"
__all__ = ["WAFER_LEVEL", "build_die", "mask_scale", "plan_sheet"]

# Rotation (degrees) that turns the lead cell (tip towards -y) to point at a contact on each side.
_SIDE_ROTATION = {"bottom": 0.0, "right": 90.0, "top": 180.0, "left": 270.0}
_INWARD = {"bottom": (0.0, 1.0), "right": (-1.0, 0.0), "top": (0.0, -1.0), "left": (1.0, 0.0)}


@dataclass(frozen=True)
class LeadPlan:
    """One lead: its contact, fixed end, the side it comes from, offset and meander."""

    contact: str
    net: str
    fixed: tuple[float, float]
    tip: tuple[float, float]
    side: str
    offset: float
    meander: Meander
    required: float

    @property
    def rotation(self) -> float:
        """Cell rotation, degrees."""
        return _SIDE_ROTATION[self.side]

    def centreline(self) -> np.ndarray:
        """The centreline placed on the die, fixed end first."""
        local = lead_centreline(self.offset, self.meander)
        a = math.radians(self.rotation)
        c, s = round(math.cos(a)), round(math.sin(a))
        return np.c_[local[:, 0] * c - local[:, 1] * s, local[:, 0] * s + local[:, 1] * c] + self.fixed

    @property
    def length(self) -> float:
        """Centreline length, µm."""
        return lead_length(lead_centreline(self.offset, self.meander))


@dataclass(frozen=True)
class TerminalPlan:
    """One terminal: name, net (None when not known), centre, and whether an isolation ring surrounds it."""

    name: str
    net: str | None
    x: float
    y: float
    isolated: bool


@dataclass
class SheetPlan:
    """Everything the sheet's layout is drawn from (pure data)."""

    sizes: TowerSizes
    etch_depth: float
    lead_width: float
    lead_space: float
    liner: Polygon
    fixed_bulge: Polygon
    tip_bulge: Polygon
    spot: Polygon
    ring: Polygon | None
    field: Polygon
    marks: list[Polygon]
    bond: Polygon | None = None              # bonding metal on each lead (or post) tip
    stems: tuple[Polygon, Polygon] | None = None   # figs. 10-14: the stems under the fixed end and the tip (STEM)
    release_undercut: float = 0.0            # figs. 10-14: the release etch's undercut from each lead edge, µm
    post: Polygon | None = None              # fig. 19: a post's etch-resist dot (PILLAR)
    post_sizes: TowerSizes | None = None     # fig. 19: the post's tip, neck and base from the etch model
    grid_vias: tuple[Polygon, Polygon, Polygon, Polygon] | None = None   # grid variant: TVIA, its landing, SVIA, its capture
    leads: list[LeadPlan] = dc_field(default_factory=list)
    terminals: list[TerminalPlan] = dc_field(default_factory=list)


def _fail(obj: Model, field_name: str, value, reason: str) -> ConfigError:
    return ConfigError(f"{obj.where()}: {type(obj).__name__}.{field_name} = {value!r}: {reason}")


def _side(pad: Pad, half_w: float, half_h: float) -> str:
    """The die side a contact is nearest to."""
    if half_h - abs(pad.y) <= half_w - abs(pad.x):
        return "bottom" if pad.y < 0 else "top"
    return "left" if pad.x < 0 else "right"


def _marks(design: Design, pdk: Pdk) -> tuple[list[Polygon], Polygon]:
    """Frame outline and fiducials (MARK) and the terminal field inside the frame."""
    pkg: SheetTerminals = design.package  # type: ignore[assignment]
    die, grid = design.die, pdk.grid_um
    line = pdk.value("width", "MARK")
    marks: list[Polygon] = []
    field_poly = rect(die.width, die.height, grid)
    if pkg.frame is not None:
        if 2 * (pkg.frame.inset + line) >= min(die.width, die.height):
            raise _fail(pkg.frame, "inset", pkg.frame.inset, f"leaves no sheet inside the {die.width:g} × {die.height:g} µm die")
        marks.append(frame_outline(die.width, die.height, pkg.frame.inset, line, grid))
        field_poly = frame_field(die.width, die.height, pkg.frame.inset, line, grid)
    if pkg.fiducials is not None:
        f = pkg.fiducials
        if f.size < 2 * line:
            raise _fail(f, "size", f.size, f"a cross needs arms longer than its {line:g} µm line ({pdk.rule('width', 'MARK').name})")
        cross = fiducial_cross(f.size, line, grid)
        cx, cy = pdk.snap(die.width / 2 - f.inset), pdk.snap(die.height / 2 - f.inset)
        if cx - f.size / 2 <= 0 or cy - f.size / 2 <= 0:
            raise _fail(f, "inset", f.inset, f"puts the fiducials past the die centre of a {die.width:g} × {die.height:g} µm die")
        for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            marks.append(shapely.affinity.translate(cross, sx * cx, sy * cy))
    return marks, field_poly


def _free_stretches(lead: int, fixed: np.ndarray, tips: np.ndarray, rot: np.ndarray, offsets: np.ndarray,
                    r_fixed: float, r_tip: float, amp: float, w: float, s: float) -> list[tuple[float, float]]:
    """Distances along lead `lead` (from its fixed end) where it may swing ±amp clear of every other lead's bulges."""
    d = offsets[lead]
    lo, hi = r_fixed + s + w / 2, d - r_tip - s - w / 2
    if hi <= lo:
        return []
    a = math.radians(rot[lead])
    c, sn = round(math.cos(a)), round(math.sin(a))
    others = np.delete(np.arange(len(fixed)), lead)
    cuts: list[tuple[float, float]] = []
    for centres, r in ((fixed[others], r_fixed), (tips[others], r_tip)):
        rel = centres - fixed[lead]
        x = rel[:, 0] * c + rel[:, 1] * sn          # rotate back into the lead's frame
        t = -(-rel[:, 0] * sn + rel[:, 1] * c)      # distance along the axis towards the tip
        near = np.abs(x) - r - amp - w / 2 < s
        for tt in t[near]:
            cuts.append((tt - r - s - w / 2, tt + r + s + w / 2))
    free = [(lo, hi)]
    for c0, c1 in sorted(cuts):
        nxt = []
        for f0, f1 in free:
            if c1 <= f0 or c0 >= f1:
                nxt.append((f0, f1))
                continue
            if c0 > f0:
                nxt.append((f0, c0))
            if c1 < f1:
                nxt.append((c1, f1))
        free = nxt
    return free


def _plan_leads(design: Design, pdk: Pdk, w: float, s: float, fixed_bulge: Polygon, tip_bulge: Polygon) -> list[LeadPlan]:
    """Fixed ends (offsets cycled along each side), meanders long enough for the lift, for every contact."""
    pkg: SheetTerminals = design.package  # type: ignore[assignment]
    die, grid = design.die, pdk.grid_um
    pads = die.pads
    sides = [_side(p, die.width / 2, die.height / 2) for p in pads]
    along = {"bottom": lambda p: p.x, "right": lambda p: p.y, "top": lambda p: -p.x, "left": lambda p: -p.y}
    rank: dict[int, int] = {}
    for side in _SIDE_ROTATION:
        members = sorted((i for i, sd in enumerate(sides) if sd == side), key=lambda i: along[side](pads[i]))
        rank.update({i: k for k, i in enumerate(members)})
    tips = np.array([(pdk.snap(p.x), pdk.snap(p.y)) for p in pads])
    offsets = np.array([pdk.snap(pkg.offsets[rank[i] % len(pkg.offsets)]) for i in range(len(pads))])
    inward = np.array([_INWARD[sd] for sd in sides])
    fixed = tips + inward * offsets[:, None]
    rot = np.array([_SIDE_ROTATION[sd] for sd in sides])
    r_fixed = float(np.hypot(*shapely.get_coordinates(fixed_bulge).T).max())
    r_tip = float(np.hypot(*shapely.get_coordinates(tip_bulge).T).max())
    # Lane: a lead may swing half-way to its nearest neighbour, less half a space.
    if len(pads) > 1:
        dist = np.hypot(*(tips[:, None, :] - tips[None, :, :]).transpose(2, 0, 1))
        np.fill_diagonal(dist, np.inf)
        nearest = dist.min(axis=1)
    else:
        nearest = offsets.astype(float)          # a lone contact: swing at most half its offset each way
    plans: list[LeadPlan] = []
    for i, pad in enumerate(pads):
        d = float(offsets[i])
        required = (1 + pkg.lead_slack) * (pkg.lift + d)
        amp = math.floor((nearest[i] - s - w) / 2 / grid + STEP_EPS) * grid
        free = _free_stretches(i, fixed, tips, rot, offsets, r_fixed, r_tip, amp, w, s)
        try:
            meander = plan_meander(required - d, w, s, amp, free, grid)
        except MeanderError as e:
            raise ConfigError(
                f"{pkg.where()}: SheetTerminals.offsets: lead of contact {pad.name} (offset {d:g} µm, lift {pkg.lift:g} µm, "
                f"slack {pkg.lead_slack:g}) must be ≥ {required:g} µm long: {e}; raise the offset, space the contacts "
                f"further apart, or lower lift / lead_slack") from None
        plans.append(LeadPlan(pad.name, pad.net, (float(fixed[i, 0]), float(fixed[i, 1])),
                              (float(tips[i, 0]), float(tips[i, 1])), sides[i], d, meander, required))
    return plans


def _check_leads_apart(plans: list[LeadPlan], polys: list[Polygon], s: float, rule_name: str, where: str) -> None:
    """Every two leads at least the lead space apart (the generator's promise); ConfigError naming both."""
    if len(polys) < 2:
        return
    tree = STRtree(polys)
    a, b = tree.query(polys, predicate="dwithin", distance=s - LENGTH_EPS_UM)
    for i, j in zip(a.tolist(), b.tolist()):
        if i < j:
            gap = polys[i].distance(polys[j])
            if gap < s - LENGTH_EPS_UM:
                p = shapely.get_point(shapely.shortest_line(polys[i], polys[j]), 0)
                raise ConfigError(
                    f"{where}: leads of contacts {plans[i].contact} and {plans[j].contact} come {gap:.3f} µm apart near "
                    f"({p.x:.1f}, {p.y:.1f}): {rule_name} needs ≥ {s:g} µm; change the offsets or move the contacts")


def plan_sheet(design: Design, pdk: Pdk) -> SheetPlan:
    """The sheet's plan from the design: sizes from the etch model, leads, terminals, marks; ConfigError on bad input."""
    pkg = design.package
    assert isinstance(pkg, SheetTerminals)
    die, grid = design.die, pdk.grid_um
    check_die_size(die, pdk)

    # Lead parts, sized from the rules.
    w_rule = pdk.rule("width", "LEAD")
    w = pkg.lead_width if pkg.lead_width is not None else w_rule.value
    if w < w_rule.value - LENGTH_EPS_UM:
        raise _fail(pkg, "lead_width", pkg.lead_width, f"below {w_rule.name} ({w_rule.value:g} µm)")
    w = pdk.snap_up(w)
    s = pdk.value("space", "LEAD")
    liner = liner_opening(pkg.liner_diameter, pdk)
    # the fixed bulge covers the via liner (figs. 1-9), the stem's core (figs. 10-14) or the mass's cavity (fig. 17)
    en_fixed = pdk.rule("enclosure", "LEAD", "MASS" if pkg.terminals == "masses" else "LINER")
    fixed_bulge = grow(liner, en_fixed.value, grid)
    tip_bulge = circle(pkg.tip_diameter, pdk.circle_vertices, grid, "circumscribed")
    bond = pdk.rule("overlap", "LEAD", "PAD")
    leads = pkg.attach == "leads"       # the lead parts' checks (rigid posts have none of them, fig. 19)
    if leads and pkg.tip_diameter < bond.value - LENGTH_EPS_UM:
        raise _fail(pkg, "tip_diameter", pkg.tip_diameter, f"below the {bond.value:g} µm bond of {bond.name}")
    if leads and not (w < pkg.tip_diameter < width_across_flats(fixed_bulge)):
        raise _fail(pkg, "tip_diameter", pkg.tip_diameter,
                    f"a lead needs narrow section ({w:g} µm) < tip bulge < fixed bulge ({width_across_flats(fixed_bulge):.3f} µm: "
                    f"liner {pkg.liner_diameter:g} + 2 × {en_fixed.name})")
    tip_field, tip_size = ("posts.diameter", pkg.posts.diameter) if pkg.attach == "posts" else ("tip_diameter", pkg.tip_diameter)
    for p in die.pads:
        if tip_size > min(p.width, p.height) + LENGTH_EPS_UM:
            raise ConfigError(f"{p.where()}: Pad {p.name} ({p.width:g} × {p.height:g} µm) is smaller than the "
                              f"{'post' if pkg.attach == 'posts' else 'lead'} tip (SheetTerminals.{tip_field} = "
                              f"{tip_size:g} µm): the tip must lie on its contact")

    # Spot and terminal sizes from the etch model (through what the posts' etch from the bottom leaves, fig. 19).
    depth = pkg.sheet_thickness - (pkg.plane.thickness if pkg.plane else 0.0) - (pkg.posts.height if pkg.attach == "posts" else 0.0)
    sizes = ETCH_MODELS[pkg.etch_model](pkg.terminal_top, depth, pkg.etch_factor, pkg.neck_undercut)
    if sizes.neck <= 0:
        raise _fail(pkg, "terminal_top", pkg.terminal_top,
                    f"the {depth:g} µm etch (EF {pkg.etch_factor:g}) undercuts the neck to {sizes.neck:.1f} µm: "
                    "the terminal would fall off; enlarge the top or use a higher etch factor")
    spot_rule = pdk.rule("width", "SPOT")
    if sizes.spot < spot_rule.value - LENGTH_EPS_UM:
        raise _fail(pkg, "terminal_top", pkg.terminal_top, f"gives a {sizes.spot:g} µm spot, below {spot_rule.name} ({spot_rule.value:g} µm)")
    spot = spot_outline(pkg.spot_shape, sizes.spot, grid, pkg.spot_sides, pdk.circle_vertices)
    ring = None
    if pkg.plane is not None:
        clr_rule, wid_rule = pdk.rule("separation", "PLANE", "SPOT"), pdk.rule("width", "PLANE")
        clr = pkg.plane.clearance if pkg.plane.clearance is not None else clr_rule.value
        rw = pkg.plane.ring_width if pkg.plane.ring_width is not None else wid_rule.value
        if clr < clr_rule.value - LENGTH_EPS_UM:
            raise _fail(pkg.plane, "clearance", clr, f"below {clr_rule.name} ({clr_rule.value:g} µm)")
        if rw < wid_rule.value - LENGTH_EPS_UM:
            raise _fail(pkg.plane, "ring_width", rw, f"below {wid_rule.name} ({wid_rule.value:g} µm)")
        ring = isolation_ring(spot, clr, rw, grid)

    marks, field_poly = _marks(design, pdk)
    plan = SheetPlan(sizes=sizes, etch_depth=depth, lead_width=w, lead_space=s, liner=liner, fixed_bulge=fixed_bulge,
                     tip_bulge=tip_bulge, spot=spot, ring=ring, field=field_poly, marks=marks,
                     bond=_bond(pkg, pdk) if leads else None, grid_vias=_grid_vias(pkg, pdk, fixed_bulge, spot) if pkg.placement == "grid" else None)
    if not pkg.dielectric and pkg.attach == "leads":
        plan.release_undercut, plan.stems = _stems(pkg, pdk, w, fixed_bulge, tip_bulge)

    tied = set(pkg.plane.tied) if pkg.plane else set()
    if pkg.attach == "posts":
        # Fig. 19: no leads; a rigid post on each contact, its terminal straight over it.
        plan.post_sizes, plan.post = _post(pkg, pdk)
        plan.bond = _bond(pkg, pdk, pkg.posts.diameter, "posts.diameter")
        plan.terminals = [TerminalPlan(p.name, p.net, pdk.snap(p.x), pdk.snap(p.y),
                                       pkg.plane is not None and not ({p.name, p.net} & tied)) for p in die.pads]
        return plan
    plan.leads = _plan_leads(design, pdk, w, s, fixed_bulge, tip_bulge)
    if pkg.placement == "per_lead":
        plan.terminals = [TerminalPlan(ld.contact, ld.net, ld.fixed[0], ld.fixed[1],
                                       pkg.plane is not None and not ({ld.contact, ld.net} & tied)) for ld in plan.leads]
    else:
        g = pkg.grid
        if g.assign == "auto" and len(g.positions()) < len(plan.leads):
            raise _fail(pkg, "grid", f"{g.rows} × {g.cols} ({len(g.positions())} terminals)",
                        f"placement='grid' joins each of the {len(plan.leads)} leads to its own terminal through the "
                        f"dielectric's traces (figs. 8-9): the grid needs ≥ {len(plan.leads)} terminals")
        nets = g.nets if g.assign == "explicit" else {}
        plan.terminals = [TerminalPlan(n, nets.get(n), pdk.snap(x), pdk.snap(y),
                                       pkg.plane is not None and not ({n, nets.get(n)} & tied)) for n, x, y in g.positions()]
    # On an auto-assigned grid the terminals' nets are known after the traces are routed: any contact's net may be tied.
    routed_nets = {p.net for p in die.pads} if pkg.placement == "grid" and pkg.grid.assign == "auto" else set()
    unknown = sorted(tied - {t.name for t in plan.terminals} - {t.net for t in plan.terminals if t.net} - routed_nets)
    if unknown:
        raise _fail(pkg.plane, "tied", sorted(tied), f"{', '.join(unknown)} names no terminal or net of this sheet")
    return plan


def _bond(pkg: SheetTerminals, pdk: Pdk, tip_d: float | None = None, field_name: str = "tip_diameter") -> Polygon:
    """The bonding metal on a lead (or post) tip: the tip less LEAD.EN.BOND all round, ≥ BOND.W.1; ConfigError if it cannot be."""
    en, w = pdk.rule("enclosure", "LEAD", "BOND"), pdk.rule("width", "BOND")
    tip_d = pkg.tip_diameter if tip_d is None else tip_d
    d = tip_d - 2 * en.value
    if d < w.value - LENGTH_EPS_UM:
        raise _fail(pkg, field_name, tip_d, f"leaves {d:g} µm for the tip's bonding metal inside "
                    f"{en.name} ({en.value:g} µm): {w.name} needs ≥ {w.value:g} µm")
    tip = circle(tip_d, pdk.circle_vertices, pdk.grid_um, "circumscribed")
    # the tip bulge's own outline moved in (one grid step more, so the snapped vertices keep the enclosure)
    return shapely.set_precision(tip.buffer(-(en.value + pdk.grid_um), join_style="mitre"), pdk.grid_um)


def _stems(pkg: SheetTerminals, pdk: Pdk, w: float, fixed_bulge: Polygon, tip_bulge: Polygon) -> tuple[float, tuple[Polygon, Polygon]]:
    """Figs. 10-14: the release etch from the bottom undercuts every lead edge until the narrow section is free
    (half its width plus `release_overetch`); what it leaves under the fixed bulge (the stem joining lead and sheet)
    and under the tip bulge (the weak stem holding the tip until it is bonded); ConfigError when the tip's is too thin."""
    grid = pdk.grid_um
    u = snap_up(w / 2 + pkg.release_overetch, grid)
    rule = pdk.rule("width", "STEM")
    fixed, tip = (shapely.set_precision(b.buffer(-u, join_style="mitre"), grid) for b in (fixed_bulge, tip_bulge))
    if tip.is_empty or width_across_flats(tip) < rule.value - LENGTH_EPS_UM:
        left = 0.0 if tip.is_empty else width_across_flats(tip)
        raise _fail(pkg, "tip_diameter", pkg.tip_diameter,
                    f"the release etch undercuts every lead edge by {u:g} µm (half the {w:g} µm lead plus "
                    f"release_overetch {pkg.release_overetch:g} µm) and leaves a {left:.3f} µm stem under the tip: "
                    f"{rule.name} needs ≥ {rule.value:g} µm to hold the tip until it is bonded")
    return u, (fixed, tip)


def _post(pkg: SheetTerminals, pdk: Pdk) -> tuple[TowerSizes, Polygon]:
    """Fig. 19: the etch-resist dot that leaves a post of the given tip diameter after the partial etch of its height
    (the terminal's etch model, from the bottom); ConfigError when the neck vanishes or the dot is below PILLAR.W.1."""
    p = pkg.posts
    sizes = ETCH_MODELS[pkg.etch_model](p.diameter, p.height, pkg.etch_factor, pkg.neck_undercut)
    if sizes.neck <= 0:
        raise _fail(p, "diameter", p.diameter, f"the {p.height:g} µm etch (EF {pkg.etch_factor:g}) undercuts the post's "
                    f"neck to {sizes.neck:.1f} µm: the post would fall off; widen it or lower its height")
    rule = pdk.rule("width", "PILLAR")
    if sizes.spot < rule.value - LENGTH_EPS_UM:
        raise _fail(p, "diameter", p.diameter, f"gives a {sizes.spot:g} µm dot, below {rule.name} ({rule.value:g} µm)")
    return sizes, spot_outline("circle", sizes.spot, pdk.grid_um, 6, pdk.circle_vertices)


def _grid_vias(pkg: SheetTerminals, pdk: Pdk, fixed_bulge: Polygon, spot: Polygon) -> tuple[Polygon, Polygon, Polygon, Polygon]:
    """Grid variant: the via at each fixed end (liner-sized, inside the bulge) with its trace landing, and the via under
    each terminal (SVIA.W.1) with its trace capture; ConfigError when the bulge or the spot cannot enclose them."""
    grid = pdk.grid_um
    tvia = circle(max(pkg.liner_diameter, pdk.value("width", "TVIA")), pdk.circle_vertices, grid, "inscribed")
    svia = circle(pdk.value("width", "SVIA"), pdk.circle_vertices, grid, "inscribed")
    for outer, inner, rule in ((fixed_bulge, tvia, pdk.rule("enclosure", "LEAD", "TVIA")),
                               (spot, svia, pdk.rule("enclosure", "SPOT", "SVIA"))):
        if width_across_flats(outer) - width_across_flats(inner) < 2 * rule.value - LENGTH_EPS_UM:
            raise _fail(pkg, "liner_diameter" if rule.other == "TVIA" else "terminal_top",
                        pkg.liner_diameter if rule.other == "TVIA" else pkg.terminal_top,
                        f"{rule.layer} cannot enclose the {rule.other} via by {rule.name} ({rule.value:g} µm)")
    landing = grow(tvia, pdk.value("enclosure", "TRACE", "TVIA"), grid)
    capture = grow(svia, pdk.value("enclosure", "TRACE", "SVIA"), grid)
    return tvia, landing, svia, capture


def _contact_cell(p: Pad, pdk: Pdk) -> Cell:
    """The chip contact (reference PAD) of one size and shape."""
    cell = Cell(f"SHEET_CONTACT_{p.shape.upper()}_{name_number(p.width)}x{name_number(p.height)}")
    return cell.add("PAD", pad_outline(p.width, p.height, p.shape, pdk))


def _terminal_cell(pkg: SheetTerminals, plan: SheetPlan, ring: bool) -> Cell:
    """A terminal: the biased spot, and its isolation ring when it is cut free of the plane."""
    shape = pkg.spot_shape.upper() + (str(pkg.spot_sides) if pkg.spot_shape == "polygon" else "")
    name = f"SHEET_TERMINAL_{shape}_{name_number(round(plan.sizes.spot, 3))}"
    cell = Cell(name).add("SPOT", plan.spot)
    if ring and plan.ring is not None:
        x0, _, x1, _ = plan.ring.bounds
        cell.name = f"{name}_RING{name_number(round(x1 - x0, 3))}"
        cell.add("PLANE", plan.ring)
    return cell


def build_die(design: Design, pdk: Pdk) -> DieResult:
    """The die cell of a sheet-terminal package with every drawn layer; raises ConfigError on bad input."""
    pkg = design.package
    assert isinstance(pkg, SheetTerminals)
    check_sheet_wafer(design)
    if design.wafer is not None:
        # On a wafer-scale sheet the frame and the fiducials are drawn once around the whole sheet (wafer/sheet.py).
        pkg = pkg.model_copy(update={"frame": None, "fiducials": None})
        design = design.model_copy(update={"package": pkg})
    plan = plan_sheet(design, pdk)
    die, grid = design.die, pdk.grid_um
    layout = Layout(top=die.name)
    top = Cell(die.name)
    top.add("DIE", rect(die.width, die.height, grid))

    # Chip contacts (reference) with their net labels.
    for p in die.pads:
        cell = layout.add(_contact_cell(p, pdk))
        x, y = pdk.snap(p.x), pdk.snap(p.y)
        top.place(cell.name, x, y)
        top.label("PAD", p.net, x, y)

    # Leads: one cell per distinct lead, rotated to its side; the liner rides with it in per-lead placement (the stem
    # under the fixed end without a dielectric, figs. 10-14; the mass's cavity, fig. 17).
    liner, liner_layer, tip_stem = (plan.liner if pkg.placement == "per_lead" else None), "LINER", None
    if plan.stems is not None:
        # the fixed end's stem only: the tip's lets go of the sheet at the lift, so it joins nothing in the part
        liner, liner_layer = plan.stems[0], "STEM"
    elif pkg.terminals == "masses":
        liner_layer = "MASS"
    lead_polys = []
    for ld in plan.leads:
        cell = layout.add(lead_cell(ld.offset, ld.meander, plan.lead_width, plan.fixed_bulge, plan.tip_bulge, grid, liner,
                                    plan.bond, liner_layer, tip_stem))
        top.place(cell.name, ld.fixed[0], ld.fixed[1], rotation=ld.rotation)
        poly = cell.shapes["LEAD"][0]
        a = ld.rotation
        lead_polys.append(shapely.affinity.translate(shapely.affinity.rotate(poly, a, origin=(0, 0)) if a else poly, *ld.fixed))
    _check_leads_apart(plan.leads, lead_polys, plan.lead_space, pdk.rule("space", "LEAD").name, pkg.where())
    # Rigid posts (fig. 19): a dot on each contact, the bonding metal on its tip.
    if plan.post is not None:
        post = layout.add(Cell(f"SHEET_POST_{name_number(pkg.posts.diameter)}_H{name_number(pkg.posts.height)}")
                          .add("PILLAR", plan.post).add("BOND", plan.bond))
        for t in plan.terminals:
            top.place(post.name, t.x, t.y)

    # Grid variant (figs. 8-9): traces inside the dielectric join each fixed end to a terminal.
    nets_of = {t.name: t.net for t in plan.terminals}
    assignment: dict[str, str] = {}
    trace_lengths: dict[str, float] = {}
    pad_balls: dict[str, list[str]] = {}
    if plan.grid_vias is not None:
        routing = _route_grid(pkg, pdk, plan, layout, top)
        nets_of.update(routing.ball_nets)
        pad_balls = routing.pad_balls()
        assignment = {pad: fed[0] for pad, fed in pad_balls.items()}
        trace_lengths = routing.pad_lengths()

    # Terminals: the biased spot (and ring) placed at every terminal (tied ones, by name or net, without a ring).
    tied = set(pkg.plane.tied) if pkg.plane else set()
    plan.terminals = [replace(t, isolated=pkg.plane is not None and not ({t.name, nets_of.get(t.name)} & tied))
                      for t in plan.terminals]
    for t in plan.terminals:
        if pkg.terminals == "masses":          # the mass (in the lead cell) is the terminal: no spot
            if nets_of.get(t.name) is not None:
                top.label("MASS", nets_of[t.name], t.x, t.y)
            top.label("TEXT", t.name, t.x, t.y)
            continue
        cell = layout.add(_terminal_cell(pkg, plan, t.isolated))
        top.place(cell.name, t.x, t.y)
        if nets_of.get(t.name) is not None:
            top.label("SPOT", nets_of[t.name], t.x, t.y)
        top.label("TEXT", t.name, t.x, t.y)

    # Frame outline and fiducials: drawn once, on MARK, which every mask of the sheet carries.
    if pkg.frame is not None:
        top.add("MARK", plan.marks[0])
    if pkg.fiducials is not None:
        cross = fiducial_cross(pkg.fiducials.size, pdk.value("width", "MARK"), grid)
        # MARK on every mask; THRU, the same cross etched through the sheet first, registers both sides to it.
        fid = layout.add(Cell(f"SHEET_FIDUCIAL_{name_number(pkg.fiducials.size)}").add("MARK", cross).add("THRU", cross))
        for m in plan.marks[1 if pkg.frame is not None else 0:]:
            c = m.centroid
            top.place(fid.name, pdk.snap(c.x), pdk.snap(c.y))

    layout.add(top)
    layout.cells = {k: layout.cells[k] for k in [*(k for k in layout.cells if k != top.name), top.name]}
    return DieResult(
        layout=layout,
        nets=sorted({p.net for p in die.pads}),
        pads=[(p.name, p.net, pdk.snap(p.x), pdk.snap(p.y)) for p in die.pads],
        balls=[(t.name, t.x, t.y) for t in plan.terminals],
        ball_nets={n: net for n, net in nets_of.items() if net is not None},
        assignment=assignment,
        pad_balls=pad_balls,
        route_lengths={ld.contact: round(ld.length, 3) for ld in plan.leads},
        counts={k: v for k, v in {**_counts(pkg, plan, len(die.pads), len({p.net for p in die.pads})),
                                  "bonds": len(plan.leads) or (len(plan.terminals) if plan.post is not None else 0),
                                  "traces": len(assignment)}.items()
                if not (k == "fiducials" and design.wafer is not None)},   # the sheet's, in summary.wafer
        extra={**_extra(pkg, plan), **({"traces": trace_lengths} if plan.grid_vias is not None else {})},
    )


def _route_grid(pkg: SheetTerminals, pdk: Pdk, plan: SheetPlan, layout: Layout, top: Cell):
    """Figs. 8-9: a via up from each lead's fixed end, a trace inside the dielectric to a grid terminal, a via up to it."""
    from layoutgen.route.rdl import Terminal

    from ..routed import route_onto, route_rules

    tvia, landing, svia, capture = plan.grid_vias
    lower = layout.add(Cell(f"SHEET_FIXED_VIA_{name_number(round(width_across_flats(tvia), 3))}").add("TVIA", tvia).add("TRACE", landing))
    upper = layout.add(Cell(f"SHEET_TERMINAL_VIA_{name_number(round(width_across_flats(svia), 3))}").add("SVIA", svia).add("TRACE", capture))
    pads = []
    for ld in plan.leads:
        top.place(lower.name, *ld.fixed)
        pads.append(Terminal(ld.contact, ld.net, ld.fixed[0], ld.fixed[1], shapely.affinity.translate(landing, *ld.fixed)))
    balls = [Terminal(t.name, t.net, t.x, t.y, shapely.affinity.translate(capture, t.x, t.y)) for t in plan.terminals]
    sep = pdk.value("separation", "TRACE", "MARK")
    keepin = plan.field.buffer(-sep, join_style="mitre")
    for m in plan.marks[1 if pkg.frame is not None else 0:]:
        keepin = keepin.difference(m.buffer(sep, join_style="mitre"))
    rules = route_rules(pdk, "TRACE", pkg.grid.pitch, teardrops=False)
    routing = route_onto(top, "TRACE", pads, balls, keepin, rules, pkg.grid.assign, pkg.grid,
                         "SheetTerminals(placement='grid'): dielectric traces: ")
    for name in sorted(routing.ball_nets):
        t = next(t for t in plan.terminals if t.name == name)
        top.place(upper.name, t.x, t.y)
    return routing


def _counts(pkg: SheetTerminals, plan: SheetPlan, contacts: int, nets: int) -> dict[str, int]:
    return {
        "contacts": contacts, "nets": nets, "leads": len(plan.leads),
        "liners": len(plan.leads) if pkg.placement == "per_lead" and pkg.dielectric and pkg.terminals == "spots" else 0,
        "terminals": len(plan.terminals), "spots": len(plan.terminals) if pkg.terminals == "spots" else 0,
        **({"stems": 2 * len(plan.leads)} if plan.stems is not None else {}),
        **({"masses": len(plan.leads)} if pkg.terminals == "masses" else {}),
        **({"posts": len(plan.terminals)} if plan.post is not None else {}),
        "isolation_rings": sum(t.isolated for t in plan.terminals),
        "tied_terminals": sum(not t.isolated for t in plan.terminals) if pkg.plane else 0,
        "fiducials": 4 if pkg.fiducials is not None else 0,
    }


def _extra(pkg: SheetTerminals, plan: SheetPlan) -> dict:
    r3 = lambda v: round(float(v), 3)  # noqa: E731
    sz = plan.sizes
    lengths = [ld.length for ld in plan.leads]
    margins = [ld.length - ld.required for ld in plan.leads]
    sheet = {
        "placement": pkg.placement, "spot_shape": pkg.spot_shape, "sheet_thickness_um": pkg.sheet_thickness,
        "etch_depth_um": r3(plan.etch_depth), "etch_factor": pkg.etch_factor, "etch_model": pkg.etch_model,
        "bias_um": r3(sz.bias), "terminal_top_um": pkg.terminal_top,
        "spot_um": r3(sz.spot), "tip_um": r3(sz.tip), "neck_um": r3(sz.neck), "base_um": r3(sz.base),
        "spot_drawn_um": r3(width_across_flats(plan.spot)),
        "lift_um": pkg.lift, "lead_slack": pkg.lead_slack, "lead_width_um": r3(plan.lead_width),
        "fixed_bulge_um": r3(width_across_flats(plan.fixed_bulge)), "tip_bulge_um": r3(width_across_flats(plan.tip_bulge)),
        "liner_um": r3(width_across_flats(plan.liner)),
        "lead_length_min_um": r3(min(lengths, default=0)), "lead_length_max_um": r3(max(lengths, default=0)),
        "lead_length_margin_min_um": r3(min(margins, default=0)) + 0.0,
    }
    if plan.stems is not None:
        sheet.update({"release_undercut_um": r3(plan.release_undercut),
                      "release_depth_um": r3(plan.release_undercut * pkg.etch_factor),
                      "fixed_stem_um": r3(width_across_flats(plan.stems[0])), "tip_stem_um": r3(width_across_flats(plan.stems[1]))})
    if plan.post is not None:
        ps = plan.post_sizes
        sheet.update({"post_tip_um": r3(ps.tip), "post_neck_um": r3(ps.neck), "post_base_um": r3(ps.base),
                      "post_dot_um": r3(ps.spot), "post_height_um": pkg.posts.height})
    out = {
        "sheet": sheet,
        "terminals": [{"name": t.name, "net": t.net, "x": r3(t.x), "y": r3(t.y), "spot_um": r3(sz.spot), "tip_um": r3(sz.tip),
                       "neck_um": r3(sz.neck), "base_um": r3(sz.base), "isolated": t.isolated} for t in plan.terminals],
        "leads": [{"contact": ld.contact, "net": ld.net, "fixed": [r3(v) for v in ld.fixed], "tip": [r3(v) for v in ld.tip],
                   "offset_um": r3(ld.offset), "length_um": r3(ld.length), "required_um": r3(ld.required),
                   "amplitude_um": r3(ld.meander.amplitude), "meander_runs": sum(n for _, n in ld.meander.blocks)}
                  for ld in plan.leads],
    }
    if pkg.plane is not None and plan.ring is not None:
        inner = plan.ring.interiors[0]
        out["plane"] = {
            "thickness_um": pkg.plane.thickness,
            "clearance_um": r3(shapely.distance(plan.spot.exterior, Polygon(inner).exterior)),
            "ring_width_um": r3(width_across_flats(Polygon(plan.ring.exterior)) / 2 - width_across_flats(Polygon(inner)) / 2),
            "tied": sorted(pkg.plane.tied),
            "etched_clearance_um": r3(shapely.distance(plan.spot.exterior, Polygon(inner).exterior) - pkg.plane.thickness / pkg.etch_factor),
        }
    return out
