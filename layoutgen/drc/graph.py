"""Connected components of an undirected graph given as edge lists: one function for every
labelling the DRC does (merging, markers, nets, density clusters, tiles, the wafer's pieces)."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


# Graphs up to this many edges are labelled in numpy (`components`): scipy's checks and conversions
# cost more than such a graph (an adapted fan-out unit's pieces). Larger graphs go to scipy: on the
# flat check's merges the numpy rounds cost more (100k random rectangles 4.9 -> 5.4 s at 50,000).
SMALL_GRAPH_EDGES = 2_000


def components(n: int, i: np.ndarray, j: np.ndarray) -> tuple[int, np.ndarray]:
    """The connected components of an undirected graph of `n` nodes and edges (i, j): their count
    and each node's component, numbered by their smallest node (as scipy's connected_components
    numbers them). Small graphs by hooking each component onto the smallest it meets and
    following pointers to the end, a few rounds; large ones (or one still moving after 32
    rounds) by scipy."""
    i, j = np.asarray(i, np.int64), np.asarray(j, np.int64)
    if n == 0:
        return 0, np.zeros(0, np.int64)
    if len(i) <= SMALL_GRAPH_EDGES:
        lab = np.arange(n)
        for _ in range(32):
            li, lj = lab[i], lab[j]
            low = np.minimum(li, lj)
            new = lab.copy()
            np.minimum.at(new, li, low)
            np.minimum.at(new, lj, low)
            while True:                     # every node to the root of its tree
                nxt = new[new]
                if np.array_equal(nxt, new):
                    break
                new = nxt
            if np.array_equal(new, lab):
                roots, comp = np.unique(lab, return_inverse=True)
                return len(roots), comp.reshape(-1)
            lab = new
    count, comp = connected_components(coo_matrix((np.ones(len(i), np.int8), (i, j)), shape=(n, n)), directed=False)
    return int(count), comp.astype(np.int64)
