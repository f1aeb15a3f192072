"""Pacing through the campaign API: its fields (validated, in OpenAPI) and a campaign's delivery against its
line, with the traffic learned from the serving counts."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.campaigns.models import Campaign
from app.db import utcnow
from app.reporting import services as reporting
from app.serving.pacing import Delivered
from app.tracking.models import EventCountHourly, ServingCountHourly
from tests.api.test_campaigns import URL, campaign_body
from tests.factories import CampaignFactory, CreativeFactory
from tests.serving_helpers import refresh, runtime

MONDAY = datetime(2026, 11, 30, tzinfo=UTC)


def test_pacing_fields_round_trip_with_even_as_the_default(client, auth):
    plain = client.post(URL, json=campaign_body(), headers=auth).get_json()
    assert (
        plain["pacing"],
        plain["impression_goal"],
        plain["daily_budget"],
        plain["daily_impression_cap"],
    ) == (
        "even",
        None,
        None,
        None,
    )
    body = campaign_body(
        pacing="frontloaded", impression_goal=100_000, daily_budget=250, daily_impression_cap="20000"
    )
    created = client.post(URL, json=body, headers=auth).get_json()
    assert (created["pacing"], created["impression_goal"], created["daily_budget"]) == (
        "frontloaded",
        100_000,
        "250.00",
    )
    assert created["daily_impression_cap"] == 20_000
    assert client.get(f"{URL}/{created['id']}", headers=auth).get_json() == created


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"pacing": "smooth"}, "pacing", "Must be one of: even, asap, frontloaded."),
        ({"pacing": None}, "pacing", "Field may not be null."),
        ({"impression_goal": 0}, "impression_goal", "Must be greater than or equal to 1"),
        ({"impression_goal": 1.5}, "impression_goal", "Must be a whole number."),
        ({"impression_goal": "many"}, "impression_goal", "Not a valid integer."),
        ({"impression_goal": 10**16}, "impression_goal", "less than or equal to 1000000000000000"),
        ({"daily_impression_cap": -3}, "daily_impression_cap", "Must be greater than or equal to 1"),
        ({"daily_budget": "0"}, "daily_budget", "Must be greater than 0"),
        ({"daily_budget": "1.001"}, "daily_budget", "At most 2 decimal places."),
        ({"daily_budget": "1500.51"}, "daily_budget", "Must not exceed budget_total."),
        (
            {"impression_goal": 10, "daily_impression_cap": 11},
            "daily_impression_cap",
            "Must not exceed impression_goal.",
        ),
    ],
)
def test_bad_pacing_fields_are_refused_naming_the_field(client, auth, session, overrides, field, message):
    response = client.post(URL, json=campaign_body(**overrides), headers=auth)
    assert response.status_code == 400
    assert message in response.get_json()["details"][field]
    assert session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0


def test_patch_sets_and_clears_goals_checked_against_the_stored_ones(client, auth, session):
    campaign = CampaignFactory(budget_total=Decimal("100.00"))
    url = f"{URL}/{campaign.id}"
    changed = client.patch(
        url, json={"pacing": "asap", "daily_budget": "20", "impression_goal": 5000}, headers=auth
    )
    assert changed.status_code == 200
    assert (changed.get_json()["pacing"], changed.get_json()["daily_budget"]) == ("asap", "20.00")
    refused = client.patch(url, json={"budget_total": "10"}, headers=auth)  # below the daily budget
    assert refused.status_code == 400
    assert refused.get_json()["details"] == {"daily_budget": "Must not exceed budget_total."}
    refused = client.patch(url, json={"daily_impression_cap": 5001}, headers=auth)
    assert refused.get_json()["details"] == {"daily_impression_cap": "Must not exceed impression_goal."}
    cleared = client.patch(url, json={"daily_budget": None, "impression_goal": None}, headers=auth).get_json()
    assert (cleared["daily_budget"], cleared["impression_goal"], cleared["budget_total"]) == (
        None,
        None,
        "100.00",
    )


def test_the_pacing_fields_and_the_delivery_are_in_openapi(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for name in ("CampaignInput", "Campaign"):
        assert {"pacing", "impression_goal", "daily_budget", "daily_impression_cap"} <= set(
            schemas[name]["properties"]
        )
    assert schemas["CampaignInput"]["properties"]["pacing"]["enum"] == ["even", "asap", "frontloaded"]
    assert "/api/v1/campaigns/{campaign_id}/pacing" in spec["paths"]
    assert "projected_end" in schemas["PacingLine"]["properties"]


def learned_traffic(session, until: datetime) -> None:
    """A week and a half of serving counts: evenings (18:00-24:00) three times the other hours."""
    hour = until - timedelta(days=8, hours=12)
    while hour < until:
        session.add(
            ServingCountHourly(hour=hour, requests=3000 if hour.hour >= 18 else 1000, fills=0, no_fills=0)
        )
        hour += timedelta(hours=1)


def test_delivery_against_the_line_along_the_learned_traffic_and_the_projected_end(session):
    noon = MONDAY + timedelta(hours=12)
    learned_traffic(session, noon)
    # 24,000 impressions over one day of 36,000 forecast requests; by noon 12,000 of them have passed.
    campaign = CampaignFactory(
        budget_total=Decimal("240.00"),
        cpm=Decimal("10"),
        start_date=MONDAY,
        end_date=MONDAY + timedelta(days=1),
    )
    for hour in range(12):
        session.add(
            EventCountHourly(
                hour=MONDAY + timedelta(hours=hour),
                campaign_id=campaign.id,
                creative_id=campaign.id,
                event="impression",
                error_code="",
                count=500,
                spend_units=500 * 100_000,
            )
        )
    session.commit()
    delivery = reporting.pacing(session, campaign.id, now=noon)
    assert delivery["goal_impressions"] == 24_000
    assert (delivery["expected_impressions"], delivery["expected_spend"]) == (
        8000,
        "80.00",
    )  # a third, not half
    assert (delivery["delivered_impressions"], delivery["delivered_spend"]) == (6000, "60.00")
    assert delivery["index"] == 0.75 and delivery["delivery"] == "under"
    # At 0.5 impressions per request, the 18,000 left need 36,000 requests: the evening gives 24,000, and
    # Tuesday's 1,000 an hour the rest by noon.
    assert delivery["projected_end"] == MONDAY + timedelta(days=1, hours=12)


def test_delivery_without_traffic_follows_the_clock_and_projects_nothing_before_any_delivery(
    client, auth, session
):
    campaign = CampaignFactory(budget_total=Decimal("100.00"), pacing="frontloaded")
    response = client.get(f"{URL}/{campaign.id}/pacing", headers=auth)
    assert response.status_code == 200
    body = response.get_json()
    assert body["pacing"] == "frontloaded" and body["delivered_impressions"] == 0
    assert 0 < body["expected_impressions"] < 10_000 and body["index"] == 0
    assert body["projected_end"] is None
    assert client.get(f"{URL}/{campaign.id}/pacing").status_code == 401


def test_a_catalog_load_seeds_live_delivery_from_the_database(app, session):
    campaign = CampaignFactory(status="active", impression_goal=100)
    CreativeFactory(campaign=campaign)
    this_hour = utcnow().replace(minute=0, second=0, microsecond=0)
    for hour, count in ((this_hour, 7), (this_hour - timedelta(days=2), 30)):
        session.add(
            EventCountHourly(
                hour=hour,
                campaign_id=campaign.id,
                creative_id=campaign.id,
                event="impression",
                error_code="",
                count=count,
                spend_units=count * 100_000,
            )
        )
    session.commit()
    refresh(app)  # the campaign is new: the catalog loads, and seeds the live counters
    rt = runtime(app)
    now = utcnow().timestamp()
    assert rt.store.delivery([campaign.id], now) == {campaign.id: Delivered(0, 37, 700_000, 7)}
    assert rt.store.spend([campaign.id]) == {campaign.id: 3_700_000}
    assert rt.catalog.current().index.delivery[campaign.id].impressions == 37


def test_the_spend_curve_follows_the_pacing_line_along_the_traffic(session):
    noon = MONDAY + timedelta(hours=12)
    learned_traffic(session, noon)
    # From Monday noon to Tuesday noon: the evening brings 24,000 of the flight's 36,000 requests.
    campaign = CampaignFactory(
        budget_total=Decimal("36.00"), cpm=Decimal("10"), start_date=noon, end_date=noon + timedelta(days=1)
    )
    session.commit()
    curve = reporting.spend_curve(session, campaign.id, now=noon)
    assert [(point["day"], point["pacing_line"]) for point in curve] == [
        (MONDAY, "24.00"),  # two thirds by Tuesday 00:00 (half of the time)
        (MONDAY + timedelta(days=1), "36.00"),
    ]
