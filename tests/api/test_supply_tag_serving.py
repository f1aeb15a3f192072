"""/vast with `tag=<id>`: the tag's defaults fill what the request leaves out, campaigns limited to tags
serve only their tags' requests, and an unknown tag is ignored with a warning (PostgreSQL and SQLite)."""

from __future__ import annotations

import pytest
from lxml import etree

from app.serving.request import parse_ad_request
from app.supply.defaults import SupplyTagEntry
from tests.api.test_campaigns import URL as CAMPAIGNS
from tests.api.test_campaigns import campaign_body
from tests.factories import CampaignFactory, CreativeFactory, SupplyTagFactory
from tests.serving_helpers import NS, get_vast, refresh


def durations(document) -> list[str]:
    return [d.text for d in document.iterfind(".//v:Duration", namespaces=NS)]


@pytest.fixture
def creatives(app, session):
    """Creatives of 10, 20 and 30 seconds, each of its own untargeted campaign."""
    made = {seconds: CreativeFactory(duration=float(seconds)) for seconds in (10, 20, 30)}
    refresh(app)
    return made


def test_the_tags_durations_apply_when_the_request_gives_none(client, app, session, creatives):
    tag = SupplyTagFactory(min_duration=25, max_duration=30)
    refresh(app)
    for _ in range(10):
        assert durations(get_vast(client, f"tag={tag.id}")) == ["00:00:30.000"]
    # The request's own values win over the tag's, under any of their names.
    for _ in range(10):
        assert durations(get_vast(client, f"tag={tag.id}&min_duration=0&dur=10")) == ["00:00:10.000"]


def test_the_tags_break_and_vast_version_apply(client, app, session, creatives):
    tag = SupplyTagFactory(pod_max_duration=40, pod_max_ads=2, vast_version="3.0")
    refresh(app)
    document = get_vast(client, f"tag={tag.id}", version="3.0")
    assert document.get("version") == "3.0"
    ads = document.findall("v:Ad", namespaces=NS) or document.findall("Ad")
    sequenced = [ad for ad in ads if ad.get("sequence")]
    assert 1 <= len(sequenced) <= 2
    # A stitcher's own avail duration replaces the tag's break length: one 10 s ad fits 12 s.
    document = get_vast(client, f"tag={tag.id}&avail_duration_secs=12&vast_version=4.2")
    assert durations(document) == ["00:00:10.000"]


@pytest.mark.parametrize(
    ("query", "warning"),
    [("tag=999999", "tag: unknown supply tag"), ("tag=abc", "tag: not a supply tag id"), ("tag=[TAG]", "")],
)
def test_an_unknown_or_malformed_tag_never_loses_the_ad(client, app, session, creatives, query, warning):
    response = client.get(f"/vast?max_duration=30&{query}")
    assert response.status_code == 200
    assert etree.fromstring(response.data).find("{*}Ad") is not None
    assert (warning or "tag: unexpanded macro") in response.headers["X-Ad-Request-Warnings"]
    assert client.get(f"/vast?max_duration=30&strict=1&{query}").status_code == 400


def test_macros_of_every_preset_left_unexpanded_are_ignored():
    raw = {
        "tag": "7",
        "ip": "ROKU_ADS_EXTERNAL_IP",
        "ua": "[session.user_agent]",
        "ifa": "[player_params.ifa]",
        "lmt": "ROKU_ADS_LIMIT_TRACKING",
        "gdpr": "%%GDPR%%",
        "avail_duration_secs": "%%BREAK_DURATION%%",
    }
    request = parse_ad_request(raw, {}, "192.0.2.1", {7: SupplyTagEntry(7)})
    assert request.supply_tag == 7 and request.pod is None
    assert (request.ifa, request.lmt, request.gdpr, request.ip) == (None, None, None, "192.0.2.1")
    assert set(request.warnings) == set(raw) - {"tag"}
    assert set(request.warnings.values()) == {"unexpanded macro"}


@pytest.mark.parametrize(("raw", "lmt"), [("true", 1), ("FALSE", 0), ("1", 1), ("0", 0)])
def test_roku_limit_tracking_reads_true_and_false(raw, lmt):
    assert parse_ad_request({"lmt": raw}, {}, None).lmt == lmt


