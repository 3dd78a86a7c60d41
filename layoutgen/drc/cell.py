"""One flattened cell seen through a PDK (shapes by layer name, merged once) and the deck run on it."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import shapely

from ..errors import DrcError, InternalError
from ..pdk import Pdk, Rule
from ..rulekinds import check_function
from .graph import components
from .connectivity import LayerPairs, Pieces, conductor_pieces, joined_layers, overlapping_in, overlapping_pairs, stack_pairs, stack_pairs_onto
from .geometry import explode, polygons
from .merge import Shapes, merge, touching_groups, union_groups
from .read import Flat, Layout, Polys, layer_key
from .violation import Finding, Violation


MARK_LAYER = "MARK"
WAFER_LAYER = "WAFER"


def marks_exempt(pdk: Pdk) -> bool:
    """Whether shapes inside mark areas (`Pdk.mark_area_layer`) are exempt."""
    return pdk.mark_area_layer() is not None


def poly_bounds(polys: Polys) -> np.ndarray:
    """(P, 4) extent of each polygon, integer database units."""
    if len(polys) == 0:
        return np.zeros((0, 4), np.int64)
    starts = polys.offsets[:-1]
    x, y = polys.xy[:, 0], polys.xy[:, 1]
    return np.stack([np.minimum.reduceat(x, starts), np.minimum.reduceat(y, starts),
                     np.maximum.reduceat(x, starts), np.maximum.reduceat(y, starts)], 1)


def merged_onto(base: Shapes, more: np.ndarray, tree: shapely.STRtree | None = None) -> tuple[Shapes, np.ndarray]:
    """A layer merged from its part already merged (`base`; `tree`: an STRtree of its shapes, if
    made) and more polygons (µm): the base's shapes that touch none of them stay as they are, the
    rest are merged with them (the same shapes as a merge of everything). Also the indices of the
    base's shapes kept, which come first, in their order."""
    if len(more) == 0:
        return base, np.arange(len(base))
    hit = np.zeros(len(base), bool)
    if len(base):
        hit[(tree or shapely.STRtree(base.geoms)).query(more, predicate="intersects")[1]] = True
    group = np.concatenate([base.geoms[hit], more])
    label = touching_groups(group)
    parts, _ = explode(union_groups(group, label, np.arange(int(label.max()) + 1)))
    return Shapes.of(np.concatenate([base.geoms[~hit], parts])), np.flatnonzero(~hit)


def take_polys(polys: Polys, keep: np.ndarray) -> Polys:
    """The polygons where `keep` (bool per polygon) is set."""
    counts = np.diff(polys.offsets)
    offsets = np.zeros(int(keep.sum()) + 1, np.int64)
    np.cumsum(counts[keep], out=offsets[1:])
    return Polys(polys.xy[np.repeat(keep, counts)], offsets, polys.key[keep])


