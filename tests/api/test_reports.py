"""GET /api/v1/reports and its CSV: the stored counts, by local period and dimension, the same in both."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.reporting.money import format_money
from app.reporting.reports import ReportQuery, report
from app.tracking.models import EventCountHourly, ServedAdHourly, ServingCountHourly
from tests.factories import AdvertiserFactory, CampaignFactory, CreativeFactory
from tests.serving_helpers import ad_urls, flush, get_vast, refresh, runtime

FUNNEL = ("impression", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete")


@pytest.fixture
def settings(store_settings):
    return store_settings


@pytest.fixture
def two_campaigns(session, app):
    """(campaign, creative) twice: Alpha of the advertiser Acme, and Beta of none."""
    alpha = CampaignFactory(
        name="Alpha", status="active", cpm=Decimal("12.3456"), advertiser=AdvertiserFactory(name="Acme")
    )
    beta = CampaignFactory(name="Beta", status="active", cpm=Decimal("2.0000"))
    pairs = [(alpha, CreativeFactory(name="First spot", campaign=alpha))]
    pairs.append((beta, CreativeFactory(name="Second spot", campaign=beta)))
    refresh(app)
    return pairs


def get_report(client, auth, query: str, status: int = 200):
    response = client.get(f"/api/v1/reports?{query}", headers=auth)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def serve_and_play(client, count: int) -> dict[str, int]:
    """`count` ads served; of them every other one played to the end, one clicked, one failed with 405.
    Returns ads served per campaign id (each campaign has one creative)."""
    served: dict[str, int] = {}
    for number in range(count):
        document = get_vast(client, "max_duration=60")
        campaign = document.find(".//{http://www.iab.com/VAST}Ad").get("id")
        served[campaign] = served.get(campaign, 0) + 1
        urls = ad_urls(document)
        if number % 2 == 0:
            for event in FUNNEL:
                assert client.get(urls[event]).status_code == 204
        if number == 1:
            assert client.get(urls["impression"]).status_code == 204
            assert client.get(urls["click"]).status_code in (204, 302)
        if number == 3:
            assert client.get(urls["error"]).status_code == 204
    return served


def stored(session) -> dict:
    session.expire_all()
    by_event = dict(
        session.execute(
            sa.select(EventCountHourly.event, sa.func.sum(EventCountHourly.count)).group_by(
                EventCountHourly.event
            )
        ).all()
    )
    return {
        "events": {name: int(count) for name, count in by_event.items()},
        "spend_units": int(session.scalar(sa.select(sa.func.sum(EventCountHourly.spend_units)))),
        "fills": int(session.scalar(sa.select(sa.func.sum(ServedAdHourly.ads)))),
        "requests": int(session.scalar(sa.select(sa.func.sum(ServingCountHourly.requests)))),
        "filled_requests": int(session.scalar(sa.select(sa.func.sum(ServingCountHourly.fills)))),
    }


def read_csv(client, auth, query: str) -> list[dict]:
    response = client.get(f"/api/v1/reports.csv?{query}", headers=auth)
    assert response.status_code == 200
    assert response.is_streamed and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def as_csv_text(value) -> str:
    return "" if value is None else str(value)


def test_the_report_and_its_csv_hold_the_stored_counts(client, app, auth, session, two_campaigns):
    served = serve_and_play(client, 8)
    client.get("/vast?max_duration=1")  # a request nothing fits: a no-fill
    flush(app)
    truth = stored(session)

    body = get_report(client, auth, f"start={today()}&end={today()}&granularity=hour")
    totals = body["totals"]
    assert body["currency"] == "USD" and body["time_zone"] == "UTC" and body["requests_shown"] is True
    assert totals["requests"] == truth["requests"] == 9
    assert totals["filled_requests"] == truth["filled_requests"] == 8
    assert totals["fill_rate"] == round(8 / 9, 6)
    assert totals["fills"] == truth["fills"] == 8
    assert totals["impressions"] == truth["events"]["impression"] == 5
    assert totals["render_rate"] == round(5 / 8, 6)
    assert totals["completes"] == truth["events"]["complete"] == 4
    assert (totals["clicks"], totals["errors"], totals["errors_by_code"]) == (1, 1, {"405": 1})
    assert Decimal(totals["spend"]) * 10_000_000 == truth["spend_units"]
    assert totals["spend_display"] == format_money(totals["spend"], "USD")
    assert totals["ecpm"] == str((Decimal(truth["spend_units"]) / 10_000 / 5).quantize(Decimal("0.0001")))
    assert [row["period_start"] for row in body["rows"]] == [
        datetime.now(UTC).replace(minute=0, second=0, microsecond=0).isoformat()
    ]

    query = f"start={today()}&end={today()}&group_by=campaign,creative"
    grouped = get_report(client, auth, query)
    assert grouped["requests_shown"] is False
    by_creative = {row["creative_id"]: row for row in grouped["rows"]}
    for campaign, creative in two_campaigns:
        row = by_creative.get(str(creative.id))
        assert (row["fills"] if row else 0) == served.get(str(campaign.id), 0)
        if row:
            assert (row["campaign_name"], row["creative_name"]) == (campaign.name, creative.name)
            assert row["requests"] is None and row["fill_rate"] is None
    assert sum(row["impressions"] for row in grouped["rows"]) == 5

    # The CSV holds the very figures of the JSON rows, errors spread by code.
    rows = read_csv(client, auth, query)
    assert len(rows) == len(grouped["rows"])
    for line, row in zip(rows, grouped["rows"], strict=True):
        for name, value in row.items():
            if name == "errors_by_code":
                for code, count in value.items():
                    assert line[f"errors_{code}"] == str(count)
            else:
                assert line[name] == as_csv_text(value), name
        assert line["currency"] == "USD"
    assert (
        client.get(f"/api/v1/reports?{query}&format=csv", headers=auth).data
        == client.get(f"/api/v1/reports.csv?{query}", headers=auth).data
    )


def test_filters_and_the_advertiser_dimension(client, app, auth, session, two_campaigns):
    (alpha, _), _ = two_campaigns
    for _ in range(50):  # until Alpha has played once (each serve_and_play(client, 1) plays its ad)
        if str(alpha.id) in serve_and_play(client, 1):
            break
    flush(app)
    body = get_report(client, auth, f"start={today()}&end={today()}&group_by=advertiser")
    by_name = {row["advertiser_name"]: row for row in body["rows"]}
    assert set(by_name) <= {"Acme", None} and body["requests_shown"] is False
    assert by_name["Acme"]["advertiser_id"] == str(alpha.advertiser_id)
    only = get_report(client, auth, f"start={today()}&end={today()}&campaign_id={alpha.id}")
    delivered = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(EventCountHourly.count), 0)).where(
            EventCountHourly.campaign_id == alpha.id, EventCountHourly.event == "impression"
        )
    )
    assert only["totals"]["impressions"] == delivered > 0 and only["totals"]["requests"] is None
    by_advertiser = get_report(
        client, auth, f"start={today()}&end={today()}&advertiser_id={alpha.advertiser_id}"
    )
    assert by_advertiser["totals"] == only["totals"]
    assert by_name["Acme"]["impressions"] == delivered


def test_served_ads_are_added_once_however_often_their_batch_is_stored(
    client, app, auth, session, two_campaigns
):
    from app.tracking.storing import store_events

    rt = runtime(app)
    for _ in range(3):
        get_vast(client, "max_duration=60")
    rt.counter.push()
    batch = rt.store.read_batch("test", 100, 0)
    for _ in range(2):  # a flusher that stored the batch and died before acknowledging it
        store_events(session, [event for _, event in batch])
        session.commit()
    flush(app)
    assert session.scalar(sa.select(sa.func.sum(ServedAdHourly.ads))) == 3
    assert get_report(client, auth, f"start={today()}&end={today()}")["totals"]["fills"] == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("start=2026-02-30&end=2026-03-01", "start"),
        ("end=2026-03-01", "start"),
        ("start=2026-03-02&end=2026-03-01", "end"),
        ("start=2026-01-01&end=2026-03-01&granularity=hour", "end"),
        ("start=2025-01-01&end=2026-03-01", "end"),
        ("start=2026-03-01&end=2026-03-01&granularity=week", "granularity"),
        ("start=2026-03-01&end=2026-03-01&group_by=campaign,country", "group_by"),
        ("start=2026-03-01&end=2026-03-01&group_by=campaign,campaign", "group_by"),
        ("start=2026-03-01&end=2026-03-01&campaign_id=nope", "campaign_id"),
        ("start=2026-03-01&end=2026-03-01&format=xml", "format"),
    ],
)
def test_bad_queries_are_400_naming_the_field(client, auth, query, field):
    body = get_report(client, auth, query, status=400)
    assert field in body["details"], body


def test_reports_need_an_admin(client):
    assert client.get(f"/api/v1/reports?start={today()}&end={today()}").status_code == 401
    assert client.get(f"/api/v1/reports.csv?start={today()}&end={today()}").status_code == 401


def test_a_range_with_nothing_counted_has_no_rows(client, auth):
    start = (date.today() - timedelta(days=400)).isoformat()
    body = get_report(client, auth, f"start={start}&end={start}")
    assert body["rows"] == [] and body["totals"]["impressions"] == 0 and body["totals"]["ecpm"] is None


def add_impression(session, campaign, hour: datetime, count: int = 1) -> None:
    creative = uuid.UUID(int=1)
    session.add(
        EventCountHourly(
            hour=hour,
            campaign_id=campaign.id,
            creative_id=creative,
            event="impression",
            count=count,
            spend_units=0,
        )
    )
    session.commit()


def periods(session, zone: str, start: str, end: str, granularity: str) -> dict[str, int]:
    query = ReportQuery(date.fromisoformat(start), date.fromisoformat(end), granularity)
    result = report(session, query, ZoneInfo(zone), "USD")
    return {row["period_start"]: row["impressions"] for row in result["rows"]}


def test_local_days_and_hours_across_dst_and_half_hour_offsets(session):
    campaign = CampaignFactory()
    utc = lambda *parts: datetime(*parts, tzinfo=UTC)  # noqa: E731
    # New York springs forward on 2026-03-08 (a 23-hour day) and falls back on 2026-11-01.
    add_impression(session, campaign, utc(2026, 3, 8, 4))  # 23:00 EST on the 7th
    add_impression(session, campaign, utc(2026, 3, 8, 5), 2)  # midnight EST on the 8th
    add_impression(session, campaign, utc(2026, 3, 9, 3), 4)  # 23:00 EDT on the 8th
    add_impression(session, campaign, utc(2026, 3, 9, 4), 8)  # midnight EDT on the 9th
    assert periods(session, "America/New_York", "2026-03-07", "2026-03-09", "day") == {
        "2026-03-07": 1,
        "2026-03-08": 6,
        "2026-03-09": 8,
    }
    assert periods(session, "UTC", "2026-03-08", "2026-03-09", "day") == {"2026-03-08": 3, "2026-03-09": 12}
    add_impression(session, campaign, utc(2026, 11, 1, 5))  # 01:00 EDT
    add_impression(session, campaign, utc(2026, 11, 1, 6), 2)  # 01:00 EST, the hour repeated
    assert periods(session, "America/New_York", "2026-11-01", "2026-11-01", "hour") == {
        "2026-11-01T01:00:00-04:00": 1,
        "2026-11-01T01:00:00-05:00": 2,
    }
    # Kolkata is UTC+05:30: a UTC hour belongs to the local hour and day it starts in.
    add_impression(session, campaign, utc(2026, 5, 1, 18), 16)  # 23:30 on May 1st
    add_impression(session, campaign, utc(2026, 5, 1, 19), 32)  # 00:30 on May 2nd
    assert periods(session, "Asia/Kolkata", "2026-05-01", "2026-05-02", "day") == {
        "2026-05-01": 16,
        "2026-05-02": 32,
    }
    assert periods(session, "Asia/Kolkata", "2026-05-02", "2026-05-02", "hour") == {
        "2026-05-02T00:00:00+05:30": 32
    }
