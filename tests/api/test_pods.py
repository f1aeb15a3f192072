"""Ad breaks on /vast: a pod of InLine ads with sequence 1..k that fills the break without passing it, in
every VAST version, each ad counted once by the existing tracking."""

from __future__ import annotations

import dataclasses
import gzip
from urllib.parse import quote

import pytest
from lxml import etree

from app.serving.catalog import make_catalog
from app.settings import PROJECT_ROOT
from tests.factories import AdvertiserFactory, CampaignFactory, CreativeFactory
from tests.serving_helpers import flush, node_parser, refresh, runtime
from vast.macros import fill_macros
from vast.validate import validate

VERSIONS = ("3.0", "4.0", "4.1", "4.2", "4.3")


@pytest.fixture
def settings(store_settings):
    return store_settings


@pytest.fixture
def mixed(session, app):
    """Nine campaigns: three each of 15, 30 and 60 s creatives."""
    creatives = [
        CreativeFactory(campaign=CampaignFactory(status="active"), duration=duration)
        for duration in (15.0, 30.0, 60.0)
        for _ in range(3)
    ]
    refresh(app)
    return creatives


def ads_of(response, version="4.2"):
    assert response.status_code == 200, response.data
    body = response.data
    if response.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    validate(body, version)
    return etree.fromstring(body).findall("{*}Ad")


def duration_of(ad) -> float:
    hours, minutes, seconds = ad.findtext(".//{*}Duration").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_120_s_break_is_a_full_separated_pod_in_every_version(client, mixed, version):
    ads = ads_of(client.get(f"/vast?pod_max_dur=120&pod_max_ads=4&vast_version={version}"), version)
    assert [ad.get("sequence") for ad in ads] == [str(n) for n in range(1, len(ads) + 1)]
    assert sum(duration_of(ad) for ad in ads) == 120.0
    assert 2 <= len(ads) <= 4
    assert len({ad.get("id") for ad in ads}) == len(ads)  # Ad@id is the campaign: one ad per campaign
    creative_ids = [ad.find(".//{*}Creative").get("id") for ad in ads]
    assert len(set(creative_ids)) == len(ads)
    if version >= "4.1":
        serving_ids = [ad.findtext(".//{*}AdServingId") for ad in ads]
        assert len(set(serving_ids)) == len(ads)
    impressions = [ad.findtext(".//{*}Impression").strip() for ad in ads]
    assert len(set(impressions)) == len(ads)  # each with its own signed beacons


@pytest.mark.parametrize(
    "query",
    [
        "pmxd=120000&pmad=4",
        "avail_duration_secs=120&pod_max_ads=4",
        "avail_duration_ms=120000&pod_max_ads=4",
        "max_duration=60&pod_max_dur=120&pod_max_ads=4",
    ],
)
def test_the_aliases_integrators_send(client, mixed, query):
    ads = ads_of(client.get(f"/vast?{query}"))
    assert sum(duration_of(ad) for ad in ads) == 120.0 and len(ads) <= 4


def test_limits_per_ad_and_per_break_hold(client, mixed):
    ads = ads_of(client.get("/vast?max_duration=30&pod_max_dur=100&pod_max_ads=3"))
    assert all(duration_of(ad) <= 30 for ad in ads)
    assert sum(duration_of(ad) for ad in ads) == 90.0 and len(ads) == 3
    assert len(ads_of(client.get("/vast?pod_max_dur=10"))) == 0  # nothing that short: a no-fill
    refused = client.get("/vast?pod_min_dur=130&pod_max_dur=120")
    assert len(ads_of(refused)) == 0
    assert "pod_min_dur: 130 above the break's 120" in refused.headers["X-Ad-Request-Warnings"]
    assert client.get("/vast?pod_min_dur=130&pod_max_dur=120&strict=1").status_code == 400
    ignored = client.get("/vast?pod_max_dur=120&pmad=[PMAD]")
    assert ignored.headers["X-Ad-Request-Warnings"] == "pmad: unexpanded macro"
    assert len(ads_of(ignored)) >= 2
    capped = client.get("/vast?pod_max_dur=120&pod_max_ads=25&pod_buffet=9")
    assert (
        capped.headers["X-Ad-Request-Warnings"]
        == "pod_max_ads: above 20, using 20; pod_buffet: above 5, using 5"
    )
    assert len(ads_of(capped)) >= 2
    assert client.get("/vast?pod_max_dur=120&pod_max_ads=25&strict=1").status_code == 400


def test_without_pod_parameters_one_ad_without_sequence(client, mixed):
    [ad] = ads_of(client.get("/vast?max_duration=120"))
    assert ad.get("sequence") is None


def test_a_buffet_follows_the_pod(client, mixed):
    ads = ads_of(client.get("/vast?pod_max_dur=60&pod_max_ads=2&pod_buffet=2"))
    sequenced = [ad for ad in ads if ad.get("sequence")]
    standalone = [ad for ad in ads if not ad.get("sequence")]
    assert ads[: len(sequenced)] == sequenced and len(standalone) == 2  # the buffet comes after the pod
    creatives = [ad.find(".//{*}Creative").get("id") for ad in ads]
    assert len(set(creatives)) == len(creatives)


