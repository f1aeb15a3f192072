"""Pacing in the console: the form's pacing fields and the campaign page's delivery against its line."""

from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa

from app.campaigns.models import Campaign
from app.db import utcnow
from tests.admin.test_campaigns import FORM, serve
from tests.factories import CampaignFactory, CreativeFactory


def test_the_form_sets_pacing_and_goals(console, session):
    page = console.page("/admin/campaigns/new")
    assert '<option value="frontloaded">' in page and 'name="daily_budget"' in page
    form = FORM | {
        "pacing": "asap",
        "impression_goal": "90000",
        "daily_budget": "100",
        "daily_impression_cap": "",
    }
    assert console.post("/admin/campaigns/new", form).status_code == 303
    campaign = session.scalar(sa.select(Campaign).where(Campaign.name == "Spring launch"))
    assert (
        campaign.pacing,
        campaign.impression_goal,
        campaign.daily_budget,
        campaign.daily_impression_cap,
    ) == (
        "asap",
        90_000,
        Decimal("100.00"),
        None,
    )
    edit = console.page(f"/admin/campaigns/{campaign.id}/edit")
    assert '<option value="asap" selected>' in edit and 'value="90000"' in edit and 'value="100.00"' in edit
    # The menu's first choice is even; emptied goals are removed.
    form = FORM | {"pacing": "", "impression_goal": "", "daily_budget": ""}
    assert console.post(f"/admin/campaigns/{campaign.id}/edit", form).status_code == 303
    session.refresh(campaign)
    assert (campaign.pacing, campaign.impression_goal, campaign.daily_budget) == ("even", None, None)


def test_form_errors_name_the_pacing_field(console, session):
    response = console.post("/admin/campaigns/new", FORM | {"daily_budget": "2000", "impression_goal": "1.5"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert '<p class="error" id="impression_goal-error">Enter a whole number.</p>' in page
    response = console.post("/admin/campaigns/new", FORM | {"daily_budget": "2000"})
    assert '<p class="error" id="daily_budget-error">Must not exceed the budget.</p>' in response.get_data(
        as_text=True
    )
    assert session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0


def test_the_campaign_page_shows_delivery_against_the_line(console, app, session):
    campaign = CampaignFactory(name="Paced", status="active", impression_goal=62, daily_impression_cap=10)
    CreativeFactory(campaign=campaign)
    serve(app, console.client, 2)
    page = console.page(f"/admin/campaigns/{campaign.id}")
    assert "Delivery against the pacing line" in page
    assert "goal 62 impressions (impression goal)" in page and "at most 10 impressions a day" in page
    assert '<dd id="delivered-impressions">2</dd>' in page and '<dd id="delivered-spend">$0.02</dd>' in page
    # A day of a 31-day flight has passed: 62 / 31 impressions expected, and 2 a day reach 62 in 30 more.
    assert '<dd id="expected-impressions">2</dd>' in page and '<dd id="delivery-index">100.0 %</dd>' in page
    assert '<span class="badge delivery-on_pace" id="delivery-flag">On pace</span>' in page
    projected = (utcnow() + timedelta(days=30)).strftime("%Y-%m-%d")
    assert f'<dd id="projected-end">{projected}' in page
