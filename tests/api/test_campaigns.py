import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.campaigns.models import Campaign
from app.db import utcnow
from tests.factories import CampaignFactory

URL = "/api/v1/campaigns"


def campaign_body(**overrides):
    body = {
        "name": "Spring launch",
        "description": "CTV awareness",
        "budget_total": "1500.50",
        "cpm": "12.5",
        "start_date": "2026-01-01T00:00:00Z",
        "end_date": "2027-12-31T23:59:59+02:00",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def test_create_returns_the_draft_campaign_with_exact_money(client, auth):
    response = client.post(URL, json=campaign_body(), headers=auth)
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "draft"
    assert body["budget_total"] == "1500.50"
    assert body["cpm"] == "12.5000"
    assert body["name"] == "Spring launch"
    assert body["start_date"] == "2026-01-01T00:00:00+00:00"
    assert body["end_date"] == "2027-12-31T21:59:59+00:00"
    assert uuid.UUID(body["id"])
    fetched = client.get(f"{URL}/{body['id']}", headers=auth)
    assert fetched.status_code == 200
    assert fetched.get_json() == body


def test_create_uses_the_default_cpm_when_absent(client, auth, settings):
    body = client.post(URL, json=campaign_body(cpm=...), headers=auth).get_json()
    assert body["cpm"] == f"{settings.default_cpm:.4f}"
    body = client.post(URL, json=campaign_body(cpm=None), headers=auth).get_json()
    assert body["cpm"] == f"{settings.default_cpm:.4f}"


def test_money_given_as_a_json_number_is_read_exactly(client, auth):
    body = client.post(URL, json=campaign_body(budget_total=0.1, cpm=2.0005), headers=auth).get_json()
    assert (body["budget_total"], body["cpm"]) == ("0.10", "2.0005")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "Length must be between 1 and 255."),
        ({"name": "   "}, "name", "Must not be blank."),
        ({"name": "x" * 256}, "name", "Length must be between 1 and 255."),
        ({"name": ...}, "name", "Missing data for required field."),
        ({"budget_total": 0}, "budget_total", "Must be greater than 0"),
        ({"budget_total": "-5"}, "budget_total", "Must be greater than 0"),
        ({"budget_total": "abc"}, "budget_total", "Not a valid number."),
        ({"budget_total": False}, "budget_total", "Not a valid number."),
        ({"budget_total": "10.001"}, "budget_total", "At most 2 decimal places."),
        ({"budget_total": "1e13"}, "budget_total", "Must be greater than 0"),
        ({"budget_total": "NaN"}, "budget_total", "Special numeric values"),
        ({"cpm": "0"}, "cpm", "Must be greater than 0"),
        ({"cpm": "1.00001"}, "cpm", "At most 4 decimal places."),
        ({"start_date": "2026-01-01T00:00:00"}, "start_date", "Must include a timezone"),
        ({"start_date": "yesterday"}, "start_date", "Not a valid ISO-8601 datetime."),
        ({"end_date": "2025-01-01T00:00:00Z"}, "end_date", "Must be after start_date."),
        ({"end_date": "2026-01-01T00:00:00Z"}, "end_date", "Must be after start_date."),
        ({"status": "active"}, "status", "Unknown field."),
        ({"budget": "10"}, "budget", "Unknown field."),
    ],
)
def test_create_refuses_invalid_fields_with_400_naming_the_field(
    client, auth, session, overrides, field, message
):
    response = client.post(URL, json=campaign_body(**overrides), headers=auth)
    assert response.status_code == 400
    body = response.get_json()
    assert message in body["details"][field]
    assert body["error"].startswith("Invalid request")
    assert session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0


def test_create_refuses_non_json_and_malformed_json(client, auth):
    assert client.post(URL, data="name=x", headers=auth).status_code == 415
    response = client.post(URL, data="{not json", content_type="application/json", headers=auth)
    assert response.status_code == 400
    assert client.post(URL, json=[1, 2], headers=auth).status_code == 400


def test_list_paginates_and_filters_by_status(client, auth, session):
    for index in range(5):
        CampaignFactory(name=f"c{index}", status="active" if index % 2 else "draft")
    page = client.get(f"{URL}?page=1&per_page=2", headers=auth).get_json()
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (5, 1, 2, 2)
    last = client.get(f"{URL}?page=3&per_page=2", headers=auth).get_json()
    assert len(last["items"]) == 1
    names = {
        item["name"]
        for p in (1, 2, 3)
        for item in client.get(f"{URL}?page={p}&per_page=2", headers=auth).get_json()["items"]
    }
    assert names == {f"c{i}" for i in range(5)}
    active = client.get(f"{URL}?status=active", headers=auth).get_json()
    assert active["total"] == 2
    assert {item["status"] for item in active["items"]} == {"active"}
    assert client.get(f"{URL}?page=99", headers=auth).get_json()["items"] == []