def test_pods_are_gzipped_for_callers_that_accept_it(client, mixed):
    plain = client.get("/vast?pod_max_dur=120&pod_max_ads=4")
    assert "Content-Encoding" not in plain.headers and plain.headers["Vary"] == "Accept-Encoding"
    packed = client.get("/vast?pod_max_dur=120&pod_max_ads=4", headers={"Accept-Encoding": "gzip, br"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert len(packed.data) * 4 < len(plain.data)
    browser = client.get(
        "/vast?pod_max_dur=120&pod_max_ads=4", headers={"Origin": "https://player.example.com"}
    )
    assert browser.headers.getlist("Vary") == [
        "Accept-Encoding, Origin"
    ]  # one header: CORS adds to the view's
    assert len(ads_of(packed)) >= 2
    single = client.get("/vast?max_duration=30", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in single.headers  # below the size where it pays


def test_every_ad_of_a_pod_is_counted_once(client, app, auth, session, mixed):
    ads = ads_of(client.get("/vast?pod_max_dur=120&pod_max_ads=4"))
    for ad in ads:
        for url in (ad.findtext(".//{*}Impression"), ad.findtext(".//{*}Tracking[@event='complete']")):
            path = url.strip().removeprefix("http://localhost")
            assert client.get(path).headers["X-Beacon"] == "counted"
            assert client.get(path).headers["X-Beacon"] == "duplicate"
        error = fill_macros(ad.findtext(".//{*}Error").strip(), {"ERRORCODE": "402"})
        assert client.get(error.removeprefix("http://localhost")).status_code == 204
    flush(app)
    totals = {"impressions": 0, "completes": 0, "errors": 0}
    for ad in ads:
        body = client.get(f"/api/v1/campaigns/{ad.get('id')}/stats", headers=auth).get_json()
        for name in totals:
            totals[name] += body[name]
    assert totals == {"impressions": len(ads), "completes": len(ads), "errors": len(ads)}


def test_a_pod_request_is_one_request_and_paces_each_campaign(client, app, mixed):
    rt = runtime(app)
    ads = ads_of(client.get("/vast?pod_max_dur=120&pod_max_ads=4"))
    assert sum(rt.catalog._served_since_tick.values()) == len(ads)
    assert rt.counter._counts and sum(t["requests"] for t in rt.counter._counts.values()) == 1


def test_a_stream_does_not_repeat_a_campaign_across_its_breaks(client, app, session):
    for _ in range(3):
        CreativeFactory(campaign=CampaignFactory(status="active"), duration=30.0)
    refresh(app)
    rt = runtime(app)
    first = ads_of(client.get("/vast?pod_max_dur=60&session_id=stream-1"))
    rt.streams.flush()  # what the background loop does every 0.2 s
    second = ads_of(client.get("/vast?pod_max_dur=60&scor=stream-1"))  # Google's name for the stream
    assert len(first) == 2 and len(second) == 1
    assert {ad.get("id") for ad in first}.isdisjoint({ad.get("id") for ad in second})
    rt.streams.flush()
    assert len(ads_of(client.get("/vast?max_duration=30&session_id=stream-1"))) == 0  # all shown
    assert len(ads_of(client.get("/vast?max_duration=30&session_id=stream-2"))) == 1  # another stream


def test_badv_and_bcat_exclude_as_openrtb_names_them(client, app, session):
    creative = CreativeFactory(duration=30.0)
    refresh(app)
    rt = runtime(app)
    state = rt.catalog.current()
    campaign = state.catalog.campaigns[creative.campaign_id]
    branded = dataclasses.replace(campaign, advertiser_domain="cola.example", category="1534")
    rt.catalog._rank(make_catalog(state.catalog.version, state.catalog.built_at, {campaign.id: branded}))
    assert len(ads_of(client.get("/vast?max_duration=30"))) == 1
    assert len(ads_of(client.get("/vast?max_duration=30&badv=Cola.example,other.example"))) == 0
    assert len(ads_of(client.get("/vast?max_duration=30&bcat=1534"))) == 0
    assert len(ads_of(client.get("/vast?pod_max_dur=60&blocked_cats=1534"))) == 0
    assert len(ads_of(client.get("/vast?max_duration=30&badv=other.example&bcat=IAB1"))) == 1
    # Written as advertisers' domains may be: read the way they are stored; unusable entries are named.
    for written in (
        "www.cola.example",
        "https://WWW.Cola.example/spring?x=1",
        "cola.example.",
        "cola.example:443",
    ):
        assert len(ads_of(client.get(f"/vast?max_duration=30&badv={quote(written)}"))) == 0, written
    partly = client.get("/vast?max_duration=30&badv=cola.example,not a domain,-x-")
    assert len(ads_of(partly)) == 0
    assert partly.headers["X-Ad-Request-Warnings"] == "badv: 2 unusable entries left out"
    assert client.get("/vast?max_duration=30&badv=cola.example,not%20a%20domain&strict=1").status_code == 400


def test_stats_are_split_by_pod_position(client, app, auth, session):
    campaign = CampaignFactory(status="active")
    CreativeFactory(campaign=campaign, duration=30.0)
    for _ in range(2):
        CreativeFactory(campaign=CampaignFactory(status="active"), duration=30.0)
    refresh(app)
    positions = []
    for _ in range(6):
        for ad in ads_of(client.get("/vast?pod_max_dur=90&pod_max_ads=3")):
            if ad.get("id") == str(campaign.id):
                positions.append(int(ad.get("sequence")))
                client.get(ad.findtext(".//{*}Impression").strip().removeprefix("http://localhost"))
    [single] = ads_of(client.get(f"/vast?max_duration=30&badv=x.example&session_id={campaign.id}"))
    if single.get("id") == str(campaign.id):
        positions.append(0)
        client.get(single.findtext(".//{*}Impression").strip().removeprefix("http://localhost"))
    flush(app)
    body = client.get(f"/api/v1/campaigns/{campaign.id}/stats", headers=auth).get_json()
    by_position = {row["position"]: row["impressions"] for row in body["pod_positions"]}
    expected = {position: positions.count(position) for position in set(positions)}
    assert by_position == expected and sum(by_position.values()) == body["impressions"] == len(positions)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_players_vast_parser_reads_the_pod_and_every_beacon_counts(client, app, auth, mixed, version):
    """@dailymotion/vast-client, run by node, reads every ad with its sequence; each beacon it found is then
    fired once and counted once."""
    parse = node_parser(PROJECT_ROOT / "tests" / "api" / "parse_vast.js", ("@dailymotion/vast-client",))
    document = client.get(f"/vast?pod_max_dur=120&pod_max_ads=4&vast_version={version}").data
    [view] = parse(document)
    assert "error" not in view, view
    ads = view["ads"]
    assert [int(ad["sequence"]) for ad in ads] == list(range(1, len(ads) + 1))
    assert sum(ad["duration"] for ad in ads) == 120 and all(ad["mediaFiles"] for ad in ads)
    fired = 0
    for ad in ads:
        urls = [*ad["impressions"], *ad["clickTracking"]]
        urls += [url for event_urls in ad["tracking"].values() for url in event_urls]
        urls += [fill_macros(url, {"ERRORCODE": "402"}) for url in ad["errors"]]
        for url in urls:
            answer = client.get(url.removeprefix("http://localhost"))
            assert answer.headers["X-Beacon"] == "counted", url
            fired += 1
    flush(app)
    impressions = sum(
        client.get(f"/api/v1/campaigns/{ad['id']}/stats", headers=auth).get_json()["impressions"]
        for ad in ads
    )
    assert impressions == len(ads) and fired >= len(ads) * 10


def test_two_campaigns_of_one_advertiser_never_share_a_break(client, app, session):
    cola, rival = AdvertiserFactory(domain="cola.example"), AdvertiserFactory(domain="rival.example")
    for advertiser in (cola, cola, cola, rival):
        campaign = CampaignFactory(status="active", advertiser_id=advertiser.id)
        CreativeFactory(campaign=campaign, duration=30.0)
    refresh(app)
    for _ in range(10):
        ads = ads_of(client.get("/vast?pod_max_dur=120&pod_max_ads=4"))
        assert sorted(ad.findtext(".//{*}Advertiser") for ad in ads) == sorted([cola.name, rival.name])
    assert {
        ad.findtext(".//{*}Advertiser")
        for ad in ads_of(client.get("/vast?pod_max_dur=120&badv=cola.example"))
    } == {rival.name}


def test_the_dashboard_counts_pods_their_ads_and_the_break_seconds_filled(client, app, auth, session):
    for duration in (30.0, 30.0, 45.0):
        CreativeFactory(campaign=CampaignFactory(status="active"), duration=duration)
    refresh(app)
    pods = [ads_of(client.get("/vast?pod_max_dur=60&pod_max_ads=4")) for _ in range(3)]
    ads_of(client.get("/vast?pod_max_dur=20"))  # nothing that short: a pod request unfilled
    ads_of(client.get("/vast?max_duration=30"))  # a single ad is not a pod
    flush(app)
    last = client.get("/api/v1/dashboard", headers=auth).get_json()["last_24h"]
    filled = sum(duration_of(ad) for pod in pods for ad in pod)
    assert last["ad_requests"] == 5 and last["pod_requests"] == 4
    assert last["ads_per_pod"] == pytest.approx(sum(len(pod) for pod in pods) / 4, abs=1e-6)
    assert last["break_fill_rate"] == pytest.approx(filled / (3 * 60 + 20), abs=1e-6)
