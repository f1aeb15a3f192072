"""Third-party demand on /vast: a VAST redirect line item answered as a <Wrapper> around the partner's tag
(macros expanded), valid in every version, alone and in pods, and followed by a real player's VAST client to
loopback partner servers."""

from __future__ import annotations

import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from lxml import etree

from app.settings import PROJECT_ROOT
from tests.api.test_campaigns import campaign_body
from tests.factories import CampaignFactory, CreativeFactory
from tests.serving_helpers import flush, node_parser, refresh, runtime
from tests.unit.serving.test_consent import TCF_CONSENT, TCF_NO_CONSENT, gpp
from vast.macros import fill_macros
from vast.validate import validate

VERSIONS = ("3.0", "4.0", "4.1", "4.2", "4.3")
TAG = "https://partner.example.com/vast?cb=[CACHEBUSTING]&ifa=[IFA]&id=[ADSERVINGID]&e=[ERRORCODE]"


@pytest.fixture
def settings(store_settings):
    return store_settings


@pytest.fixture(autouse=True)
def factories(session):
    """The factories write through the test's session."""
    return session


def redirect_campaign(tag: str = TAG, duration: float = 30.0, **fields):
    fields = {"status": "active", **fields}
    return CampaignFactory(kind="vast_redirect", vast_ad_tag_uri=tag, ad_duration=duration, **fields)


def wrapper_of(response, version="4.2"):
    assert response.status_code == 200, response.data
    validate(response.data, version)
    root = etree.fromstring(response.data)
    return root, root.findall(".//{*}Wrapper")


# -- the line item on the API ---------------------------------------------------------------------------


def test_a_redirect_line_item_is_created_and_read_back(client, auth):
    body = campaign_body(kind="vast_redirect", vast_ad_tag_uri=TAG, ad_duration=30, server_side_unwrap=True)
    created = client.post("/api/v1/campaigns", json=body, headers=auth)
    assert created.status_code == 201, created.get_json()
    campaign = created.get_json()
    assert (campaign["kind"], campaign["vast_ad_tag_uri"], campaign["ad_duration"]) == (
        "vast_redirect",
        TAG,
        30.0,
    )
    assert campaign["server_side_unwrap"] is True
    direct = client.post("/api/v1/campaigns", json=campaign_body(), headers=auth).get_json()
    assert (direct["kind"], direct["vast_ad_tag_uri"], direct["server_side_unwrap"]) == (
        "direct",
        None,
        False,
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "vast_redirect", "ad_duration": 30}, "vast_ad_tag_uri"),
        ({"kind": "vast_redirect", "vast_ad_tag_uri": TAG}, "ad_duration"),
        (
            {"kind": "vast_redirect", "vast_ad_tag_uri": "ftp://x.example/v", "ad_duration": 30},
            "vast_ad_tag_uri",
        ),
        (
            {"kind": "vast_redirect", "vast_ad_tag_uri": "https:///nohost", "ad_duration": 30},
            "vast_ad_tag_uri",
        ),
        (
            {"kind": "vast_redirect", "vast_ad_tag_uri": "https://a.example/ b", "ad_duration": 30},
            "vast_ad_tag_uri",
        ),
        ({"kind": "vast_redirect", "vast_ad_tag_uri": TAG, "ad_duration": 0}, "ad_duration"),
        ({"kind": "programmatic"}, "kind"),
    ],
)
def test_an_incomplete_or_invalid_redirect_is_refused_naming_the_field(client, auth, fields, field):
    response = client.post("/api/v1/campaigns", json=campaign_body(**fields), headers=auth)
    assert response.status_code in (400, 422), response.get_json()
    assert field in str(response.get_json()), response.get_json()


def test_an_edit_cannot_drop_the_tag_of_a_redirect(client, auth):
    body = campaign_body(kind="vast_redirect", vast_ad_tag_uri=TAG, ad_duration=30)
    campaign = client.post("/api/v1/campaigns", json=body, headers=auth).get_json()
    response = client.patch(
        f"/api/v1/campaigns/{campaign['id']}", json={"vast_ad_tag_uri": None}, headers=auth
    )
    assert response.status_code in (400, 422)
    assert "vast_ad_tag_uri" in str(response.get_json())


