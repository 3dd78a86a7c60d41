"""Hierarchical DRC: each cell the top places checked once, then only what the placements add.

A wafer's top cell places the plated die thousands of times by row arrays and draws the
plating bus, the contact ring, the kerf and the fill itself; flattening it multiplies the die's
shapes by the die count (minutes and gigabytes, DRC.md). Here:

1. Cells. Each cell the top places is flattened on its own and checked once with the deck.
   A violation found there is reported once, for the cell, in the cell's coordinates, saying in
   how many placements it occurs (`HierDrcResult.occurrences`, `flat_counts()`). Cells drawing the
   same shapes and labels (adapted units measured alike) are checked once, each reporting the
   findings under its own name; a rule reading only its layers' polygons (context rules, grid) is
   taken from another cell drawing the same polygons on them and MARK (a unit and its base).
2. Sites. Each placement owns a site: the placed cell's extent grown by half the gap to the
   next placement of the same cell along x and y (the sites of an array tile its lanes), or by
   the halo (per layer: a rule's reach plus twice its distance, the largest) where there is none; on
   the sides of a site that no other site adjoins (the edge of the die map), it grows further by
   the halo of the layers the top draws, so that where a die's tails meet the outer bus is
   checked with the die. The rest of the plane belongs to the top.
3. Counting point. A violation is counted where its marker's reference point lies: the middle
   of where an edge pair comes closest (of the common stretch of parallel edges), the lower-left
   end of a single edge, the lowest-left vertex of a region; a window that cuts a long marker
   short does not move it. Each point lies in one site (the first, where sites overlap) or in
   the rest, so each violation counts once.
4. Bands and their types. A site is cut into bands: strips as wide as the halo along its sides,
   its corners, its middle. Placements are grouped by site type (`layoutgen.wafer.checks.site_types`,
   the plating check's classification of the top's shapes clipped to the site, plus the
   neighbouring placements: cell, orientation, offset), and each site type's bands by band type
   (the top's shapes around the band, the neighbours near it), across site types: a die at the
   edge of the map shares its inner bands with the inner dies. One band of each type is checked
   in context (a 300 mm wafer of 2,507 dies: 35 site types, 75 band types).
5. Context check of a band, rule by rule. Where shapes of two sources (the placement, a
   neighbour, the top) come within the rule's reach (its value for spacing rules, touching for
   the others; a MARK area of another source touches every rule) is the zone, with the top's own
   shapes. Shapes near the zone (twice the rule's distance; whole merged shapes of the placed
   cells) are checked together and the findings near the zone replace the cell's there: a cell
   finding the context reproduces (same message, marker within the rule's distance) stays, one
   it does not is dropped (the context changed it), a finding that is no placement's own and
   whose point lies in the band is new: reported in the top once per band type with the number
   of placements like it.
   The scenes of all band types are checked together (`context.run_scenes`): laid side by side in
   one plane, each rule runs once over all of them, and a scene where it finds something is
   checked alone again for it, so that every finding is measured in the scene's own frame.
6. The rest: the top's shapes outside every site, with placements meeting across it, in tiles
   (so that merged top shapes, ring and fill, stay small).
7. Base and delta. A placed cell that places, as it is, a base cell other placed cells place too,
   plus a small delta of its own (an adapted fan-out unit: the unit less its dies, then its dies as
   measured and their WIRE1 bridges), is read as a placement of the base and its delta as the
   top's shapes there: the base is checked once, each delta in context; the rules on whole cells
   (connectivity, density) still run on each such cell whole.

Rules that never look across sources: grid (per drawn polygon) per placed cell and on the top's
own shapes; a MARK area of another source exempts a cell's grid finding it covers. On a wafer
(a WAFER outline in the layout) density, connectivity opens/shorts and a family's own kinds run
per placed cell and on the top's own shapes: density per die over its extent (the flat check's
windows also cover the blank wafer edge and the corners outside the wafer), opens and shorts
inside each die (before dicing the plating network joins every net of the wafer by design;
PLATE.NET and PLATE.ISO check the wafer). On any other layout they run on the flattened top
(exact). PLATE.NET / PLATE.ISO (`check = "plating"` / `"isolation"`) run once on the hierarchy.
Placements whose cells overlap each other (not an array) make the top be checked flat.

Limits, met in no layout we generate: a top shape is seen clipped to each window (band plus
halo), so whole-shape measures of a top shape larger than that (area, size, centre, a touch
without overlap elsewhere) are taken on the part in the window; a clip point on an off-axis top
edge is rounded to the database unit, which can split or join a marker sliver that pinches to
nothing; an edge-pair marker at a corner lying exactly on a site edge (abutting placements)
can be given to either side.
"""

from .checker import HIER_MIN_POLYGONS, HIER_MIN_RATIO, HierChecker, check_hierarchical, prefers_hierarchy
from .result import HierDrcResult
from .rules import CONTEXT_LOCAL, CONTEXT_WHOLE, POLYGON_KINDS

__all__ = ["CONTEXT_LOCAL", "CONTEXT_WHOLE", "HIER_MIN_POLYGONS", "HIER_MIN_RATIO", "POLYGON_KINDS", "HierChecker",
           "HierDrcResult", "check_hierarchical", "prefers_hierarchy"]
