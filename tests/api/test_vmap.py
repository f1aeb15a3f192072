"""GET /vmap: a VMAP 1.0 playlist valid against the IAB schema, read by a real player's parser
(@dailymotion/vmap under node, tests/api/parse_vmap.js), whose every break's tag is a /vast pod request that
answers a valid VAST."""

from __future__ import annotations

import gzip
import re
import urllib.parse

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from lxml import etree

from app.settings import PROJECT_ROOT
from tests.conftest import REDIS_URL
from tests.factories import CampaignFactory, CreativeFactory
from tests.serving_helpers import node_parser, refresh, runtime
from tests.unit.serving.test_consent import TCF_CONSENT
from vast import vmap
from vast.validate import validate as validate_vast

NS = {"vmap": vmap.NAMESPACE}
PARSER = PROJECT_ROOT / "tests" / "api" / "parse_vmap.js"
PARSER_PACKAGES = ("@dailymotion/vmap", "@xmldom/xmldom")
SESSION_HEX = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def backend():
    """The playlist reads no database, and its tags are served from the in-memory catalog: SQLite will do."""
    return "sqlite"


@pytest.fixture
def store(request):
    return getattr(request, "param", "memory")


@pytest.fixture
def settings(store, make_settings, database_url, request):
    if store == "redis":
        request.getfixturevalue("redis_server")
        prefix = request.getfixturevalue("redis_prefix")
        return make_settings(database_url=database_url, redis_url=REDIS_URL, redis_key_prefix=prefix)
    return make_settings(database_url=database_url)


@pytest.fixture(scope="session")
def parse_with_player():
    """The VMAP parser players use, run by node on our documents: a list of its views (or errors)."""
    return node_parser(PARSER, PARSER_PACKAGES)


def get_vmap(client, query: str = "", **kwargs):
    response = client.get(f"/vmap?{query}", **kwargs)
    assert response.status_code == 200, response.data
    assert response.content_type == "application/xml; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.data
    if response.headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    vmap.validate(body)
    return response, body


def breaks_of(body: bytes) -> list[dict]:
    """Each break: offset, id, and its tag's query as a dict of lists."""
    found = []
    for element in etree.fromstring(body).iterfind("vmap:AdBreak", NS):
        tag = element.find("vmap:AdSource/vmap:AdTagURI", NS).text
        parts = urllib.parse.urlsplit(tag)
        found.append(
            {
                "offset": element.get("timeOffset"),
                "id": element.get("breakId"),
                "base": f"{parts.scheme}://{parts.netloc}{parts.path}",
                "query": urllib.parse.parse_qs(parts.query, keep_blank_values=True),
                "tag": tag,
            }
        )
    return found


def single(query: dict[str, list[str]], name: str) -> str:
    (value,) = query[name]
    return value


def test_by_default_a_pre_roll_and_a_post_roll_share_a_new_session(client):
    response, body = get_vmap(client)
    assert WARNINGS not in response.headers
    breaks = breaks_of(body)
    assert [(b["offset"], b["id"]) for b in breaks] == [("start", "preroll"), ("end", "postroll")]
    for b in breaks:
        assert b["base"] == "http://localhost/vast"
        assert set(b["query"]) == {"pod_max_dur", "pod_max_ads", "session_id"}
        assert single(b["query"], "pod_max_dur") == "60"
        assert single(b["query"], "pod_max_ads") == "4"
    sessions = {single(b["query"], "session_id") for b in breaks}
    assert len(sessions) == 1
    assert SESSION_HEX.fullmatch(sessions.pop())
    other = breaks_of(get_vmap(client)[1])
    assert single(other[0]["query"], "session_id") != single(breaks[0]["query"], "session_id")


WARNINGS = "X-Ad-Request-Warnings"

