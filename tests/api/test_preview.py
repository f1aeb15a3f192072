"""Previews through the real /vast path: a signed preview parameter forces its campaign (any status) or one
creative in one request, past caps, pacing and targeting; its beacons are verified, counted apart as test
traffic, and never billed, delivered or counted as serving."""

import time
import uuid
from decimal import Decimal

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner

from app.serving.preview import PREVIEW_SECONDS
from app.tracking.models import EventCountHourly, ServingCountHourly
from tests.factories import CampaignFactory, CreativeFactory
from tests.serving_helpers import NS, ad_urls, flush, get_vast, refresh, runtime


@pytest.fixture
def settings(store_settings):
    return store_settings  # test counts in the process and in Redis


def preview_url(app, campaign, creative=None, max_duration=30) -> str:
    token = runtime(app).previews.sign(campaign.id, creative.id if creative else None)
    return f"max_duration={max_duration}&preview={token}"


def test_a_draft_campaign_plays_in_one_request_while_bigger_campaigns_are_active(app, client, session):
    for _ in range(5):  # the old preview lost to these in 10 tries
        CreativeFactory(campaign=CampaignFactory(status="active", budget_total=Decimal("900000.00")))
    draft = CampaignFactory(
        status="draft", frequency_caps=[{"max_impressions": 1, "window": {"unit": "day"}}]
    )
    creative = CreativeFactory(campaign=draft)
    refresh(app)
    document = get_vast(client, preview_url(app, draft))
    assert document.find(".//v:Ad", NS).get("id") == str(draft.id)
    assert document.find(".//v:Creative", NS) is not None
    urls = ad_urls(document)
    claims = runtime(app).signer.verify(urls["impression"].split("t=")[1])
    assert (claims.test, claims.private, claims.creative_id) == (True, True, creative.id)


def test_test_beacons_are_counted_apart_and_never_billed_or_delivered(app, client, auth, session):
    campaign = CampaignFactory(status="active")
    CreativeFactory(campaign=campaign)
    refresh(app)
    urls = ad_urls(get_vast(client, preview_url(app, campaign)))
    for event in ("impression", "start", "complete", "complete"):
        response = client.get(urls[event])
        assert response.status_code == 204
    assert response.headers["X-Beacon"] == "test duplicate"
    flush(app)
    assert runtime(app).test_counts.counts(campaign.id) == {"impression": 1, "start": 1, "complete": 1}
    reported = client.get(f"/api/v1/campaigns/{campaign.id}/test-events", headers=auth).get_json()
    assert reported == {"counts": {"impression": 1, "start": 1, "complete": 1}}
    stats = client.get(f"/api/v1/campaigns/{campaign.id}/stats", headers=auth).get_json()
    assert (stats["impressions"], stats["spend"]) == (0, "0.00")
    assert session.scalar(sa.select(sa.func.count()).select_from(EventCountHourly)) == 0
    assert session.scalar(sa.select(sa.func.coalesce(sa.func.sum(ServingCountHourly.requests), 0))) == 0
    assert not runtime(app).store.spend([campaign.id]).get(campaign.id)  # pacing sees no spend
    tampered = urls["impression"].replace("t=", "t=x")
    assert client.get(tampered).status_code == 400  # verified as usual


def test_one_creative_is_previewed_whatever_its_status(app, client, session):
    campaign = CampaignFactory(status="paused")
    CreativeFactory(campaign=campaign, duration=10.0)
    chosen = CreativeFactory(campaign=campaign, duration=20.0, status="inactive")
    document = get_vast(client, preview_url(app, campaign, chosen))
    claims = runtime(app).signer.verify(ad_urls(document)["impression"].split("t=")[1])
    assert claims.creative_id == chosen.id


def test_a_forged_or_expired_preview_parameter_is_refused(app, client, session):
    campaign = CampaignFactory(status="draft")
    CreativeFactory(campaign=campaign)
    forged = TimestampSigner("not the key", salt="preview-v1").sign(f"{campaign.id.hex}~").decode()
    response = client.get(f"/vast?preview={forged}")
    assert (response.status_code, response.get_json()["error"]) == (400, "invalid preview parameter")
    signer = runtime(app).previews.signer
    old = TimestampSigner(signer.secret_keys[-1], salt="preview-v1", digest_method=signer.digest_method)
    old.get_timestamp = lambda: int(time.time()) - PREVIEW_SECONDS - 5
    response = client.get(f"/vast?preview={old.sign(f'{campaign.id.hex}~').decode()}")
    assert response.get_json()["error"] == "preview link expired: reload the preview page"


def test_a_campaign_without_anything_to_play_gets_no_ad(app, client, session):
    campaign = CampaignFactory(status="draft")
    assert get_vast(client, preview_url(app, campaign)).find(".//v:Ad", NS) is None
    assert get_vast(client, f"preview={runtime(app).previews.sign(uuid.uuid4())}").find(".//v:Ad", NS) is None
