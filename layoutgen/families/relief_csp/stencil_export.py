"""Stencil apertures for the stencil shop: Gerber X2 (gerbonara) and DXF (ezdxf), and reading them back.

Stencil shops cut foils from Gerber or DXF, not GDS. Each stencil layer (solder paste, the
relief print passes) is written as one Gerber X2 file (mm, 6 decimals = 1 nm, one region
per aperture, holes as clear regions) and one DXF (mm, one closed polyline per aperture
outline and per hole, on a layer named after the stencil). Both are deterministic: the same
apertures give the same bytes. The readers give the apertures back as shapely polygons in
µm, so a test can compare what the shop will see with what was drawn.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator, Sequence
from functools import reduce
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import ezdxf
import numpy as np
import shapely
from gerbonara import GerberFile
from gerbonara.cam import FileSettings
from gerbonara.graphic_objects import Region
from gerbonara.utils import MM
from shapely.geometry import Polygon

from layoutgen.layout import Layout
from .rules import apertures as merged_apertures

UM_PER_MM = 1000.0
# X2 file function per stencil layer (Gerber X2 spec: Paste for solder paste, Other,<text> else).
FILE_FUNCTION = {
    "PASTE": ("Paste", "Top"),
    "STENCIL": ("Other", "Relief print stencil pass 1 (relief layer and wells)"),
    "STENCIL2": ("Other", "Relief print stencil pass 2 (protrusion footprints)"),
    "STENCIL3": ("Other", "Relief print stencil pass 3 (protuberant zones)"),
}


def _software_version() -> str:
    try:
        return version("layoutgen")
    except PackageNotFoundError:
        return "unknown"


def _write_atomic(path: Path, data: bytes) -> Path:
    """Write `data` to `path` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _ring_mm(ring) -> list[tuple[float, float]]:
    """A ring's vertices in mm, closing point dropped, counter-clockwise for outlines."""
    return [(round(x / UM_PER_MM, 9), round(y / UM_PER_MM, 9)) for x, y in np.asarray(ring.coords)[:-1]]


# --- Gerber X2 -------------------------------------------------------------------------------

def gerber_bytes(apertures: Sequence[Polygon], layer: str) -> bytes:
    """The Gerber X2 file of one stencil: a dark region per aperture, a clear region per hole."""
    objects: list[Region] = []
    for ap in sorted(apertures, key=lambda p: (round(p.bounds[1], 3), round(p.bounds[0], 3))):
        ap = shapely.geometry.polygon.orient(ap, 1.0)
        objects.append(Region(_ring_mm(ap.exterior), unit=MM, polarity_dark=True))
        objects.extend(Region(_ring_mm(h), unit=MM, polarity_dark=False) for h in ap.interiors)
    function = FILE_FUNCTION.get(layer, ("Other", f"Stencil {layer}"))
    attrs = {
        ".GenerationSoftware": ("layoutgen", "layoutgen", _software_version()),
        ".FileFunction": function,
        ".FilePolarity": ("Positive",),
        ".Part": ("Single",),
    }
    gbr = GerberFile(objects=objects, file_attrs=attrs)
    settings = FileSettings(unit=MM, number_format=(4, 6), zeros="leading")
    data = gbr.write_to_bytes(settings)
    # gerbonara 1.5 writes the plot mode inside a region as "G01**" (an empty extra word);
    # readers accept it, but the spec wants one "*" per word.
    return data.replace(b"G01**", b"G01*") + b"\n"


def write_gerber(apertures: Sequence[Polygon], path: str | Path, layer: str) -> Path:
    """Write one stencil's apertures as Gerber X2 (mm) to `path`."""
    return _write_atomic(Path(path), gerber_bytes(apertures, layer))


