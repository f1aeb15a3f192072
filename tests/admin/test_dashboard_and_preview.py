"""The dashboard's figures and the preview page's player settings."""

import html
import json
import re
import uuid

from tests.factories import CampaignFactory, CreativeFactory
from tests.serving_helpers import ad_urls, flush, get_vast, refresh, runtime


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


def test_the_preview_asks_once_with_a_signed_preview_parameter_long_enough_for_the_creatives(
    console, app, session
):
    campaign = CampaignFactory(name="Previewed", status="draft")
    CreativeFactory(campaign=campaign, duration=14.2)
    CreativeFactory(campaign=campaign, duration=29.6)
    CreativeFactory(campaign=campaign, duration=60.0, status="inactive")
    page = console.page(f"/admin/campaigns/{campaign.id}/preview")
    assert "<title>Preview Previewed · CTV ad server admin</title>" in page
    url = re.search(r'data-vast-url="(/vast\?max_duration=30&amp;preview=[^"]+)"', page)
    assert url, "the preview asks /vast with a preview parameter"
    token = html.unescape(url.group(1)).split("preview=")[1]
    assert runtime(app).previews.verify(token) == (campaign.id, None)
    assert f'data-campaign-id="{campaign.id}"' in page
    assert f'data-counts-url="/admin/campaigns/{campaign.id}/test-counts"' in page
    assert '<script type="module" src="/admin/static/preview.js"></script>' in page
    assert "notice warning" not in page  # a draft previews as well


def test_a_creatives_preview_names_it_whatever_its_status(console, app, session):
    campaign = CampaignFactory(status="paused")
    creative = CreativeFactory(campaign=campaign, duration=60.0, status="inactive", name="Long cut")
    page = console.page(f"/admin/campaigns/{campaign.id}/preview?creative={creative.id}")
    assert "Preview: " in page and "“Long cut”" in page
    token = html.unescape(re.search(r'preview=([^"]+)"', page).group(1))
    assert runtime(app).previews.verify(token) == (campaign.id, creative.id)
    assert "max_duration=60&amp;" in page
    assert console.get(f"/admin/campaigns/{campaign.id}/preview?creative={uuid.uuid4()}").status_code == 404


def test_the_preview_warns_when_there_is_nothing_to_play(console, session):
    empty = CampaignFactory(status="active")
    assert "no active creative" in console.page(f"/admin/campaigns/{empty.id}/preview")


def test_a_redirect_line_items_preview_asks_for_its_declared_duration(console, session):
    redirect = CampaignFactory(
        status="draft", kind="vast_redirect", vast_ad_tag_uri="https://p.example/v", ad_duration=44.5
    )
    page = console.page(f"/admin/campaigns/{redirect.id}/preview")
    assert "no active creative" not in page and "max_duration=45&amp;" in page


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
