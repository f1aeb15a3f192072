"""Advertiser pages (list, forms with the API's messages, deletion) and the campaign form's advertiser and
category fields."""

import re

import pytest
import sqlalchemy as sa

from app.advertisers.models import Advertiser
from app.campaigns.models import Campaign
from tests.admin.conftest import console_words, flashes
from tests.admin.test_campaigns import FORM
from tests.factories import AdvertiserFactory, CampaignFactory


def rows(html: str) -> list[str]:
    return re.findall(r'<th scope="row" data-label="Name">([^<]*)</th>', html)


def test_the_list_shows_advertisers_by_name_with_their_campaigns(console, session):
    cola = AdvertiserFactory(name="Cola", domain="cola.example")
    AdvertiserFactory(name="Acme", domain="acme.example")
    CampaignFactory(advertiser=cola)
    page = console.page("/admin/advertisers")
    assert "<title>Advertisers · CTV ad server admin</title>" in page
    assert '<a href="/admin/advertisers" aria-current="page">Advertisers</a>' in page
    assert rows(page) == ["Acme", "Cola"]
    cola_row = page[page.index(">Cola<") :]
    assert '<td data-label="Domain">cola.example</td>' in cola_row
    assert '<td data-label="Campaigns" class="num">1</td>' in cola_row
    assert f'href="/admin/advertisers/{cola.id}/edit"' in page
    assert f"/admin/advertisers/{cola.id}/delete" not in page  # campaigns name it: no delete button


def test_the_list_pages(console, session):
    for index in range(23):
        AdvertiserFactory(name=f"Brand {index:02}")
    first = console.page("/admin/advertisers")
    assert "Page 1 of 2 · 23 advertisers" in first and len(rows(first)) == 20
    second = console.page("/admin/advertisers?page=2")
    assert rows(second) == ["Brand 20", "Brand 21", "Brand 22"]
    assert "No advertisers yet on this page." in console.page("/admin/advertisers?page=5")
    refused = console.get("/admin/advertisers?page=0")
    assert refused.status_code == 400
    assert "page: Must be greater than or equal to 1" in refused.get_data(as_text=True)


