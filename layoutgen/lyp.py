"""KLayout layer properties (.lyp) from the PDK: layer names, colours and stipples.

A build's .lyp lists the layers its layout uses first, shown; the PDK's other layers follow,
hidden, so that a layer drawn by hand later still gets its name and colour. Every layer shows
all hierarchy levels, so a wafer opens with its dies drawn (through -l, the .lyt or klive)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .pdk import Pdk


def lyp_xml(pdk: Pdk, only: list[str] | None = None, used: set[str] | None = None) -> str:
    """The .lyp document for the PDK's layers (or those named in `only`), in PDK order; with `used`,
    those layers first and shown, then the rest hidden."""
    root = ET.Element("layer-properties")
    names = [n for n in pdk.layers if only is None or n in only]
    if used is not None:
        names = [n for n in names if n in used] + [n for n in names if n not in used]
    for name in names:
        layer = pdk.layers[name]
        props = ET.SubElement(root, "properties")
        values = {
            "frame-color": layer.color, "fill-color": layer.color, "frame-brightness": "0",
            "fill-brightness": "0", "dither-pattern": f"I{layer.stipple}", "valid": "true",
            "visible": "false" if used is not None and name not in used else "true", "transparent": "false", "width": "1", "marked": "false",
            "xfill": "false", "animation": "0", "name": f"{name} {layer.gds[0]}/{layer.gds[1]}",
            # "#*": every hierarchy level, whatever depth the view starts at (KLayout opens a
            # layout at "box only" by default, which shows a wafer as its top cell's own shapes).
            "source": f"{layer.gds[0]}/{layer.gds[1]}@1 #*",
        }
        for key, val in values.items():
            ET.SubElement(props, key).text = val
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_lyp(pdk: Pdk, path: Path, only: list[str] | None = None, used: set[str] | None = None) -> Path:
    """Write the .lyp for `pdk` to `path` (see `lyp_xml`)."""
    path.write_text(lyp_xml(pdk, only, used), encoding="utf-8")
    return path
