"""Connectivity from net labels: which metal pieces join which pads and balls.

The conductor stack comes from the PDK (`pdk.connectivity`): conductor layers; vias that
join a lower and an upper conductor where the via overlaps both (or, for a `contact =
"sidewall"` via, a cut through the lower conductor, only where cut, lower and upper all
overlap: the upper metal lines the cut's wall there); pairs of layers that
join wherever they overlap (`touching`); and the label layers whose text labels (on the
PDK's label texttype) name the net at each terminal: pads on the first label layer, balls
on the last. Labels on any other layer (ball names on TEXT) are ignored.

`conductor_pieces` builds the connected pieces once; each check is a small function of
the pieces and the terminals, so further checks (plating: all plating metal one piece
touching the contact ring; isolation: every net its own piece once the kerf is cut away,
done by passing kerf-cut geometry to `conductor_pieces`) are a few lines each.

- open: a net's terminals on one piece must include a terminal on every label layer on
  which that net has labels (in a fan-in WLCSP: at least one pad and one ball), and a
  terminal may not sit alone on its piece when its net has others (a die-to-die net of a
  fan-out has pads only: its pads must meet). Pads of one net joined inside the die (VDD on
  several pads) may therefore reach their balls through separate pieces; what is reported
  is a piece holding terminals of a net but missing a pad or a ball of it, a lone
  terminal, and a label that sits on no metal of its layer.
- short: one piece holding terminals of two or more nets. Nets that a device joins on purpose
  (a TEXT label 'JOIN:a,b' at a spiral inductor or a meander resistor) count as one net.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import shapely

from ..pdk import Connectivity
from .graph import components
from .merge import Shapes
from .violation import Finding


@dataclass(frozen=True)
class Pieces:
    """Every conductor shape of the stack, its layer and the connected piece it belongs to."""

    geoms: np.ndarray      # (n,) shapely polygons, all conductor layers
    layer: np.ndarray      # (n,) object: layer name of each shape
    piece: np.ndarray      # (n,) int: connected piece of each shape
    count: int             # number of pieces

    def of_layer(self, name: str) -> np.ndarray:
        """Indices of the shapes on one layer."""
        return np.flatnonzero(self.layer == name)

    def bounds(self, piece: int) -> tuple[float, float, float, float]:
        """Extent of one piece (µm)."""
        b = shapely.bounds(self.geoms[self.piece == piece])
        return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


@dataclass(frozen=True)
class Terminals:
    """Net labels placed on the stack: net, label layer, position, and piece (-1: no metal)."""

    net: np.ndarray        # (t,) object
    layer: np.ndarray      # (t,) object
    xy: np.ndarray         # (t, 2) float µm
    piece: np.ndarray      # (t,) int


def overlapping_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i in a, j in b) whose interiors overlap (touching edges do not count)."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # The query side is prepared: the one holding the largest shape (a plating network, a ring)
    # is tested once against the tree of the other, not each small shape against it.
    if shapely.get_num_coordinates(b).max() > shapely.get_num_coordinates(a).max():
        j, i = shapely.STRtree(a).query(b, predicate="intersects")
        big, small = b, a
    else:
        i, j = shapely.STRtree(b).query(a, predicate="intersects")
        big, small = a, b
    order = np.lexsort((j, i))
    i, j = i[order], j[order]
    shapely.prepare(big)                                   # touches(prepared, other): the big side first
    keep = ~(shapely.touches(b[j], a[i]) if big is b else shapely.touches(a[i], b[j]))
    return i[keep], j[keep]


def overlapping_in(a: np.ndarray, b: np.ndarray, tree: shapely.STRtree) -> tuple[np.ndarray, np.ndarray]:
    """`overlapping_pairs(a, b)` with an STRtree of `b` already made (a base's layer, queried by each
    cell placing it): the same pairs, in no particular order."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    i, j = tree.query(a, predicate="intersects")
    keep = ~shapely.touches(b[j], a[i])
    return i[keep].astype(np.int64), j[keep].astype(np.int64)


# Overlapping shape pairs (i, j) of two layers, by the layers' names: what the stack joins.
LayerPairs = dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]


