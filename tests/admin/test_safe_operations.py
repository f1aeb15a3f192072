"""The console's safe operations: completing asks first; refused edits show the service's message by the
field."""

from datetime import timedelta
from decimal import Decimal

from app.db import utcnow
from tests.admin.conftest import flashes
from tests.api.test_campaign_guards import delivered
from tests.factories import CampaignFactory


def test_complete_is_a_link_to_a_question_never_one_click(console, session):
    campaign = CampaignFactory(name="Spring", status="active")
    page = console.page(f"/admin/campaigns/{campaign.id}")
    assert f'href="/admin/campaigns/{campaign.id}/complete?next=/admin/campaigns/{campaign.id}"' in page
    question = console.page(f"/admin/campaigns/{campaign.id}/complete?next=/admin/campaigns")
    assert "Complete “Spring”?" in question
    assert "stops serving for good" in question
    assert f'action="/admin/campaigns/{campaign.id}/complete?next=/admin/campaigns"' in question
    session.refresh(campaign)
    assert campaign.status == "active"
    response = console.post(f"/admin/campaigns/{campaign.id}/complete?next=/admin/campaigns")
    assert (response.status_code, response.headers["Location"]) == (303, "/admin/campaigns")
    session.refresh(campaign)
    assert campaign.status == "completed"
    assert flashes(console.page("/admin/campaigns")) == ["“Spring” is now completed."]


def test_a_posted_complete_status_goes_to_the_question(console, session):
    campaign = CampaignFactory(status="paused")
    response = console.post(f"/admin/campaigns/{campaign.id}/status", {"status": "completed"})
    assert (response.status_code, response.headers["Location"]) == (
        303,
        f"/admin/campaigns/{campaign.id}/complete",
    )
    session.refresh(campaign)
    assert campaign.status == "paused"


def test_the_edit_form_refuses_a_budget_below_spend_by_the_field(console, session):
    campaign = CampaignFactory(status="active", budget_total=Decimal("500.00"))
    delivered(session, campaign, 100, Decimal("40.00"))
    form = {
        "name": campaign.name,
        "budget_total": "39.99",
        "cpm": "10",
        "start_date": campaign.start_date.strftime("%Y-%m-%dT%H:%M:%S"),
        "end_date": (utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"),
    }
    response = console.post(f"/admin/campaigns/{campaign.id}/edit", form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Must be at least the spend to date (40.00)." in page
    assert "Must be in the future." in page
    session.refresh(campaign)
    assert (campaign.budget_total, campaign.status) == (Decimal("500.00"), "active")


def test_archive_asks_then_hides_the_campaign_behind_a_filter(console, session):
    campaign = CampaignFactory(name="Old flight", status="completed")
    delivered(session, campaign, 5, Decimal("0.05"))
    page = console.page(f"/admin/campaigns/{campaign.id}")
    assert f'href="/admin/campaigns/{campaign.id}/delete"' not in page  # it delivered: no Delete
    assert "Archive…" in page
    assert "Its impressions, spend and events stay in reporting." in console.page(
        f"/admin/campaigns/{campaign.id}/archive"
    )
    response = console.post(f"/admin/campaigns/{campaign.id}/archive")
    assert response.headers["Location"] == f"/admin/campaigns/{campaign.id}"
    page = console.page(f"/admin/campaigns/{campaign.id}")
    assert '<span class="badge status-archived">archived</span>' in page
    assert flashes(page) == ["Campaign “Old flight” archived."]
    assert "Old flight" not in console.page("/admin/campaigns")
    assert "Old flight" in console.page("/admin/campaigns?archived=true")


def test_deleting_a_delivered_campaign_is_refused_with_the_way_out(console, session):
    campaign = CampaignFactory(status="paused")
    delivered(session, campaign, 1, Decimal("0.01"))
    response = console.post(f"/admin/campaigns/{campaign.id}/delete")
    assert response.headers["Location"] == f"/admin/campaigns/{campaign.id}"
    assert flashes(console.page(f"/admin/campaigns/{campaign.id}")) == [
        "This campaign has delivered: deleting it would erase its impressions from reporting. Archive it "
        "instead."
    ]


def test_the_campaign_page_shows_its_changes(console, session):
    campaign = CampaignFactory(name="Audited", status="draft")
    console.post(f"/admin/campaigns/{campaign.id}/status", {"status": "active"})
    console.post(f"/admin/campaigns/{campaign.id}/status", {"status": "paused"})
    page = console.page(f"/admin/campaigns/{campaign.id}")
    section = page[page.index('id="audit"') :]
    assert section.count('<td data-label="What">status</td>') == 2
    assert "<strong>status</strong>: active → paused" in section
    assert "<strong>status</strong>: draft → active" in section
    assert "admin@example.com" in section


def test_a_new_campaign_form_has_a_flight_and_every_error_comes_at_once_in_plain_words(console, session):
    page = console.page("/admin/campaigns/new")
    start = (utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).strftime(
        "%Y-%m-%dT%H:%M:%S"
    )
    assert f'value="{start}"' in page
    response = console.post(
        "/admin/campaigns/new",
        {
            "name": "",
            "budget_total": "lots",
            "start_date": "2026-03-01T00:00:00",
            "end_date": "2026-02-01T00:00:00",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for expected in (
        "Name: Required.",
        "Budget: Enter a number, such as 1500.00.",
        "End: End must be after start.",
    ):
        assert expected in page
    assert "Length must be" not in page and "Missing data" not in page


def test_root_leads_to_the_console_and_unknown_console_pages_get_its_404(console, client):
    response = client.get("/")
    assert (response.status_code, response.headers["Location"]) == (302, "/admin/")
    missing = client.get("/admin/no-such-page")
    assert missing.status_code == 404 and missing.content_type.startswith("text/html")
    page = missing.get_data(as_text=True)
    assert "<title>Not found · CTV ad server admin</title>" in page
    assert "404: not found" in page
    assert "Campaigns</a>" in page  # the console's menu, for a signed-in admin
    assert "Content-Security-Policy" in missing.headers
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.get_json()["error"]
