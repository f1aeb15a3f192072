"""Chart specifications for static/charts.js: labels and series of numbers, built from the reports.

Each is {"labels": [...], "series": [{"label", "data", "kind": "bar" | "line", "dashed"?}], "integers"?}
("integers": counts, whose axis has no fractional ticks).
"""

from __future__ import annotations

from decimal import Decimal

FUNNEL = (
    ("impressions", "Impressions"),
    ("starts", "Starts"),
    ("first_quartiles", "First quartile"),
    ("midpoints", "Midpoint"),
    ("third_quartiles", "Third quartile"),
    ("completes", "Completes"),
)


def _amount(text: str | None) -> float | None:
    return None if text is None else float(Decimal(text))


IMPRESSIONS_AND_COMPLETES = (("bar", "impressions", "Impressions"), ("bar", "completes", "Completes"))


def _by_hour(series: list[dict], moment: str, columns: tuple) -> dict:
    """Counts by hour; `moment` names each point's hour, `columns` are (kind, key, label)."""
    return {
        "integers": True,
        "labels": [point[moment].strftime("%H:00") for point in series],
        "series": [
            {"label": label, "kind": kind, "data": [point[key] for point in series]}
            for kind, key, label in columns
        ],
    }


def dashboard_hours(series: list[dict]) -> dict:
    return _by_hour(series, "hour", (*IMPRESSIONS_AND_COMPLETES, ("line", "requests", "Ad requests")))


def campaign_hours(series: list[dict]) -> dict:
    return _by_hour(series, "period_start", IMPRESSIONS_AND_COMPLETES)


def quartile_funnel(stats: dict) -> dict:
    return {
        "integers": True,
        "labels": [label for _, label in FUNNEL],
        "series": [{"label": "Events", "kind": "bar", "data": [stats[name] for name, _ in FUNNEL]}],
    }


def spend_against_budget(curve: list[dict], budget_total: Decimal) -> dict:
    return {
        "labels": [point["day"].strftime("%b %d") for point in curve],
        "series": [
            {"label": "Spend to date", "kind": "line", "data": [_amount(p["spend_to_date"]) for p in curve]},
            {
                "label": "Pacing line",
                "kind": "line",
                "dashed": True,
                "data": [_amount(p["pacing_line"]) for p in curve],
            },
            {"label": "Budget", "kind": "line", "dashed": True, "data": [float(budget_total)] * len(curve)},
        ],
    }