# -- the wrapper on /vast --------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_vast_answers_a_valid_wrapper_in_every_version(client, app, version):
    campaign = redirect_campaign()
    refresh(app)
    root, [wrapper] = wrapper_of(client.get(f"/vast?vast_version={version}&ifa=abc-123"), version)
    ad = root.find("{*}Ad")
    assert ad.get("id") == str(campaign.id)
    tag = urllib.parse.urlsplit(wrapper.findtext("{*}VASTAdTagURI").strip())
    query = urllib.parse.parse_qs(tag.query)
    assert query["ifa"] == ["abc-123"] and query["cb"][0].isdigit() and len(query["cb"][0]) == 8
    assert query["e"] == ["[ERRORCODE]"]  # the player's macro is left to the player
    impression = wrapper.findtext("{*}Impression").strip()
    assert query["id"] == [impression.split("t=")[1].split(".")[0].split("~")[0]]  # our ad serving id
    if version != "3.0":
        assert wrapper.attrib == {
            "followAdditionalWrappers": "true",
            "allowMultipleAds": "false",
            "fallbackOnNoAd": "true",
        }


def test_identifiers_are_withheld_without_consent_or_for_children(client, app):
    redirect_campaign(tag="https://p.example/v?ifa=[IFA]&ip=[DEVICEIP]&ua=[DEVICEUA]&coppa=[REGULATIONS]")
    refresh(app)
    for query, regulations in (
        ("us_privacy=1YYN", "ccpa"),
        ("coppa=1&us_privacy=1---", "coppa"),
        ("lmt=1", "-1"),  # limited ad tracking: every identifier withheld, the IFA as the others
        ("gpp=DBABBg~BQUAAABA.QA&gpp_sid=8", "ccpa"),  # California's GPP section: opted out of sale
    ):
        _, [wrapper] = wrapper_of(client.get(f"/vast?ifa=abc&ip=203.0.113.9&ua=TV&{query}"))
        tag = wrapper.findtext("{*}VASTAdTagURI")
        assert tag.endswith(f"ifa=-2&ip=-2&ua=-2&coppa={regulations}"), tag
    _, [wrapper] = wrapper_of(
        client.get("/vast?ifa=abc&ip=203.0.113.9&ua=TV%201&gdpr=1&gdpr_consent=" + TCF_CONSENT)
    )
    tag = wrapper.findtext("{*}VASTAdTagURI")
    assert "ifa=abc&ip=203.0.113.9&ua=TV%201&coppa=gdpr" in tag, tag


@pytest.mark.parametrize(
    ("query", "consent", "regulations"),
    [
        (f"gdpr=1&gpp={gpp((2, TCF_CONSENT))}&gpp_sid=2", TCF_CONSENT, "gdpr"),  # no gdpr_consent
        (f"gpp={gpp((2, TCF_CONSENT))}&gpp_sid=2", TCF_CONSENT, "gdpr"),  # GDPR by GPP alone
        (f"gdpr=1&gdpr_consent={TCF_CONSENT}&gpp={gpp((2, TCF_NO_CONSENT))}", TCF_CONSENT, "gdpr"),
        ("gpp=DBABLA~CVQqAAAAAACA.QA&gpp_sid=7", "-1", "usnat"),
        (f"coppa=1&us_privacy=1NNN&gpp={gpp((2, TCF_CONSENT))}", TCF_CONSENT, "gdpr%2Ccoppa%2Cccpa"),
    ],
)
def test_the_tc_string_and_regulations_come_from_every_signal(client, app, query, consent, regulations):
    redirect_campaign(tag="https://p.example/v?gc=[GDPRCONSENT]&reg=[REGULATIONS]")
    refresh(app)
    tag = wrapper_of(client.get(f"/vast?{query}"))[1][0].findtext("{*}VASTAdTagURI")
    assert tag == f"https://p.example/v?gc={consent}&reg={regulations}"


def test_domain_and_content_playhead_reach_the_partners_tag(client, app):
    redirect_campaign(tag="https://p.example/v?d=[DOMAIN]&ph=[CONTENTPLAYHEAD]")
    refresh(app)
    tag = wrapper_of(client.get("/vast"))[1][0].findtext("{*}VASTAdTagURI")
    assert tag == "https://p.example/v?d=-1&ph=-1"
    response = client.get("/vast?page_url=https%3A%2F%2Fwww.example.com%2Fshow&content_playhead=612.5")
    tag = wrapper_of(response)[1][0].findtext("{*}VASTAdTagURI")
    assert tag == "https://p.example/v?d=www.example.com&ph=00%3A10%3A12.500"
    response = client.get("/vast?domain=nope&content_playhead=soon")
    assert wrapper_of(response)[1][0].findtext("{*}VASTAdTagURI") == "https://p.example/v?d=-1&ph=-1"
    assert response.headers["X-Ad-Request-Warnings"] == (
        "domain: not a domain; content_playhead: not seconds or HH:MM:SS.mmm"
    )


