"""Plating and isolation checks on a wafer layout, hierarchical: each die cell once, then what the wafer adds.

- Plating (before dicing): all plating-network metal (PLATE and the conductors the PDK says
  touch it: RDL, or BSWIRE on the back) is one piece joined to the contact ring. Checked as: the wafer-level
  metal (bus, ring, fill) is connected by itself and touches the wafer edge; every plated piece
  of the die has a tail leaving the die outline; and at every placement that tail meets the
  wafer-level metal. The last test is made once per placement type: placements whose site
  (die plus half the lanes) holds the same wafer-level metal, found by comparing the clipped
  metal in die coordinates (a 300 mm wafer has a handful of types, not 2,500 dies).
- Isolation (after dicing): remove the saw kerf (KERF layer) along every lane; then every
  piece of metal left on a die carries at most one net (labels on the PDK's label layers),
  the kerf separates each die site from its neighbours, and no wafer-level metal is left on
  a die. Made once per placement type as well; the piece count is pieces × placements.

Input is geometry read from a layout (ours in memory, or a GDS read by the DRC's reader);
output is a `CheckResult` whose `findings` have the fields of the DRC's `Finding` (message,
marker region in top-cell µm, edges), so a `connectivity` rule with `check = "plating"` or
`"isolation"` can report them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import Polygon, box

# The GDS reader and its polygon arrays (drc/read.py, drc/geometry.py) sit below the wafer in the
# layering (tests/core/test_imports.py): reading a GDS is I/O, not checking.
from ..drc.geometry import polygons
from ..drc.graph import components
from ..drc.read import concat_polys, layer_key, place_polys
from ..layout import Cell, Layout
from ..pdk import Pdk
from ..rulekinds import Finding

DIE_LAYER, KERF_LAYER, WAFER_LAYER, MARK_LAYER = "DIE", "KERF", "WAFER", "MARK"


@dataclass(frozen=True)
class DieGroup:
    """One die cell as placed: its metal pieces, outline and net labels in its own coordinates, and its placements."""

    cell: str
    metal: list[Polygon]
    outline: tuple[float, float, float, float]
    labels: list[tuple[str, float, float]]
    origins: np.ndarray


@dataclass(frozen=True)
class WaferGeometry:
    """What the checks read from a wafer layout: die groups, wafer-level metal, saw kerf, wafer outline."""

    top: str
    dies: list[DieGroup]
    metal: list[Polygon]
    kerf: list[Polygon]
    outline: Polygon | None
    grid: float
    cache: dict = field(default_factory=dict, compare=False, repr=False)

    def types(self, what: str, k: int) -> tuple[np.ndarray, list[list[Polygon]]]:
        """Placement types of die group `k` by the wafer-level `what` ('metal' or 'kerf') in its sites, memoised."""
        if (what, k) not in self.cache:
            grp = self.dies[k]
            self.cache[(what, k)] = site_types(getattr(self, what), site_box(grp, self.grid), grp.origins, self.grid)
        return self.cache[(what, k)]


@dataclass
class CheckResult:
    """The outcome of one wafer check: findings, figures, and a sentence for the summary."""

    check: str
    findings: list[Finding]
    figures: dict = field(default_factory=dict)
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing was found."""
        return not self.findings

    def to_json(self) -> dict:
        """Plain data for summary.json: ok, message, figures and the first findings."""
        return {"ok": self.ok, "message": self.message, **self.figures,
                "findings": [{"message": f.message, "bbox": [round(v, 3) for v in f.region.bounds] if f.region is not None else None}
                             for f in self.findings[:50]], "findings_total": len(self.findings)}


def network_layers(pdk: Pdk) -> list[str]:
    """The plating network's layers: PLATE and every conductor the PDK says touches it."""
    out = ["PLATE"] if "PLATE" in pdk.layers else []
    for a, b in pdk.connectivity.touching:
        if "PLATE" in (a, b):
            out += [a, b]
    return list(dict.fromkeys(out)) or ["RDL"]


def plated_layers(pdk: Pdk) -> list[str]:
    """The conductors the plating network feeds (RDL on the front, BSWIRE on the back): its layers less PLATE."""
    return [n for n in network_layers(pdk) if n != "PLATE"] or ["RDL"]


# ---------------------------------------------------------------- reading geometry

