"""Archive instead of delete: a campaign or creative that delivered is archived (hidden from default lists,
its figures kept), never deleted; only what never delivered may be deleted."""

from decimal import Decimal

import sqlalchemy as sa

from app.campaigns.models import Campaign
from app.creatives.models import Creative
from tests.api.test_campaign_guards import delivered
from tests.factories import CampaignFactory, CreativeFactory
from tests.serving_helpers import NS, ad_urls, flush, get_vast, refresh

URL = "/api/v1/campaigns"


def test_deleting_a_campaign_that_delivered_is_refused_and_points_to_archive(client, auth, session):
    campaign = CampaignFactory(status="paused")
    delivered(session, campaign, 3, Decimal("0.03"))
    response = client.delete(f"{URL}/{campaign.id}", headers=auth)
    assert response.status_code == 409
    assert response.get_json()["error"] == (
        "This campaign has delivered: deleting it would erase its impressions from reporting. Archive it "
        "instead."
    )
    assert session.get(Campaign, campaign.id) is not None


def test_a_never_delivered_draft_is_deleted(client, auth, session):
    campaign_id = CampaignFactory(status="draft").id
    assert client.delete(f"{URL}/{campaign_id}", headers=auth).status_code == 204
    assert session.scalar(sa.select(sa.func.count()).where(Campaign.id == campaign_id)) == 0


def test_archived_campaigns_leave_the_default_list_and_keep_their_figures(client, auth, session):
    kept = CampaignFactory(name="Kept", status="paused")
    old = CampaignFactory(name="Old", status="completed")
    delivered(session, old, 7, Decimal("0.07"))
    response = client.post(f"{URL}/{old.id}/archive", headers=auth)
    assert response.status_code == 200 and response.get_json()["archived_at"] is not None
    assert [item["name"] for item in client.get(URL, headers=auth).get_json()["items"]] == ["Kept"]
    archived = client.get(f"{URL}?archived=true", headers=auth).get_json()
    assert [item["name"] for item in archived["items"]] == ["Old"]
    stats = client.get(f"{URL}/{old.id}/stats", headers=auth).get_json()
    assert (stats["impressions"], stats["spend_to_date"]) == (7, "0.07")
    assert kept.archived_at is None


def test_an_active_campaign_is_paused_before_archiving_and_an_archived_one_is_not_activated(
    client, auth, session
):
    campaign = CampaignFactory(status="active")
    refused = client.post(f"{URL}/{campaign.id}/archive", headers=auth)
    assert refused.status_code == 409
    assert refused.get_json()["error"] == "An active campaign cannot be archived: pause or complete it first"
    client.put(f"{URL}/{campaign.id}/status", json={"status": "paused"}, headers=auth)
    assert client.post(f"{URL}/{campaign.id}/archive", headers=auth).status_code == 200
    activate = client.put(f"{URL}/{campaign.id}/status", json={"status": "active"}, headers=auth)
    assert activate.status_code == 409
    assert activate.get_json()["error"] == "Cannot activate an archived campaign: restore it first"
    edit = client.patch(f"{URL}/{campaign.id}", json={"name": "X"}, headers=auth)
    assert edit.status_code == 409
    restored = client.post(f"{URL}/{campaign.id}/restore", headers=auth).get_json()
    assert (restored["archived_at"], restored["status"]) == (None, "paused")
    assert (
        client.put(f"{URL}/{campaign.id}/status", json={"status": "active"}, headers=auth).status_code == 200
    )


def test_an_archived_creative_is_not_served_and_one_that_delivered_is_not_deleted(app, client, auth, session):
    campaign = CampaignFactory(status="active")
    creative = CreativeFactory(campaign=campaign)
    refresh(app)
    client.get(ad_urls(get_vast(client))["impression"])
    flush(app)
    response = client.delete(f"/api/v1/creatives/{creative.id}", headers=auth)
    assert response.status_code == 409
    assert "Archive it instead." in response.get_json()["error"]
    assert client.post(f"/api/v1/creatives/{creative.id}/archive", headers=auth).status_code == 200
    listed = client.get(f"{URL}/{campaign.id}/creatives", headers=auth).get_json()
    assert listed == []
    archived = client.get(f"{URL}/{campaign.id}/creatives?archived=true", headers=auth).get_json()
    assert [item["id"] for item in archived] == [str(creative.id)]
    refresh(app)
    assert get_vast(client).find(".//v:Ad", NS) is None  # no other creative: no fill
    assert session.scalar(sa.select(sa.func.count()).select_from(Creative)) == 1
