"""KLayout layer properties (.lyp) from the PDK: layer names, colours and stipples."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .pdk import Pdk


def lyp_xml(pdk: Pdk, only: list[str] | None = None) -> str:
    """The .lyp document for the PDK's layers (or those named in `only`), in PDK order."""
    root = ET.Element("layer-properties")
    for name, layer in pdk.layers.items():
        if only is not None and name not in only:
            continue
        props = ET.SubElement(root, "properties")
        values = {
            "frame-color": layer.color, "fill-color": layer.color, "frame-brightness": "0",
            "fill-brightness": "0", "dither-pattern": f"I{layer.stipple}", "valid": "true",
            "visible": "true", "transparent": "false", "width": "1", "marked": "false",
            "xfill": "false", "animation": "0", "name": f"{name} {layer.gds[0]}/{layer.gds[1]}",
            "source": f"{layer.gds[0]}/{layer.gds[1]}@1",
        }
        for key, val in values.items():
            ET.SubElement(props, key).text = val
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_lyp(pdk: Pdk, path: Path, only: list[str] | None = None) -> Path:
    """Write the .lyp for `pdk` to `path`."""
    path.write_text(lyp_xml(pdk, only), encoding="utf-8")
    return path
