"""A KLayout technology (.lyt) for a build: the PDK's name, database unit and the design's layer properties.

With it KLayout shows layoutgen's layer names and colours wherever it opens the layout:
`klayout -nn out/<design>/<design>.lyt <design>.gds`, or once imported (Tools > Manage
Technologies > Import, or the file copied into ~/.klayout/tech/<pdk>/) by name, with
`klayout -n <pdk>` or through klive (`layoutgen view` names the technology).
The layer properties file is named relative to the .lyt, which sits beside it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from .pdk import Pdk


def lyt_xml(pdk: Pdk, lyp_name: str) -> str:
    """The .lyt document: technology named after the PDK, its dbu, the .lyp `lyp_name` beside it."""
    root = ET.Element("technology")
    for key, value in (("name", pdk.name), ("description", f"layoutgen PDK {pdk.name}: {pdk.description}"),
                       ("group", "layoutgen"), ("dbu", f"{pdk.dbu_um:g}"), ("base-path", ""),
                       ("original-base-path", ""), ("layer-properties_file", lyp_name),
                       ("add-other-layers", "true")):
        ET.SubElement(root, key).text = value
    ET.indent(root, space=" ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_lyt(pdk: Pdk, path: Path, lyp_name: str) -> Path:
    """Write the technology file for `pdk` to `path`, pointing at `lyp_name` beside it."""
    path.write_text(lyt_xml(pdk, lyp_name), encoding="utf-8")
    return path