def read_gerber(path: str | Path) -> list[Polygon]:
    """The apertures of a Gerber file (regions, dark adds, clear removes, in file order), in µm."""
    gbr = GerberFile.open(path)
    shape = Polygon()
    for obj in gbr.objects:
        if not isinstance(obj, Region) or len(obj.outline) < 3:
            continue
        scale = UM_PER_MM if obj.unit == MM else 25400.0
        poly = shapely.make_valid(Polygon([(x * scale, y * scale) for x, y in obj.outline]))
        shape = shape.union(poly) if obj.polarity_dark else shape.difference(poly)
    return merged_apertures([shape])


# --- DXF -------------------------------------------------------------------------------------

@contextlib.contextmanager
def _fixed_dxf_metadata() -> Iterator[None]:
    """ezdxf writes no clock and no random GUIDs inside this block (same input, same bytes)."""
    before = ezdxf.options.write_fixed_meta_data_for_testing
    ezdxf.options.write_fixed_meta_data_for_testing = True
    try:
        yield
    finally:
        ezdxf.options.write_fixed_meta_data_for_testing = before


def dxf_text(apertures: Sequence[Polygon], layer: str) -> str:
    """The DXF (R2010, mm) of one stencil: a closed polyline per aperture outline and per hole."""
    with _fixed_dxf_metadata():
        doc = ezdxf.new("R2010", units=ezdxf.units.MM)
        doc.header["$MEASUREMENT"] = 1
        doc.layers.add(layer)
        msp = doc.modelspace()
        for ap in sorted(apertures, key=lambda p: (round(p.bounds[1], 3), round(p.bounds[0], 3))):
            ap = shapely.geometry.polygon.orient(ap, 1.0)
            for ring in (ap.exterior, *ap.interiors):
                msp.add_lwpolyline(_ring_mm(ring), format="xy", close=True, dxfattribs={"layer": layer})
        # ezdxf adds the CLASS entries of the entity types in use from a set, in hash order (2
        # builds in 7 differed): add them here, sorted, so the bytes do not follow PYTHONHASHSEED.
        doc.classes.add_required_classes(doc.dxfversion)
        doc.classes.classes = dict(sorted(doc.classes.classes.items()))
        sink = io.StringIO()
        doc.write(sink)
        return sink.getvalue()


def write_dxf(apertures: Sequence[Polygon], path: str | Path, layer: str) -> Path:
    """Write one stencil's apertures as DXF (mm) to `path`."""
    return _write_atomic(Path(path), dxf_text(apertures, layer).encode("utf-8"))


def read_dxf(path: str | Path, layer: str | None = None) -> list[Polygon]:
    """The apertures of a DXF's closed polylines (nested outlines alternate aperture/hole), in µm."""
    doc = ezdxf.readfile(str(path))
    scale = UM_PER_MM * ezdxf.units.conversion_factor(doc.units or ezdxf.units.MM, ezdxf.units.MM)
    query = "LWPOLYLINE" if layer is None else f'LWPOLYLINE[layer=="{layer}"]'
    rings = [Polygon([(x * scale, y * scale) for x, y in e.get_points("xy")])
             for e in doc.modelspace().query(query) if e.closed]
    if not rings:
        return []
    # Even-odd: an outline inside an odd number of others is a hole.
    return merged_apertures([reduce(lambda a, b: a.symmetric_difference(b), rings)])


# --- a layout's stencils -----------------------------------------------------------------------

STENCIL_LAYERS = ("PASTE", "STENCIL", "STENCIL2", "STENCIL3")


def export_stencils(layout: Layout, out_dir: str | Path, layers: Sequence[str] = STENCIL_LAYERS) -> list[Path]:
    """Write `<LAYER>.gbr` and `<LAYER>.dxf` for every stencil layer of `layout` that has apertures."""
    out = Path(out_dir)
    written: list[Path] = []
    for layer in layers:
        aps = merged_apertures(layout.flat(layer))
        if not aps:
            continue
        written.append(write_gerber(aps, out / f"{layer}.gbr", layer))
        written.append(write_dxf(aps, out / f"{layer}.dxf", layer))
    return written
