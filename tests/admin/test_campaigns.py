"""Campaign pages: list with figures, filters and pages; forms with the API's messages; status; deletion."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.campaigns.models import Campaign
from app.db import utcnow
from tests.admin.conftest import console_words, flashes
from tests.factories import CampaignFactory, CreativeFactory
from tests.serving_helpers import ad_urls, flush, get_vast, refresh

FORM = {
    "name": "Spring launch",
    "description": "CTV awareness",
    "budget_total": "1500.50",
    "cpm": "12.5",
    "start_date": "2026-01-01T00:00:00",
    "end_date": "2027-12-31T23:59:59",
}


def serve(app, client, impressions: int, *, completes: int = 0) -> None:
    """Real ads from /vast, their beacons, then the flusher: what the figures are made of."""
    refresh(app)
    for index in range(impressions):
        urls = ad_urls(get_vast(client))
        client.get(urls["impression"])
        if index < completes:
            client.get(urls["complete"])
    flush(app)


def button_labels(html: str) -> list[str]:
    """The status buttons' labels (Complete is a link to its confirmation page)."""
    return re.findall(
        r'class="button small [a-z]+"[^>]*\s+aria-label="((?:Activate|Pause|Complete) [^"]+)"', html
    )


def test_the_list_shows_each_campaigns_figures(console, app, session):
    campaign = CampaignFactory(name="Winter sale", status="active", cpm=Decimal("20.0000"))
    CreativeFactory(campaign=campaign)
    serve(app, console.client, 3)
    page = console.page("/admin/campaigns")
    assert "<title>Campaigns · CTV ad server admin</title>" in page
    row = page[page.index("Winter sale") :]
    for expected in (
        '<td data-label="Budget" class="num">$1,000.00</td>',
        '<td data-label="Spend" class="num">$0.06</td>',
        '<td data-label="Remaining" class="num">$999.94</td>',
        '<td data-label="Impressions" class="num">3</td>',
    ):
        assert expected in row
    assert re.search(r'<td data-label="Pacing" class="num">[0-9.]+ %</td>', row)


def test_the_list_filters_by_status_and_pages(console, session):
    for index in range(25):
        CampaignFactory(name=f"Draft {index:02}", status="draft")
    CampaignFactory(name="The active one", status="active")
    drafts = console.page("/admin/campaigns?status=draft")
    assert "The active one" not in drafts and "Page 1 of 2 · 25 campaigns" in drafts
    assert 'href="/admin/campaigns?status=draft&amp;page=2"' in drafts
    second = console.page("/admin/campaigns?status=draft&page=2")
    assert second.count('data-label="Name"') == 5 and 'rel="prev"' in second
    active = console.page("/admin/campaigns?status=active")
    assert "The active one" in active and "Draft 00" not in active
    assert '<a href="/admin/campaigns?status=active" aria-current="page">Active</a>' in active
    empty = console.page("/admin/campaigns?status=draft&page=9")
    assert "No campaigns with status draft yet on this page." in empty


def test_a_bad_filter_is_refused_with_its_reason(console):
    response = console.get("/admin/campaigns?status=finished")
    assert response.status_code == 400
    assert "status: Must be one of: draft, active, paused, completed." in response.get_data(as_text=True)


def test_status_buttons_offer_only_the_allowed_transitions(console, session):
    CampaignFactory(name="D", status="draft")
    CampaignFactory(name="A", status="active")
    CampaignFactory(name="P", status="paused")
    CampaignFactory(name="C", status="completed")
    CampaignFactory(name="Over", status="draft", start_date=utcnow() - timedelta(days=9), end_date=utcnow())
    labels = button_labels(console.page("/admin/campaigns"))
    assert sorted(labels) == sorted(
        ["Activate D", "Complete D", "Pause A", "Complete A", "Activate P", "Complete P", "Complete Over"]
    )


def test_a_status_button_changes_the_status_and_comes_back(console, session):
    campaign = CampaignFactory(name="Spring", status="draft")
    response = console.post(
        f"/admin/campaigns/{campaign.id}/status", {"status": "active", "next": "/admin/campaigns?page=1"}
    )
    assert (response.status_code, response.headers["Location"]) == (303, "/admin/campaigns?page=1")
    session.refresh(campaign)
    assert campaign.status == "active"
    assert flashes(console.page("/admin/campaigns")) == ["“Spring” is now active."]


def test_a_refused_transition_shows_the_services_reason(console, session):
    campaign = CampaignFactory(status="completed")
    console.post(f"/admin/campaigns/{campaign.id}/status", {"status": "active"})
    assert flashes(console.page(f"/admin/campaigns/{campaign.id}")) == [
        "Cannot change status from completed to active; allowed: none (completed is final)"
    ]
    console.post(f"/admin/campaigns/{campaign.id}/status", {"status": "finished"})
    assert flashes(console.page(f"/admin/campaigns/{campaign.id}")) == [
        "Invalid status Must be one of: draft, active, paused, completed."
    ]