class CellLayers:
    """One flattened cell seen through a PDK: raw and merged shapes and labels by layer name,
    each computed once on first use.

    `layout` and `top` (the GDS as read, and the cell this flat view is of) let the wafer
    checks work on the hierarchy. `marks`: exempt shapes inside MARK shapes from the rules
    (None: when the PDK has no rule on MARK, see `marks_exempt`); connectivity (`pieces`)
    always sees every shape. `base`: the view of a cell this one places as it is at its origin,
    and every polygon of this cell but that cell's: the conductor layers are then merged onto the
    base's and their overlaps taken from the base's (`merged_onto`, `stack_pairs`)."""

    def __init__(self, flat: Flat, pdk: Pdk, layout: Layout | None = None, top: str | None = None,
                 marks: bool | None = None, base: tuple[CellLayers, Polys] | None = None) -> None:
        self.flat = flat
        self.base = base
        self.pdk = pdk
        self.layout = layout
        self.top = top if top is not None else flat.cell
        self.exempt = marks_exempt(pdk) if marks is None else marks
        self.mark_name = pdk.mark_area_layer() or MARK_LAYER
        self._merged: dict[str, Shapes] = {}
        self._merged_all: dict[str, Shapes] = {}
        self._kept: dict[str, np.ndarray] = {}       # with a base: its merged shapes each layer keeps (`merged_onto`)
        self._trees: dict[str, shapely.STRtree] = {}
        self.derived: dict = {}      # what a check derives from the cell once for several rules (net terminals)
        self._raw: dict[str, Polys] = {}
        self._drawn: dict[str, np.ndarray] = {}

    def raw_all(self, name: str) -> Polys:
        """The drawn polygons of a layer, unmerged, MARK areas included (integer database units)."""
        layer = self.pdk.layer(name)
        return self.flat.polys.select(layer_key(*layer.gds))

    @cached_property
    def mark_area(self) -> tuple[np.ndarray, shapely.STRtree, np.ndarray] | None:
        """The MARK shapes, a tree of them and their areas, when marks are exempt and there are any."""
        if not self.exempt:
            return None
        marks = polygons(self.raw_all(self.mark_name), self.flat.dbu_um)
        if len(marks) == 0:
            return None
        return marks, shapely.STRtree(marks), shapely.area(marks)

    def raw(self, name: str) -> Polys:
        """The drawn polygons of a layer, unmerged (integer database units); shapes inside MARK
        areas left out when marks are exempt."""
        if name not in self._raw:
            polys = self.raw_all(name)
            if self.mark_area is not None and name != self.mark_name and len(polys):
                polys = take_polys(polys, ~self._inside_marks(polys))
            self._raw[name] = polys
        return self._raw[name]

    def _inside_marks(self, polys: Polys) -> np.ndarray:
        """Which polygons the union of the MARK shapes covers. Only the marks whose extent meets a
        polygon's can cover part of it, and only if their areas add up to its own: those are
        merged (not every mark of a panel, thousands, for the few shapes near them)."""
        marks, tree, mark_areas = self.mark_area
        inside = np.zeros(len(polys), bool)
        b = poly_bounds(polys) * self.flat.dbu_um
        pi, mi = tree.query(shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))     # extents meet
        if len(pi) == 0:
            return inside
        near = np.unique(pi)
        sel = np.zeros(len(polys), bool)
        sel[near] = True
        geoms = polygons(take_polys(polys, sel), self.flat.dbu_um)
        avail = np.bincount(pi, weights=mark_areas[mi], minlength=len(polys))[near]
        cand = shapely.area(geoms) <= avail * (1 + 1e-9) + 1e-9
        if not cand.any():
            return inside
        # covered by one mark alone (most are: a mark's own shapes in its area); the others by the union of theirs
        at = np.searchsorted(near, pi)
        one = np.zeros(len(near), bool)
        pair = cand[at]
        one[at[pair][shapely.covers(marks[mi[pair]], geoms[at[pair]])]] = True
        inside[near[one]] = True
        cand &= ~one
        if not cand.any():
            return inside
        area = shapely.union_all(marks[np.unique(mi[np.isin(pi, near[cand])])])
        shapely.prepare(area)
        inside[near[cand]] = shapely.covers(area, geoms[cand])     # prepared
        return inside

    def drawn(self, name: str) -> np.ndarray:
        """The drawn polygons of a layer as shapely polygons (µm), unmerged, MARK areas left out
        when exempt (made once)."""
        if name not in self._drawn:
            self._drawn[name] = polygons(self.raw(name), self.flat.dbu_um)
        return self._drawn[name]

    def shapes(self, name: str) -> list[shapely.Geometry]:
        """The drawn polygons of a layer as shapely polygons (µm), unmerged."""
        return list(self.drawn(name))

    def texts(self, name: str) -> list[tuple[str, float, float]]:
        """Every text on a layer's GDS number, any texttype: (text, x µm, y µm)."""
        gds_layer = self.pdk.layer(name).gds[0]
        lab = self.flat.labels
        keys = np.asarray(lab.key)
        sel = (keys >> 16) == gds_layer if len(keys) else np.zeros(0, bool)
        xy = (np.asarray(lab.xy)[sel] * self.flat.dbu_um).tolist()
        return [(str(t), x, y) for t, (x, y) in zip(np.asarray(lab.text)[sel].tolist(), xy)]

    def merged(self, name: str) -> Shapes:
        """The layer merged into disjoint shapes (µm), MARK areas left out when exempt."""
        if name not in self._merged:
            self._merged[name] = merge(self.raw(name), self.flat.dbu_um, self.drawn(name))
        return self._merged[name]

    def merged_all(self, name: str) -> Shapes:
        """The layer merged into disjoint shapes (µm), every shape (for connectivity)."""
        if self.base is not None:
            if name not in self._merged_all:
                view, delta = self.base
                more = polygons(delta.select(layer_key(*self.pdk.layer(name).gds)), self.flat.dbu_um)
                self._merged_all[name], self._kept[name] = merged_onto(view.merged_all(name), more, view.tree_all(name))
            return self._merged_all[name]
        if name not in self._merged_all:
            if self.mark_area is None or len(self.raw(name)) == len(self.raw_all(name)):
                self._merged_all[name] = self.merged(name)
            else:
                self._merged_all[name] = merge(self.raw_all(name), self.flat.dbu_um)
        return self._merged_all[name]

    def tree_all(self, name: str) -> shapely.STRtree:
        """An STRtree of `merged_all(name)` (made once: a base's, queried by each cell placing it)."""
        if name not in self._trees:
            self._trees[name] = shapely.STRtree(self.merged_all(name).geoms)
        return self._trees[name]

    def labels(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Net labels on a layer (its GDS layer number, the PDK's label texttype): texts and µm positions."""
        gds_layer = self.pdk.layer(name).gds[0]
        lab = self.flat.labels.select(layer_key(gds_layer, self.pdk.labels.text_datatype))
        return lab.text, lab.xy * self.flat.dbu_um

    @property
    def extent(self) -> tuple[float, float, float, float] | None:
        """The extent of everything the cell draws (µm), or None if it draws nothing."""
        b = self.flat.bounds_dbu
        return None if b is None else tuple(v * self.flat.dbu_um for v in b)  # type: ignore[return-value]

    def clusters(self, gap: float) -> list[tuple[float, float, float, float]]:
        """Extents (µm) of the groups of shapes the cell draws that lie within `gap` of each other:
        where windowed checks need windows."""
        from .density import clusters

        return clusters(poly_bounds(self.flat.polys) * self.flat.dbu_um, gap)

    def _stack_layers(self) -> dict[str, Shapes]:
        """The merged shapes (every shape) of the conductor stack's layers, conductors and vias."""
        stack = self.pdk.connectivity
        names = list(dict.fromkeys([*stack.conductors, *(v.via for v in stack.vias)]))
        return {n: self.merged_all(n) for n in names if n in self.pdk.layers}

    @cached_property
    def stack_pairs(self) -> LayerPairs:
        """The overlapping shape pairs of the layers the stack joins; with a base (`CellLayers`), its
        pairs where both shapes are the base's as they are, and only those with a new shape found."""
        layers = self._stack_layers()
        if self.base is None:
            return stack_pairs(layers, self.pdk.connectivity)
        view = self.base[0]
        kept = {n: (self._kept[n], len(view.merged_all(n))) for n in layers}
        return stack_pairs_onto(layers, self.pdk.connectivity, view.stack_pairs, kept)

    @cached_property
    def pieces(self) -> Pieces:
        """The connected pieces of the PDK's conductor stack (with a base, from its merged shapes and
        the delta's polygons unmerged when `_parts_onto` can: numbered as the merged shapes' would be)."""
        if self.base is not None:
            parts = self._parts_onto()
            if parts is not None:
                return parts
        return conductor_pieces(self._stack_layers(), self.pdk.connectivity, self.stack_pairs)

    def _parts_onto(self) -> Pieces | None:
        """The pieces of a cell made of a base and a delta, without merging the delta into the base:
        each conductor layer as the base's merged shapes (all kept, in their order) then the delta's
        polygons, with the pairs of them that one merged shape holds (they overlap or share an edge,
        `conductor_pieces` joins). A merged shape's parts are what a merge of the layer would give
        it: the base's shapes that meet no delta polygon stay as they are, the others and the delta's
        polygons group by touching (`merged_onto`), each group one merged shape. Pieces are numbered
        as those of the merged layers are (by their first shape in the merged order: kept shapes,
        then the groups). None (merge them) when a group would not merge into one polygon (shapes
        that meet only at points), a delta polygon is not one polygon, or a via contacts sidewalls."""
        stack = self.pdk.connectivity
        if any(v.contact == "sidewall" for v in stack.vias):
            return None
        view, delta = self.base
        names = [n for n in dict.fromkeys([*stack.conductors, *(v.via for v in stack.vias)]) if n in self.pdk.layers]
        layers: dict[str, Shapes] = {}
        joins: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        rank: dict[str, np.ndarray] = {}       # each part's merged shape, in the merged layer's order
        n_base: dict[str, int] = {}
        keys = {n: layer_key(*self.pdk.layer(n).gds) for n in names}
        on_stack = take_polys(delta, np.isin(delta.key, list(keys.values())))
        delta_geoms = polygons(on_stack, self.flat.dbu_um)           # the delta's polygons of every stack layer, made at once
        for n in names:
            base = view.merged_all(n)
            more = delta_geoms[on_stack.key == keys[n]]
            nb = n_base[n] = len(base)
            layers[n] = Shapes.of(np.concatenate([base.geoms, more])) if len(more) else base
            if len(more) == 0:
                rank[n] = np.arange(nb)
                continue
            if (shapely.get_type_id(more) != 3).any():
                return None
            hit = np.zeros(nb, bool)
            if nb:
                hit[view.tree_all(n).query(more, predicate="intersects")[1]] = True
            member = np.concatenate([np.flatnonzero(hit), nb + np.arange(len(more))])
            group = layers[n].geoms[member]
            left, right = shapely.STRtree(group).query(group)
            keep = left < right
            left, right = left[keep], right[keep]
            meet = shapely.intersects(group[left], group[right])
            left, right = left[meet], right[meet]
            edge = ~shapely.touches(group[left], group[right])
            pt = np.flatnonzero(~edge)
            if len(pt):                            # touching: joined where they share an edge, not at points only
                edge[pt] = shapely.get_dimensions(shapely.intersection(group[left[pt]], group[right[pt]])) >= 1
            m = len(group)
            n_touch, touch = components(m, left, right)
            if not edge.all():                     # some touch at points only: do they still join the same groups?
                n_join, _ = components(m, left[edge], right[edge])
                if n_join != n_touch:
                    return None
            r = np.empty(nb + len(more), np.int64)
            n_kept = int((~hit).sum())
            r[np.flatnonzero(~hit)] = np.arange(n_kept)
            r[member] = n_kept + touch
            rank[n] = r
            joins[n] = (member[left[edge]], member[right[edge]])
        pairs: LayerPairs = {}
        base_pairs = view.stack_pairs
        for a, b in joined_layers(layers, stack):
            i, j = base_pairs[(a, b)]
            ga, gb = layers[a].geoms, layers[b].geoms
            na, nb = n_base[a], n_base[b]
            # a new shape with the base's (their tree made once for every cell placing the base), with a new one;
            # a base shape with a new one
            i_nb, j_nb = overlapping_in(ga[na:], gb[:nb], view.tree_all(b))
            i_nn, j_nn = overlapping_pairs(ga[na:], gb[nb:])
            i_new, j_all = np.concatenate([i_nb, i_nn]), np.concatenate([j_nb, j_nn + nb])
            j_new, i_old = overlapping_in(gb[nb:], ga[:na], view.tree_all(a))
            pairs[(a, b)] = (np.concatenate([i, i_new + na, i_old]).astype(np.int64),
                             np.concatenate([j, j_all, j_new + nb]).astype(np.int64))
        p = conductor_pieces(layers, stack, pairs, joins)
        # number the pieces by their first merged shape, as conductor_pieces numbers merged layers
        cond = [n for n in stack.conductors if n in layers]
        offset = np.cumsum([0] + [int(rank[n].max()) + 1 if len(rank[n]) else 0 for n in cond[:-1]])
        order = np.concatenate([rank[n] + o for n, o in zip(cond, offset)]) if cond else np.zeros(0, np.int64)
        first = np.full(p.count, np.iinfo(np.int64).max, np.int64)
        np.minimum.at(first, p.piece, order)
        renum = np.empty(p.count, np.int64)
        renum[np.argsort(first, kind="stable")] = np.arange(p.count)
        return Pieces(p.geoms, p.layer, renum[p.piece], p.count)

    def has_wafer(self) -> bool:
        """Whether the layout draws anything on the WAFER layer (a wafer outline): any cell of the
        layout when it is known, else this flat view."""
        if WAFER_LAYER not in self.pdk.layers:
            return False
        key = layer_key(*self.pdk.layer(WAFER_LAYER).gds)
        if self.layout is not None:
            return any(bool((self.layout.own(c)[0].key == key).any()) for c in self.layout.cells)
        return bool((self.flat.polys.key == key).any())

    @cached_property
    def wafer_geometry(self):
        """What the wafer checks read from the hierarchy (`layoutgen.wafer.checks.WaferGeometry`), once."""
        from ..wafer.checks import geometry_from_gds

        if self.layout is None:
            raise DrcError(f"cell {self.flat.cell!r} draws a wafer outline: the plating and isolation checks need the "
                           f"layout as read (run_drc passes it; check_cell(..., layout=Layout(path)))")
        return geometry_from_gds(self.layout, self.pdk, self.top)


def run_rule(rule: Rule, cl: CellLayers) -> list[Finding]:
    """The findings of one rule on one cell view (a DrcError names the rule and cell on a geometry error)."""
    try:
        return check_function(rule.kind)(rule, cl)
    except shapely.errors.GEOSException as e:
        # The GDS was read and accepted: a geometry failure here is ours, not the user's input.
        raise InternalError(f"rule {rule.name} could not be checked in cell {cl.flat.cell!r}: geometry error {e}") from e


def check_cell(flat: Flat, pdk: Pdk, rules: list[Rule], layout: Layout | None = None,
               base: tuple[CellLayers, Polys] | None = None) -> list[Violation]:
    """Every violation of `rules` in one flattened cell (`layout`: the GDS it was read from, which the
    wafer checks need when the cell draws a wafer; `base`: see `CellLayers`)."""
    cl = CellLayers(flat, pdk, layout=layout, top=flat.cell, base=base)
    out: list[Violation] = []
    for rule in rules:
        found = run_rule(rule, cl)
        out.extend(Violation(rule.name, flat.cell, f.message, f.region, f.edges) for f in found)
    return out
