"""The advertiser API, and the advertiser and category of a campaign, on PostgreSQL and SQLite."""

import uuid

import pytest
import sqlalchemy as sa

from app.advertisers.models import Advertiser
from app.campaigns.models import Campaign
from tests.api.test_campaigns import campaign_body
from tests.factories import AdvertiserFactory, CampaignFactory, CreativeFactory
from tests.serving_helpers import get_vast, refresh, runtime

URL = "/api/v1/advertisers"
CAMPAIGNS = "/api/v1/campaigns"
MISSING = "0b8f3a2e-4c1d-4f5e-9a7b-123456789abc"


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def create(client, auth, **body):
    response = client.post(URL, json={"name": "Cola Co", "domain": "cola.example.com"} | body, headers=auth)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_create_then_get(client, auth):
    body = create(client, auth, name=" Cola Co ")
    assert (body["name"], body["domain"]) == ("Cola Co", "cola.example.com")
    assert uuid.UUID(body["id"]) and body["created_at"] and body["updated_at"]
    fetched = client.get(f"{URL}/{body['id']}", headers=auth)
    assert (fetched.status_code, fetched.get_json()) == (200, body)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("brand.example.com", "brand.example.com"),
        ("Brand.Example.COM", "brand.example.com"),
        ("www.brand.example.com", "brand.example.com"),
        ("https://www.brand.example.com/spring?utm=1#top", "brand.example.com"),
        ("http://brand.example.com:8080", "brand.example.com"),
        ("//brand.example.com/", "brand.example.com"),
        ("  brand.example.com.  ", "brand.example.com"),
        ("HTTPS://WWW.BRAND.EXAMPLE", "brand.example"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("my-brand.co.uk", "my-brand.co.uk"),
        ("3m.example", "3m.example"),
    ],
)
def test_the_domain_is_stored_as_openrtb_adomain_has_it(client, auth, given, stored):
    assert create(client, auth, domain=given)["domain"] == stored


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"name": ...}, "name", "Missing data for required field."),
        ({"name": ""}, "name", "Length must be between 1 and 255."),
        ({"name": "   "}, "name", "Must not be blank."),
        ({"name": "x" * 256}, "name", "Length must be between 1 and 255."),
        ({"name": "Cola\x00Co"}, "name", "Must not contain control characters."),
        ({"name": "Cola\nCo"}, "name", "Must not contain control characters."),
        ({"domain": ...}, "domain", "Missing data for required field."),
        ({"domain": ""}, "domain", "Must be a domain name"),
        ({"domain": "localhost"}, "domain", "Must be a domain name"),
        ({"domain": "www.com"}, "domain", "Must be a domain name"),
        ({"domain": "192.168.0.1"}, "domain", "Must be a domain name"),
        ({"domain": "[::1]"}, "domain", "Must be a domain name"),
        ({"domain": "brand example.com"}, "domain", "Must be a domain name"),
        ({"domain": "-brand.example.com"}, "domain", "Must be a domain name"),
        ({"domain": "brand..example.com"}, "domain", "Must be a domain name"),
        ({"domain": "brand_x.example.com"}, "domain", "Must be a domain name"),
        ({"domain": "user@brand.example.com"}, "domain", "Must be a domain name"),
        ({"domain": "https://"}, "domain", "Must be a domain name"),
        ({"domain": "a" * 64 + ".example.com"}, "domain", "Must be a domain name"),
        ({"domain": ".".join(["a" * 60] * 5)}, "domain", "Must be a domain name"),
        ({"domain": "x" * 3000}, "domain", "Longer than 2048 characters."),
        ({"domain": 42}, "domain", "Not a valid string."),
        ({"adomain": "x.example"}, "adomain", "Unknown field."),
    ],
)
def test_create_refuses_invalid_fields_with_400_naming_the_field(client, auth, session, body, field, message):
    payload = {
        k: v for k, v in ({"name": "Cola Co", "domain": "cola.example.com"} | body).items() if v is not ...
    }
    response = client.post(URL, json=payload, headers=auth)
    assert response.status_code == 400
    assert message in response.get_json()["details"][field]
    assert response.get_json()["error"].startswith("Invalid request")
    assert count(session, Advertiser) == 0


