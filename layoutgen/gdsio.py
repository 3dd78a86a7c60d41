"""The one GDSII/OASIS writer: a Layout to a file, deterministic and written atomically."""

from __future__ import annotations

import datetime
from pathlib import Path

import gdstk
import numpy as np
from shapely.geometry.base import BaseGeometry

from .files import atomic_path
from .layout import Layout
from .pdk import Pdk

# Fixed GDS timestamp: the same config gives the same bytes.
GDS_TIMESTAMP = datetime.datetime(2000, 1, 1, 0, 0, 0)
LIBRARY_NAME = "LAYOUTGEN"


def _polygons(geom: BaseGeometry, layer: int, datatype: int) -> list[gdstk.Polygon]:
    """gdstk polygons of a shapely polygon; holes are cut by a boolean so none are lost."""
    outer = gdstk.Polygon(np.asarray(geom.exterior.coords)[:-1], layer=layer, datatype=datatype)
    if not geom.interiors:
        return [outer]
    holes = [gdstk.Polygon(np.asarray(h.coords)[:-1]) for h in geom.interiors]
    return gdstk.boolean(outer, holes, "not", layer=layer, datatype=datatype)


def to_library(layout: Layout, pdk: Pdk, layer_map: dict[str, tuple[int, int]] | None = None,
               only: set[str] | None = None) -> gdstk.Library:
    """A gdstk library of `layout`; `only` keeps those layers, `layer_map` renumbers them."""
    lib = gdstk.Library(LIBRARY_NAME, unit=1e-6, precision=pdk.dbu_um * 1e-6)
    cells = {name: gdstk.Cell(name) for name in layout.cells}
    text_dt = pdk.labels.text_datatype
    for name, c in layout.cells.items():
        gc = cells[name]
        for lname, geoms in c.shapes.items():
            if only is not None and lname not in only:
                continue
            lay, dt = (layer_map or {}).get(lname, pdk.layer(lname).gds)
            for g in geoms:
                gc.add(*_polygons(g, lay, dt))
        for lb in c.labels:
            if only is not None and lb.layer not in only:
                continue
            lay, _ = (layer_map or {}).get(lb.layer, pdk.layer(lb.layer).gds)
            gc.add(gdstk.Label(lb.text, (lb.x, lb.y), layer=lay, texttype=text_dt))
        for r in c.refs:
            gc.add(gdstk.Reference(cells[r.cell], (r.x, r.y), rotation=np.deg2rad(r.rotation),
                                   x_reflection=r.x_reflection, columns=r.columns, rows=r.rows,
                                   spacing=r.spacing if (r.columns > 1 or r.rows > 1) else None))
    for name in layout.cells:
        lib.add(cells[name])
    return lib


def write_library(lib: gdstk.Library, path: Path, oasis: bool = False) -> Path:
    """Write `lib` to `path` (GDS, or OASIS when asked) through a temp file and a rename."""
    with atomic_path(path) as tmp:
        if oasis:
            lib.write_oas(str(tmp))
        else:
            # Large polygons (wafer circles) stay whole: no seam where gdstk would split them.
            lib.write_gds(str(tmp), timestamp=GDS_TIMESTAMP, max_points=8190)
    return Path(path)


def write_layout(layout: Layout, pdk: Pdk, path: Path, oasis: bool = False, **kw) -> Path:
    """Write `layout` to `path` (see `to_library` for the keywords)."""
    return write_library(to_library(layout, pdk, **kw), path, oasis=oasis)