def test_a_redirect_fits_breaks_by_its_declared_duration(client, app):
    redirect_campaign(duration=30.0)
    refresh(app)
    assert not wrapper_of(client.get("/vast?max_duration=29"))[1]
    assert len(wrapper_of(client.get("/vast?max_duration=30"))[1]) == 1


@pytest.mark.parametrize("version", VERSIONS)
def test_a_pod_holds_wrappers_beside_inline_ads(client, app, version):
    for _ in range(2):
        redirect_campaign(duration=30.0)
        CreativeFactory(campaign=CampaignFactory(status="active"), duration=30.0)
    refresh(app)
    root, wrappers = wrapper_of(
        client.get(f"/vast?pod_max_dur=120&pod_max_ads=4&vast_version={version}"), version
    )
    ads = root.findall("{*}Ad")
    assert [ad.get("sequence") for ad in ads] == ["1", "2", "3", "4"]
    assert len(wrappers) == 2 and len(root.findall(".//{*}InLine")) == 2


def test_the_sdk_never_gets_a_redirect(client, app):
    redirect_campaign(duration=15.0)
    refresh(app)
    response = client.post("/api/v1/ad-request", json={"request_id": "r-1", "duration": 30})
    assert response.status_code == 204


# -- a player follows the wrapper to loopback partners -------------------------------------------------


class Partner(BaseHTTPRequestHandler):
    """Partner ad servers on loopback: an InLine, no ad, a slow answer, invalid XML, a loop."""

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        base = f"http://127.0.0.1:{self.server.server_port}"
        if path == "/slow":
            time.sleep(2)
        body = {
            "/inline": INLINE.format(base=base),
            "/empty": '<VAST version="4.2" xmlns="http://www.iab.com/VAST"/>',
            "/slow": '<VAST version="4.2" xmlns="http://www.iab.com/VAST"/>',
            "/invalid": "<VAST version='4.2'><Ad><InLine>",
            "/loop": LOOP.format(base=base),
            "/chain": CHAIN.format(base=base),
            "/hop-macros": HOP_MACROS.format(base=base),
        }[path]
        self.server.calls.append(path)
        self.server.queries.append(urllib.parse.urlsplit(self.path).query)
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


INLINE = """<VAST version="4.2" xmlns="http://www.iab.com/VAST"><Ad id="p1"><InLine>
<AdSystem>Partner</AdSystem><Impression><![CDATA[{base}/pixel?imp=1]]></Impression>
<AdServingId>p-1</AdServingId><AdTitle>Partner ad</AdTitle><Creatives><Creative id="pc"><Linear>
<Duration>00:00:30</Duration><MediaFiles><MediaFile delivery="progressive" type="video/mp4" width="1280"
height="720"><![CDATA[{base}/ad.mp4]]></MediaFile></MediaFiles></Linear>
<UniversalAdId idRegistry="unknown">p</UniversalAdId></Creative></Creatives></InLine></Ad></VAST>"""
CHAIN = """<VAST version="3.0"><Ad id="hop"><Wrapper>
<AdSystem>Hop</AdSystem><VASTAdTagURI><![CDATA[{base}/inline]]></VASTAdTagURI>
<Impression><![CDATA[{base}/pixel?hop=1]]></Impression><Creatives><Creative><Linear><TrackingEvents>
<Tracking event="fullscreen"><![CDATA[{base}/pixel?hop=fullscreen]]></Tracking></TrackingEvents></Linear>
</Creative></Creatives></Wrapper></Ad></VAST>"""
HOP_MACROS = """<VAST version="4.2" xmlns="http://www.iab.com/VAST"><Ad id="hop"><Wrapper>
<AdSystem>Hop</AdSystem><Impression><![CDATA[{base}/pixel?hop=1]]></Impression><VASTAdTagURI><![CDATA[{base}/inline?\
cb=[CACHEBUSTING]&ifa=[IFA]&gc=[GDPRCONSENT]&ss=[SERVERSIDE]&e=[ERRORCODE]&ph=[ADPLAYHEAD]&n=[NEWMACRO]]]>\
</VASTAdTagURI></Wrapper></Ad></VAST>"""
LOOP = """<VAST version="4.2" xmlns="http://www.iab.com/VAST"><Ad id="loop"><Wrapper>
<AdSystem>Partner</AdSystem><Impression><![CDATA[{base}/pixel?loop=1]]></Impression>
<VASTAdTagURI><![CDATA[{base}/loop]]></VASTAdTagURI></Wrapper></Ad></VAST>"""