def joined_layers(layers: dict[str, Shapes], stack: Connectivity) -> list[tuple[str, str]]:
    """The layer pairs whose overlaps join conductors: the touching pairs, each via with its lower
    and its upper conductor (those of the stack with shapes given)."""
    names = {n for n in stack.conductors if n in layers}
    out = [(a, b) for a, b in stack.touching if a in names and b in names]
    for via in stack.vias:
        if via.via in layers and via.lower in names and via.upper in names:
            out += [(via.via, via.lower), (via.via, via.upper)]
    return list(dict.fromkeys(out))


def stack_pairs(layers: dict[str, Shapes], stack: Connectivity) -> LayerPairs:
    """The overlapping shape pairs of every layer pair the stack joins (`joined_layers`)."""
    return {(a, b): overlapping_pairs(layers[a].geoms, layers[b].geoms) for a, b in joined_layers(layers, stack)}


def stack_pairs_onto(layers: dict[str, Shapes], stack: Connectivity, base: LayerPairs,
                     kept: dict[str, tuple[np.ndarray, int]]) -> LayerPairs:
    """`stack_pairs` of layers made of a base's merged shapes and more: per layer, `kept` gives the
    base's shapes that stay as they are (their indices in the base, listed first, in that order)
    and how many the base had; the shapes after them are new. The pairs of two kept shapes are the
    base's (`base`, its own `stack_pairs`) renumbered; only pairs with a new shape are looked for."""
    out: LayerPairs = {}
    for a, b in joined_layers(layers, stack):
        (ka, n_a), (kb, n_b) = kept[a], kept[b]
        ga, gb = layers[a].geoms, layers[b].geoms
        to_a = np.full(n_a, -1, np.int64)
        to_a[ka] = np.arange(len(ka))
        to_b = np.full(n_b, -1, np.int64)
        to_b[kb] = np.arange(len(kb))
        i, j = base[(a, b)]
        i, j = to_a[i], to_b[j]
        both = (i >= 0) & (j >= 0)
        i_new, j_all = overlapping_pairs(ga[len(ka):], gb)            # a new shape of a, any of b
        i_kept, j_new = overlapping_pairs(ga[:len(ka)], gb[len(kb):])  # a kept shape of a, a new one of b
        out[(a, b)] = (np.concatenate([i[both], i_new + len(ka), i_kept]).astype(np.int64),
                       np.concatenate([j[both], j_all, j_new + len(kb)]).astype(np.int64))
    return out