COMBINATIONS = [
    # query, offsets, each break's pod_max_dur
    ("midrolls=300,900", ["start", "00:05:00.000", "00:15:00.000", "end"], ["60", "120", "120", "60"]),
    ("midrolls=900,300&duration=1800", ["start", "00:05:00.000", "00:15:00.000", "end"], None),
    ("midroll_every=600&duration=1800", ["start", "00:10:00.000", "00:20:00.000", "end"], None),
    (
        "midroll_every=600&duration=1801",
        ["start", "00:10:00.000", "00:20:00.000", "00:30:00.000", "end"],
        None,
    ),
    ("midrolls=300&preroll=0", ["00:05:00.000", "end"], ["120", "60"]),
    ("midrolls=300&postroll=0", ["start", "00:05:00.000"], None),
    ("preroll=0&postroll=0", [], []),
    ("preroll=0&postroll=0&midrolls=12.5", ["00:00:12.500"], ["120"]),
    ("preroll=false&postroll=true", ["end"], None),
    (
        "midrolls=3600,5400.25&break_dur=90.5&preroll_dur=15&postroll_dur=30",
        ["start", "01:00:00.000", "01:30:00.250", "end"],
        ["15", "90.5", "90.5", "30"],
    ),
    ("midroll_every=7200&duration=14400", ["start", "02:00:00.000", "end"], None),
]


@pytest.mark.parametrize(("query", "offsets", "durations"), COMBINATIONS)
def test_each_combination_gives_a_valid_playlist_with_its_breaks(client, query, offsets, durations):
    response, body = get_vmap(client, query)
    assert WARNINGS not in response.headers, response.headers[WARNINGS]
    breaks = breaks_of(body)
    assert [b["offset"] for b in breaks] == offsets
    ids = [b["id"] for b in breaks]
    assert len(set(ids)) == len(ids)
    mids = [i for i in ids if i.startswith("midroll-")]
    assert mids == [f"midroll-{n}" for n in range(1, len(mids) + 1)]
    if durations is not None:
        assert [single(b["query"], "pod_max_dur") for b in breaks] == durations
    assert len({single(b["query"], "session_id") for b in breaks}) <= 1


def test_the_callers_parameters_are_carried_over_and_the_playlists_own_are_not(client):
    query = (
        "duration=1800&midrolls=600&midroll_every=900&preroll=1&postroll=1&break_dur=90&preroll_dur=30"
        "&postroll_dur=45&vast_version=4.1&ifa=abc-123&ip=203.0.113.9&app_bundle=tv.example&cb=42"
        "&us_privacy=1YNN&badv=rival.example&ua=Roku%2F9+(TV)&pod_min_ads=2&pod_buffet=1&gdpr_consent=CP+x%2Fy%3D"
        "&pmxd=30000&pod_max_dur=99&pmad=2&scor=stream-7&correlator=other&request_id=r-1&custom=a&custom=b"
        "&content_playhead=5"
    )
    response, body = get_vmap(client, query)
    breaks = breaks_of(body)
    assert [b["offset"] for b in breaks] == ["start", "00:10:00.000", "end"]
    carried = {  # no ifa, ip or ua: "CP x/y=" is no TC string, an unreadable signal (an opt-out)
        "vast_version": ["4.1"],
        "app_bundle": ["tv.example"],
        "cb": ["42"],
        "us_privacy": ["1YNN"],
        "badv": ["rival.example"],
        "pod_min_ads": ["2"],
        "pod_buffet": ["1"],
        "gdpr_consent": ["CP x/y="],
        "custom": ["a", "b"],
    }
    for b, seconds, playhead in zip(
        breaks, ("30", "90", "45"), ({}, {"content_playhead": ["600"]}, {}), strict=True
    ):
        assert b["query"] == {
            **carried,
            "pod_max_dur": [seconds],
            "pod_max_ads": ["2"],  # the caller's pmad
            "session_id": ["stream-7"],  # the caller's scor, as /vast reads its stream
            **playhead,  # a mid-roll's offset: the content's playhead at the break ([CONTENTPLAYHEAD])
        }
    warnings = response.headers[WARNINGS]
    assert "midroll_every: midrolls given, using midrolls" in warnings
    assert "pmxd: set per break, by break_dur, preroll_dur and postroll_dur" in warnings
    assert "pod_max_dur: set per break" in warnings
    assert "request_id: names one ad, not carried to the breaks" in warnings
    assert "content_playhead: set per mid-roll, from its offset" in warnings


@pytest.mark.parametrize(
    "signals",
    [
        "coppa=1",
        "lmt=1",
        "us_privacy=1YYN",
        "gdpr=1",  # no consent string
        "gdpr=1&gdpr_consent=nonsense",  # unreadable: taken as an opt-out
        "gpp=DBABBg~BQUAAABA.QA&gpp_sid=8",  # California's GPP section: opted out of sale and sharing
    ],
)
def test_identifiers_are_left_out_of_the_tags_when_they_may_not_be_used(client, signals):
    query = f"ifa=abc-123&ip=203.0.113.9&ua=Roku%2F9&app_bundle=tv.example&{signals}&midrolls=600"
    _, body = get_vmap(client, query)
    for b in breaks_of(body):
        assert not {"ifa", "ip", "ua"} & set(b["query"]), b["query"]
        assert single(b["query"], "app_bundle") == "tv.example"
        for name, value in urllib.parse.parse_qsl(signals):  # the signals go along, for /vast's rule
            assert single(b["query"], name) == value


