"""Stencil apertures for the stencil shop: Gerber X2 (gerber-writer, Ucamco's own) and DXF (ezdxf).

Stencil shops cut foils from Gerber or DXF, not GDS. Each stencil layer (solder paste, the
relief print passes) is written as one Gerber X2 file (mm, 6 decimals = 1 nm, one region
per aperture, holes as clear regions) and one DXF (mm, one closed polyline per aperture
outline and per hole, on a layer named after the stencil). Both are deterministic: the same
apertures give the same bytes (the Gerber carries no creation date). The DXF reader gives
the apertures back as shapely polygons in µm; the tests read the Gerber back with gerbonara
and with a plain reading of its text.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from functools import reduce
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import ezdxf
import gerber_writer
import numpy as np
import shapely
from shapely.geometry import Polygon

from layoutgen.files import write_atomic
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


def _ring_mm(ring) -> list[tuple[float, float]]:
    """A ring's vertices in mm, closing point dropped, counter-clockwise for outlines."""
    return [(round(x / UM_PER_MM, 9), round(y / UM_PER_MM, 9)) for x, y in np.asarray(ring.coords)[:-1]]


# --- Gerber X2 -------------------------------------------------------------------------------

def _gerber_path(ring) -> gerber_writer.Path:
    """A closed Gerber contour of a ring (mm)."""
    pts = _ring_mm(ring)
    path = gerber_writer.Path()
    path.moveto(pts[0])
    for pt in pts[1:] + pts[:1]:
        path.lineto(pt)
    return path


def gerber_bytes(apertures: Sequence[Polygon], layer: str) -> bytes:
    """The Gerber X2 file of one stencil: a dark region per aperture, a clear region per hole.

    Apertures go bottom to top, so an aperture inside another's hole comes after that hole is cleared."""
    function = ",".join(FILE_FUNCTION.get(layer, ("Other", f"Stencil {layer}")))
    data = gerber_writer.DataLayer(function, negative=False)
    for ap in sorted(apertures, key=lambda p: (round(p.bounds[1], 3), round(p.bounds[0], 3))):
        ap = shapely.geometry.polygon.orient(ap, 1.0)
        data.add_region(_gerber_path(ap.exterior), "Other,StencilAperture")
        for hole in ap.interiors:
            data.add_region(_gerber_path(hole), "Other,StencilAperture", negative=True)
    gerber_writer.set_generation_software("layoutgen", "layoutgen", _software_version())
    text = data.dumps_gerber()
    # Same apertures, same bytes: the writer stamps the clock as TF.CreationDate (an optional attribute).
    lines = [ln for ln in text.splitlines() if "TF.CreationDate" not in ln]
    return ("\n".join(lines) + "\n").encode("ascii")


def write_gerber(apertures: Sequence[Polygon], path: str | Path, layer: str) -> Path:
    """Write one stencil's apertures as Gerber X2 (mm) to `path`."""
    return write_atomic(Path(path), gerber_bytes(apertures, layer))


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
    return write_atomic(Path(path), dxf_text(apertures, layer).encode("utf-8"))


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
