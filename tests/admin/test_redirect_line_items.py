"""The console's VAST redirect line items: the form's fields, its messages, the campaign page."""

import sqlalchemy as sa

from app.campaigns.models import Campaign
from tests.admin.test_campaigns import FORM

TAG = "https://partner.example.com/vast?cb=[CACHEBUSTING]"
REDIRECT = FORM | {
    "kind": "vast_redirect",
    "vast_ad_tag_uri": TAG,
    "ad_duration": "30",
    "server_side_unwrap": "y",
}


def test_a_redirect_line_item_is_created_from_the_form_and_shown(console, session):
    response = console.post("/admin/campaigns/new", REDIRECT)
    assert response.status_code == 303
    campaign = session.scalar(sa.select(Campaign).where(Campaign.name == FORM["name"]))
    assert (campaign.kind, campaign.vast_ad_tag_uri, campaign.ad_duration) == ("vast_redirect", TAG, 30.0)
    assert campaign.server_side_unwrap is True
    page = console.page(response.headers["Location"])
    assert "VAST redirect to" in page and "an ad of 30 s, unwrapped on the server" in page
    assert "Partner fill rate" in page
    edit = console.page(f"/admin/campaigns/{campaign.id}/edit")
    assert 'value="30"' in edit and "cb=[CACHEBUSTING]" in edit


def test_a_direct_campaign_is_the_default_and_shows_no_partner(console, session):
    response = console.post("/admin/campaigns/new", FORM)
    campaign = session.scalar(sa.select(Campaign).where(Campaign.name == FORM["name"]))
    assert (campaign.kind, campaign.server_side_unwrap) == ("direct", False)
    assert "Partner fill rate" not in console.page(response.headers["Location"])


def test_every_missing_redirect_field_is_named_at_once(console, session):
    response = console.post("/admin/campaigns/new", FORM | {"kind": "vast_redirect"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert '<p class="error" id="vast_ad_tag_uri-error">' in page
    assert '<p class="error" id="ad_duration-error">' in page
    assert session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0
