"""Hostile input is stored and echoed literally, and never breaks a response."""

import json

import pytest
import sqlalchemy as sa
from lxml import etree

from app.campaigns.models import Campaign
from tests.factories import CampaignFactory, CreativeFactory
from tests.serving_helpers import NS, refresh
from vast.validate import validate

INJECTIONS = [
    "'; DROP TABLE campaigns; --",
    '" OR 1=1 --',
    "1' UNION SELECT password_hash FROM users --",
    "<script>alert(1)</script>",
    '<b>"Q&A" ]]>',
    "${jndi:ldap://x}",
    "%00\u202e\U0001f600",
]
BODY = {
    "budget_total": "100.00",
    "start_date": "2026-01-01T00:00:00Z",
    "end_date": "2030-01-01T00:00:00Z",
}


@pytest.mark.parametrize("text", INJECTIONS)
def test_text_fields_are_stored_and_echoed_literally(client, auth, session, text):
    response = client.post(
        "/api/v1/campaigns", json={**BODY, "name": text, "description": text}, headers=auth
    )
    assert response.status_code == 201
    created = response.get_json()
    assert (created["name"], created["description"]) == (text.strip(), text)
    fetched = client.get(f"/api/v1/campaigns/{created['id']}", headers=auth).get_json()
    assert fetched["name"] == text.strip()
    assert session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 1  # the table is still there


@pytest.mark.parametrize("text", INJECTIONS)
def test_query_parameters_carry_no_injection(client, auth, session, text):
    CampaignFactory()
    for query in ({"status": text}, {"page": text}, {"per_page": text}):
        response = client.get("/api/v1/campaigns", query_string=query, headers=auth)
        assert response.status_code == 400
    assert client.get("/api/v1/campaigns", headers=auth).get_json()["total"] == 1
    response = client.get("/api/v1/dashboard", query_string={"x": text}, headers=auth)
    assert response.status_code == 200


@pytest.mark.parametrize("version", ["3.0", "4.1", "4.2"])
def test_metacharacters_in_names_keep_the_vast_valid(client, app, session, version):
    campaign = CampaignFactory(
        name="</AdTitle><Impression>http://evil</Impression> & ]]> <!--", status="active"
    )
    CreativeFactory(campaign=campaign)
    refresh(app)
    body = client.get(f"/vast?vast_version={version}").data
    validate(body, version)
    document = etree.fromstring(body)
    title = document.find(".//v:AdTitle", NS) if version != "3.0" else document.find(".//AdTitle")
    assert title.text == campaign.name
    impressions = (
        document.findall(".//v:Impression", NS) if version != "3.0" else document.findall(".//Impression")
    )
    assert len(impressions) == 1 and "evil" not in impressions[0].text


def test_oversized_json_bodies_are_413(client, auth):
    response = client.post(
        "/api/v1/campaigns",
        data=json.dumps({**BODY, "name": "x" * 2_000_000}),
        headers=auth,
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.is_json and response.get_json()["error"]


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_is_a_400(client, auth, depth):
    for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        response = client.post("/api/v1/campaigns", data=body, headers=auth, content_type="application/json")
        assert response.status_code == 400, depth
        assert response.is_json


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"]
)
def test_wrong_content_types_are_415(client, auth, content_type):
    response = client.post(
        "/api/v1/campaigns", data=json.dumps(BODY), headers=auth, content_type=content_type
    )
    assert response.status_code == 415


@pytest.mark.parametrize(
    "segment",
    ["..", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "../../etc/passwd", "%00", "1;DROP TABLE x", "a" * 500],
)
def test_path_traversal_in_every_path_parameter(client, auth, segment):
    for path in (
        f"/api/v1/campaigns/{segment}",
        f"/api/v1/campaigns/{segment}/status",
        f"/api/v1/campaigns/{segment}/creatives",
        f"/api/v1/campaigns/{segment}/stats",
        f"/api/v1/creatives/{segment}",
        f"/api/v1/creatives/{segment}/status",
        f"/media/{segment}",
        f"/t/{segment}",
    ):
        response = client.get(path, headers=auth)
        assert response.status_code in (400, 404, 405), (path, response.status_code)
        assert b"root:" not in response.data
