"""Edits that would end a campaign's delivery are refused with the field at fault: a budget below the spend to
date, an impression goal below the impressions delivered, an end date in the past. Completing is explicit."""

import uuid
from datetime import timedelta
from decimal import Decimal

from app.db import utcnow
from app.tracking.models import EventCountHourly
from tests.factories import CampaignFactory

UNITS = 10_000_000


def delivered(session, campaign, impressions: int, spend: Decimal) -> None:
    session.add(
        EventCountHourly(
            hour=utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=1),
            campaign_id=campaign.id,
            creative_id=uuid.uuid4(),
            event="impression",
            error_code="",
            count=impressions,
            spend_units=int(spend * UNITS),
        )
    )
    session.commit()


def patch(client, auth, campaign, **changes):
    return client.patch(f"/api/v1/campaigns/{campaign.id}", json=changes, headers=auth)


def test_a_budget_below_the_spend_to_date_is_refused(client, auth, session):
    campaign = CampaignFactory(status="active", budget_total=Decimal("1000.00"), impression_goal=None)
    delivered(session, campaign, 500, Decimal("250.0012"))
    response = patch(client, auth, campaign, budget_total="250.00")
    assert response.status_code == 400
    assert response.get_json()["details"] == {
        "budget_total": "Must be at least the spend to date (250.01). To stop the campaign, pause or "
        "complete it."
    }
    session.refresh(campaign)
    assert (campaign.budget_total, campaign.status) == (Decimal("1000.00"), "active")
    accepted = patch(client, auth, campaign, budget_total="250.01")
    assert (accepted.status_code, accepted.get_json()["budget_total"]) == (200, "250.01")


def test_every_field_at_fault_is_named_at_once(client, auth, session):
    campaign = CampaignFactory(status="paused", impression_goal=10_000)
    delivered(session, campaign, 600, Decimal("12.00"))
    response = patch(
        client,
        auth,
        campaign,
        budget_total="10.00",
        impression_goal=599,
        end_date=(utcnow() - timedelta(minutes=1)).isoformat(),
    )
    assert response.status_code == 400
    assert sorted(response.get_json()["details"]) == ["budget_total", "end_date", "impression_goal"]
    assert response.get_json()["details"]["end_date"] == (
        "Must be in the future. To stop the campaign now, pause or complete it."
    )


def test_raising_or_keeping_figures_needs_no_delivery_check(client, auth, session):
    campaign = CampaignFactory(status="active", budget_total=Decimal("100.00"))
    delivered(session, campaign, 10, Decimal("150.00"))  # overspent already: raising is the way out
    assert patch(client, auth, campaign, budget_total="200.00").status_code == 200
    unchanged_end = campaign.end_date.isoformat()
    assert patch(client, auth, campaign, name="Renamed", end_date=unchanged_end).status_code == 200


def test_a_never_delivered_campaign_may_lower_its_budget(client, auth, session):
    campaign = CampaignFactory(status="draft", budget_total=Decimal("1000.00"))
    assert patch(client, auth, campaign, budget_total="1.00").get_json()["budget_total"] == "1.00"
