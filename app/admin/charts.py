"""Chart specifications for static/charts.js: labels and series of numbers, built from the reports.

Each is {"labels": [...], "series": [{"label", "data", "kind": "bar" | "line", "dashed"?}], "integers"?}
("integers": counts, whose axis has no fractional ticks).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

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


def hour_label(hour: datetime, zone: ZoneInfo, now: datetime) -> str:
    """The hour in the account's time zone, the one under way marked: "14:00", "15:00 (now)"."""
    label = hour.astimezone(zone).strftime("%H:%M")
    return f"{label} (now)" if hour <= now < hour + timedelta(hours=1) else label


def _by_hour(series: list[dict], moment: str, columns: tuple, zone: ZoneInfo, now: datetime) -> dict:
    """Counts by hour; `moment` names each point's hour, `columns` are (kind, key, label)."""
    return {
        "integers": True,
        "labels": [hour_label(point[moment], zone, now) for point in series],
        "series": [
            {"label": label, "kind": kind, "data": [point[key] for point in series]}
            for kind, key, label in columns
        ],
    }


def dashboard_hours(series: list[dict], zone: ZoneInfo, now: datetime) -> dict:
    columns = (*IMPRESSIONS_AND_COMPLETES, ("line", "requests", "Ad requests"))
    return _by_hour(series, "hour", columns, zone, now)


def campaign_hours(series: list[dict], zone: ZoneInfo, now: datetime) -> dict:
    return _by_hour(series, "period_start", IMPRESSIONS_AND_COMPLETES, zone, now)


def quartile_funnel(stats: dict) -> dict:
    return {
        "integers": True,
        "labels": [label for _, label in FUNNEL],
        "series": [{"label": "Events", "kind": "bar", "data": [stats[name] for name, _ in FUNNEL]}],
    }


def spend_to_date(curve: list[dict]) -> dict:
    """Spend to date by day against the pacing line, over the days of the flight so far: the axis is scaled
    to what was spent and expected by now (the budget, reached at the flight's end, is a figure beside it)."""
    days = [point for point in curve if point["spend_to_date"] is not None]
    return {
        "labels": [point["day"].strftime("%b %d") for point in days],
        "series": [
            {"label": "Spend to date", "kind": "line", "data": [_amount(p["spend_to_date"]) for p in days]},
            {
                "label": "Pacing line",
                "kind": "line",
                "dashed": True,
                "data": [_amount(p["pacing_line"]) for p in days],
            },
        ],
    }
