"""Reports: the hourly aggregates over any range of the account's local days, by hour or day and by any of
the DIMENSIONS (README "Reports").

Where the rows come from (all UTC hours, each counted exactly once by the flusher):
- event_counts_hourly: impressions, quartiles, clicks, skips, errors by IAB code, spend (per campaign and
  creative);
- served_ads_hourly: fills, the ads served per campaign and creative (each ad of a pod counts);
- serving_counts_hourly: ad requests and the requests filled, a supply-side total with no campaign or
  creative: shown only in rows that no dimension or filter splits (`requests` is null otherwise).

Local days and hours. A UTC hour belongs to the local bucket in which it starts. Where the account's offset
is a whole number of hours (UTC, every US and European zone, DST included) this is exact: local hours are
UTC hours, a local day is its 23, 24 or 25 UTC hours. Where the offset has minutes (Asia/Kolkata +05:30,
Asia/Kathmandu +05:45), the figures of an hour cannot be split: a local hour holds the UTC hour starting in
it (local 00:30 to 01:30 is labelled 00:00) and a local day runs from 00:30 (00:45) to the same time the next
day. At a DST change the hour repeated in autumn appears twice, each with its own UTC offset; the hour
skipped in spring does not appear.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.advertisers.models import Advertiser
from app.campaigns.models import Campaign
from app.creatives.models import Creative
from app.exceptions import Invalid
from app.reporting.money import format_money, money_text
from app.serving.money import UNITS_PER_CURRENCY
from app.supply.models import SupplyTag
from app.tracking.models import EventCountHourly, ServedAdHourly, ServingCountHourly

GRANULARITIES = ("hour", "day")
MAX_DAYS = {"hour": 31, "day": 366}  # local days a report may span
ECPM_PLACES = Decimal("0.0001")  # a CPM's own precision


@dataclass(frozen=True)
class Dimension:
    """A way to split a report. `column` gives its value on a fact table (event_counts_hourly or
    served_ads_hourly, joined with campaigns); `requests` its column on serving_counts_hourly, or None where
    requests are not known per value; `model` has the `id` and `name` the rows show."""

    name: str
    column: Callable[[type], sa.ColumnElement]
    requests: Callable[[], sa.ColumnElement] | None
    model: type

    @property
    def key(self) -> str:
        return f"{self.name}_id"

    @property
    def label(self) -> str:
        return f"{self.name}_name"


DIMENSIONS = {
    dimension.name: dimension
    for dimension in (
        Dimension("campaign", lambda fact: fact.campaign_id, None, Campaign),
        Dimension("creative", lambda fact: fact.creative_id, None, Creative),
        Dimension("advertiser", lambda fact: Campaign.advertiser_id, None, Advertiser),
        # Requests are known per supply tag (0: none); a deleted tag keeps its figures, without a name.
        Dimension(
            "supply_tag", lambda fact: fact.supply_tag_id, lambda: ServingCountHourly.supply_tag_id, SupplyTag
        ),
    )
}
FILTERS = {"campaign_id": Campaign.id, "advertiser_id": Campaign.advertiser_id}

# Event counts -> report columns.
EVENT_COLUMNS = {
    "impression": "impressions",
    "start": "starts",
    "firstQuartile": "first_quartiles",
    "midpoint": "midpoints",
    "thirdQuartile": "third_quartiles",
    "complete": "completes",
    "click": "clicks",
    "skip": "skips",
}
# Every column of a row, in order (after the period and the dimensions' ids and names); errors_by_code is a
# mapping, the CSV spreads it into one column per code.
COLUMNS = (
    "requests",
    "filled_requests",
    "fill_rate",
    "fills",
    "impressions",
    "render_rate",
    "starts",
    "first_quartiles",
    "midpoints",
    "third_quartiles",
    "completes",
    "completion_rate",
    "clicks",
    "ctr",
    "skips",
    "spend",
    "spend_display",
    "ecpm",
    "ecpm_display",
    "errors",
    "errors_by_code",
)


@dataclass(frozen=True)
class ReportQuery:
    """Local days `start`..`end` (both included), bucketed by `granularity`, split by `group_by` (names of
    DIMENSIONS, in order), filtered by `filters` (FILTERS names -> id)."""

    start: date
    end: date
    granularity: str = "day"
    group_by: tuple[str, ...] = ()
    filters: tuple[tuple[str, uuid.UUID], ...] = ()


def check(query: ReportQuery) -> None:
    """Raises Invalid naming the field at fault: an unknown granularity or dimension, a range backwards or
    longer than MAX_DAYS."""
    errors = {}
    if query.granularity not in GRANULARITIES:
        errors["granularity"] = f"Must be one of: {', '.join(GRANULARITIES)}."
    unknown = [name for name in query.group_by if name not in DIMENSIONS]
    if unknown:
        errors["group_by"] = f"Unknown {', '.join(unknown)}; one or more of: {', '.join(DIMENSIONS)}."
    elif len(set(query.group_by)) != len(query.group_by):
        errors["group_by"] = "Name each dimension once."
    if query.end < query.start:
        errors["end"] = "Must be on or after start."
    elif query.granularity in MAX_DAYS and (query.end - query.start).days + 1 > MAX_DAYS[query.granularity]:
        errors["end"] = f"At most {MAX_DAYS[query.granularity]} days from start by {query.granularity}."
    if errors:
        raise Invalid(
            "Invalid report: " + "; ".join(f"{name}: {message}" for name, message in errors.items()), errors
        )


def report(session: Session, query: ReportQuery, zone: ZoneInfo, currency: str) -> dict:
    """{"start", "end", "granularity", "group_by", "time_zone", "currency", "requests_shown", "rows",
    "totals"}: rows ordered by period then dimension names, only those with something counted; totals over
    the whole range. Raises Invalid (see check)."""
    check(query)
    dimensions = [DIMENSIONS[name] for name in query.group_by]
    buckets = _Buckets(query, zone)
    facts: dict[tuple, dict] = defaultdict(_new_figures)
    _add_events(session, query, dimensions, buckets, facts)
    _add_fills(session, query, dimensions, buckets, facts)
    requests_shown = not query.filters and all(d.requests is not None for d in dimensions)
    if requests_shown:
        _add_requests(session, dimensions, buckets, facts)
    names = _names(session, dimensions, facts)
    rows = []
    for key in sorted(facts, key=lambda k: (k[0], *(names[i].get(v) or "" for i, v in enumerate(k[1:])))):
        row = {"period_start": buckets.label(key[0])}
        for position, dimension in enumerate(dimensions):
            value = key[position + 1]
            row[dimension.key] = value
            row[dimension.label] = names[position].get(value)
        rows.append(row | _columns(facts[key], requests_shown, currency))
    total = _new_figures()
    for figures in facts.values():
        _merge(total, figures)
    return {
        "start": query.start,
        "end": query.end,
        "granularity": query.granularity,
        "group_by": list(query.group_by),
        "time_zone": zone.key,
        "currency": currency,
        "requests_shown": requests_shown,
        "rows": rows,
        "totals": _columns(total, requests_shown, currency),
    }


def csv_lines(result: dict) -> Iterator[str]:
    """The report as CSV text, a line at a time: the period, each dimension's id and name, COLUMNS with
    errors_by_code spread into one `errors_<code>` column per code present, and the currency. The values
    are the JSON rows' very figures ("" for null)."""
    dimensions = [DIMENSIONS[name] for name in result["group_by"]]
    codes = sorted({code for row in result["rows"] for code in row["errors_by_code"]})
    columns = [name for name in COLUMNS if name != "errors_by_code"] + [f"errors_{code}" for code in codes]
    header = ["period_start", *(n for d in dimensions for n in (d.key, d.label)), *columns, "currency"]
    line = io.StringIO()
    writer = csv.writer(line, lineterminator="\r\n")
    for values in (header, *(_csv_values(row, result["currency"], header) for row in result["rows"])):
        writer.writerow(values)
        yield line.getvalue()
        line.seek(0)
        line.truncate()


