"""The dashboard's figures and the preview page's player settings."""

import json
import re

from tests.factories import CampaignFactory, CreativeFactory
from tests.serving_helpers import ad_urls, flush, get_vast, refresh


def chart(html: str, source: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{source}">(.*?)</script>', html, re.S)
    return json.loads(match.group(1))


def test_the_dashboard_shows_totals_statuses_the_last_day_and_top_campaigns(console, app, session):
    campaign = CampaignFactory(name="Leader", status="active")
    CreativeFactory(campaign=campaign)
    CampaignFactory(status="draft")
    refresh(app)
    for _ in range(2):
        urls = ad_urls(get_vast(console.client))
        console.client.get(urls["impression"])
        console.client.get(urls["complete"])
    flush(app)
    page = console.page("/admin/")
    assert "<title>Dashboard · CTV ad server admin</title>" in page
    today = page[page.index("today-title") : page.index("flight-title")]
    assert "<dt>Impressions</dt>\n  <dd>2</dd>" in today and "<dd>100.0 %</dd>" in today
    assert "<dd>$0.02</dd>" in page[page.index("flight-title") :]
    assert re.search(r"status-active\">active</span> <span class=\"count\">1</span>", page)
    assert "Leader</a>" in page[page.index("top-title") :]
    hours = chart(page, "hours-data")
    assert len(hours["labels"]) == 24 and sum(hours["series"][0]["data"]) == 2
    assert [series["label"] for series in hours["series"]] == ["Impressions", "Completes", "Ad requests"]


def test_the_preview_asks_for_an_ad_break_long_enough_for_the_campaigns_creatives(console, session):
    campaign = CampaignFactory(name="Previewed", status="active")
    CreativeFactory(campaign=campaign, duration=14.2)
    CreativeFactory(campaign=campaign, duration=29.6)
    CreativeFactory(campaign=campaign, duration=60.0, status="inactive")
    page = console.page(f"/admin/campaigns/{campaign.id}/preview")
    assert "<title>Preview Previewed · CTV ad server admin</title>" in page
    assert 'data-vast-url="/vast?max_duration=30"' in page
    assert f'data-campaign-id="{campaign.id}"' in page
    assert f'data-counts-url="/admin/campaigns/{campaign.id}/counts"' in page
    assert '<script type="module" src="/admin/static/preview.js"></script>' in page
    assert "notice warning" not in page


def test_the_preview_warns_when_the_ad_server_cannot_serve_the_campaign(console, session):
    paused = CampaignFactory(status="paused")
    assert "This campaign is paused" in console.page(f"/admin/campaigns/{paused.id}/preview")
    empty = CampaignFactory(status="active")
    assert "no active creative" in console.page(f"/admin/campaigns/{empty.id}/preview")


def test_the_dashboard_shows_ad_breaks(console, app, session):
    for _ in range(2):
        CreativeFactory(campaign=CampaignFactory(status="active"), duration=30.0)
    refresh(app)
    for _ in range(2):
        console.client.get("/vast?pod_max_dur=90&pod_max_ads=4")  # 60 of 90 s filled
    flush(app)
    day = console.page("/admin/")
    day = day[day.index("day-title") :]
    assert "<dt>Ad breaks (pods)</dt>\n  <dd>2</dd>" in day
    assert "<dt>Ads per pod</dt>\n  <dd>2.0</dd>" in day
    assert "<dt>Break seconds filled</dt>\n  <dd>66.7 %</dd>" in day