def test_creating_a_campaign_reads_the_dates_as_utc(console, session):
    assert "<title>New campaign · CTV ad server admin</title>" in console.page("/admin/campaigns/new")
    response = console.post("/admin/campaigns/new", FORM)
    assert response.status_code == 303
    campaign = session.scalar(sa.select(Campaign).where(Campaign.name == "Spring launch"))
    assert response.headers["Location"] == f"/admin/campaigns/{campaign.id}"
    assert (campaign.status, campaign.budget_total, campaign.cpm) == (
        "draft",
        Decimal("1500.50"),
        Decimal("12.5"),
    )
    assert campaign.start_date.isoformat() == "2026-01-01T00:00:00+00:00"
    assert campaign.end_date.isoformat() == "2027-12-31T23:59:59+00:00"
    assert flashes(console.page(response.headers["Location"])) == [
        "Campaign “Spring launch” created as a draft."
    ]


def test_an_empty_cpm_takes_the_default_and_an_empty_description_is_none(console, session, settings):
    console.post("/admin/campaigns/new", FORM | {"cpm": "", "description": ""})
    campaign = session.scalar(sa.select(Campaign).where(Campaign.name == "Spring launch"))
    assert (campaign.cpm, campaign.description) == (settings.default_cpm, None)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": ""}, "name"),
        ({"budget_total": "abc"}, "budget_total"),
        ({"budget_total": "10.001"}, "budget_total"),
        ({"budget_total": "0"}, "budget_total"),
        ({"cpm": "1.00001"}, "cpm"),
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2025-01-01T00:00:00"}, "end_date"),
    ],
)
def test_form_errors_are_the_apis_messages_next_to_the_field(console, auth, session, changes, field):
    form = FORM | changes
    api_body = {
        name: value + "Z" if name.endswith("_date") and value[:4].isdigit() else value
        for name, value in form.items()
    }
    api = console.client.post("/api/v1/campaigns", json=api_body, headers=auth)
    assert api.status_code == 400
    message = console_words(form, field, api.get_json()["details"][field])
    response = console.post("/admin/campaigns/new", form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'<p class="error" id="{field}-error">{message}</p>' in page
    assert f'<li><a href="#{field}">' in page  # the summary links to the field
    assert f'value="{form["cpm"]}"' in page  # what was typed stays in the form
    assert session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0


def test_editing_shows_the_values_and_saves_the_changes(console, session):
    campaign = CampaignFactory(name="Before", budget_total=Decimal("1000.00"))
    page = console.page(f"/admin/campaigns/{campaign.id}/edit")
    assert 'value="Before"' in page and 'value="1000.00"' in page
    assert f'value="{campaign.start_date.strftime("%Y-%m-%dT%H:%M:%S")}"' in page
    form = {
        "name": "After",
        "description": "",
        "budget_total": "2000",
        "cpm": "",
        "start_date": campaign.start_date.strftime("%Y-%m-%dT%H:%M:%S"),
        "end_date": campaign.end_date.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    response = console.post(f"/admin/campaigns/{campaign.id}/edit", form)
    assert response.status_code == 303
    session.refresh(campaign)
    assert (campaign.name, campaign.budget_total, campaign.cpm) == (
        "After",
        Decimal("2000.00"),
        Decimal("10"),
    )
    assert flashes(console.page(f"/admin/campaigns/{campaign.id}")) == ["Changes saved."]


def test_edit_errors_and_a_completed_campaign(console, session):
    campaign = CampaignFactory(name="Keep")
    form = {
        "name": "Keep",
        "budget_total": "-1",
        "start_date": "2026-01-01T00:00",
        "end_date": "2027-01-01T00:00",
    }
    invalid = console.post(f"/admin/campaigns/{campaign.id}/edit", form)
    assert invalid.status_code == 400
    assert "Must be greater than 0 and at most 999999999999.99." in invalid.get_data(as_text=True)
    done = CampaignFactory(status="completed")
    assert "/edit" not in console.page(f"/admin/campaigns/{done.id}")
    refused = console.post(f"/admin/campaigns/{done.id}/edit", form | {"budget_total": "5"})
    assert refused.status_code == 409
    assert "<li>A completed campaign cannot be edited</li>" in refused.get_data(as_text=True)


def test_deleting_asks_first_then_deletes(console, session):
    campaign_id = CampaignFactory(name="Doomed").id
    confirm = console.page(f"/admin/campaigns/{campaign_id}/delete")
    assert "Delete “Doomed”?" in confirm and "This cannot be undone." in confirm
    assert session.get(Campaign, campaign_id) is not None
    response = console.post(f"/admin/campaigns/{campaign_id}/delete")
    assert (response.status_code, response.headers["Location"]) == (303, "/admin/campaigns")
    session.expire_all()
    assert session.get(Campaign, campaign_id) is None
    assert flashes(console.page("/admin/campaigns")) == ["Campaign “Doomed” deleted."]


def test_the_campaign_page_shows_figures_charts_creatives_and_the_tag(console, app, session):
    campaign = CampaignFactory(name="Shown", status="active")
    CreativeFactory(campaign=campaign, name="Spot A", duration=15.0, file_size=2_500_000)
    serve(app, console.client, 2, completes=1)
    page = console.page(f"/admin/campaigns/{campaign.id}")
    assert '<dd id="count-impressions">2</dd>' in page and '<dd id="count-completes">1</dd>' in page
    for chart in ("hours", "funnel", "spend"):
        assert f'<script type="application/json" id="chart-{chart}">' in page
    for fact in ("Spot A", "15.0 s", "2.4 MiB", "1280\N{MULTIPLICATION SIGN}720", "h264, 2000 kbit/s"):
        assert fact in page
    assert "<video" not in page  # a card shows the poster: no media is fetched per card
    assert 'aria-label="No poster yet for Spot A"' in page
    assert 'value="http://localhost/vast?max_duration=30&amp;vast_version=4.2"' in page
    assert "Pause Shown" in page and "Activate Shown" not in page


TARGETING_FORM = {
    "targeting_device_type_include": "ctv, stb",
    "targeting_country_exclude": "fr,de",
    "targeting_region_include": "us-ca, US-NY",
    "targeting_app_bundle_include": "",
    "targeting_livestream": "false",
    "targeting_custom": "team=Bulls,cubs\n\n!section=news\n",
    "targeting_hours": "20-22, 6",
    "targeting_days": "Sat,sun",
    "time_zone": "America/New_York",
}


def test_the_form_sets_and_shows_targeting(console, session):
    response = console.post("/admin/campaigns/new", FORM | TARGETING_FORM)
    assert response.status_code == 303
    campaign = session.scalar(sa.select(Campaign).where(Campaign.name == "Spring launch"))
    assert campaign.time_zone == "America/New_York"
    assert campaign.targeting == {
        "device_type": {"include": ["ctv", "stb"]},
        "country": {"exclude": ["DE", "FR"]},
        "region": {"include": ["US-CA", "US-NY"]},
        "livestream": False,
        "custom": {"team": {"include": ["bulls", "cubs"]}, "section": {"exclude": ["news"]}},
        "day_part": {"hours": [6, 20, 21, 22], "days": ["sat", "sun"]},
    }
    shown = console.page(f"/admin/campaigns/{campaign.id}")
    assert (
        "Targeting: device_type: include ctv, stb; country: exclude DE, FR; region: include US-CA, US-NY; "
        "livestream: on demand only; "
        "custom team: include bulls, cubs; custom section: exclude news; "
        "day_part: hours 6, 20, 21, 22; sat, sun (America/New_York)"
    ) in shown
    page = console.page(f"/admin/campaigns/{campaign.id}/edit")
    assert 'value="ctv, stb"' in page and 'value="DE, FR"' in page and "!section=news" in page
    assert 'value="US-CA, US-NY"' in page and "IP Geolocation by DB-IP" in page  # the licence's link
    assert 'value="6, 20, 21, 22"' in page and 'value="sat, sun"' in page
    assert '<option value="false" selected>' in page
    cleared = {name: "" for name in TARGETING_FORM} | {"time_zone": "UTC"}
    assert console.post(f"/admin/campaigns/{campaign.id}/edit", FORM | cleared).status_code == 303
    session.refresh(campaign)
    assert campaign.targeting is None and campaign.time_zone == "UTC"
    assert "Targeting: none, every request" in console.page(f"/admin/campaigns/{campaign.id}")


@pytest.mark.parametrize(
    ("inputs", "field", "message"),
    [
        ({"targeting_device_type_include": "tv"}, "targeting_device_type_include", "Must be one of: ctv"),
        ({"targeting_country_exclude": "France"}, "targeting_country_exclude", "ISO 3166-1 alpha-2"),
        ({"targeting_region_exclude": "US-CA, Texas"}, "targeting_region_exclude", "ISO 3166-2 subdivision"),
        ({"targeting_hours": "evening"}, "targeting_hours", "Enter a whole number."),
        ({"targeting_hours": "25"}, "targeting_hours", "less than or equal to 23"),
        ({"targeting_days": "someday"}, "targeting_days", "Must be one of"),
        ({"targeting_custom": "bad key=x"}, "targeting_custom", "Must be 1 to 40"),
        ({"time_zone": "Moon/Base"}, "time_zone", "Not an IANA time zone name"),
    ],
)
def test_bad_targeting_in_the_form_is_refused_by_its_input(console, session, inputs, field, message):
    response = console.post("/admin/campaigns/new", FORM | inputs)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', page)
    assert error and message in error.group(1), page[:2000]
    assert session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0
