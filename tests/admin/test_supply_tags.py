"""Supply tag pages: list with figures, forms with the API's messages, the tag's page with its URL and
figures, deletion; and the campaign form's "limit to supply tags" choice."""

import html
import re

import sqlalchemy as sa

from app.campaigns.models import Campaign
from app.supply.models import SupplyTag
from tests.admin.conftest import flashes
from tests.admin.test_campaigns import FORM
from tests.factories import CampaignFactory, CreativeFactory, SupplyTagFactory
from tests.serving_helpers import ad_urls, flush, get_vast, refresh


def test_create_a_tag_and_find_its_url_and_figures(console, app, session):
    response = console.post(
        "/admin/supply-tags/new",
        {"name": "Roku US", "platform": "roku", "max_duration": "30", "pod_max_duration": "", "macros": ""},
    )
    assert response.status_code == 303
    tag = session.scalars(sa.select(SupplyTag)).one()
    assert (tag.name, tag.platform, tag.max_duration, tag.pod_max_duration) == ("Roku US", "roku", 30, None)
    assert response.headers["Location"] == f"/admin/supply-tags/{tag.id}"
    CreativeFactory(duration=15.0)
    refresh(app)
    for _ in range(2):
        console.client.get(ad_urls(get_vast(console.client, f"tag={tag.id}"))["impression"])
    get_vast(console.client, f"tag={tag.id}&min_duration=20")
    flush(app)
    page = console.page(f"/admin/supply-tags/{tag.id}")
    url = re.search(r'<input id="tag-url" type="text" readonly value="([^"]*)">', page).group(1)
    assert html.unescape(url).startswith(f"http://localhost/vast?tag={tag.id}&cb=ROKU_ADS_CACHE_BUSTER&")
    assert 'data-copy="tag-url">Copy</button>' in page
    assert "<dt>Requests</dt>\n  <dd>3</dd>" in page and "<dt>Fill rate</dt>\n  <dd>66.7 %</dd>" in page
    listing = console.page("/admin/supply-tags")
    assert '<a href="/admin/supply-tags" aria-current="page">Supply tags</a>' in listing
    assert '<td data-label="Impressions" class="num">2</td>' in listing


def test_the_form_shows_every_error_at_once(console, session):
    response = console.post(
        "/admin/supply-tags/new",
        {
            "name": " ",
            "platform": "betamax",
            "min_duration": "40",
            "max_duration": "x",
            "macros": "ip\nnope=[X]",
        },
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Line 1: write parameter=macro." in page
    response = console.post(
        "/admin/supply-tags/new",
        {"name": " ", "platform": "betamax", "max_duration": "x", "pod_max_ads": "99", "macros": "nope=[X]"},
    )
    page = response.get_data(as_text=True)
    for message in (
        "Required.",
        "Must be one of",
        "Enter a number, such as 1500.00.",
        "less than or equal to 20",
    ):
        assert message in page
    assert "nope" in page
    assert session.scalar(sa.select(sa.func.count()).select_from(SupplyTag)) == 0


def test_edit_and_delete(console, session):
    tag = SupplyTagFactory(name="Tizen", platform="tizen", max_duration=30.0, macros={"app_name": "[APP]"})
    page = console.page(f"/admin/supply-tags/{tag.id}/edit")
    assert 'value="30"' in page and "app_name=[APP]" in page
    response = console.post(
        f"/admin/supply-tags/{tag.id}/edit",
        {"name": "Tizen EU", "platform": "tizen", "max_duration": "", "macros": "gpp="},
    )
    assert response.status_code == 303
    session.expire_all()
    assert (tag.name, tag.max_duration, tag.macros) == ("Tizen EU", None, {"gpp": ""})
    limited = CampaignFactory(name="Spring", targeting={"supply_tag": {"include": [tag.id]}})
    refused = console.post(f"/admin/supply-tags/{tag.id}/delete", follow_redirects=True)
    assert any("“Spring”" in message for message in flashes(refused.get_data(as_text=True)))
    limited.targeting = None
    session.commit()
    done = console.post(f"/admin/supply-tags/{tag.id}/delete", follow_redirects=True)
    assert "Supply tag “Tizen EU” deleted." in flashes(done.get_data(as_text=True))


def test_the_campaign_form_limits_a_campaign_to_tags(console, session):
    roku, tizen = SupplyTagFactory(name="Roku"), SupplyTagFactory(name="Tizen")
    page = console.page("/admin/campaigns/new")
    assert f'name="targeting_supply_tag" value="{roku.id}"' in page
    response = console.post(
        "/admin/campaigns/new", {**FORM, "targeting_supply_tag": [str(roku.id), str(tizen.id)]}
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    campaign = session.scalars(sa.select(Campaign)).one()
    assert campaign.targeting == {"supply_tag": {"include": sorted([roku.id, tizen.id])}}
    detail = console.page(f"/admin/campaigns/{campaign.id}")
    assert f"supply_tag: include Roku (#{roku.id}), Tizen (#{tizen.id})" in detail
    edit = console.page(f"/admin/campaigns/{campaign.id}/edit")
    assert f'value="{roku.id}" checked' in edit
    response = console.post(f"/admin/campaigns/{campaign.id}/edit", {**FORM, "targeting_supply_tag": "999"})
    assert response.status_code == 400 and "No supply tag has the id 999." in response.get_data(as_text=True)
