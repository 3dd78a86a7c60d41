"""Where a design's output files are (GDS, .lyp, .lyrdb, summary) and how view files are written."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import LayoutgenError
from ..files import write_atomic

__all__ = ["DesignFiles", "ViewError", "design_name", "find_design_files", "read_summary", "write_atomic"]


class ViewError(LayoutgenError):
    """A layout cannot be shown: missing file, unknown cell or layer, nothing drawn."""


@dataclass(frozen=True)
class DesignFiles:
    """The files that show one layout: the GDS and, when found, its .lyp, DRC markers and technology (.lyt)."""

    gds: Path
    lyp: Path | None = None
    lyrdb: Path | None = None
    lyt: Path | None = None

    @property
    def technology(self) -> str | None:
        """The technology name the .lyt defines (the PDK's), if there is one."""
        if self.lyt is None:
            return None
        import xml.etree.ElementTree as ET

        try:
            name = ET.parse(self.lyt).getroot().findtext("name")
        except (OSError, ET.ParseError):
            return None
        return name or None


def read_summary(out_dir: Path) -> dict:
    """The design's summary.json as a dict ({} when absent or unreadable)."""
    try:
        data = json.loads((Path(out_dir) / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def design_name(out_dir: Path) -> str:
    """The design name of an output folder: summary.json's, else its only top-level GDS's stem."""
    out_dir = Path(out_dir)
    name = read_summary(out_dir).get("design")
    if isinstance(name, str) and (out_dir / f"{name}.gds").is_file():
        return name
    if (out_dir / f"{out_dir.name}.gds").is_file():
        return out_dir.name
    gds = sorted(out_dir.glob("*.gds"))
    if len(gds) == 1:
        return gds[0].stem
    found = ", ".join(p.name for p in gds) or "no .gds file"
    raise ViewError(f"{out_dir}: cannot tell which layout to show ({found}); pass the .gds file")


def _sibling(folder: Path, stem: str, suffix: str) -> Path | None:
    """`folder/stem.suffix`, else the folder's only `*.suffix` file, else None."""
    own = folder / f"{stem}{suffix}"
    if own.is_file():
        return own
    found = sorted(folder.glob(f"*{suffix}"))
    return found[0] if len(found) == 1 else None


def find_design_files(path: Path) -> DesignFiles:
    """The GDS, .lyp and .lyrdb for an output folder or a .gds file (the .lyp also from the parent)."""
    path = Path(path)
    if path.is_dir():
        gds = path / f"{design_name(path)}.gds"
    elif path.is_file():
        gds = path
    else:
        raise ViewError(f"{path}: no such file or folder")
    folder = gds.parent
    lyp = _sibling(folder, gds.stem, ".lyp")
    lyt = _sibling(folder, gds.stem, ".lyt")
    if lyp is None and folder.name == "masks":  # out/<design>/masks/<MASK>.gds
        lyp = _sibling(folder.parent, folder.parent.name, ".lyp")
        lyt = _sibling(folder.parent, folder.parent.name, ".lyt")
    lyrdb = folder / f"{gds.stem}.lyrdb"
    if not lyrdb.is_file():
        lyrdb = folder / "drc.lyrdb"
    return DesignFiles(gds=gds.resolve(), lyp=lyp.resolve() if lyp else None,
                       lyrdb=lyrdb.resolve() if lyrdb.is_file() else None, lyt=lyt.resolve() if lyt else None)
