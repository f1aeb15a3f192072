"""POST /api/v1/delivery/diagnosis: for a sample request as a player sends it, every campaign with the
first rule that excluded it, or its share of the draw; the same state /vast decides from."""

from __future__ import annotations

from datetime import timedelta

from app.db import utcnow
from tests.factories import AdvertiserFactory, CampaignFactory, CreativeFactory
from tests.serving_helpers import refresh, runtime

URL = "/api/v1/delivery/diagnosis"


def _rules(response) -> dict[str, str]:
    assert response.status_code == 200, response.data
    return {campaign["name"]: campaign["rule"] for campaign in response.json["campaigns"]}


def test_every_campaign_gets_its_first_excluding_rule(client, app, auth, session):
    rival = AdvertiserFactory(domain="rival.example")
    CreativeFactory(campaign=CampaignFactory(name="serves", status="active"), duration=30.0)
    CreativeFactory(campaign=CampaignFactory(name="too long", status="active"), duration=60.0)
    CreativeFactory(campaign=CampaignFactory(name="paused", status="paused"), duration=30.0)
    CreativeFactory(
        campaign=CampaignFactory(name="rival", status="active", advertiser_id=rival.id), duration=30.0
    )
    CreativeFactory(
        campaign=CampaignFactory(name="later", status="active", start_date=utcnow() + timedelta(days=2)),
        duration=30.0,
    )
    CampaignFactory(name="no creative", status="active")
    CreativeFactory(campaign=CampaignFactory(name="inactive creative", status="active"), status="inactive")
    refresh(app)

    response = client.post(
        URL,
        json={
            "url": "https://ads.example.com/vast?max_duration=30&badv=rival.example&ifa=[IFA]",
            "headers": {"User-Agent": "Roku/DVP-12.0 (12.0.0.4182-88)", "X-Device-IP": "203.0.113.7"},
        },
        headers=auth,
    )
    assert _rules(response) == {
        "serves": "competes",
        "too long": "duration",
        "paused": "status",
        "rival": "blocked",
        "later": "flight",
        "no creative": "creatives",
        "inactive creative": "creatives",
    }
    body = response.json
    assert body["campaigns"][0]["name"] == "serves" and body["campaigns"][0]["share"] == 1.0
    assert body["request"]["kind"] == "single" and body["request"]["max_duration"] == 30.0
    assert body["request"]["warnings"] == {"ifa": "unexpanded macro"}  # as /vast would report it
    assert body["by_rule"]["creatives"] == 2

    # What /vast does with the same request agrees: only "serves" can fill it.
    vast = client.get("/vast?max_duration=30&badv=rival.example", headers={"X-Device-IP": "203.0.113.7"})
    assert response.json["campaigns"][0]["campaign_id"] in vast.data.decode()


def test_a_pod_request_and_its_stream(client, app, auth, session):
    for name in ("first", "second"):
        CreativeFactory(campaign=CampaignFactory(name=name, status="active"), duration=30.0)
    refresh(app)
    shown = client.get("/vast?max_duration=30&session_id=stream-9")
    assert shown.status_code == 200
    runtime(app).streams.flush()

    body = {"url": "pod_max_dur=60", "parameters": {"session_id": "stream-9"}}
    rules = _rules(client.post(URL, json=body, headers=auth))
    assert sorted(rules.values()) == ["competes", "separation"]  # the campaign the stream showed is out
    assert _rules(client.post(URL, json={"parameters": {"pod_max_dur": "60"}}, headers=auth)) == {
        "first": "competes",
        "second": "competes",
    }


def test_region_mismatches_are_explained_with_the_device_location(client, app, auth, session):
    targeting = {"region": {"include": ["DE-BY", "US-CA"]}}
    CreativeFactory(
        campaign=CampaignFactory(name="west", status="active", targeting=targeting), duration=30.0
    )
    refresh(app)
    in_england = {"url": "/vast?max_duration=30", "headers": {"X-Device-IP": "81.2.69.160"}}
    body = client.post(URL, json=in_england, headers=auth).json
    assert (body["request"]["country"], body["request"]["region"]) == ("GB", "GB-ENG")
    assert body["campaigns"][0]["rule"] == "targeting"
    assert body["campaigns"][0]["detail"] == "region: the request's (GB-ENG) is not among DE-BY, US-CA"
    in_california = {"url": "/vast?max_duration=30", "headers": {"X-Device-IP": "8.8.8.8"}}
    body = client.post(URL, json=in_california, headers=auth).json
    assert body["request"]["region"] == "US-CA" and body["campaigns"][0]["rule"] == "competes"


def test_bad_input_is_a_clear_400_and_the_route_needs_the_admin(client, auth):
    response = client.post(URL, json={"headers": "User-Agent: x"}, headers=auth)
    assert response.status_code in (400, 422)
    assert "headers" in str(response.json)
    assert client.post(URL, json={}).status_code == 401