def _merge(geoms: list) -> list[Polygon]:
    """Disjoint polygons of the union of `geoms`."""
    if not geoms:
        return []
    parts = shapely.get_parts(shapely.union_all(geoms))
    return [p for p in parts if p.geom_type == "Polygon" and p.area > 0]


def _orient(geoms: list, rotation: float, reflect: bool) -> list:
    """`geoms` reflected about x (when asked) then rotated by `rotation` degrees about the origin."""
    out = geoms
    if reflect:
        out = [shapely.affinity.scale(g, 1, -1, origin=(0, 0)) for g in out]
    if rotation:
        out = [shapely.affinity.rotate(g, rotation, origin=(0, 0)) for g in out]
    return out


def _outline_of(shapes: list) -> Polygon | None:
    """The wafer outline: the exterior of the largest merged WAFER shape."""
    merged = _merge(shapes)
    if not merged:
        return None
    return Polygon(max(merged, key=lambda p: p.area).exterior)


def _without_marks(geoms: list, marks: list) -> list:
    """`geoms` less those lying inside a mark area."""
    if not geoms or not marks:
        return list(geoms)
    area = shapely.union_all(marks)
    arr = np.asarray(geoms, dtype=object)
    return list(arr[~shapely.covered_by(arr, area)])


def geometry_from_layout(layout: Layout, pdk: Pdk, top: str | None = None, layers: list[str] | None = None,
                         drop_marks: bool = True) -> WaferGeometry:
    """The checks' view of an in-memory layout: cells placed in the top that hold a DIE outline are dies;
    `layers` (default: the plating network) are read, shapes inside MARK areas dropped unless asked to keep them."""
    top = top or layout.top
    tcell = layout.cells[top]
    layers = layers or network_layers(pdk)
    labels_on = list(pdk.connectivity.label_layers) or ["PAD", "BUMP"]
    is_die: dict[str, bool] = {}
    groups: dict[tuple, list] = {}
    others = Cell("__wafer_rest__", shapes=tcell.shapes)
    for r in tcell.refs:
        if r.cell not in is_die:
            is_die[r.cell] = bool(layout.flat(DIE_LAYER, r.cell))
        if not is_die[r.cell]:
            others.refs.append(r)
            continue
        ii, jj = np.meshgrid(np.arange(r.columns), np.arange(r.rows), indexing="ij")
        xy = np.c_[r.x + ii.ravel() * r.spacing[0], r.y + jj.ravel() * r.spacing[1]]
        groups.setdefault((r.cell, r.rotation, r.x_reflection), []).append(xy)
    dies = []
    for (cell, rot, refl), xys in groups.items():
        metal = _merge(_orient([g for n in layers for g in layout.flat(n, cell)], rot, refl))
        (outline,) = _orient([shapely.union_all(layout.flat(DIE_LAYER, cell)).envelope], rot, refl)
        pts = [(lb.text, lb.x, lb.y) for n in labels_on for lb in layout.flat_labels(n, cell)]
        if rot or refl:
            moved = _orient([shapely.Point(x, y) for _, x, y in pts], rot, refl)
            pts = [(t, p.x, p.y) for (t, _, _), p in zip(pts, moved)]
        dies.append(DieGroup(cell, metal, outline.bounds, pts, np.concatenate(xys)))
    rest = Layout(top=others.name, cells={**layout.cells, others.name: others})
    marks = rest.flat(MARK_LAYER) if drop_marks else []
    metal = _without_marks([g for n in layers for g in rest.flat(n)], marks)
    return WaferGeometry(top, dies, metal, rest.flat(KERF_LAYER), _outline_of(rest.flat(WAFER_LAYER)), pdk.grid_um)