def _csv_values(row: dict, currency: str, header: list[str]) -> list:
    values = row | {f"errors_{code}": count for code, count in row["errors_by_code"].items()}
    values["currency"] = currency
    return ["" if values.get(name) is None else values.get(name, 0) for name in header]


class _Buckets:
    """The UTC hours of the range, and the local period each belongs to."""

    def __init__(self, query: ReportQuery, zone: ZoneInfo):
        self.zone = zone
        self.granularity = query.granularity
        days = [query.start + timedelta(days=n) for n in range((query.end - query.start).days + 2)]
        self.midnights = [datetime.combine(day, time(), zone).astimezone(UTC) for day in days]
        self.first, self.last = self.midnights[0], self.midnights[-1]
        self.days = days[:-1]

    def expression(self, hour: sa.ColumnElement) -> sa.ColumnElement:
        """What SQL groups by: the UTC hour itself, or the index of the local day it starts in."""
        if self.granularity == "hour":
            return hour
        if len(self.days) == 1:
            return sa.literal(0)
        return sa.case(
            *((hour < midnight, index - 1) for index, midnight in enumerate(self.midnights[1:-1], 1)),
            else_=len(self.days) - 1,
        )

    def key(self, value) -> datetime | int:
        return value.astimezone(UTC) if isinstance(value, datetime) else int(value)

    def label(self, key: datetime | int) -> str:
        """ISO 8601: the local hour with its offset ("2026-03-08T01:00:00-05:00"), or the local day."""
        if self.granularity == "day":
            return self.days[key].isoformat()
        return key.astimezone(self.zone).replace(minute=0).isoformat()

    def where(self, hour: sa.ColumnElement) -> sa.ColumnElement:
        return sa.and_(hour >= self.first, hour < self.last)


def _new_figures() -> dict:
    return {"events": defaultdict(int), "errors": defaultdict(int), "spend": 0, "fills": 0, "requests": None}


