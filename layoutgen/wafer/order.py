"""The mask order table written beside the mask files (CSV and JSON): what a mask shop needs per plate."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typing import TYPE_CHECKING

from ..pdk import KEYS, Mask, Pdk

if TYPE_CHECKING:
    from ..design import Wafer

COLUMNS = ("seq", "mask", "layers", "gds_layer", "field_tone", "digitized_tone", "inverted", "mirror",
           "smallest_feature_um", "aligns_to", "alignment_mark", "alignment_sequence", "file")


def _chain(mask: Mask, by_name: dict[str, Mask]) -> str:
    """The alignment chain ending at `mask`, e.g. 'PAD > PV1 > RDL'."""
    chain, seen, cur = [mask.name], {mask.name}, mask
    while cur.aligns_to and cur.aligns_to not in seen:
        chain.append(cur.aligns_to)
        seen.add(cur.aligns_to)
        nxt = by_name.get(cur.aligns_to)
        if nxt is None:
            break
        cur = nxt
    return " > ".join(reversed(chain))


def alignment_marks(pdk: Pdk, wafer: "Wafer | None" = None) -> dict[str, str]:
    """Per mask, the mark it aligns with: incoming keys, its own zero-layer keys, or box-in-box and verniers on a mask."""
    out = {}
    keys = wafer.alignment.keys if wafer is not None else []
    for m in pdk.masks:
        if m.mark is not None:
            out[m.name] = m.mark
        elif m.aligns_to not in (None, KEYS):
            out[m.name] = (f"box-in-box on {m.aligns_to}'s cross, x and y verniers ({wafer.alignment.vernier_step:g} µm step)"
                           if wafer is not None else f"box-in-box and verniers on {m.aligns_to}'s marks (drawn at wafer level)")
        elif keys and m.aligns_to == KEYS:
            frames = sorted({k.frame for k in keys})
            seen = ({"ir": ", seen through the wafer in infrared", "through_wafer": ", through-wafer keys"}[wafer.alignment.backside]
                    if m.mirror else "")
            out[m.name] = f"box around the incoming {' and '.join(frames)} keys{seen}"
        else:
            out[m.name] = "zero layer: prealigned to the notch/flat; its cross is the key the next masks align to"
    return out


def _rule_minimum(pdk: Pdk, mask: Mask) -> float | None:
    """Smallest width or size rule over the mask's drawn layers."""
    vals = [r.value for r in pdk.rules if r.kind in ("width", "size") and r.layer in mask.layers and r.value]
    return min(vals) if vals else None


def mask_order_rows(pdk: Pdk, masks_written: list[dict], wafer: "Wafer | None" = None) -> list[dict]:
    """One row per mask written, in exposure order: tones, mirror, smallest feature, alignment (target and mark)."""
    by_name = {m.name: m for m in pdk.masks}
    marks = alignment_marks(pdk, wafer)
    written = {d["name"]: d for d in masks_written}
    rows = []
    for m in pdk.masks:
        if m.name not in written:
            continue
        d = written[m.name]
        gds = d.get("gds_layer") or list(pdk.layer(m.layers[0]).gds)
        smallest = d.get("smallest_feature_um", _rule_minimum(pdk, m))
        rows.append({
            "seq": len(rows) + 1,
            "mask": m.name,
            "layers": "+".join(m.layers),
            "gds_layer": f"{gds[0]}/{gds[1]}",
            "field_tone": m.field,
            "digitized_tone": "clear" if m.field == "dark" else "dark",
            "inverted": m.invert,
            "mirror": m.mirror,
            "smallest_feature_um": smallest,
            "aligns_to": m.aligns_to or "",
            "alignment_mark": marks[m.name],
            "alignment_sequence": _chain(m, by_name),
            "file": d.get("file", ""),
            **({"scale": d["scale"]} if "scale" in d else {}),
        })
    return rows


def write_mask_order(rows: list[dict], folder: str | Path) -> None:
    """Write `mask_order.csv` and `mask_order.json` into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    # a scale column only where a mask's data is drawn scaled (a sheet's thermal growth compensated)
    columns = list(COLUMNS) + (["scale"] if any("scale" in r for r in rows) else [])
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in columns})
    (folder / "mask_order.csv").write_text(buf.getvalue(), encoding="utf-8")
    (folder / "mask_order.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
