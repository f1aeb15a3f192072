"""The "why isn't it delivering?" page: a sample request pasted as a player sends it, every campaign with
the rule that holds it back or its chance of being chosen."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from tests.factories import CampaignFactory, CreativeFactory
from tests.serving_helpers import refresh


def test_the_page_diagnoses_a_pasted_request(console, app, session):
    serves = CreativeFactory(campaign=CampaignFactory(name="Serves", status="active"), duration=30.0)
    CreativeFactory(campaign=CampaignFactory(name="Too long", status="active"), duration=60.0)
    CreativeFactory(campaign=CampaignFactory(name="Paused one", status="paused"), duration=30.0)
    refresh(app)

    empty = console.page("/admin/delivery")
    assert '<a href="/admin/delivery" aria-current="page">Delivery</a>' in empty
    assert "<caption>" not in empty  # nothing asked yet: no table

    query = urlencode(
        {
            "url": "https://ads.example.com/vast?max_duration=30&app_bundle=%5BAPPBUNDLE%5D",
            "headers": "User-Agent: Roku/DVP-12.0\nnot a header line",
        }
    )
    page = console.page(f"/admin/delivery?{query}")
    rows = re.findall(
        r'<th scope="row" data-label="Campaign"><a href="[^"]+">([^<]+)</a></th>\s*'
        r'<td data-label="Result">([^<]+)</td>',
        page,
    )
    assert rows == [
        ("Serves", "competes"),
        ("Too long", "held back: duration"),
        ("Paused one", "held back: status"),
    ]
    assert f'href="/admin/campaigns/{serves.campaign_id}"' in page
    assert "100.0 %" in page
    assert "<code>app_bundle</code>: unexpanded macro" in page
    assert "Not read (not <code>Name: value</code>): not a header line" in page


def test_the_page_needs_the_admin(client):
    response = client.get("/admin/delivery?url=/vast")
    assert response.status_code in (302, 303) and "/admin/login" in response.headers["Location"]


def test_the_campaign_page_says_whether_it_serves_now_and_why_not(console, app, session):
    serving = CreativeFactory(campaign=CampaignFactory(name="On", status="active"), duration=30.0)
    paused = CreativeFactory(campaign=CampaignFactory(name="Off", status="paused"), duration=30.0)
    refresh(app)
    assert "Serving now: it competes" in console.page(f"/admin/campaigns/{serving.campaign_id}")
    assert "100.0 % chance" in console.page(f"/admin/campaigns/{serving.campaign_id}")
    assert "Not serving now (status): the campaign is paused." in console.page(
        f"/admin/campaigns/{paused.campaign_id}"
    )