@pytest.mark.parametrize("query", ["page=0", "per_page=0", "per_page=101", "page=x", "status=running"])
def test_list_refuses_bad_query_parameters(client, auth, query):
    response = client.get(f"{URL}?{query}", headers=auth)
    assert response.status_code == 400
    assert response.get_json()["details"]


@pytest.mark.parametrize("path", ["/not-a-uuid", "/0b8f3a2e-4c1d-4f5e-9a7b-123456789abc", "/123"])
def test_unknown_or_malformed_ids_are_404(client, auth, path):
    for method in ("get", "delete"):
        response = getattr(client, method)(URL + path, headers=auth)
        assert response.status_code == 404
        assert response.get_json()["error"]
    response = client.put(URL + path + "/status", json={"status": "active"}, headers=auth)
    assert response.status_code == 404


TRANSITIONS = [
    ("draft", "active", 200),
    ("draft", "completed", 200),
    ("draft", "paused", 409),
    ("draft", "draft", 409),
    ("active", "paused", 200),
    ("active", "completed", 200),
    ("active", "draft", 409),
    ("active", "active", 409),
    ("paused", "active", 200),
    ("paused", "completed", 200),
    ("paused", "draft", 409),
    ("completed", "active", 409),
    ("completed", "paused", 409),
    ("completed", "draft", 409),
]


@pytest.mark.parametrize(("current", "target", "status"), TRANSITIONS)
def test_status_transitions(client, auth, session, current, target, status):
    campaign = CampaignFactory(status=current)
    response = client.put(f"{URL}/{campaign.id}/status", json={"status": target}, headers=auth)
    assert response.status_code == status
    if status == 200:
        assert response.get_json()["status"] == target
    else:
        assert f"from {current} to {target}" in response.get_json()["error"]
        session.expire_all()
        assert session.get(Campaign, campaign.id).status == current


def test_full_lifecycle(client, auth):
    campaign_id = client.post(URL, json=campaign_body(), headers=auth).get_json()["id"]
    for target in ("active", "paused", "active", "completed"):
        response = client.put(f"{URL}/{campaign_id}/status", json={"status": target}, headers=auth)
        assert response.status_code == 200, response.get_json()
    assert client.get(f"{URL}/{campaign_id}", headers=auth).get_json()["status"] == "completed"


def test_status_change_validates_its_body(client, auth, session):
    campaign = CampaignFactory()
    response = client.put(f"{URL}/{campaign.id}/status", json={"status": "running"}, headers=auth)
    assert response.status_code == 400
    assert "status" in response.get_json()["details"]
    assert client.put(f"{URL}/{campaign.id}/status", data="active", headers=auth).status_code == 415


def test_a_campaign_whose_flight_ended_cannot_be_activated(client, auth, session):
    campaign = CampaignFactory(
        start_date=utcnow() - timedelta(days=10), end_date=utcnow() - timedelta(days=1)
    )
    response = client.put(f"{URL}/{campaign.id}/status", json={"status": "active"}, headers=auth)
    assert response.status_code == 409
    assert "end_date" in response.get_json()["error"]


def test_patch_edits_some_fields(client, auth, session):
    campaign = CampaignFactory(name="Before")
    response = client.patch(
        f"{URL}/{campaign.id}", json={"name": " After ", "budget_total": "2000"}, headers=auth
    )
    assert response.status_code == 200
    assert (response.get_json()["name"], response.get_json()["budget_total"]) == ("After", "2000.00")


def test_patch_checks_dates_against_the_stored_ones(client, auth, session):
    campaign = CampaignFactory()
    before = (campaign.start_date - timedelta(days=1)).isoformat()
    response = client.patch(f"{URL}/{campaign.id}", json={"end_date": before}, headers=auth)
    assert response.status_code == 400
    assert response.get_json()["details"] == {"end_date": "Must be after start_date."}


def test_patch_of_a_completed_campaign_is_a_conflict(client, auth, session):
    campaign = CampaignFactory(status="completed")
    assert client.patch(f"{URL}/{campaign.id}", json={"name": "x"}, headers=auth).status_code == 409


def test_delete_removes_the_campaign(client, auth, session):
    campaign = CampaignFactory()
    assert client.delete(f"{URL}/{campaign.id}", headers=auth).status_code == 204
    assert client.get(f"{URL}/{campaign.id}", headers=auth).status_code == 404
    assert client.delete(f"{URL}/{campaign.id}", headers=auth).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ""),
        ("post", ""),
        ("get", "/{id}"),
        ("patch", "/{id}"),
        ("delete", "/{id}"),
        ("put", "/{id}/status"),
    ],
)
def test_every_campaign_route_needs_a_token(client, session, method, path):
    campaign = CampaignFactory()
    response = getattr(client, method)(URL + path.format(id=campaign.id), json={})
    assert response.status_code == 401
