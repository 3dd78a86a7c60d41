"""The mask order table written beside the mask files (CSV and JSON): what a mask shop needs per plate."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..pdk import Mask, Pdk

COLUMNS = ("seq", "mask", "layers", "gds_layer", "field_tone", "digitized_tone", "inverted", "mirror",
           "smallest_feature_um", "aligns_to", "alignment_sequence", "file")


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


def _rule_minimum(pdk: Pdk, mask: Mask) -> float | None:
    """Smallest width or size rule over the mask's drawn layers."""
    vals = [r.value for r in pdk.rules if r.kind in ("width", "size") and r.layer in mask.layers and r.value]
    return min(vals) if vals else None


def mask_order_rows(pdk: Pdk, masks_written: list[dict]) -> list[dict]:
    """One row per mask written, in exposure order: tones, mirror, smallest feature, alignment."""
    by_name = {m.name: m for m in pdk.masks}
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
            "alignment_sequence": _chain(m, by_name),
            "file": d.get("file", ""),
        })
    return rows


def write_mask_order(rows: list[dict], folder: str | Path) -> None:
    """Write `mask_order.csv` and `mask_order.json` into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(COLUMNS), lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in COLUMNS})
    (folder / "mask_order.csv").write_text(buf.getvalue(), encoding="utf-8")
    (folder / "mask_order.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