def test_one_advertiser_per_domain_whatever_its_spelling(client, auth, session):
    create(client, auth)
    response = client.post(
        URL, json={"name": "Other", "domain": "https://WWW.Cola.example.com/"}, headers=auth
    )
    assert response.status_code == 409
    body = response.get_json()
    assert "cola.example.com" in body["error"] and "Cola Co" in body["error"]
    assert body["details"] == {"domain": "Another advertiser (“Cola Co”) already has this domain."}
    assert count(session, Advertiser) == 1


def test_create_refuses_non_json(client, auth):
    assert client.post(URL, data="name=x", headers=auth).status_code == 415
    assert client.post(URL, data="{", content_type="application/json", headers=auth).status_code == 400


def test_list_is_by_name_and_paged(client, auth, session):
    for name in ("delta", "Alpha", "charlie", "Bravo", "echo"):
        AdvertiserFactory(name=name)
    first = client.get(f"{URL}?page=1&per_page=2", headers=auth).get_json()
    assert (first["total"], first["page"], first["per_page"]) == (5, 1, 2)
    names = [
        item["name"]
        for page in (1, 2, 3)
        for item in client.get(f"{URL}?page={page}&per_page=2", headers=auth).get_json()["items"]
    ]
    assert names == ["Alpha", "Bravo", "charlie", "delta", "echo"]
    assert client.get(f"{URL}?page=9", headers=auth).get_json()["items"] == []


@pytest.mark.parametrize("query", ["page=0", "per_page=0", "per_page=101", "page=x"])
def test_list_refuses_bad_query_parameters(client, auth, query):
    response = client.get(f"{URL}?{query}", headers=auth)
    assert response.status_code == 400
    assert response.get_json()["details"]


@pytest.mark.parametrize("path", ["/not-a-uuid", f"/{MISSING}"])
def test_unknown_or_malformed_ids_are_404(client, auth, path):
    for method in ("get", "delete"):
        response = getattr(client, method)(URL + path, headers=auth)
        assert response.status_code == 404
        assert response.get_json()["error"]
    assert client.patch(URL + path, json={"name": "x"}, headers=auth).status_code == 404


def test_patch_changes_the_name_or_the_domain(client, auth, session):
    advertiser = create(client, auth)
    renamed = client.patch(f"{URL}/{advertiser['id']}", json={"name": " Cola Company "}, headers=auth)
    assert renamed.status_code == 200
    assert (renamed.get_json()["name"], renamed.get_json()["domain"]) == ("Cola Company", "cola.example.com")
    moved = client.patch(
        f"{URL}/{advertiser['id']}", json={"domain": "https://www.Cola.example/"}, headers=auth
    )
    assert moved.get_json()["domain"] == "cola.example"
    same = client.patch(f"{URL}/{advertiser['id']}", json={"domain": "cola.example"}, headers=auth)
    assert same.status_code == 200


def test_patch_to_a_taken_domain_is_a_conflict_and_changes_nothing(client, auth, session):
    create(client, auth)
    other = create(client, auth, name="Rival", domain="rival.example.com")
    response = client.patch(
        f"{URL}/{other['id']}", json={"name": "X", "domain": "cola.example.com"}, headers=auth
    )
    assert response.status_code == 409
    assert "domain" in response.get_json()["details"]
    session.expire_all()
    stored = session.get(Advertiser, uuid.UUID(other["id"]))
    assert (stored.name, stored.domain) == ("Rival", "rival.example.com")


def test_patch_validates_like_create(client, auth, session):
    advertiser = create(client, auth)
    response = client.patch(f"{URL}/{advertiser['id']}", json={"domain": "nope"}, headers=auth)
    assert response.status_code == 400
    assert "domain" in response.get_json()["details"]
    assert client.patch(f"{URL}/{advertiser['id']}", json={"name": None}, headers=auth).status_code == 400