def _merge(total: dict, figures: dict) -> None:
    for name, count in figures["events"].items():
        total["events"][name] += count
    for code, count in figures["errors"].items():
        total["errors"][code] += count
    total["spend"] += figures["spend"]
    total["fills"] += figures["fills"]
    if figures["requests"] is not None:
        requests, filled = total["requests"] or (0, 0)
        total["requests"] = (requests + figures["requests"][0], filled + figures["requests"][1])


def _rows(fact, query: ReportQuery, dimensions: list[Dimension], buckets: _Buckets, *columns) -> sa.Subquery:
    """The fact table's rows of the range and filters, with their bucket and dimension values (grouped by
    the caller: PostgreSQL would not match a GROUP BY with the select's own CASE parameters)."""
    statement = (
        sa.select(
            buckets.expression(fact.hour).label("bucket"),
            *(d.column(fact).label(d.name) for d in dimensions),
            *columns,
        )
        .join(Campaign, Campaign.id == fact.campaign_id)
        .where(buckets.where(fact.hour))
    )
    for name, value in query.filters:
        statement = statement.where(FILTERS[name] == value)
    return statement.subquery()


def _grouped(rows: sa.Subquery, keys: list[str], *measures) -> sa.Select:
    columns = [rows.c[name] for name in keys]
    return sa.select(*columns, *measures).group_by(*columns)


def _add_events(session, query, dimensions, buckets, facts) -> None:
    fact = EventCountHourly
    rows = _rows(fact, query, dimensions, buckets, fact.event, fact.error_code, fact.count, fact.spend_units)
    keys = ["bucket", *(d.name for d in dimensions), "event", "error_code"]
    statement = _grouped(rows, keys, sa.func.sum(rows.c.count), sa.func.sum(rows.c.spend_units))
    for row in session.execute(statement):
        bucket, *values = row[: 1 + len(dimensions)]
        event, code, count, spend = row[1 + len(dimensions) :]
        figures = facts[(buckets.key(bucket), *values)]
        if event == "error":
            figures["errors"][code or "unknown"] += int(count)
        elif event in EVENT_COLUMNS:
            figures["events"][EVENT_COLUMNS[event]] += int(count)
        figures["spend"] += int(spend)


def _add_fills(session, query, dimensions, buckets, facts) -> None:
    rows = _rows(ServedAdHourly, query, dimensions, buckets, ServedAdHourly.ads)
    keys = ["bucket", *(d.name for d in dimensions)]
    for row in session.execute(_grouped(rows, keys, sa.func.sum(rows.c.ads))):
        bucket, *values, ads = row
        facts[(buckets.key(bucket), *values)]["fills"] += int(ads)


def _add_requests(session, dimensions, buckets, facts) -> None:
    fact = ServingCountHourly
    rows = (
        sa.select(
            buckets.expression(fact.hour).label("bucket"),
            *(d.requests().label(d.name) for d in dimensions),
            fact.requests,
            fact.fills,
        )
        .where(buckets.where(fact.hour))
        .subquery()
    )
    keys = ["bucket", *(d.name for d in dimensions)]
    for row in session.execute(_grouped(rows, keys, sa.func.sum(rows.c.requests), sa.func.sum(rows.c.fills))):
        bucket, *values, requests, filled = row
        if requests:
            facts[(buckets.key(bucket), *values)]["requests"] = (int(requests), int(filled))


def _names(session: Session, dimensions: list[Dimension], facts: dict) -> list[dict]:
    """For each dimension, its values' names (a deleted creative has none)."""
    names = []
    for position, dimension in enumerate(dimensions):
        ids = {key[position + 1] for key in facts} - {None}
        model = dimension.model
        rows = session.execute(sa.select(model.id, model.name).where(model.id.in_(ids))) if ids else ()
        names.append({value: name for value, name in rows})
    return names


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 6) if denominator else 0.0


def _columns(figures: dict, requests_shown: bool, currency: str) -> dict:
    events, errors = figures["events"], figures["errors"]
    impressions, fills = events["impressions"], figures["fills"]
    requests, filled = figures["requests"] or (0, 0)
    ecpm = None
    if impressions:
        ecpm = (Decimal(figures["spend"]) * 1000 / impressions / UNITS_PER_CURRENCY).quantize(
            ECPM_PLACES, ROUND_HALF_EVEN
        )
    spend = money_text(figures["spend"])
    return {
        "requests": requests if requests_shown else None,
        "filled_requests": filled if requests_shown else None,
        "fill_rate": _ratio(filled, requests) if requests_shown else None,
        "fills": fills,
        "impressions": impressions,
        "render_rate": _ratio(impressions, fills),
        **{name: events[name] for name in EVENT_COLUMNS.values() if name != "impressions"},
        "completion_rate": _ratio(events["completes"], impressions),
        "ctr": _ratio(events["clicks"], impressions),
        "spend": spend,
        "spend_display": format_money(spend, currency),
        "ecpm": None if ecpm is None else str(ecpm),
        "ecpm_display": format_money(ecpm, currency),
        "errors": sum(errors.values()),
        "errors_by_code": dict(sorted(errors.items())),
    }