def geometry_from_gds(gds, pdk: Pdk, top: str | None = None) -> WaferGeometry:
    """The checks' view of a GDS read by the DRC's reader (`layoutgen.drc.read.Layout`)."""
    dbu = gds.dbu_um
    top = gds.pick_tops(top)[0]
    keys = {name: layer_key(*pdk.layer(name).gds) for name in pdk.layers}
    layers = network_layers(pdk)
    td = pdk.labels.text_datatype
    label_keys = {layer_key(pdk.layer(n).gds[0], td) for n in (pdk.connectivity.label_layers or ["PAD", "BUMP"])}

    def shapes(polys, names: list[str]) -> list:
        sel = concat_polys([polys.select(keys[n]) for n in names if n in keys])
        return list(polygons(sel, dbu))

    own, _ = gds.own(top)
    rest = [own]
    groups: dict[tuple, list] = {}
    for pl in gds.placements(top):
        flat = gds.flatten(pl.child)
        if not len(flat.polys.select(keys[DIE_LAYER])):
            rest.append(place_polys(flat.polys, pl))
            continue
        groups.setdefault((pl.child, pl.rotation, pl.x_reflection, pl.magnification), []).append(
            (np.asarray(pl.origin, float) + pl.offsets) * dbu)
    dies = []
    for (cell, rot, refl, mag), xys in groups.items():
        flat = gds.flatten(cell)
        deg = float(np.degrees(rot))
        metal = _merge(_orient([shapely.affinity.scale(g, mag, mag, origin=(0, 0)) for g in shapes(flat.polys, layers)], deg, refl))
        (outline,) = _orient([shapely.union_all(shapes(flat.polys, [DIE_LAYER])).envelope], deg, refl)
        lab = flat.labels
        pick = np.isin(lab.key, list(label_keys))
        pts = [shapely.Point(x * dbu * mag, y * dbu * mag) for x, y in lab.xy[pick]]
        pts = _orient(pts, deg, refl)
        dies.append(DieGroup(cell, metal, outline.bounds, [(str(t), p.x, p.y) for t, p in zip(lab.text[pick], pts)],
                             np.concatenate(xys)))
    everything = concat_polys(rest)
    marks = shapes(everything, [MARK_LAYER])
    metal = _without_marks(shapes(everything, layers), marks)
    return WaferGeometry(top, dies, metal, shapes(everything, [KERF_LAYER]),
                         _outline_of(shapes(everything, [WAFER_LAYER])), pdk.grid_um)


def read_geometry(source, pdk: Pdk, top: str | None = None) -> WaferGeometry:
    """Wafer geometry from an in-memory `Layout` or a GDS read by the DRC's reader."""
    if isinstance(source, WaferGeometry):
        return source
    if isinstance(source, Layout):
        return geometry_from_layout(source, pdk, top)
    return geometry_from_gds(source, pdk, top)


# ---------------------------------------------------------------- placement types

