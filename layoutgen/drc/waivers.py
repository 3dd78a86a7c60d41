"""Waivers: violations a user accepts, with a reason, reported as waived instead of failing.

A waivers file is TOML with one `[[waiver]]` table per waiver:

    [[waiver]]
    rule = "RDL.S.1"              # rule name; shell wildcards allowed ("RDL.*")
    region = [100, 200, 400, 500] # x0, y0, x1, y1 in µm: waives markers lying inside it
    reason = "test structure, spacing checked by hand"

    [[waiver]]
    rule = "RDL.DEN"
    cell = "ALIGN_MARK"           # waives every violation reported in this cell
    reason = "alignment mark is not product metal"
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from ..errors import DrcError
from ..files import read_toml
from .violation import Violation


@dataclass(frozen=True)
class Waiver:
    """One accepted violation pattern: rule (wildcards allowed), a region or a cell, and why."""

    rule: str
    reason: str
    region: tuple[float, float, float, float] | None = None
    cell: str | None = None
    source: str = ""

    def covers(self, v: Violation) -> bool:
        """Whether this waiver applies to violation `v`."""
        if not fnmatch.fnmatchcase(v.rule, self.rule):
            return False
        if self.cell is not None:
            return v.cell == self.cell
        assert self.region is not None
        x0, y0, x1, y1 = self.region
        a, b, c, d = v.bounds()
        eps = 1e-6
        return a >= x0 - eps and b >= y0 - eps and c <= x1 + eps and d <= y1 + eps


def load_waivers(path: str | Path) -> list[Waiver]:
    """The waivers of a TOML file; a DrcError names the file and the entry at fault."""
    path = Path(path)
    data = read_toml(path, DrcError, "waivers file")
    entries = data.get("waiver", [])
    unknown = set(data) - {"waiver"}
    if unknown or not isinstance(entries, list):
        raise DrcError(f"waivers file {path}: expected only [[waiver]] tables, found {', '.join(sorted(unknown)) or 'waiver'}")
    out = []
    for n, e in enumerate(entries, 1):
        where = f"waivers file {path}, waiver #{n}"
        extra = set(e) - {"rule", "region", "cell", "reason"}
        if extra:
            raise DrcError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
        if not isinstance(e.get("rule"), str) or not e["rule"]:
            raise DrcError(f"{where}: needs rule = \"RULE.NAME\"")
        if not isinstance(e.get("reason"), str) or not e["reason"].strip():
            raise DrcError(f"{where} ({e['rule']}): needs a reason")
        has_region, has_cell = "region" in e, "cell" in e
        if has_region == has_cell:
            raise DrcError(f"{where} ({e['rule']}): give either region = [x0, y0, x1, y1] (µm) or cell = \"NAME\"")
        region = None
        if has_region:
            r = e["region"]
            if not (isinstance(r, list) and len(r) == 4 and all(isinstance(v, (int, float)) for v in r)) or r[0] > r[2] or r[1] > r[3]:
                raise DrcError(f"{where} ({e['rule']}): region must be [x0, y0, x1, y1] in µm with x0 ≤ x1, y0 ≤ y1, got {r!r}")
            region = tuple(float(v) for v in r)
        out.append(Waiver(e["rule"], e["reason"].strip(), region, e.get("cell"), f"{path.name}#{n}"))
    return out


def apply_waivers(violations: list[Violation], waivers: list[Waiver]) -> tuple[list[Violation], list[str]]:
    """Violations with the first matching waiver applied, and the waivers that matched nothing."""
    used = [False] * len(waivers)
    out = []
    for v in violations:
        for k, w in enumerate(waivers):
            if w.covers(v):
                used[k] = True
                v = v.waive(w.reason)
                break
        out.append(v)
    unused = [f"{w.source or f'#{k + 1}'} ({w.rule})" for k, (w, u) in enumerate(zip(waivers, used)) if not u]
    return out, unused