def test_identifiers_go_along_when_the_signals_allow_them(client):
    _, body = get_vmap(client, f"ifa=abc-123&ip=203.0.113.9&gdpr=1&gdpr_consent={TCF_CONSENT}&coppa=0")
    for b in breaks_of(body):
        assert (single(b["query"], "ifa"), single(b["query"], "ip")) == ("abc-123", "203.0.113.9")


def test_the_callers_session_id_is_the_streams(client):
    breaks = breaks_of(get_vmap(client, "session_id=abc-42&midrolls=60,120")[1])
    assert [single(b["query"], "session_id") for b in breaks] == ["abc-42"] * 4


def test_tags_are_on_the_public_base_url_when_set_else_the_requests_host(client, app):
    breaks = breaks_of(get_vmap(client, base_url="https://tv.example.net:8443")[1])
    assert {b["base"] for b in breaks} == {"https://tv.example.net:8443/vast"}
    runtime(app).public_base_url = "https://ads.example.com"  # PUBLIC_BASE_URL
    breaks = breaks_of(get_vmap(client, base_url="https://tv.example.net:8443")[1])
    assert {b["base"] for b in breaks} == {"https://ads.example.com/vast"}


@pytest.mark.parametrize(
    ("query", "offsets", "warning"),
    [
        (
            "duration=1200&midrolls=300,abc,300,1200,1300,0,-5,nan,300.0004,0.0004",
            ["start", "00:05:00.000", "end"],
            "midrolls: dropped abc (not a number), 300 (duplicate), 1200 (not before the end at 1200), "
            "1300 (not before the end at 1200), 0 (not above 0) and 4 more",
        ),
        ("midrolls=90000", ["start", "end"], "midrolls: dropped 90000 (above 86400)"),
        ("midrolls=,,", ["start", "end"], "midrolls: no offset"),
        ("midrolls=[CUE_POINTS]", ["start", "end"], "midrolls: unexpanded macro"),
        ("midrolls=", ["start", "end"], "midrolls: empty"),
        ("midroll_every=600", ["start", "end"], "midroll_every: needs duration"),
        (
            "midroll_every=600&duration=%25%25DURATION%25%25",
            ["start", "end"],
            "duration: unexpanded macro; midroll_every: needs duration",
        ),
        ("midroll_every=0.5&duration=60", ["start", "end"], "midroll_every: below 1"),
        ("duration=0&midrolls=30", ["start", "00:00:30.000", "end"], "duration: not above 0"),
        ("preroll=maybe", ["start", "end"], "preroll: not 0 or 1, using 1"),
        ("postroll=", ["start", "end"], "postroll: empty"),
        ("break_dur=0&midrolls=30", ["start", "00:00:30.000", "end"], "break_dur: below 1"),
        ("preroll_dur=abc", ["start", "end"], "preroll_dur: not a number"),
        ("postroll_dur=7200", ["start", "end"], "postroll_dur: above 3600"),
        ("pod_max_ads=0", ["start", "end"], "pod_max_ads: below 1"),
        (
            "session_id=" + "x" * 129,
            ["start", "end"],
            "session_id: longer than 128 characters",
        ),
    ],
)
def test_unusable_values_are_ignored_and_named(client, query, offsets, warning):
    response, body = get_vmap(client, query)
    assert [b["offset"] for b in breaks_of(body)] == offsets
    assert response.headers[WARNINGS] == warning
    refused = client.get(f"/vmap?{query}&strict=1")
    assert refused.status_code == 400
    assert refused.json["details"] == dict(item.split(": ", 1) for item in warning.split("; "))
    assert refused.json["error"].startswith("Invalid ad request: ")


def test_the_defaults_stand_for_values_that_were_ignored(client):
    breaks = breaks_of(
        get_vmap(client, "break_dur=x&preroll_dur=&postroll_dur=%7Bdur%7D&pod_max_ads=x&midrolls=10")[1]
    )
    assert [single(b["query"], "pod_max_dur") for b in breaks] == ["60", "120", "60"]
    assert {single(b["query"], "pod_max_ads") for b in breaks} == {"4"}
    response, body = get_vmap(client, "session_id=%5BSESSION%5D")
    assert response.headers[WARNINGS] == "session_id: unexpanded macro"
    assert SESSION_HEX.fullmatch(single(breaks_of(body)[0]["query"], "session_id"))