def served_campaigns(client, query: str, draws: int = 30) -> set[str]:
    seen = set()
    for _ in range(draws):
        document = get_vast(client, query)
        seen |= {ad.get("id") for ad in document.findall("v:Ad", namespaces=NS)}
    return seen


def test_a_campaign_limited_to_tags_serves_only_their_requests(client, app, session):
    roku, samsung = SupplyTagFactory(platform="roku"), SupplyTagFactory(platform="tizen")
    session.flush()
    limited = CreativeFactory(
        campaign=CampaignFactory(status="active", targeting={"supply_tag": {"include": [roku.id]}})
    ).campaign_id
    not_samsung = CreativeFactory(
        campaign=CampaignFactory(status="active", targeting={"supply_tag": {"exclude": [samsung.id]}})
    ).campaign_id
    anyone = CreativeFactory().campaign_id
    refresh(app)
    ids = {name: str(value) for name, value in (("limited", limited), ("not", not_samsung), ("any", anyone))}
    assert served_campaigns(client, f"tag={roku.id}") == set(ids.values())
    assert served_campaigns(client, f"tag={samsung.id}") == {ids["any"]}
    assert served_campaigns(client, "max_duration=30") == {ids["not"], ids["any"]}
    assert served_campaigns(client, "tag=424242") == {ids["not"], ids["any"]}  # unknown: untagged
    for _ in range(5):  # pods too
        assert served_campaigns(client, f"tag={samsung.id}&pod_max_dur=60", draws=1) == {ids["any"]}


def test_campaign_targeting_names_existing_tags_and_a_named_tag_cannot_be_deleted(client, auth, app, session):
    tag = client.post("/api/v1/supply-tags", json={"name": "CTV"}, headers=auth).get_json()
    refused = client.post(
        CAMPAIGNS, json=campaign_body(targeting={"supply_tag": {"include": [tag["id"] + 1000]}}), headers=auth
    )
    assert refused.status_code == 400
    assert "No supply tag has the id" in refused.get_json()["details"]["targeting.supply_tag"]
    bad = client.post(
        CAMPAIGNS, json=campaign_body(targeting={"supply_tag": {"include": ["x"]}}), headers=auth
    )
    assert "Not a valid integer." in str(bad.get_json()["details"])
    campaign = client.post(
        CAMPAIGNS,
        json=campaign_body(name="Spring", targeting={"supply_tag": {"include": [tag["id"]]}}),
        headers=auth,
    ).get_json()
    assert campaign["targeting"] == {"supply_tag": {"include": [tag["id"]]}}
    conflict = client.delete(f"/api/v1/supply-tags/{tag['id']}", headers=auth)
    assert conflict.status_code == 409 and "“Spring”" in conflict.get_json()["error"]
    client.patch(f"{CAMPAIGNS}/{campaign['id']}", json={"targeting": {}}, headers=auth)
    assert client.delete(f"/api/v1/supply-tags/{tag['id']}", headers=auth).status_code == 204


def test_a_tag_change_reaches_serving_through_the_catalog_version(client, auth, app, session, creatives):
    tag = client.post(
        "/api/v1/supply-tags", json={"name": "CTV", "max_duration": 10}, headers=auth
    ).get_json()
    refresh(app)
    assert durations(get_vast(client, f"tag={tag['id']}")) == ["00:00:10.000"]
    client.patch(
        f"/api/v1/supply-tags/{tag['id']}", json={"min_duration": 20, "max_duration": 20}, headers=auth
    )
    refresh(app)
    assert durations(get_vast(client, f"tag={tag['id']}")) == ["00:00:20.000"]


def test_vmap_carries_the_tag_to_every_break(client, app, session, creatives):
    tag = SupplyTagFactory()
    refresh(app)
    response = client.get(f"/vmap?duration=600&midrolls=300&tag={tag.id}")
    assert response.status_code == 200
    uris = [uri.text for uri in etree.fromstring(response.data).iter("{*}AdTagURI")]
    assert uris and all(f"tag={tag.id}" in uri for uri in uris)
