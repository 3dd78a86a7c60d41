"""The KLayout marker database (.lyrdb): one category per rule, one item per violation."""

from __future__ import annotations

from pathlib import Path

import klayout.db as kdb
import klayout.rdb as rdb
import shapely

from .violation import DrcResult, Violation


def _polygon(geom: shapely.Geometry) -> list[kdb.DPolygon]:
    out = []
    for part in shapely.get_parts(geom):
        if shapely.get_type_id(part) != 3 or part.is_empty:
            continue
        poly = kdb.DPolygon([kdb.DPoint(x, y) for x, y in list(part.exterior.coords)[:-1]])
        for ring in part.interiors:
            poly.insert_hole([kdb.DPoint(x, y) for x, y in list(ring.coords)[:-1]])
        out.append(poly)
    return out


def _edge(e: tuple[float, float, float, float]) -> kdb.DEdge:
    return kdb.DEdge(e[0], e[1], e[2], e[3])


def add_item(db: rdb.ReportDatabase, cell_id: int, cat_id: int, v: Violation, placements: int = 1) -> None:
    """One marker: edge pair or edge when the check gives edges, else the polygon; plus the message
    (and, for a violation inside a cell placed many times, in how many placements it occurs)."""
    item = db.create_item(cell_id, cat_id)
    if v.edges and len(v.edges) == 2:
        item.add_value(kdb.DEdgePair(_edge(v.edges[0]), _edge(v.edges[1])))
    elif v.edges:
        item.add_value(_edge(v.edges[0]))
    if v.region is not None and not (v.edges and len(v.edges) == 2):
        for poly in _polygon(v.region):
            item.add_value(poly)
    item.add_value(v.message + (f" (in {placements:,} placements)" if placements != 1 else "")
                   + (f" [waived: {v.waiver}]" if v.waived else ""))
    if v.waived:
        item.add_tag(db.user_tag_id("waived"))


def write_lyrdb(result: DrcResult, path: Path, reproducible: bool = False) -> Path:
    """Write the marker database KLayout's marker browser opens beside the layout."""
    db = rdb.ReportDatabase(f"DRC {result.pdk}")
    db.description = f"layoutgen DRC of {Path(result.gds_path).name} with PDK {result.pdk}"
    db.original_file = Path(result.gds_path).name if reproducible else str(Path(result.gds_path).resolve())
    db.generator = "layoutgen drc"
    if result.cells:
        db.top_cell_name = result.cells[0]
    cells = {name: db.create_cell(name) for name in result.cells}
    cats = {}
    for r in result.rules:
        cat = db.create_category(r.name)
        cat.description = r.description
        cats[r.name] = cat
    for v, n in zip(result.violations, result.placements()):
        cell = cells.get(v.cell) or cells.setdefault(v.cell, db.create_cell(v.cell))
        add_item(db, cell.rdb_id(), cats[v.rule].rdb_id(), v, n)
    db.save(str(path))
    return path