def test_pod_max_ads_above_what_a_pod_holds_is_its_maximum(client):
    breaks = breaks_of(get_vmap(client, "pod_max_ads=500")[1])
    assert {single(b["query"], "pod_max_ads") for b in breaks} == {"20"}


def test_strict_with_nothing_to_say_is_a_playlist_and_is_carried_to_the_tags(client):
    response, body = get_vmap(client, "strict=1&midrolls=60")
    assert WARNINGS not in response.headers
    assert {single(b["query"], "strict") for b in breaks_of(body)} == {"1"}


def test_at_most_50_breaks(client):
    response, body = get_vmap(client, "midroll_every=1&duration=86400")
    breaks = breaks_of(body)
    assert len(breaks) == 50
    assert [b["offset"] for b in breaks][:3] == ["start", "00:00:01.000", "00:00:02.000"]
    assert breaks[-2]["offset"] == "00:00:48.000"
    assert breaks[-1]["offset"] == "end"
    assert response.headers[WARNINGS] == "midroll_every: 50 breaks at most, dropped the mid-rolls from 49"

    listed = ",".join(str(n * 10) for n in range(60, 0, -1))
    response, body = get_vmap(client, f"preroll=0&postroll=0&midrolls={listed}")
    breaks = breaks_of(body)
    assert len(breaks) == 50
    assert breaks[-1]["offset"] == "00:08:20.000"  # the earliest 50
    assert response.headers[WARNINGS] == "midrolls: 50 breaks at most, dropped the last 10"


def test_the_warnings_header_is_ascii_and_bounded(client):
    hostile = ",".join(["é€x" * 10, "\x01", "<script>"] * 20)
    unusable = dict.fromkeys(
        ("duration", "midroll_every", "preroll", "postroll", "break_dur", "preroll_dur", "postroll_dur"),
        "x" * 300,
    )
    query = urllib.parse.urlencode(
        {
            **unusable,
            "midrolls": hostile,
            "session_id": "s" * 200,
            "pod_max_ads": "-1",
            "pmxd": "1",
            "pod_max_dur": "1",
            "avail_duration_secs": "1",
            "request_id": "r",
        }
    )
    response, _ = get_vmap(client, query)
    header = response.headers[WARNINGS]
    assert header.isascii()
    assert len(header) <= 512
    assert header.startswith("duration: not a number; midroll_every: not a number; ")
    assert header.endswith("; ...")