def test_an_advertiser_with_campaigns_cannot_be_deleted(client, auth, session):
    advertiser = AdvertiserFactory(name="Cola Co")
    campaigns = [CampaignFactory(advertiser=advertiser) for _ in range(2)]
    response = client.delete(f"{URL}/{advertiser.id}", headers=auth)
    assert response.status_code == 409
    assert response.get_json()["error"].startswith("“Cola Co” is the advertiser of 2 campaigns")
    assert count(session, Advertiser) == 1
    for campaign in campaigns:
        assert client.delete(f"{CAMPAIGNS}/{campaign.id}", headers=auth).status_code == 204
    assert client.delete(f"{URL}/{advertiser.id}", headers=auth).status_code == 204
    assert client.get(f"{URL}/{advertiser.id}", headers=auth).status_code == 404


def test_the_database_refuses_to_delete_an_advertiser_a_campaign_names(app, session):
    advertiser = AdvertiserFactory()
    CampaignFactory(advertiser=advertiser)
    with pytest.raises(sa.exc.IntegrityError):
        session.execute(sa.delete(Advertiser).where(Advertiser.id == advertiser.id))
        session.flush()
    session.rollback()


@pytest.mark.parametrize(
    ("method", "path"), [("get", ""), ("post", ""), ("get", "/{id}"), ("patch", "/{id}"), ("delete", "/{id}")]
)
def test_every_advertiser_route_needs_a_token(client, session, method, path):
    advertiser = AdvertiserFactory()
    response = getattr(client, method)(URL + path.format(id=advertiser.id), json={})
    assert response.status_code == 401