def conductor_pieces(layers: dict[str, Shapes], stack: Connectivity, pairs: LayerPairs | None = None,
                     joins: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> Pieces:
    """The connected pieces of the conductor stack (merged shapes per layer given; `pairs`: their
    `stack_pairs` when already known). `joins`: when a layer's shapes are not merged but parts of
    its merged shapes, per layer the pairs of parts that belong to one merged shape (a via's parts
    then make one cut)."""
    joins = joins or {}
    if pairs is None:
        pairs = stack_pairs(layers, stack)
    names = [n for n in stack.conductors if n in layers]
    geoms = [layers[n].geoms for n in names]
    start = dict(zip(names, np.cumsum([0] + [len(g) for g in geoms[:-1]]).tolist()))
    all_geoms = np.concatenate(geoms) if geoms else np.empty(0, object)
    layer = np.concatenate([np.full(len(g), n, object) for n, g in zip(names, geoms)]) if geoms else np.empty(0, object)
    n = len(all_geoms)
    src: list[np.ndarray] = [i + start[n] for n, (i, _) in joins.items() if n in start]
    dst: list[np.ndarray] = [j + start[n] for n, (_, j) in joins.items() if n in start]
    for a, b in stack.touching:
        if (a, b) in pairs and a in start and b in start:
            i, j = pairs[(a, b)]
            src.append(i + start[a])
            dst.append(j + start[b])
    for via in stack.vias:
        if (via.via, via.lower) not in pairs or (via.via, via.upper) not in pairs:
            continue
        cut = layers[via.via].geoms
        v_lo, lo = pairs[(via.via, via.lower)]
        v_up, up = pairs[(via.via, via.upper)]
        if len(v_lo) == 0 or len(v_up) == 0:
            continue
        n_cut = len(cut)
        if via.via in joins:                  # parts of one merged cut are one cut
            i, j = joins[via.via]
            n_cut, cut_of = components(len(cut), i, j)
            v_lo, v_up = cut_of[v_lo], cut_of[v_up]
        rows, cols = _share_a_cut(v_lo, lo, v_up, up, n_cut, len(layers[via.upper]))
        if via.contact == "sidewall" and len(rows):
            rows, cols = _sidewall_contacts(cut, layers[via.lower].geoms, layers[via.upper].geoms, rows, cols)
        src.append(rows + start[via.lower])
        dst.append(cols + start[via.upper])
    s = np.concatenate(src) if src else np.zeros(0, np.int64)
    d = np.concatenate(dst) if dst else np.zeros(0, np.int64)
    count, piece = components(n, s, d)
    return Pieces(all_geoms, layer, piece, int(count))


def _share_a_cut(v_lo: np.ndarray, lo: np.ndarray, v_up: np.ndarray, up: np.ndarray, n_cut: int,
                 n_up: int) -> tuple[np.ndarray, np.ndarray]:
    """The (lower, upper) shape pairs that overlap one via cut, from the (cut, lower) and (cut,
    upper) overlaps: each pair once, ordered by lower then upper."""
    o_lo, o_up = np.argsort(v_lo, kind="stable"), np.argsort(v_up, kind="stable")
    c_lo, lo = v_lo[o_lo], lo[o_lo]
    up = up[o_up]
    per_cut = np.bincount(v_up, minlength=n_cut)
    first_up = np.cumsum(per_cut) - per_cut
    times = per_cut[c_lo]                  # each (cut, lower) pair meets every upper of its cut
    total = int(times.sum())
    if total == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    within = np.arange(total) - np.repeat(np.cumsum(times) - times, times)
    rows = np.repeat(lo, times).astype(np.int64)
    cols = up[np.repeat(first_up[c_lo], times) + within].astype(np.int64)
    code = np.unique(rows * n_up + cols)
    return code // n_up, code % n_up


def _sidewall_contacts(cut: np.ndarray, lower: np.ndarray, upper: np.ndarray, rows: np.ndarray,
                       cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (lower, upper) pairs that share a via and overlap each other inside it: the upper
    metal lines the cut where the cut runs through that lower shape."""
    cuts = shapely.union_all(cut)
    keep = [k for k, (i, j) in enumerate(zip(rows.tolist(), cols.tolist()))
            if shapely.intersection(shapely.intersection(lower[i], upper[j]), cuts).area > 1e-6]
    return rows[keep], cols[keep]


def place_terminals(pieces: Pieces, labels: dict[str, tuple[np.ndarray, np.ndarray]]) -> Terminals:
    """Terminals from net labels per label layer (texts, positions in µm), each on the piece
    of a shape of its own layer under it."""
    nets, lays, xys, on = [], [], [], []
    for name, (text, xy) in labels.items():
        if len(text) == 0:
            continue
        idx = pieces.of_layer(name)
        piece = np.full(len(text), -1, np.int64)
        if len(idx):
            pts = shapely.points(xy)
            p, s = shapely.STRtree(pieces.geoms[idx]).query(pts, predicate="intersects")
            piece[p] = pieces.piece[idx[s]]
        nets.append(text)
        lays.append(np.full(len(text), name, object))
        xys.append(np.asarray(xy, float))
        on.append(piece)
    if not nets:
        return Terminals(np.empty(0, object), np.empty(0, object), np.zeros((0, 2)), np.zeros(0, np.int64))
    return sort_terminals(Terminals(np.concatenate(nets), np.concatenate(lays), np.concatenate(xys),
                                    np.concatenate(on)), list(labels))


def sort_terminals(terms: Terminals, layers: list[str]) -> Terminals:
    """Terminals in one order whatever order the file lists its labels in: by label layer (in
    `layers` order), then position (y, x), then net name. Messages list terminals in this order."""
    if len(terms.net) < 2:
        return terms
    rank = {n: i for i, n in enumerate(layers)}
    lay = np.array([rank.get(str(n), len(layers)) for n in terms.layer])
    net = np.unique(terms.net.astype(str), return_inverse=True)[1]
    order = np.lexsort((net, terms.xy[:, 0], terms.xy[:, 1], lay))
    return Terminals(terms.net[order], terms.layer[order], terms.xy[order], terms.piece[order])


def join_nets(terms: Terminals, joins: list[list[str]]) -> Terminals:
    """Terminals with the nets a device joins on purpose (a spiral inductor between two nets,
    named by a TEXT label 'JOIN:a,b') renamed to one net 'a+b'."""
    if not joins:
        return terms
    parent: dict[str, str] = {}

    def root(n: str) -> str:
        while parent.get(n, n) != n:
            n = parent[n]
        return n

    for group in joins:
        for other in group[1:]:
            a, b = root(group[0]), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    members: dict[str, list[str]] = {}
    for n in {n for g in joins for n in g}:
        members.setdefault(root(n), []).append(n)
    alias = {n: "+".join(sorted(members[root(n)])) for g in joins for n in g}
    nets = np.array([alias.get(str(n), n) for n in terms.net], dtype=object)
    return replace(terms, net=nets)


def _describe(t: Terminals, rows: np.ndarray, limit: int = 6) -> str:
    items = [f"{t.net[r]}@{t.layer[r]}({t.xy[r][0]:.3f}, {t.xy[r][1]:.3f})" for r in rows[:limit]]
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return ", ".join(items) + more


def _box(b: tuple[float, float, float, float]) -> shapely.Geometry:
    x0, y0, x1, y1 = b
    return shapely.box(x0, y0, x1, y1)


def _groups(codes: np.ndarray) -> list[np.ndarray]:
    """Row indices grouped by equal code (sorted once, no quadratic scan)."""
    order = np.argsort(codes, kind="stable")
    cuts = np.flatnonzero(codes[order][1:] != codes[order][:-1]) + 1
    return np.split(order, cuts) if len(order) else []


def find_opens(pieces: Pieces, terms: Terminals, required: list[str] | None = None) -> list[Finding]:
    """One finding per label on no metal, per (piece, net) missing a terminal on a required
    label layer or one its net has labels on (a pad without its ball), and per lone terminal.

    `required`: label layers every net must reach (None: every label layer that carries
    labels, as in a fan-in WLCSP where every net has a ball).
    """
    out = []
    for r in np.flatnonzero(terms.piece < 0):
        x, y = terms.xy[r]
        out.append(Finding(
            f"net {terms.net[r]}: label on {terms.layer[r]} at ({x:.3f}, {y:.3f}) is on no {terms.layer[r]} shape",
            region=shapely.box(x - 1, y - 1, x + 1, y + 1),
        ))
    on = np.flatnonzero(terms.piece >= 0)
    if len(on) == 0:
        return out
    must = set(terms.layer.tolist()) if required is None else set(required)
    net_names = terms.net[on].astype(str)
    _, net_code = np.unique(net_names, return_inverse=True)
    layers_of_net: dict[str, set[str]] = {}
    size_of_net: dict[str, int] = {}
    for net, lay in zip(net_names.tolist(), terms.layer[on].tolist()):
        layers_of_net.setdefault(net, set()).add(lay)
        size_of_net[net] = size_of_net.get(net, 0) + 1
    code = terms.piece[on].astype(np.int64) * (net_code.max() + 1) + net_code
    for rows_local in _groups(code):
        rows = on[rows_local]
        net = str(terms.net[rows[0]])
        have = set(terms.layer[rows].tolist())
        missing = sorted((layers_of_net[net] | must) - have)
        piece = int(terms.piece[rows[0]])
        if missing:
            what = f"joined to no {'/'.join(missing)} of the net"
        elif len(rows) == 1 and size_of_net[net] > 1:
            what = f"joined to none of the net's other {size_of_net[net] - 1} terminal(s)"
        else:
            continue
        out.append(Finding(f"net {net}: {_describe(terms, rows)} {what}", region=_box(pieces.bounds(piece))))
    return out


def find_shorts(pieces: Pieces, terms: Terminals) -> list[Finding]:
    """One finding per piece holding terminals of two or more nets."""
    out = []
    on = np.flatnonzero(terms.piece >= 0)
    if len(on) == 0:
        return out
    _, net_code = np.unique(terms.net[on].astype(str), return_inverse=True)
    for rows_local in _groups(terms.piece[on]):
        if len(np.unique(net_code[rows_local])) < 2:
            continue
        rows = on[rows_local]
        nets = sorted(set(terms.net[rows].tolist()))
        out.append(Finding(
            f"nets {', '.join(nets)} on one piece of metal: {_describe(terms, rows)}",
            region=_box(pieces.bounds(int(terms.piece[rows[0]]))),
        ))
    return out