@pytest.fixture
def partner():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Partner)
    server.daemon_threads = True
    server.calls = []
    server.queries = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def follow():
    return node_parser(PROJECT_ROOT / "tests" / "api" / "follow_vast.js", ("@dailymotion/vast-client",))


def served_for(client, app, partner, path: str, version: str = "4.2") -> bytes:
    redirect_campaign(tag=f"http://127.0.0.1:{partner.server_port}{path}?cb=[CACHEBUSTING]")
    refresh(app)
    response = client.get(f"/vast?vast_version={version}")
    validate(response.data, version)
    return response.data


@pytest.mark.parametrize("version", VERSIONS)
def test_a_player_follows_the_wrapper_to_the_partners_inline(client, app, partner, follow, version):
    [view] = follow(served_for(client, app, partner, "/inline", version))
    assert "error" not in view, view
    [ad] = view["ads"]
    port = partner.server_port
    assert ad["mediaFiles"] == [f"http://127.0.0.1:{port}/ad.mp4"] and ad["duration"] == 30
    ours = [url for url in ad["impressions"] if url.startswith("http://localhost/t/")]
    assert f"http://127.0.0.1:{port}/pixel?imp=1" in ad["impressions"] and len(ours) == 1
    assert any(url.startswith("http://localhost/t/start") for url in ad["tracking"]["start"])
    assert client.get(ours[0].removeprefix("http://localhost")).headers["X-Beacon"] == "counted"


# vast-client reads the truncated document leniently and finds no ad in it: 303, as for an empty answer.
@pytest.mark.parametrize(("path", "code"), [("/empty", "303"), ("/invalid", "303"), ("/loop", "302")])
def test_a_player_reports_the_partners_failure_to_our_error_url(
    client, app, auth, partner, follow, path, code
):
    """No ad, invalid XML, a loop past the wrapper limit: the client reports the VAST error code; fired at our
    Error URL, it is counted per line item."""
    document = served_for(client, app, partner, path)
    [view] = follow(document)
    assert not view.get("ads"), view
    assert code in view["errors"], view
    error_url = etree.fromstring(document).findtext(".//{*}Wrapper/{*}Error").strip()
    answer = client.get(fill_macros(error_url, {"ERRORCODE": code}).removeprefix("http://localhost"))
    assert answer.headers["X-Beacon"] == "counted"


# -- the partner's figures --------------------------------------------------------------------------------


def test_the_partners_no_ads_timeouts_and_fill_rate_are_in_the_line_items_stats(client, app, auth):
    """Four wrappers played: one impression, then a 303, a 301 and a 402 (not the partner's failure)."""
    campaign = redirect_campaign()
    refresh(app)
    outcomes = ("impression", "303", "301", "402")
    for outcome in outcomes:
        _, [wrapper] = wrapper_of(client.get("/vast"))
        if outcome == "impression":
            url = wrapper.findtext("{*}Impression").strip()
        else:
            url = fill_macros(wrapper.findtext("{*}Error").strip(), {"ERRORCODE": outcome})
        assert client.get(url.removeprefix("http://localhost")).headers["X-Beacon"] == "counted"
    flush(app)
    stats = client.get(f"/api/v1/campaigns/{campaign.id}/stats", headers=auth).get_json()
    assert stats["impressions"] == 1 and stats["errors_by_code"] == {"301": 1, "303": 1, "402": 1}
    assert stats["partner"] == {"no_ads": 1, "timeouts": 1, "failures": 2, "fill_rate": round(1 / 3, 6)}


def test_a_direct_campaign_has_no_partner_figures(client, app, auth):
    campaign = CampaignFactory(status="active")
    CreativeFactory(campaign=campaign)
    assert client.get(f"/api/v1/campaigns/{campaign.id}/stats", headers=auth).get_json()["partner"] is None


# -- server-side unwrapping --------------------------------------------------------------------------------


def unwrapped(client, app, partner, path: str, query: str = ""):
    redirect_campaign(
        tag=f"http://127.0.0.1:{partner.server_port}{path}?ss=[SERVERSIDE]", server_side_unwrap=True
    )
    refresh(app)
    started = time.monotonic()
    response = client.get(f"/vast?{query}")
    return response, time.monotonic() - started