def test_creating_an_advertiser_normalises_its_domain(console, session):
    assert "<title>New advertiser · CTV ad server admin</title>" in console.page("/admin/advertisers/new")
    response = console.post(
        "/admin/advertisers/new", {"name": "Cola Co", "domain": "https://www.Cola.example.com/spring"}
    )
    assert (response.status_code, response.headers["Location"]) == (303, "/admin/advertisers")
    advertiser = session.scalar(sa.select(Advertiser))
    assert (advertiser.name, advertiser.domain) == ("Cola Co", "cola.example.com")
    assert flashes(console.page("/admin/advertisers")) == ["Advertiser “Cola Co” (cola.example.com) created."]


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"name": "", "domain": "cola.example"}, "name"),
        ({"name": "Cola", "domain": "localhost"}, "domain"),
        ({"name": "Cola", "domain": ""}, "domain"),
    ],
)
def test_form_errors_are_the_apis_messages_next_to_the_field(console, auth, session, form, field):
    api = console.client.post("/api/v1/advertisers", json=form, headers=auth)
    assert api.status_code == 400
    message = console_words(form, field, api.get_json()["details"][field])
    response = console.post("/admin/advertisers/new", form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'<p class="error" id="{field}-error">{message}</p>' in page
    assert f'<li><a href="#{field}">' in page
    assert f'value="{form["domain"]}"' in page  # what was typed stays in the form
    assert session.scalar(sa.select(sa.func.count()).select_from(Advertiser)) == 0


def test_a_taken_domain_is_refused_by_the_field(console, session):
    AdvertiserFactory(name="Cola", domain="cola.example")
    response = console.post("/admin/advertisers/new", {"name": "Copy", "domain": "WWW.cola.example"})
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert (
        '<p class="error" id="domain-error">Another advertiser (“Cola”) already has this domain.</p>' in page
    )


def test_editing_shows_the_values_and_saves_the_changes(console, session):
    advertiser = AdvertiserFactory(name="Before", domain="before.example")
    page = console.page(f"/admin/advertisers/{advertiser.id}/edit")
    assert 'value="Before"' in page and 'value="before.example"' in page
    response = console.post(
        f"/admin/advertisers/{advertiser.id}/edit", {"name": "After", "domain": "after.example"}
    )
    assert response.status_code == 303
    session.refresh(advertiser)
    assert (advertiser.name, advertiser.domain) == ("After", "after.example")
    assert flashes(console.page("/admin/advertisers")) == ["Changes saved."]
    invalid = console.post(f"/admin/advertisers/{advertiser.id}/edit", {"name": "After", "domain": "nope"})
    assert invalid.status_code == 400
    assert console.get("/admin/advertisers/0b8f3a2e-4c1d-4f5e-9a7b-123456789abc/edit").status_code == 404


def test_deleting_asks_first_then_deletes(console, session):
    advertiser_id = AdvertiserFactory(name="Gone").id
    confirm = console.page(f"/admin/advertisers/{advertiser_id}/delete")
    assert "Delete “Gone”?" in confirm and "Delete advertiser" in confirm
    response = console.post(f"/admin/advertisers/{advertiser_id}/delete")
    assert (response.status_code, response.headers["Location"]) == (303, "/admin/advertisers")
    session.expire_all()
    assert session.get(Advertiser, advertiser_id) is None
    assert flashes(console.page("/admin/advertisers")) == ["Advertiser “Gone” deleted."]


def test_an_advertiser_campaigns_name_is_not_deleted(console, session):
    advertiser = AdvertiserFactory(name="Busy")
    CampaignFactory(advertiser=advertiser)
    response = console.post(f"/admin/advertisers/{advertiser.id}/delete")
    assert (response.status_code, response.headers["Location"]) == (303, "/admin/advertisers")
    session.expire_all()
    assert session.get(Advertiser, advertiser.id) is not None
    assert flashes(console.page("/admin/advertisers")) == [
        "“Busy” is the advertiser of 1 campaign: give them another advertiser or delete them first"
    ]


# The campaign form's advertiser and category


def test_the_campaign_form_offers_every_advertiser(console, session):
    cola = AdvertiserFactory(name="Cola", domain="cola.example")
    page = console.page("/admin/campaigns/new")
    assert '<select id="advertiser_id" name="advertiser_id"' in page
    assert '<option value="" selected>None</option>' in page
    assert f'<option value="{cola.id}">Cola (cola.example)</option>' in page
    assert '<input id="category" name="category" type="text" value=""' in page
    assert '<input id="category_exclusive" name="category_exclusive" type="checkbox" value="true"' in page


def test_creating_a_campaign_with_its_advertiser_and_category(console, session):
    cola = AdvertiserFactory(name="Cola", domain="cola.example")
    form = FORM | {"advertiser_id": str(cola.id), "category": "iab22-1", "category_exclusive": "true"}
    response = console.post("/admin/campaigns/new", form)
    assert response.status_code == 303
    campaign = session.scalar(sa.select(Campaign))
    assert (campaign.advertiser_id, campaign.category, campaign.category_exclusive) == (
        cola.id,
        "IAB22-1",
        True,
    )
    page = console.page(response.headers["Location"])
    assert "Advertiser: <strong>Cola</strong> (cola.example)" in page
    assert "Category: <strong>IAB22-1</strong> (exclusive)" in page


def test_editing_shows_changes_and_clears_the_advertiser_and_category(console, session):
    cola = AdvertiserFactory(name="Cola", domain="cola.example")
    campaign = CampaignFactory(advertiser=cola, category="1534", category_exclusive=True)
    page = console.page(f"/admin/campaigns/{campaign.id}/edit")
    assert f'<option value="{cola.id}" selected>Cola (cola.example)</option>' in page
    assert 'value="1534"' in page
    assert re.search(r'name="category_exclusive" type="checkbox" value="true"\s+checked', page)
    form = {
        "name": campaign.name,
        "budget_total": "1000.00",
        "start_date": campaign.start_date.strftime("%Y-%m-%dT%H:%M:%S"),
        "end_date": campaign.end_date.strftime("%Y-%m-%dT%H:%M:%S"),
        "advertiser_id": "",
        "category": "",
    }  # the checkbox unticked: not sent
    assert console.post(f"/admin/campaigns/{campaign.id}/edit", form).status_code == 303
    session.refresh(campaign)
    assert (campaign.advertiser_id, campaign.category, campaign.category_exclusive) == (None, None, False)
    assert "Advertiser: none" in console.page(f"/admin/campaigns/{campaign.id}")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"category": "food"}, "category"),
        ({"advertiser_id": "0b8f3a2e-4c1d-4f5e-9a7b-123456789abc"}, "advertiser_id"),
        ({"advertiser_id": "cola"}, "advertiser_id"),
    ],
)
def test_campaign_form_errors_show_by_the_advertiser_and_category(console, auth, session, changes, field):
    api_body = {
        name: value + "Z" if name.endswith("_date") else value for name, value in (FORM | changes).items()
    }
    api = console.client.post("/api/v1/campaigns", json=api_body, headers=auth)
    assert api.status_code == 400
    message = console_words(FORM | changes, field, api.get_json()["details"][field])
    response = console.post("/admin/campaigns/new", FORM | changes)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert f'<p class="error" id="{field}-error">{message}</p>' in page
    assert f'<li><a href="#{field}">' in page
    assert session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0