def test_the_openapi_document_describes_advertisers(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {f"{URL}", f"{URL}/{{advertiser_id}}"} <= set(spec["paths"])
    assert set(spec["components"]["schemas"]["AdvertiserInput"]["required"]) == {"name", "domain"}
    assert "409" in spec["paths"][f"{URL}/{{advertiser_id}}"]["delete"]["responses"]
    campaign = spec["components"]["schemas"]["Campaign"]["properties"]
    assert {"advertiser_id", "advertiser_name", "advertiser_domain", "category", "category_exclusive"} <= set(
        campaign
    )


# The advertiser and category of a campaign


def test_a_campaign_names_its_advertiser_and_category(client, auth, session):
    advertiser = create(client, auth)
    body = campaign_body(advertiser_id=advertiser["id"], category="1534", category_exclusive=True)
    created = client.post(CAMPAIGNS, json=body, headers=auth)
    assert created.status_code == 201
    campaign = created.get_json()
    assert {key: campaign[key] for key in campaign if key.startswith(("advertiser", "category"))} == {
        "advertiser_id": advertiser["id"],
        "advertiser_name": "Cola Co",
        "advertiser_domain": "cola.example.com",
        "category": "1534",
        "category_exclusive": True,
    }
    assert client.get(f"{CAMPAIGNS}/{campaign['id']}", headers=auth).get_json() == campaign
    listed = client.get(CAMPAIGNS, headers=auth).get_json()["items"]
    assert listed[0]["advertiser_name"] == "Cola Co"


def test_a_campaign_without_advertiser_or_category(client, auth):
    campaign = client.post(CAMPAIGNS, json=campaign_body(), headers=auth).get_json()
    assert (campaign["advertiser_id"], campaign["advertiser_name"], campaign["advertiser_domain"]) == (
        None,
    ) * 3
    assert (campaign["category"], campaign["category_exclusive"]) == (None, False)


def test_an_unknown_advertiser_is_a_400_naming_the_field(client, auth, session):
    response = client.post(CAMPAIGNS, json=campaign_body(advertiser_id=MISSING), headers=auth)
    assert response.status_code == 400
    assert response.get_json()["details"] == {"advertiser_id": "No advertiser has this id."}
    assert count(session, Campaign) == 0
    campaign = CampaignFactory()
    response = client.patch(f"{CAMPAIGNS}/{campaign.id}", json={"advertiser_id": MISSING}, headers=auth)
    assert response.status_code == 400
    assert "advertiser_id" in response.get_json()["details"]
    malformed = client.post(CAMPAIGNS, json=campaign_body(advertiser_id="cola"), headers=auth)
    assert (malformed.status_code, list(malformed.get_json()["details"])) == (400, ["advertiser_id"])


@pytest.mark.parametrize(
    ("given", "stored"),
    [("1534", "1534"), ("  1001 ", "1001"), ("IAB22-1", "IAB22-1"), ("iab22-1", "IAB22-1"), ("IAB3", "IAB3")],
)
def test_the_category_is_an_iab_id(client, auth, given, stored):
    campaign = client.post(CAMPAIGNS, json=campaign_body(category=given), headers=auth).get_json()
    assert campaign["category"] == stored


@pytest.mark.parametrize(
    "category", ["", "food", "IAB", "IAB22-", "IAB-1", "15 34", "1" * 17, "IAB22_1", 1534]
)
def test_other_categories_are_refused(client, auth, session, category):
    response = client.post(CAMPAIGNS, json=campaign_body(category=category), headers=auth)
    assert response.status_code == 400
    assert list(response.get_json()["details"]) == ["category"]
    assert count(session, Campaign) == 0


def test_patch_sets_changes_and_clears_the_advertiser_and_category(client, auth, session):
    cola, rival = AdvertiserFactory(name="Cola"), AdvertiserFactory(name="Rival")
    campaign = CampaignFactory()
    url = f"{CAMPAIGNS}/{campaign.id}"
    body = client.patch(
        url, json={"advertiser_id": str(cola.id), "category": "IAB8"}, headers=auth
    ).get_json()
    assert (body["advertiser_name"], body["category"], body["category_exclusive"]) == ("Cola", "IAB8", False)
    body = client.patch(url, json={"advertiser_id": str(rival.id), "category_exclusive": True}, headers=auth)
    assert (body.get_json()["advertiser_name"], body.get_json()["category_exclusive"]) == ("Rival", True)
    body = client.patch(url, json={"advertiser_id": None, "category": None}, headers=auth).get_json()
    assert (body["advertiser_id"], body["advertiser_name"], body["category"]) == (None, None, None)
    session.expire_all()
    assert session.get(Campaign, campaign.id).advertiser_id is None


def test_the_catalog_carries_the_advertiser_and_follows_its_changes(app, client, auth, session):
    advertiser = AdvertiserFactory(name="Cola Co", domain="cola.example.com")
    campaign = CampaignFactory(
        status="active", advertiser=advertiser, category="1534", category_exclusive=True
    )
    CreativeFactory(campaign=campaign)
    plain = CreativeFactory()  # a campaign of no advertiser
    refresh(app)
    entries = runtime(app).catalog.current().catalog.campaigns
    entry = entries[campaign.id]
    assert (entry.advertiser_name, entry.advertiser_domain) == ("Cola Co", "cola.example.com")
    assert (entry.category, entry.category_exclusive, entry.category_authority) == (
        "1534",
        True,
        "https://iabtechlab.com/standards/ad-product-taxonomy",
    )
    other = entries[plain.campaign_id]
    assert (other.advertiser_name, other.advertiser_domain, other.category, other.category_exclusive) == (
        None,
        None,
        None,
        False,
    )
    # An advertiser's own write changes what serves: the catalog version moves, and the next load has it.
    patched = client.patch(
        f"{URL}/{advertiser.id}", json={"name": "Cola", "domain": "cola.example"}, headers=auth
    )
    assert patched.status_code == 200
    refresh(app)
    entry = runtime(app).catalog.current().catalog.campaigns[campaign.id]
    assert (entry.advertiser_name, entry.advertiser_domain) == ("Cola", "cola.example")


@pytest.mark.parametrize("version", ["3.0", "4.0", "4.1", "4.2", "4.3"])
def test_served_vast_names_the_advertiser_and_category(app, client, session, version):
    advertiser = AdvertiserFactory(name="Cola Co", domain="cola.example.com")
    campaign = CampaignFactory(status="active", advertiser=advertiser, category="IAB22-1")
    CreativeFactory(campaign=campaign)
    refresh(app)
    document = get_vast(client, f"vast_version={version}", version=version)
    assert document.xpath("string(//*[local-name()='Advertiser'])") == "Cola Co"
    categories = document.xpath("//*[local-name()='Category']")
    if version == "3.0":
        assert categories == []  # the 3.0 schema has no Category
    else:
        assert [(c.text, c.get("authority")) for c in categories] == [
            ("IAB22-1", "https://iabtechlab.com/standards/content-taxonomy")
        ]