def test_a_playlist_of_many_breaks_is_gzipped_for_who_accepts_it(client):
    query = "midroll_every=60&duration=3600&app_name=" + "n" * 200
    response, body = get_vmap(client, query, headers={"Accept-Encoding": "gzip"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert len(breaks_of(body)) == 50
    plain, plain_body = get_vmap(client, query)
    assert "Content-Encoding" not in plain.headers
    assert len(breaks_of(plain_body)) == 50


def test_tags_longer_than_a_query_may_be_are_refused_with_414(client):
    query = "app_name=" + "n" * 7980
    response = client.get(f"/vmap?{query}")
    assert response.status_code == 414
    assert "8000 bytes" in response.json["error"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_browser_players_may_read_it_from_any_origin(client):
    response, _ = get_vmap(client, headers={"Origin": "null"})
    assert response.headers["Access-Control-Allow-Origin"] == "null"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "X-Ad-Request-Warnings" in response.headers["Access-Control-Expose-Headers"]
    preflight = client.options(
        "/vmap", headers={"Origin": "https://player.example.com", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://player.example.com"
    head = client.head("/vmap")
    assert head.status_code == 200
    assert head.data == b""
    assert client.post("/vmap").status_code == 405


# Offsets as integrators write them: seconds, with milliseconds, now and then unusable, in any order.
offset_items = st.one_of(
    st.integers(min_value=-10, max_value=100_000).map(str),
    st.floats(min_value=0, max_value=90_000, allow_nan=False).map(lambda s: f"{s:.3f}"),
    st.sampled_from(["", "abc", "[CUE]", "nan", "inf", "1e3", " 30 "]),
)


def test_any_offsets_give_a_valid_playlist_that_the_players_parser_reads(client, parse_with_player):
    documents: list[tuple[bytes, list[str]]] = []

    @hypothesis_settings(
        max_examples=150,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(
        items=st.lists(offset_items, max_size=70),
        duration=st.one_of(st.none(), st.integers(min_value=1, max_value=90_000)),
        preroll=st.booleans(),
        postroll=st.booleans(),
    )
    def check(items, duration, preroll, postroll):
        query = {"midrolls": ",".join(items), "preroll": int(preroll), "postroll": int(postroll)}
        if duration is not None:
            query["duration"] = duration
        response, body = get_vmap(client, urllib.parse.urlencode(query))
        offsets = [b["offset"] for b in breaks_of(body)]
        assert len(offsets) <= 50
        assert (offsets[:1] == ["start"]) == preroll
        assert (offsets[-1:] == ["end"]) == postroll
        mids = [seconds(o) for o in offsets if o not in ("start", "end")]
        assert mids == sorted(set(mids))
        assert all(0 < s <= 86400 and (duration is None or s < duration) for s in mids)
        header = response.headers.get(WARNINGS, "")
        assert header.isascii()
        assert len(header) <= 512
        documents.append((body, offsets))

    check()
    views = parse_with_player(*(body for body, _ in documents))
    for (_, offsets), view in zip(documents, views, strict=True):
        assert "error" not in view, view
        assert [b["timeOffset"] for b in view["adBreaks"]] == offsets


def seconds(offset: str) -> float:
    hours, minutes, secs = offset.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(secs)


@pytest.fixture
def campaigns(session, app):
    """Fifteen campaigns with 15, 30 and 60 s creatives: enough for a full pod in every break of a stream
    that shows no campaign twice."""
    creatives = [
        CreativeFactory(campaign=CampaignFactory(status="active"), duration=duration)
        for duration in (15.0, 30.0, 60.0)
        for _ in range(5)
    ]
    refresh(app)
    return creatives


def duration_of(ad) -> float:
    hours, minutes, secs = ad.findtext(".//{*}Duration").split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(secs)


@pytest.mark.parametrize("store", ["memory", "redis"], indirect=True)
@pytest.mark.parametrize("version", ["3.0", "4.2"])
def test_the_players_parser_reads_every_break_and_each_tag_answers_a_valid_vast(
    client, campaigns, parse_with_player, version
):
    query = f"duration=1800&midrolls=300,900&break_dur=90&pod_max_ads=3&vast_version={version}&cb=7"
    _, body = get_vmap(client, query)
    (view,) = parse_with_player(body)
    assert view["version"] == "1.0"
    offsets = ["start", "00:05:00.000", "00:15:00.000", "end"]
    assert [b["timeOffset"] for b in view["adBreaks"]] == offsets
    assert [b["breakId"] for b in view["adBreaks"]] == ["preroll", "midroll-1", "midroll-2", "postroll"]
    assert {b["breakType"] for b in view["adBreaks"]} == {"linear"}
    sources = [b["adSource"] for b in view["adBreaks"]]
    assert [s["id"] for s in sources] == ["1", "2", "3", "4"]
    assert {(s["allowMultipleAds"], s["followRedirects"]) for s in sources} == {("true", "true")}
    assert {s["adTagURI"]["templateType"] for s in sources} == {"vast3"}
    tags = [s["adTagURI"]["uri"] for s in sources]
    assert tags == [b["tag"] for b in breaks_of(body)]

    shown: list[str] = []
    for tag, seconds_allowed in zip(tags, (60, 90, 90, 60), strict=True):
        parts = urllib.parse.urlsplit(tag)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://localhost/vast"
        response = client.get(f"{parts.path}?{parts.query}")
        assert response.status_code == 200, response.data
        document = response.data
        if response.headers.get("Content-Encoding") == "gzip":
            document = gzip.decompress(document)
        validate_vast(document, version)
        ads = etree.fromstring(document).findall("{*}Ad")
        assert 1 <= len(ads) <= 3
        assert sum(duration_of(ad) for ad in ads) <= seconds_allowed
        shown += [ad.get("id") for ad in ads]  # Ad@id is the campaign
        runtime(
            client.application
        ).streams.flush()  # what its loop does every 0.2 s; breaks are minutes apart
    # One session_id for the stream: competitive separation spans its breaks, no campaign is shown twice.
    assert len(shown) == len(set(shown))