@pytest.mark.parametrize("path", ["/inline", "/chain"])
def test_unwrapping_answers_the_partners_inline_with_both_parties_tracking(
    client, app, partner, follow, path
):
    response, _ = unwrapped(client, app, partner, path)
    validate(response.data, "4.2")  # the partner's InLine keeps its version
    root = etree.fromstring(response.data)
    assert root.find(".//{*}Wrapper") is None and root.find(".//{*}InLine") is not None
    port = partner.server_port
    impressions = [e.text for e in root.iter("{*}Impression")]
    assert impressions[0] == f"http://127.0.0.1:{port}/pixel?imp=1"
    assert any(url.startswith("http://localhost/t/impression?t=") for url in impressions)
    assert (f"http://127.0.0.1:{port}/pixel?hop=1" in impressions) == (path == "/chain")
    events = {(e.get("event"), e.text.split("?")[0]) for e in root.iter("{*}Tracking")}
    assert ("start", "http://localhost/t/start") in events
    if path == "/chain":  # the 3.0 hop's fullscreen, renamed for the 4.2 InLine
        assert ("playerExpand", f"http://127.0.0.1:{port}/pixel") in events
    [clicks] = root.iter("{*}VideoClicks")  # the partner's Linear had none: made for our click tracker
    assert [e.text.split("?")[0] for e in clicks] == ["http://localhost/t/click"]
    assert partner.calls[-1] == "/inline"
    [view] = follow(response.data)  # a player needs no wrapper any more
    assert view["ads"][0]["mediaFiles"] == [f"http://127.0.0.1:{port}/ad.mp4"]


@pytest.mark.parametrize(
    ("query", "ifa", "consent"),
    [(f"ifa=abc&gdpr=1&gdpr_consent={TCF_CONSENT}", "abc", TCF_CONSENT), ("ifa=abc&coppa=1", "-2", "-1")],
)
def test_every_hop_is_expanded_with_the_same_rules_and_nothing_is_left_raw(
    client, app, partner, monkeypatch, query, ifa, consent
):
    monkeypatch.setattr(runtime(app), "unwrap_timeout_seconds", 5.0)  # two hops on a busy machine: no race
    response, _ = unwrapped(client, app, partner, "/hop-macros", query)
    assert etree.fromstring(response.data).find(".//{*}InLine") is not None
    assert partner.calls == ["/hop-macros", "/inline"]
    first, second = (urllib.parse.parse_qs(q) for q in partner.queries)
    assert first == {"ss": ["1"]}
    cb = second.pop("cb")[0]
    assert cb.isdigit() and len(cb) == 8
    assert second == {
        "ifa": [ifa],
        "gc": [consent],
        "ss": ["1"],
        "e": ["-1"],  # no player will fill them on a server's call: -1 (VAST 4.1 §6.1)
        "ph": ["-1"],
        "n": ["-1"],
    }
    assert "[" not in partner.queries[1] and "]" not in partner.queries[1]


@pytest.mark.parametrize(
    ("path", "code", "query"),
    [("/empty", "303", ""), ("/invalid", "100", ""), ("/loop", "302", ""), ("/slow", "301", "tmax=400")],
)
def test_a_failed_unwrap_is_an_empty_vast_in_time_and_recorded(client, app, auth, partner, path, code, query):
    response, elapsed = unwrapped(client, app, partner, path, query)
    assert response.status_code == 200
    root = etree.fromstring(response.data)
    assert root.find("{*}Ad") is None
    assert elapsed < 1.0  # the default 1 s deadline, or the caller's tmax
    if path == "/loop":
        # the tag (with our query), then the loop's own URL, seen again at once: not followed five times
        assert partner.calls.count("/loop") == 2
    flush(app)
    [campaign_id] = [c for c in runtime(app).catalog.current().catalog.campaigns]
    stats = client.get(f"/api/v1/campaigns/{campaign_id}/stats", headers=auth).get_json()
    assert stats["errors_by_code"] == {code: 1}


def test_delivery_diagnosis_does_not_ask_a_redirect_for_creatives(client, app, auth):
    """Loaded, it competes; not loaded yet, it waits for the catalog, not for a creative."""
    redirect_campaign(name="partner loaded")
    refresh(app)
    redirect_campaign(name="partner just made")
    body = {"url": "https://ads.example.com/vast?max_duration=30", "headers": {}}
    response = client.post("/api/v1/delivery/diagnosis", json=body, headers=auth)
    assert response.status_code == 200, response.data
    rules = {row["name"]: row["rule"] for row in response.get_json()["campaigns"]}
    assert rules == {"partner loaded": "competes", "partner just made": "catalog"}
