"""What a DRC run finds: findings of a check, violations of a rule, and the whole result."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import shapely

if TYPE_CHECKING:  # annotations only: the router's final check imports the DRC's kernels without the PDK model
    from ..pdk import Rule
from ..rulekinds import Finding
from .geometry import Segment, rings_of

__all__ = ["DrcResult", "Finding", "Violation"]


@dataclass(frozen=True, eq=False)
class Violation:
    """A rule violated at one place of one cell; `waiver` holds the reason when waived."""

    rule: str
    cell: str
    message: str
    region: shapely.Geometry | None = None
    edges: tuple[Segment, ...] | None = None
    waiver: str | None = None

    @property
    def waived(self) -> bool:
        """Whether a waiver covers this violation."""
        return self.waiver is not None

    def bounds(self) -> tuple[float, float, float, float]:
        """Extent of the marker (x0, y0, x1, y1) in µm."""
        xs: list[float] = []
        ys: list[float] = []
        if self.region is not None and not shapely.is_empty(self.region):
            x0, y0, x1, y1 = (float(v) for v in shapely.bounds(self.region))
            xs += [x0, x1]
            ys += [y0, y1]
        for e in self.edges or ():
            xs += [float(e[0]), float(e[2])]
            ys += [float(e[1]), float(e[3])]
        if not xs:
            return (0.0, 0.0, 0.0, 0.0)
        return (min(xs), min(ys), max(xs), max(ys))

    def waive(self, reason: str) -> "Violation":
        """This violation, marked waived for `reason`."""
        return replace(self, waiver=reason)

    def to_json(self) -> dict:
        """Plain data: cell, message, marker coordinates (µm), waiver."""
        out: dict = {"cell": self.cell, "message": self.message, "bbox": [round(v, 6) for v in self.bounds()]}
        if self.region is not None:
            out["polygon"] = rings_of(self.region)
        if self.edges is not None:
            out["edges"] = [[round(v, 6) for v in e] for e in self.edges]
        if self.waiver is not None:
            out["waiver"] = self.waiver
        return out

    def where(self) -> str:
        """A short location for text reports: cell and marker box."""
        x0, y0, x1, y1 = self.bounds()
        return f"{self.cell} ({x0:.3f}, {y0:.3f})–({x1:.3f}, {y1:.3f}) µm"


@dataclass
class DrcResult:
    """The outcome of checking one GDS against one PDK's rule deck."""

    gds_path: str
    pdk: str
    cells: list[str]
    rules: list[Rule]
    violations: list[Violation] = field(default_factory=list)
    runtime_s: float = 0.0
    unused_waivers: list[str] = field(default_factory=list)
    # Rules whose layers the layout does not draw: nothing was checked, so they are not "clean".
    not_applicable: list[str] = field(default_factory=list)
    # Shapes on (layer, datatype) pairs the deck does not know, "L/D" -> polygon count: no rule saw them.
    unknown_layers: dict[str, int] = field(default_factory=dict)

    def checked_rules(self) -> list[Rule]:
        """The rules that were applied (the deck less the not-applicable ones)."""
        skip = set(self.not_applicable)
        return [r for r in self.rules if r.name not in skip]

    @property
    def ok(self) -> bool:
        """True when every violation (if any) is waived."""
        return not any(not v.waived for v in self.violations)

    def _tally(self, waived: bool, weights: list[int] | None = None) -> dict[str, int]:
        """Per rule name (every rule of the deck, zero included): the weights (1 each) of the violations waived or not."""
        out = {r.name: 0 for r in self.rules}
        for v, n in zip(self.violations, weights or [1] * len(self.violations)):
            if v.waived == waived:
                out[v.rule] = out.get(v.rule, 0) + n
        return out

    def counts(self) -> dict[str, int]:
        """Violations not waived, per rule name (every rule of the deck, zero included)."""
        return self._tally(waived=False)

    def waived_counts(self) -> dict[str, int]:
        """Waived violations per rule name (every rule of the deck, zero included)."""
        return self._tally(waived=True)

    def of_rule(self, name: str) -> list[Violation]:
        """The violations of one rule, waived ones included."""
        return [v for v in self.violations if v.rule == name]

    @property
    def hierarchical(self) -> bool:
        """Whether placed cells were checked once each (a flat check: no)."""
        return False

    def placements(self) -> list[int]:
        """How many times each violation occurs in the flattened layout (1 each: a flat check)."""
        return [1] * len(self.violations)

    def flat_counts(self) -> dict[str, int]:
        """Violations not waived, per rule, counted as a flat check counts them (each placement)."""
        return self._tally(waived=False, weights=self.placements())
