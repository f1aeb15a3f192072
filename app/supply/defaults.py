"""A supply tag as serving holds it (app.serving.catalog): its defaults, ready to fill a request's values."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SupplyTagEntry:
    id: int
    # (names, value): the parsed value of the parameter `names[0]`, for a request that gives none of `names`
    # (a parameter and its aliases, app.serving.request).
    defaults: tuple[tuple[tuple[str, ...], object], ...] = ()

    def fill(self, values: dict[str, object]) -> None:
        """Add the tag's defaults to a request's parsed `values`, where it gives none of their names."""
        for names, value in self.defaults:
            if not any(name in values for name in names):
                values[names[0]] = value