def _translate(geoms: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Each geometry moved by its own (dx, dy)."""
    if len(geoms) == 0:
        return geoms
    per = np.repeat(shifts, shapely.get_num_coordinates(geoms), axis=0)
    return shapely.transform(geoms, lambda c: c + per)


def _components(geoms: np.ndarray) -> np.ndarray:
    """Connected-piece label of each geometry (touching counts as joined)."""
    n = len(geoms)
    if n == 0:
        return np.zeros(0, int)
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    return components(n, i, j)[1]


def _round(geoms: np.ndarray, grid: float) -> np.ndarray:
    """`geoms` with every coordinate rounded to `grid` (no re-noding: for comparing, not for booleans)."""
    return shapely.transform(geoms, lambda c: np.round(c / grid) * grid)


def _rectangles(geoms: np.ndarray) -> np.ndarray:
    """Which geometries are rectangles along the axes (one ring of four corners, sides alternating in x and y)."""
    inner = _inner_boxes(geoms)
    return ~np.isnan(inner[:, 0]) & (inner == shapely.bounds(geoms)).all(axis=1)


def _inner_boxes(geoms: np.ndarray) -> np.ndarray:
    """(n, 4) a box along the axes inside each geometry that is a quadrilateral with two opposite sides
    along one axis (a scribe lane or bus line ending on the wafer's round edge, a rectangle), spanning
    the geometry across those sides; NaN for other geometries. Where a site's part of the geometry's
    extent lies inside that box, the geometry's part in the site is that box part."""
    out = np.full((len(geoms), 4), np.nan)
    quad = (shapely.get_type_id(geoms) == 3) & (shapely.get_num_coordinates(geoms) == 5)
    quad[quad] &= shapely.get_num_interior_rings(geoms[quad]) == 0
    k = np.flatnonzero(quad)
    if len(k) == 0:
        return out
    c = shapely.get_coordinates(shapely.get_exterior_ring(geoms[k])).reshape(-1, 5, 2)
    for ax in (0, 1):                       # sides 0 and 2 (or 1 and 3) along axis `1 - ax`, at constant coordinate `ax`
        for first in (0, 1):
            a0, a1, b0, b1 = c[:, first], c[:, first + 1], c[:, first + 2], c[:, first + 3]
            ok = (a0[:, ax] == a1[:, ax]) & (b0[:, ax] == b1[:, ax]) & (a0[:, ax] != b0[:, ax])
            ok &= (a0[:, 1 - ax] != a1[:, 1 - ax]) & (b0[:, 1 - ax] != b1[:, 1 - ax])
            ok &= (a1[:, 1 - ax] > a0[:, 1 - ax]) != (b1[:, 1 - ax] > b0[:, 1 - ax])   # the two sides run opposite ways
            ok &= np.isnan(out[k, 0])
            if not ok.any():
                continue
            lo = np.maximum(np.minimum(a0[:, 1 - ax], a1[:, 1 - ax]), np.minimum(b0[:, 1 - ax], b1[:, 1 - ax]))
            hi = np.minimum(np.maximum(a0[:, 1 - ax], a1[:, 1 - ax]), np.maximum(b0[:, 1 - ax], b1[:, 1 - ax]))
            ok &= lo < hi
            p, q = np.minimum(a0[:, ax], b0[:, ax]), np.maximum(a0[:, ax], b0[:, ax])
            box = np.c_[p, lo, q, hi] if ax == 0 else np.c_[lo, p, hi, q]
            out[k[ok]] = box[ok]
    return out


def site_types(geoms: list, site: Polygon, origins: np.ndarray, grid: float,
               hits: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, list[list[Polygon]]]:
    """Per placement a type code, and per code the part of `geoms` inside the site, in die coordinates.
    `hits`: the (placement, geometry) index pairs whose site and geometry intersect, when the caller
    has already queried them (the hierarchical DRC's classification); else found here.

    Two sites are alike when their parts, each moved into die coordinates and rounded to the grid,
    are the same polygons. A rectangle along the axes clipped by the site is its bounds clipped, in
    numbers (the bus and kerf lines of a wafer, thousands of hits); other shapes are clipped by GEOS.
    A part that is a rectangle either way is compared by its bounds, any other by its normalized WKB."""
    n = len(origins)
    if not geoms or n == 0:
        return np.zeros(n, int), [[]]
    arr = np.asarray(geoms, dtype=object)
    x0, y0, x1, y1 = site.bounds
    if hits is None:
        boxes = shapely.box(origins[:, 0] + x0, origins[:, 1] + y0, origins[:, 0] + x1, origins[:, 1] + y1)
        # the few large shapes (bus, ring) prepared once each and tested against the many small sites
        gi, si = shapely.STRtree(boxes).query(arr, predicate="intersects")
    else:
        si, gi = hits
    # a part that is its inner box's part (`_inner_boxes`): the extent's part in numbers, moved as `_translate`
    # moves coordinates, rounded as `_round` rounds
    inner = _inner_boxes(arr)[gi]
    gb = shapely.bounds(arr)[gi]
    o = -origins[si]
    rb = np.c_[np.maximum(gb[:, 0] + o[:, 0], x0), np.maximum(gb[:, 1] + o[:, 1], y0),
               np.minimum(gb[:, 2] + o[:, 0], x1), np.minimum(gb[:, 3] + o[:, 1], y1)]
    rect = ((rb[:, :2] >= inner[:, :2] + o) & (rb[:, 2:] <= inner[:, 2:] + o)).all(axis=1)   # NaN: never
    rb = np.round(rb / grid) * grid
    w, h = rb[:, 2] - rb[:, 0], rb[:, 3] - rb[:, 1]
    small = (w <= 2 * grid) | (h <= 2 * grid)          # near the area threshold: GEOS measures it, as for any shape
    slow = ~rect | (small & (w > 0) & (h > 0))
    fast = rect & ~small & (w > 0) & (h > 0)
    rows, owner_r = [rb[fast]], [si[fast]]
    per_site: list[list[bytes]] = [[] for _ in range(n)]      # WKB of the parts that are no rectangle
    if slow.any():
        gs, ss = gi[slow], si[slow]
        clip = shapely.clip_by_rect(_translate(arr[gs], -origins[ss]), x0, y0, x1, y1)
        clip = _round(clip, grid)
        bad = ~shapely.is_valid(clip)
        if bad.any():
            clip[bad] = shapely.make_valid(clip[bad])
        parts, pidx = shapely.get_parts(shapely.normalize(clip), return_index=True)
        keep = (shapely.get_type_id(parts) == 3) & (shapely.area(parts) > grid * grid)
        parts, owner = parts[keep], ss[pidx[keep]]
        pr = _rectangles(parts)
        rows.append(shapely.bounds(parts[pr]))
        owner_r.append(owner[pr])
        for s, w in zip(owner[~pr].tolist(), shapely.to_wkb(parts[~pr]).tolist()):
            per_site[s].append(w)
    # each site's rectangles as one block of sorted rows
    rb, owner = np.concatenate(rows), np.concatenate(owner_r)
    order = np.lexsort((rb[:, 3], rb[:, 2], rb[:, 1], rb[:, 0], owner))
    rb, owner = np.ascontiguousarray(rb[order]), owner[order]
    cut = np.searchsorted(owner, np.arange(n + 1))
    codes: dict[tuple, int] = {}
    patterns: list[list[Polygon]] = []
    out = np.empty(n, int)
    for s in range(n):
        key = (rb[cut[s]:cut[s + 1]].tobytes(), tuple(sorted(per_site[s])))
        if key not in codes:
            codes[key] = len(patterns)
            patterns.append(_pattern(rb[cut[s]:cut[s + 1]], key[1]))
        out[s] = codes[key]
    return out, patterns


def _pattern(boxes: np.ndarray, wkb: tuple) -> list[Polygon]:
    """A site type's parts from its rectangles (bounds) and other parts (WKB): normalized polygons in the order of their WKB."""
    geoms = shapely.normalize(np.concatenate([shapely.box(*boxes.T).reshape(-1), shapely.from_wkb(list(wkb)).reshape(-1)]))
    if len(geoms) == 0:
        return []
    key = shapely.to_wkb(geoms).tolist()
    return [geoms[k] for k in sorted(range(len(geoms)), key=key.__getitem__)]


def site_box(group: DieGroup, grid: float) -> Polygon:
    """A die's site: its outline grown by half the lanes (from the placement pitch; from its metal if alone)."""
    x0, y0, x1, y1 = group.outline
    margin = []
    for axis, size in ((0, x1 - x0), (1, y1 - y0)):
        u = np.unique(np.round(group.origins[:, axis] / grid).astype(np.int64))
        steps = np.diff(u)
        # placements a lane apart give the lane; sparse ones (test sites rows apart) are read as alone
        margin.append((steps.min() * grid - size) / 2.0 if len(steps) and steps.min() * grid < 2 * size else None)
    if None in margin:
        mb = shapely.union_all(group.metal).bounds if group.metal else group.outline
        over = max(x0 - mb[0], y0 - mb[1], mb[2] - x1, mb[3] - y1, 0.0) + grid
        margin = [m if m is not None else over for m in margin]
    return box(x0 - margin[0], y0 - margin[1], x1 + margin[0], y1 + margin[1])


def _at(geom: shapely.Geometry, origin: np.ndarray) -> shapely.Geometry:
    """`geom` moved to a placement."""
    return shapely.affinity.translate(geom, float(origin[0]), float(origin[1]))


def _net_of(group: DieGroup, geom: shapely.Geometry) -> str:
    """The net names of labels on `geom`, or '?'."""
    nets = sorted({t for t, x, y in group.labels if geom.intersects(shapely.Point(x, y))})
    return "/".join(nets) if nets else "?"


def _piece(group: DieGroup, geom: shapely.Geometry, metal: str) -> str:
    """'net VDD: RDL piece', or what a piece without a net label is likely to be."""
    net = _net_of(group, geom)
    return f"net {net}: {metal} piece" if net != "?" else f"{metal} piece with no net (an unconnected ball pad, or floating metal)"


# ---------------------------------------------------------------- the checks

def check_plating(source, pdk: Pdk, top: str | None = None) -> CheckResult:
    """Before dicing: all plating-network metal on the wafer is one piece joined to the contact ring."""
    g = read_geometry(source, pdk, top)
    if g.outline is None:
        return CheckResult("plating", [], {"wafer": False}, "not a wafer (no WAFER outline): nothing to check")
    found: list[Finding] = []
    wafer = np.asarray(g.metal, dtype=object)
    comp = _components(wafer)
    band = g.outline.exterior.buffer(2 * g.grid, quad_segs=1)
    shapely.prepare(band)
    edge = np.flatnonzero(shapely.intersects(band, wafer)) if len(wafer) else np.zeros(0, int)
    if len(edge) == 0:
        found.append(Finding("no contact ring: no plating metal reaches the wafer edge", g.outline.envelope))
    joined = set(comp[edge].tolist())
    for c in sorted(set(comp.tolist()) - joined):
        region = shapely.union_all(wafer[comp == c]).envelope
        found.append(Finding(f"wafer plating metal at ({region.centroid.x:.1f}, {region.centroid.y:.1f}) is not joined to the contact ring", region))
    pieces = dies = sites = site_pieces = 0
    nets: set[str] = set()
    for gi, grp in enumerate(g.dies):
        n = len(grp.origins)
        if grp.labels:
            dies += n
            pieces += len(grp.metal) * n
        else:   # a die site without product nets: a test site (its structures' pieces plate the same way)
            sites += n
            site_pieces += len(grp.metal) * n
        nets |= {t for t, _, _ in grp.labels}
        die_box = box(*grp.outline)
        metal_name = "/".join(plated_layers(pdk))
        stubs = [m.difference(die_box) for m in grp.metal]
        tailed = [k for k, s in enumerate(stubs) if not s.is_empty]
        for k in sorted(set(range(len(grp.metal))) - set(tailed)):
            region = _at(grp.metal[k].envelope, grp.origins[0])
            found.append(Finding(f"{grp.cell}: {_piece(grp, grp.metal[k], metal_name)} has no plating tail out of the die, "
                                 f"so it does not plate ({n} placements; first at {region.centroid.x:.1f}, {region.centroid.y:.1f})", region))
        codes, patterns = g.types("metal", gi)
        for code, pattern in enumerate(patterns):
            where = np.flatnonzero(codes == code)
            if len(where) == 0 or not tailed:
                continue
            touched: set[int] = set()
            if pattern:
                hit, _ = shapely.STRtree(pattern).query(np.asarray([stubs[k] for k in tailed], dtype=object), predicate="intersects")
                touched = {tailed[h] for h in hit.tolist()}
            for k in tailed:
                if k in touched:
                    continue
                region = _at(stubs[k].envelope, grp.origins[where[0]])
                found.append(Finding(f"{grp.cell}: net {_net_of(grp, grp.metal[k])}: plating tail meets no bus at {len(where)} of {n} "
                                     f"placements (first at {region.centroid.x:.1f}, {region.centroid.y:.1f})", region))
    figures = {"dies": dies, **({"test_sites": sites, "test_site_pieces": site_pieces} if sites else {}),
               "nets_per_die": len(nets), "tails": pieces, "wafer_metal_pieces": int(len(set(comp.tolist()))),
               "pieces_before_dicing": 1 if not found else None}
    per_die = pieces // dies if dies else 0
    if found:
        msg = f"plating network broken: {len(found)} finding(s)"
    else:
        what = f"{pieces:,} nets plate" if per_die == len(nets) else f"{pieces:,} {'/'.join(plated_layers(pdk))} pieces ({len(nets)} nets per die) plate"
        msg = f"{what} ({per_die} per die × {dies:,} dies)"
        if sites:
            msg += f" and {site_pieces:,} test-structure pieces ({sites} test site{'s' if sites > 1 else ''})"
        msg += ": one network joined to the contact ring"
    return CheckResult("plating", found, figures, msg)


def check_isolation(source, pdk: Pdk, top: str | None = None) -> CheckResult:
    """After dicing (saw kerf removed along every lane): every piece left on a die carries one net."""
    g = read_geometry(source, pdk, top)
    if g.outline is None:
        return CheckResult("isolation", [], {"wafer": False}, "not a wafer (no WAFER outline): nothing to check")
    found: list[Finding] = []
    if not g.kerf:
        found.append(Finding("no saw kerf (KERF layer) in the wafer cell: dicing cannot be checked", g.outline.envelope))
        return CheckResult("isolation", found, {}, "no saw kerf")
    total = dies = unlabelled = sites = 0
    per_die: set[int] = set()
    nets: set[str] = set()
    for gi, grp in enumerate(g.dies):
        n = len(grp.origins)
        if grp.labels:
            dies += n
        else:   # a test site: its pieces carry no product net; each must still end at the kerf
            sites += n
        nets |= {t for t, _, _ in grp.labels}
        site = site_box(grp, g.grid)
        metal = shapely.union_all(grp.metal) if grp.metal else Polygon()
        beyond = metal.difference(site)
        if beyond.area > g.grid ** 2:
            region = _at(beyond.envelope, grp.origins[0])
            found.append(Finding(f"{grp.cell}: die metal crosses the lane centre at ({region.centroid.x:.1f}, {region.centroid.y:.1f}) "
                                 f"into the neighbouring die's site", region))
        wc, wp = g.types("metal", gi)
        kc, kp = g.types("kerf", gi)
        pairs, codes = np.unique(np.c_[wc, kc], axis=0, return_inverse=True)
        codes = codes.ravel()
        points = np.asarray([shapely.Point(x, y) for _, x, y in grp.labels], dtype=object)
        texts = [t for t, _, _ in grp.labels]
        for t, (w, k) in enumerate(pairs.tolist()):
            where = np.flatnonzero(codes == t)
            first = grp.origins[where[0]]
            kerf = shapely.union_all(kp[k]) if kp[k] else Polygon()
            if not kerf.covers(site.exterior):
                region = _at(site, first)
                found.append(Finding(f"{grp.cell}: the saw kerf does not separate the die at ({first[0]:.1f}, {first[1]:.1f}) from its "
                                     f"neighbours ({len(where)} placements like it)", region))
            wafer = shapely.union_all(wp[w]) if wp[w] else Polygon()
            left = wafer.difference(kerf)
            if left.area > g.grid ** 2:
                region = _at(left.envelope, first)
                found.append(Finding(f"{grp.cell}: wafer plating metal outside the saw kerf at ({region.centroid.x:.1f}, "
                                     f"{region.centroid.y:.1f}) stays on the die after dicing ({len(where)} placements like it)", region))
            rest = shapely.union_all([metal, wafer]).difference(kerf)
            pieces = np.asarray([p for p in shapely.get_parts(rest) if p.geom_type == "Polygon" and p.area > g.grid ** 2], dtype=object)
            on: dict[int, set[str]] = {}
            if len(pieces) and len(points):
                pt, pc = shapely.STRtree(pieces).query(points, predicate="intersects")
                for a, b in zip(pt.tolist(), pc.tolist()):
                    on.setdefault(b, set()).add(texts[a])
            for b, names in sorted(on.items()):
                if len(names) > 1:
                    region = _at(pieces[b].envelope, first)
                    found.append(Finding(f"{grp.cell}: nets {', '.join(sorted(names))} still joined after dicing at "
                                         f"({region.centroid.x:.1f}, {region.centroid.y:.1f}) ({len(where)} placements like it)", region))
            total += len(on) * len(where)
            unlabelled += (len(pieces) - len(on)) * len(where)
            if grp.labels:
                per_die.add(len(on))
    figures = {"dies": dies, **({"test_sites": sites} if sites else {}), "pieces_after_dicing": total, "nets_per_die": len(nets),
               "pieces_per_die": per_die.pop() if len(per_die) == 1 else sorted(per_die), "unlabelled_pieces": unlabelled}
    if found:
        msg = f"not isolated after dicing: {len(found)} finding(s)"
    else:
        pd = figures["pieces_per_die"]
        msg = f"all {total:,} pieces isolated after dicing ({pd} per die × {dies:,} dies, {len(nets)} nets per die)"
        if sites:
            msg += f"; {sites} test site{'s' if sites > 1 else ''} cut free of the bus"
    return CheckResult("isolation", found, figures, msg)


def plating_findings(source, pdk: Pdk, top: str | None = None) -> list[Finding]:
    """The plating check's findings (for a DRC rule of kind `connectivity`, `check = "plating"`)."""
    return check_plating(source, pdk, top).findings


def isolation_findings(source, pdk: Pdk, top: str | None = None) -> list[Finding]:
    """The isolation check's findings (for a DRC rule of kind `connectivity`, `check = "isolation"`)."""
    return check_isolation(source, pdk, top).findings
