"""The result of a hierarchical check: how many times each violation occurs in the flattened layout."""

from __future__ import annotations

from dataclasses import dataclass, field


from ..violation import DrcResult


@dataclass
class HierDrcResult(DrcResult):
    """A DRC result of a hierarchical check: `occurrences[k]` is how many times violation k
    occurs in the flattened layout (its placements; 1 for a violation of the top cell), and
    `stats` per top cell says how it was checked."""

    occurrences: list[int] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    @property
    def hierarchical(self) -> bool:
        """Placed cells were checked once each."""
        return True

    def placements(self) -> list[int]:
        """How many times each violation occurs in the flattened layout: its `occurrences`."""
        return list(self.occurrences)
