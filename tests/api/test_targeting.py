"""Targeting through the campaign API (validation, OpenAPI) and /vast, single ads and pods, from memory."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from lxml import etree

from app.campaigns.models import Campaign
from app.serving.catalog import make_catalog
from tests.api.test_campaigns import URL, campaign_body
from tests.factories import CampaignFactory, CreativeFactory
from tests.serving_helpers import refresh

ROKU = "Roku/DVP-9.10 (519.10E04111A)"
TARGETING = {
    "device_type": {"include": ["CTV"]},
    "country": {"exclude": ["fr", "DE"]},
    "region": {"include": ["us-ca", "US-NY", "US-CA"], "exclude": ["gb-eng"]},
    "custom": {"Team": {"include": ["Bulls"]}},
    "day_part": {"hours": [21, 20], "days": ["sun", "sat"]},
    "livestream": True,
}


def test_targeting_and_time_zone_are_stored_in_canonical_form(client, auth):
    body = campaign_body(targeting=TARGETING, time_zone="America/New_York")
    created = client.post(URL, json=body, headers=auth).get_json()
    assert created["time_zone"] == "America/New_York"
    assert created["targeting"] == {
        "device_type": {"include": ["ctv"]},
        "country": {"exclude": ["DE", "FR"]},
        "region": {"include": ["US-CA", "US-NY"], "exclude": ["GB-ENG"]},
        "custom": {"team": {"include": ["bulls"]}},
        "day_part": {"hours": [20, 21], "days": ["sat", "sun"]},
        "livestream": True,
    }
    changed = client.patch(f"{URL}/{created['id']}", json={"targeting": {}}, headers=auth).get_json()
    assert changed["targeting"] is None and changed["time_zone"] == "America/New_York"
    plain = client.post(URL, json=campaign_body(), headers=auth).get_json()
    assert plain["targeting"] is None and plain["time_zone"] == "UTC"


@pytest.mark.parametrize(
    ("targeting", "field", "message"),
    [
        ({"device_type": {"include": ["tv"]}}, "targeting.device_type.include.0", "Must be one of: ctv"),
        ({"platform": {"exclude": ["xbox"]}}, "targeting.platform.exclude.0", "Must be one of: roku"),
        ({"country": {"include": ["USA"]}}, "targeting.country.include.0", "ISO 3166-1 alpha-2"),
        ({"country": {}}, "targeting.country._schema", "Give include, exclude or both."),
        ({"app_bundle": {"include": ["a"], "exclude": ["A"]}}, "targeting.app_bundle.exclude", "Both"),
        ({"day_part": {"hours": [24]}}, "targeting.day_part.hours.0", "less than or equal to 23"),
        ({"day_part": {"days": ["monday"]}}, "targeting.day_part.days.0", "Must be one of"),
        ({"custom": {"bad key": {"include": ["x"]}}}, "targeting.custom.bad key.key", "Must be 1 to 40"),
        ({"livestream": "maybe"}, "targeting.livestream", "Not a valid boolean."),
        ({"region": {"include": ["CA"]}}, "targeting.region.include.0", "ISO 3166-2 subdivision code"),
        ({"region": {"exclude": ["US-CA", "US-ZZ"]}}, "targeting.region.exclude.1", "e.g. US-CA"),
        ({"region": {"include": ["California"]}}, "targeting.region.include.0", "ISO 3166-2"),
        ({"region": {"include": ["US-CA"], "exclude": ["us-ca"]}}, "targeting.region.exclude", "Both"),
        ({"region": {"include": []}}, "targeting.region.include", "Length must be between 1 and 500."),
        ({"regions": {"include": ["US-CA"]}}, "targeting.regions", "Unknown field."),
    ],
)
def test_bad_targeting_is_refused_naming_the_field(client, auth, session, targeting, field, message):
    response = client.post(URL, json=campaign_body(targeting=targeting), headers=auth)
    assert response.status_code == 400, response.get_json()
    assert message in response.get_json()["details"][field]
    assert session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0


@pytest.mark.parametrize("name", ["Mars/Olympus", "../../etc/passwd", "Europe/" + "x" * 60, ""])
def test_a_bad_time_zone_is_refused(client, auth, name):
    response = client.post(URL, json=campaign_body(time_zone=name), headers=auth)
    assert response.status_code == 400, response.get_json()
    assert "IANA time zone" in response.get_json()["details"]["time_zone"]


def test_the_openapi_document_describes_targeting(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    fields = schemas["CampaignInput"]["properties"]
    assert {"targeting", "time_zone"} <= set(fields)
    targeting = next(s for name, s in schemas.items() if name.startswith("Targeting"))
    assert {"device_type", "platform", "app_bundle", "country", "region", "content_genre"} <= set(
        targeting["properties"]
    )
    assert {"livestream", "custom", "day_part"} <= set(targeting["properties"])


@pytest.fixture
def targeted(session, app):
    """A Roku-only campaign, one for the United States but not on live streams, one untargeted."""
    roku = CreativeFactory(
        campaign=CampaignFactory(status="active", targeting={"platform": {"include": ["roku"]}}),
        duration=15.0,
    )
    us_vod = CreativeFactory(
        campaign=CampaignFactory(
            status="active", targeting={"country": {"include": ["US"]}, "livestream": False}
        ),
        duration=15.0,
    )
    anyone = CreativeFactory(campaign=CampaignFactory(status="active"), duration=15.0)
    refresh(app)
    return {"roku": roku.campaign_id, "us_vod": us_vod.campaign_id, "anyone": anyone.campaign_id}


def campaigns_served(client, query: str, headers: dict, draws: int = 40) -> set[str]:
    served = set()
    for _ in range(draws):
        response = client.get(f"/vast?{query}", headers=headers)
        assert response.status_code == 200
        served |= {ad.get("id") for ad in etree.fromstring(response.data).findall("{*}Ad")}
    return served


def test_vast_serves_only_campaigns_the_request_matches(client, targeted):
    ids = {name: str(value) for name, value in targeted.items()}
    roku_in_us = {"User-Agent": ROKU, "X-Device-IP": "8.8.8.8"}
    assert campaigns_served(client, "max_duration=30&livestream=0", roku_in_us) == set(ids.values())
    # An include rule needs the value: a request that does not say whether it is live is not VOD.
    assert campaigns_served(client, "max_duration=30", roku_in_us) == {ids["roku"], ids["anyone"]}
    assert campaigns_served(client, "max_duration=30&livestream=1", roku_in_us) == {
        ids["roku"],
        ids["anyone"],
    }
    in_gb = {"User-Agent": "curl/8", "X-Device-IP": "81.2.69.160"}
    assert campaigns_served(client, "max_duration=30", in_gb) == {ids["anyone"]}


def test_pods_respect_targeting(client, targeted):
    ids = {name: str(value) for name, value in targeted.items()}
    in_gb = {"User-Agent": ROKU, "X-Device-IP": "81.2.69.160"}
    for _ in range(10):
        served = campaigns_served(client, "pod_max_dur=60&pod_max_ads=3", in_gb, draws=1)
        assert served == {ids["roku"], ids["anyone"]}


def test_the_sdk_ad_request_targets_by_its_device(client, targeted, app):
    ids = {str(value) for value in targeted.values()}
    seen = set()
    for n in range(30):
        response = client.post(
            "/api/v1/ad-request",
            json={"request_id": f"targeting-{n}", "duration": 30},
            headers={"User-Agent": "curl/8", "X-Forwarded-For": "81.2.69.160"},
        )
        assert response.status_code == 200
        seen.add(response.get_json()["campaign_id"])
    assert seen <= ids and seen == {str(targeted["anyone"])}


@pytest.fixture
def regional(session, app):
    """A campaign for California and New South Wales, one for anywhere but England, one untargeted."""
    west = CreativeFactory(
        campaign=CampaignFactory(status="active", targeting={"region": {"include": ["US-CA", "AU-NSW"]}}),
        duration=15.0,
    )
    not_england = CreativeFactory(
        campaign=CampaignFactory(status="active", targeting={"region": {"exclude": ["GB-ENG"]}}),
        duration=15.0,
    )
    anyone = CreativeFactory(campaign=CampaignFactory(status="active"), duration=15.0)
    refresh(app)
    return {
        "west": str(west.campaign_id),
        "not_england": str(not_england.campaign_id),
        "anyone": str(anyone.campaign_id),
    }


@pytest.mark.parametrize(
    ("ip", "served"),
    [
        ("8.8.8.8", {"west", "not_england", "anyone"}),  # US-CA
        ("1.1.1.1", {"west", "not_england", "anyone"}),  # AU-NSW
        ("::ffff:8.8.8.8", {"west", "not_england", "anyone"}),
        ("81.2.69.160", {"anyone"}),  # GB-ENG
        ("2a00:1450:4001::1", {"not_england", "anyone"}),  # DE-HE
        ("10.0.0.7", {"not_england", "anyone"}),  # private: no region, include rules fail
    ],
)
def test_vast_serves_by_the_device_ip_region(client, regional, ip, served):
    headers = {"User-Agent": ROKU, "X-Device-IP": ip}
    assert campaigns_served(client, "max_duration=30", headers) == {regional[name] for name in served}


def test_pods_and_the_sdk_ad_request_target_regions(client, regional):
    in_england = {"User-Agent": ROKU, "X-Device-IP": "81.2.69.160"}
    for _ in range(5):
        assert campaigns_served(client, "pod_max_dur=60&pod_max_ads=3", in_england, draws=1) == {
            regional["anyone"]
        }
    seen = set()
    for n in range(20):
        response = client.post(
            "/api/v1/ad-request",
            json={"request_id": f"region-{n}", "duration": 30},
            headers={"User-Agent": "curl/8", "X-Forwarded-For": "81.2.69.160"},
        )
        seen.add(response.get_json()["campaign_id"])
    assert seen == {regional["anyone"]}


def test_without_the_region_database_regions_are_unknown_and_readiness_says_so(
    make_settings, tmp_path, caplog
):
    from app import create_app

    with caplog.at_level("WARNING", logger="app.serving.geo"):
        app = create_app(make_settings(region_database_dir=str(tmp_path / "none")))
    assert sum("region database unavailable" in r.getMessage() for r in caplog.records) == 1
    rt = app.extensions["runtime"]
    assert not rt.regions.available and rt.regions.region("8.8.8.8") is None
    catalog = rt.catalog
    catalog.state = catalog.state.__class__(make_catalog(3, 1.0, {}), catalog.state.index)
    checks = app.test_client().get("/readyz/serving").get_json()["checks"]
    assert checks["region_database"].startswith("warning: absent: every region is unknown")
    metrics = app.test_client().get("/metrics").get_data(as_text=True)
    assert "adserver_region_database_available 0.0" in metrics
    app.extensions["database"].dispose()


@pytest.mark.parametrize(
    ("query", "warning"),
    [
        ("livestream=yes", "livestream: not 0 or 1"),
        ("content_rating=" + "x" * 40, "content_rating: longer than 32 characters"),
        ("content_genre=,,", "content_genre: no usable entry"),
        ("cust_params=%25%25CUST%25%25", "cust_params: unexpanded macro"),
        ("cust_params=novalue", "cust_params: no usable key=value pair"),
        ("cust_params=" + "k%3D" + "v" * 300, "cust_params: no usable key=value pair"),
    ],
)
def test_unusable_targeting_signals_are_ignored_and_named(client, targeted, query, warning):
    response = client.get(f"/vast?max_duration=30&{query}", headers={"User-Agent": ROKU})
    assert response.status_code == 200
    assert warning in response.headers["X-Ad-Request-Warnings"]
    assert client.get(f"/vast?strict=1&{query}").status_code == 400


def test_targeting_signals_are_read_as_sent():
    from app.serving.request import parse_ad_request

    ad_request = parse_ad_request(
        {
            "content_genre": "Comedy, Sci-Fi & Fantasy,",
            "content_rating": " TV-14 ",
            "livestream": "1",
            "cust_params": "section=Sports&team=bulls,cubs&bad key=x&empty=&" + "k=v&" * 200,
        },
        {},
        None,
    )
    assert ad_request.content_genres == {"comedy", "sci-fi & fantasy"}
    assert (ad_request.content_rating, ad_request.livestream) == ("tv-14", 1)
    assert ad_request.custom == {("section", "sports"), ("team", "bulls"), ("team", "cubs"), ("k", "v")}
    # The bad key; the empty value and the repeats (also those past the 80 parts read) are silent
    assert ad_request.warnings == {"cust_params": "1 pair left out (unusable, or past 20)"}
