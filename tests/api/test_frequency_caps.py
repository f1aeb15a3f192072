"""Frequency caps through the API and the serving path: rules of campaigns and advertisers (validated, in
OpenAPI), counted per device on the deduplicated impression beacon, a capped device getting other campaigns
or no fill, and the campaign again once the window has passed (a fake clock), with the in-process store and
with Redis, in one Redis round trip per request."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
import sqlalchemy as sa

from app.campaigns.models import Campaign
from tests.api.test_campaigns import campaign_body
from tests.factories import AdvertiserFactory, CampaignFactory, CreativeFactory
from tests.serving_helpers import ad_urls, ads_in, get_vast, refresh, runtime

CAMPAIGNS = "/api/v1/campaigns"
ADVERTISERS = "/api/v1/advertisers"
IFA = "6d92078a-8246-4ba4-ae5b-76104861e7dc"
DAY = {"max_impressions": 3, "window": {"unit": "day", "count": 1}}


@pytest.fixture
def settings(store_settings):
    return store_settings


@pytest.fixture
def clock(monkeypatch):
    """Every reader of time.time() (serving, beacons, tokens) sees this clock, moved by the test."""
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])
    return now


def rule(max_impressions: int, unit: str, count: int = 1) -> dict:
    return {"max_impressions": max_impressions, "window": {"unit": unit, "count": count}}


def capped(session, app, *rules: dict, advertiser=None, duration: float = 30.0) -> Campaign:
    creative = CreativeFactory(
        campaign=CampaignFactory(status="active", frequency_caps=list(rules), advertiser=advertiser),
        duration=duration,
    )
    refresh(app)
    return session.get(Campaign, creative.campaign_id)


def served(client, query: str = "", **headers) -> tuple[str | None, dict]:
    """(the campaign of the ad /vast gives this device, its beacon URLs); (None, {}) for no fill."""
    document = get_vast(client, "max_duration=30" + (f"&{query}" if query else ""), headers=headers)
    if not ads_in(document):
        return None, {}
    return document.find("{*}Ad").get("id"), ad_urls(document)


def watch(client, query: str = "", **headers) -> str | None:
    """Request an ad and play it (its impression beacon fires): the campaign, or None for no fill."""
    campaign, urls = served(client, query, **headers)
    if campaign is not None:
        assert client.get(urls["impression"]).headers["X-Beacon"] == "counted"
    return campaign


# The rules in the API


def test_a_campaign_takes_several_rules_and_gives_them_back(client, auth):
    body = campaign_body(frequency_caps=[rule(1, "hour"), {"max_impressions": 3, "window": {"unit": "day"}}])
    created = client.post(CAMPAIGNS, json=body, headers=auth).get_json()
    assert created["frequency_caps"] == [rule(1, "hour"), DAY]  # count defaults to 1
    url = f"{CAMPAIGNS}/{created['id']}"
    assert client.get(url, headers=auth).get_json()["frequency_caps"] == [rule(1, "hour"), DAY]
    patched = client.patch(url, json={"frequency_caps": [rule(10, "flight")]}, headers=auth).get_json()
    assert patched["frequency_caps"] == [rule(10, "flight")]
    without_count = {"frequency_caps": [rule(1, "hour"), {"max_impressions": 3, "window": {"unit": "day"}}]}
    patched = client.patch(url, json=without_count, headers=auth)  # a partial body: count's default too
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["frequency_caps"] == [rule(1, "hour"), DAY]
    assert client.patch(url, json={"frequency_caps": []}, headers=auth).get_json()["frequency_caps"] == []
    plain = client.post(CAMPAIGNS, json=campaign_body(), headers=auth).get_json()
    assert plain["frequency_caps"] == []


@pytest.mark.parametrize(
    ("caps", "field", "message"),
    [
        ([rule(0, "day")], "frequency_caps.0.max_impressions", "greater than or equal to 1"),
        ([rule(101, "day")], "frequency_caps.0.max_impressions", "less than or equal to 100"),
        (
            [{"max_impressions": "3", "window": {"unit": "day"}}],
            "frequency_caps.0.max_impressions",
            "integer",
        ),
        ([{"max_impressions": 3}], "frequency_caps.0.window", "Missing data"),
        ([rule(3, "month")], "frequency_caps.0.window.unit", "Must be one of"),
        ([rule(3, "day", 0)], "frequency_caps.0.window.count", "greater than or equal to 1"),
        ([rule(3, "day", 181)], "frequency_caps.0.window.count", "at most 180 days"),
        ([DAY, rule(3, "week", 26)], "frequency_caps.1.window.count", "at most 25 weeks"),
        ([rule(3, "hour", 4321)], "frequency_caps.0.window.count", "at most 4320 hours"),
        ([rule(3, "flight", 2)], "frequency_caps.0.window.count", "Must be 1"),
        ([DAY, rule(5, "day")], "frequency_caps", "same window"),
        ([rule(1, "minute", n) for n in range(1, 12)], "frequency_caps", "Longer than maximum length 10"),
        ({"max_impressions": 3}, "frequency_caps", "Not a valid list"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(client, auth, session, caps, field, message):
    response = client.post(CAMPAIGNS, json=campaign_body(frequency_caps=caps), headers=auth)
    assert response.status_code == 400
    assert message in response.get_json()["details"][field], response.get_json()
    assert session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0


def test_an_advertiser_takes_rules_but_no_flight(client, auth):
    body = {"name": "Cola", "domain": "cola.example", "frequency_caps": [rule(2, "week")]}
    created = client.post(ADVERTISERS, json=body, headers=auth)
    assert created.status_code == 201 and created.get_json()["frequency_caps"] == [rule(2, "week")]
    url = f"{ADVERTISERS}/{created.get_json()['id']}"
    refused = client.patch(url, json={"frequency_caps": [rule(2, "flight")]}, headers=auth)
    assert refused.status_code == 400
    assert "no flight" in refused.get_json()["details"]["frequency_caps.0.window.unit"]
    assert client.get(url, headers=auth).get_json()["frequency_caps"] == [rule(2, "week")]
    patched = client.patch(
        url, json={"frequency_caps": [{"max_impressions": 5, "window": {"unit": "week"}}]}, headers=auth
    )
    assert patched.status_code == 200 and patched.get_json()["frequency_caps"] == [rule(5, "week")]


def test_the_openapi_document_describes_the_rules(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    for name in ("CampaignInput", "Campaign", "AdvertiserInput", "Advertiser"):
        assert schemas[name]["properties"]["frequency_caps"]["type"] == "array", name
    assert "frequency_caps" in schemas["Campaign"]["required"]
    units = schemas["Window"]["properties"]["unit"]["enum"]
    assert units == ["minute", "hour", "day", "week", "flight"]
    assert "flight" not in schemas["AdvertiserWindow"]["properties"]["unit"]["enum"]
    assert {"ifa", "lmt"} <= set(schemas["AdRequestBody"]["properties"])


# Serving


@pytest.mark.parametrize(
    ("unit", "count", "seconds"),
    [("minute", 30, 1800), ("hour", 2, 7200), ("day", 1, 86_400), ("week", 1, 7 * 86_400)],
)
def test_a_capped_device_gets_no_fill_until_the_window_has_passed(
    client, app, session, clock, unit, count, seconds
):
    campaign = capped(session, app, rule(2, unit, count))
    assert watch(client) == str(campaign.id)
    clock[0] += seconds / 2
    assert watch(client) == str(campaign.id)
    clock[0] += 1
    assert watch(client) is None  # two within the window: capped
    assert watch(client, **{"User-Agent": "AnotherTV/1.0"}) == str(campaign.id)  # another household
    clock[0] += seconds / 2  # the first impression has slid out of the window
    assert watch(client) == str(campaign.id)
    assert watch(client) is None


def test_a_flight_cap_holds_for_the_whole_flight(client, app, session, clock):
    campaign = capped(session, app, rule(1, "flight"))
    assert watch(client) == str(campaign.id)
    clock[0] += 8 * 86_400
    assert watch(client) is None


def test_a_capped_campaign_gives_way_to_another(client, app, session):
    campaign = capped(session, app, rule(1, "day"))
    assert watch(client) == str(campaign.id)
    other = capped(session, app)  # no cap
    for _ in range(5):
        assert served(client)[0] == str(other.id)


def test_an_advertiser_cap_counts_all_its_campaigns(client, app, session):
    advertiser = AdvertiserFactory(frequency_caps=[rule(2, "day")])
    first = capped(session, app, advertiser=advertiser)
    second = capped(session, app, advertiser=advertiser)
    seen = {watch(client), watch(client)}
    assert seen <= {str(first.id), str(second.id)}
    assert served(client)[0] is None  # two of the advertiser's ads today, whichever campaigns
    rival = capped(session, app, advertiser=AdvertiserFactory())
    assert served(client)[0] == str(rival.id)


def test_a_repeated_impression_beacon_counts_once(client, app, session):
    campaign = capped(session, app, rule(2, "day"))
    _, urls = served(client)
    for expected in ("counted", "duplicate", "duplicate"):
        assert client.get(urls["impression"]).headers["X-Beacon"] == expected
    assert client.get(urls["complete"]).headers["X-Beacon"] == "counted"
    assert served(client)[0] == str(campaign.id)  # one impression of two
    assert watch(client) == str(campaign.id)
    assert served(client)[0] is None


def test_an_ad_served_but_never_shown_does_not_count(client, app, session):
    campaign = capped(session, app, rule(1, "day"))
    for _ in range(3):
        assert served(client)[0] == str(campaign.id)  # decisions alone count nothing


def test_the_ifa_follows_the_device_across_addresses(client, app, session):
    campaign = capped(session, app, rule(1, "day"))
    assert watch(client, f"ifa={IFA}&ip=203.0.113.7") == str(campaign.id)
    assert served(client, f"ifa={IFA.upper()}&ip=198.51.100.9")[0] is None
    assert served(client, "ip=203.0.113.7")[0] == str(campaign.id)  # the household never saw it
    assert served(client, f"ifa={IFA}&lmt=1&ip=198.51.100.9")[0] == str(campaign.id)  # limited: not used


def test_an_all_zeros_ifa_is_the_household(client, app, session):
    campaign = capped(session, app, rule(1, "day"))
    zeros = "00000000-0000-0000-0000-000000000000"
    assert watch(client, f"ifa={zeros}&ip=203.0.113.7") == str(campaign.id)
    assert served(client, "ip=203.0.113.7")[0] is None  # same household: IP and user agent
    assert served(client, f"ifa={zeros}&ip=203.0.113.8")[0] == str(campaign.id)
    # Limited ad tracking: no identifier at all, so no cap either (app.serving.consent).
    assert served(client, f"ifa={zeros}&is_lmt=1&ip=203.0.113.7")[0] == str(campaign.id)


def test_a_us_state_opt_out_in_gpp_means_no_identifier_based_capping(client, app, session):
    campaign = capped(session, app, rule(1, "day"))
    california = "gpp=DBABBg~BQUAAABA.QA&gpp_sid=8"  # usca: opted out of sale and sharing
    assert watch(client, f"ifa={IFA}&ip=203.0.113.7&{california}") == str(campaign.id)
    assert watch(client, f"ifa={IFA}&ip=203.0.113.7&{california}") == str(campaign.id)  # never capped
    assert watch(client, f"ifa={IFA}&ip=203.0.113.7") == str(campaign.id)  # nothing was counted for it
    assert served(client, f"ifa={IFA}&ip=203.0.113.7")[0] is None


def test_gdpr_without_consent_means_no_identifier_based_capping(client, app, session):
    campaign = capped(session, app, rule(1, "day"))
    for _ in range(3):
        campaign_id, urls = served(client, f"gdpr=1&ifa={IFA}")
        assert campaign_id == str(campaign.id)
        assert client.get(urls["impression"]).status_code == 204
        assert runtime(app).signer.verify(urls["impression"].partition("t=")[2]).device is None
    assert watch(client, "gdpr=1&gdpr_consent=CPc0YAAPc0YAAAGABCENBdCgAP_AAAAAAAAAAAAAAAAA") == str(
        campaign.id
    )


def test_uncapped_campaigns_carry_no_device_key(client, app, session):
    capped(session, app)
    _, urls = served(client, f"ifa={IFA}")
    assert runtime(app).signer.verify(urls["impression"].partition("t=")[2]).device is None


def test_a_pod_holds_a_capped_campaign_once_and_none_once_capped(client, app, session):
    campaign = capped(session, app, rule(2, "day"), duration=15.0)
    CreativeFactory(campaign=campaign, duration=15.0)
    CreativeFactory(campaign=campaign, duration=30.0)
    refresh(app)
    pod = get_vast(client, "pod_max_dur=60&pod_max_ads=4").findall("{*}Ad")
    assert [ad.get("id") for ad in pod] == [str(campaign.id)]  # one ad per campaign, whatever fits
    watch(client)
    watch(client)
    assert len(ads_in(get_vast(client, "pod_max_dur=60&pod_max_ads=4"))) == 0


@pytest.mark.parametrize("store_settings", ["memory", "redis", "redis-sharded"], indirect=True)
def test_sdk_requests_are_capped_and_counted_by_the_impression_call(client, app, session):
    campaign = capped(session, app, rule(1, "day"))

    def ask(request_id, **device):
        body = {"request_id": request_id, "duration": 30, **device}
        return client.post("/api/v1/ad-request", json=body)

    answer = ask("r-1", ifa=IFA)
    assert answer.status_code == 200 and answer.get_json()["campaign_id"] == str(campaign.id)
    assert ask("r-2", ifa=IFA).status_code == 200  # not shown yet
    assert client.post("/api/v1/impression", json={"request_id": "r-1"}).get_json()["counted"] is True
    assert client.post("/api/v1/impression", json={"request_id": "r-1"}).get_json()["counted"] is False
    assert ask("r-3", ifa=IFA).status_code == 204
    assert ask("r-3", ifa=IFA).status_code == 204  # the same answer, however often asked
    assert ask("r-4").status_code == 200  # no IFA: the household, which has not seen it
    replay = get_vast(client, "request_id=r-4")  # the SDK request's ad as VAST: its beacons count it too
    assert client.get(ad_urls(replay)["impression"]).headers["X-Beacon"] == "counted"
    assert ask("r-5").status_code == 204
    assert ask("r-6", ifa=IFA, lmt=1).status_code == 200  # limited ad tracking: no identifier, no cap


# One Redis round trip


@pytest.fixture
def round_trips(monkeypatch):
    """Commands sent to Redis, by round trip: a pipeline is one."""
    sent: list[int] = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counted(self, command, check_health=True):
        sent.append(1)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
    return sent


@pytest.mark.parametrize("store_settings", ["redis", "redis-sharded"], indirect=True)
@pytest.mark.parametrize(
    "query",
    ["max_duration=30&session_id=s-1", "max_duration=30", "pod_max_dur=60&session_id=s-1&pod_buffet=1"],
)
def test_a_request_is_one_redis_round_trip_with_separation_and_caps(
    client, app, session, settings, round_trips, query
):
    advertiser = AdvertiserFactory(frequency_caps=[rule(5, "hour")])
    capped(session, app, rule(3, "day"), advertiser=advertiser)
    capped(session, app, rule(1, "day"))
    watch(client)  # the device has a history to read
    round_trips.clear()
    for _ in range(3):
        assert client.get(f"/vast?{query}").status_code == 200
    assert len(round_trips) == 3


@pytest.mark.parametrize("store_settings", ["redis", "redis-sharded"], indirect=True)
def test_the_sdk_request_reads_the_caps_with_its_answer(client, app, session, settings, round_trips):
    capped(session, app)
    client.post("/api/v1/ad-request", json={"request_id": "first", "duration": 30})  # loads the scripts
    round_trips.clear()
    client.post("/api/v1/ad-request", json={"request_id": "uncapped", "duration": 30})
    assert len(round_trips) == 1  # the answer stored unless one exists, and the request recorded: one script
    capped(session, app, rule(1, "day"))
    round_trips.clear()
    client.post("/api/v1/ad-request", json={"request_id": "capped", "duration": 30})
    assert len(round_trips) == 2  # first the device's history, with any answer stored before


@pytest.mark.parametrize("store_settings", ["redis"], indirect=True)
def test_a_device_key_is_never_stored_in_clear(client, app, session, settings, redis_server):
    capped(session, app, rule(1, "day"))
    watch(client, f"ifa={IFA}")
    watch(client, "ip=203.0.113.7")
    keys = [k.decode() for k in redis_server.scan_iter(match=f"{settings.redis_key_prefix}cap:*")]
    assert len(keys) == 2
    dump = b"".join(redis_server.dump(k) for k in keys)
    assert IFA.encode() not in dump and b"203.0.113.7" not in dump
    assert all(IFA not in k and "203.0.113.7" not in k for k in keys)
    assert all(len(k.rpartition(":")[2]) == 22 for k in keys)
    assert uuid.UUID(next(iter(redis_server.hgetall(keys[0]))).decode()[2:])


def test_the_delivery_diagnosis_names_the_cap_for_the_capped_device_only(client, app, session, auth):
    by_campaign = capped(session, app, rule(1, "day"))
    by_advertiser = capped(
        session, app, advertiser=AdvertiserFactory(domain="cola.example", frequency_caps=[rule(1, "day")])
    )
    free = capped(session, app)
    seen: set[str | None] = set()
    for _ in range(60):
        seen.add(watch(client, f"ifa={IFA}"))
        if {str(by_campaign.id), str(by_advertiser.id)} <= seen:
            break

    def verdicts(query: str) -> dict[str, tuple[str, str]]:
        response = client.post("/api/v1/delivery/diagnosis", json={"url": f"/vast?{query}"}, headers=auth)
        assert response.status_code == 200, response.get_json()
        return {c["campaign_id"]: (c["rule"], c["detail"]) for c in response.get_json()["campaigns"]}

    capped_device = verdicts(f"max_duration=30&ifa={IFA}")
    assert capped_device[str(by_campaign.id)] == (
        "cap",
        "the device reached the frequency cap of its campaign",
    )
    assert capped_device[str(by_advertiser.id)] == (
        "cap",
        "the device reached the frequency cap of its advertiser cola.example",
    )
    assert capped_device[str(free.id)][0] == "competes"
    other_device = verdicts("max_duration=30&ifa=0f0f0f0f-8246-4ba4-ae5b-76104861e7dc")
    assert {rule for rule, _ in other_device.values()} == {"competes"}
