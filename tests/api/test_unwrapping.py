"""Server-side unwrapping of VAST redirect line items on /vast, against loopback partners: the whole answer
within the deadline (a trickling partner, a chain of slow hops), a failed unwrap counted as no fill and
giving way to the next ad, and unwrapping inside a pod (sequence kept 1..k, valid in every version, read by
a real player's VAST parser)."""

from __future__ import annotations

import random
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from lxml import etree

from app.settings import PROJECT_ROOT
from app.tracking.models import ServedAdHourly, ServingCountHourly
from tests.api.test_wrappers import VERSIONS, redirect_campaign
from tests.factories import CampaignFactory, CreativeFactory
from tests.serving_helpers import flush, node_parser, refresh, runtime
from vast.model import InlineAd, LinearCreative, MediaFile, Tracking, WrapperAd
from vast.render import render
from vast.validate import validate

STEP = 0.3  # seconds between two bytes of the trickling partner
HOP_SECONDS = 0.4  # each hop of the slow chain
MARGIN = 0.15  # past the deadline: the last read's wake-up, the rest of the answer, a loaded machine


@pytest.fixture
def settings(store_settings):
    return store_settings


@pytest.fixture(autouse=True)
def factories(session):
    return session


def partner_inline(base: str, name: str) -> InlineAd:
    return InlineAd(
        ad_id=f"p-{name}",
        ad_system="Partner",
        ad_system_version=None,
        ad_title=f"Partner ad {name}",
        ad_serving_id=f"p-{name}",
        impressions=(f"{base}/pixel?imp={name}",),
        errors=(),
        creative=LinearCreative(
            creative_id=f"pc-{name}",
            universal_ad_id=f"p-{name}",
            duration_seconds=30.0,
            media_files=(MediaFile(f"{base}/{name}.mp4", 1280, 720, 2000),),
            tracking=(Tracking("start", f"{base}/pixel?start={name}"),),
        ),
    )


class Partner(BaseHTTPRequestHandler):
    """/inline?v=<version>&name=<n>: an InLine of that version; /empty: no ad; /trickle: a byte every STEP;
    /hop/N: after HOP_SECONDS a Wrapper to /hop/N-1, /hop/0 an InLine."""

    def do_GET(self):
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        base = f"http://127.0.0.1:{self.server.server_port}"
        self.server.calls.append(parts.path)
        empty = b'<VAST version="4.2" xmlns="http://www.iab.com/VAST"/>'
        if parts.path == "/inline":
            body = render(partner_inline(base, query.get("name", "a")), query.get("v", "4.2"))
        elif parts.path.startswith("/hop/"):
            time.sleep(HOP_SECONDS)
            left = int(parts.path.rsplit("/", 1)[1])
            body = render(partner_inline(base, "end"), "4.2")
            if left:
                hop = WrapperAd(
                    f"hop-{left}", "Hop", None, f"{base}/hop/{left - 1}", (f"{base}/p?hop={left}",), ()
                )
                body = render(hop, "4.2")
        else:
            body = empty
        self.send_response(200)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for piece in [bytes([byte]) for byte in body] if parts.path == "/trickle" else [body]:
                self.wfile.write(piece)
                self.wfile.flush()
                time.sleep(STEP if parts.path == "/trickle" else 0)
        except (BrokenPipeError, ConnectionResetError):
            pass  # we hung up on it at the deadline

    def log_message(self, *args):
        pass


@pytest.fixture
def partner():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Partner)
    server.daemon_threads = True
    server.calls = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def unwrapping(partner, path: str, duration: float = 30.0, **fields):
    tag = f"http://127.0.0.1:{partner.server_port}{path}"
    return redirect_campaign(tag=tag, duration=duration, server_side_unwrap=True, **fields)


def direct(duration: float = 30.0):
    return CreativeFactory(campaign=CampaignFactory(status="active"), duration=duration)


def timed_get(client, query: str):
    started = time.monotonic()
    response = client.get(f"/vast?{query}")
    assert response.status_code == 200, response.data
    return response, time.monotonic() - started


def errors_of(client, auth, campaign) -> dict[str, int]:
    return client.get(f"/api/v1/campaigns/{campaign.id}/stats", headers=auth).get_json()["errors_by_code"]


def served_of(session, campaign_id) -> int:
    total = session.scalar(
        sa.select(sa.func.sum(ServedAdHourly.ads)).where(ServedAdHourly.campaign_id == campaign_id)
    )
    return int(total or 0)


def fills(session) -> tuple[int, int]:
    row = session.execute(
        sa.select(sa.func.sum(ServingCountHourly.fills), sa.func.sum(ServingCountHourly.no_fills))
    )
    return tuple(int(value or 0) for value in row.one())


@pytest.fixture
def redirect_drawn_first(monkeypatch):
    """The decision's first draw takes the shortest ad (the redirect line items here are shorter than the
    direct ones), every later draw the longest: a failed unwrap then meets a direct ad."""
    draws = iter([0.0])
    monkeypatch.setattr(random, "random", lambda: next(draws, 0.999999))


# -- 1. one deadline for the whole answer -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "query", "deadline"),
    [
        ("/trickle", "tmax=400", 0.35),  # tmax less the 50 ms kept for the answer
        ("/hop/3", "", 1.0),  # UNWRAP_TIMEOUT_SECONDS: four hops of 0.4 s would take 1.6 s
        ("/hop/3", "tmax=700", 0.65),
    ],
)
def test_a_slow_partner_is_answered_within_the_deadline_with_the_fallback(
    client, app, auth, partner, path, query, deadline
):
    campaign = unwrapping(partner, path)
    refresh(app)
    response, elapsed = timed_get(client, query)
    print(
        f"{path} {query or 'default'}: answered in {elapsed * 1000:.0f} ms, deadline {deadline * 1000:.0f} ms"
    )
    assert deadline - 0.05 < elapsed < deadline + MARGIN
    root = etree.fromstring(response.data)
    assert root.find("{*}Ad") is None and root.findtext("{*}Error").strip().endswith(
        "/t/no-ad?code=[ERRORCODE]"
    )
    flush(app)
    assert errors_of(client, auth, campaign) == {"301": 1}


def test_a_tmax_shorter_than_the_answer_needs_leaves_no_time_to_unwrap(client, app, auth, partner):
    unwrapping(partner, "/trickle")
    refresh(app)
    for tmax in (1, 30, 49):
        response, elapsed = timed_get(client, f"tmax={tmax}")
        assert elapsed < MARGIN, tmax  # never the longer default deadline
        assert "tmax" not in response.headers.get("X-Ad-Request-Warnings", "")
        assert etree.fromstring(response.data).find("{*}Ad") is None


# -- 2. a failed unwrap is no fill --------------------------------------------------------------------------


def test_a_failed_unwrap_alone_is_a_no_fill_counted_as_such(client, app, auth, session, partner):
    campaign = unwrapping(partner, "/empty")
    refresh(app)
    response, _ = timed_get(client, "")
    root = etree.fromstring(response.data)
    assert root.find("{*}Ad") is None and root.find("{*}Error") is not None  # the 4.x no-ad Error
    flush(app)
    assert fills(session) == (0, 1)
    assert served_of(session, campaign.id) == 0
    assert errors_of(client, auth, campaign) == {"303": 1}
    assert (
        client.get(f"/api/v1/campaigns/{campaign.id}/stats", headers=auth).get_json()["partner"]["no_ads"]
        == 1
    )


def test_a_failed_unwrap_gives_way_to_the_next_eligible_ad(
    client, app, auth, session, partner, redirect_drawn_first
):
    failing = unwrapping(partner, "/empty", duration=15.0)
    creative = direct(30.0)
    refresh(app)
    response, _ = timed_get(client, "")
    validate(response.data, "4.2")
    [ad] = etree.fromstring(response.data).findall("{*}Ad")
    assert ad.get("id") == str(creative.campaign_id) and partner.calls == ["/empty"]
    flush(app)
    assert fills(session) == (1, 0)
    assert (served_of(session, failing.id), served_of(session, creative.campaign_id)) == (0, 1)
    assert errors_of(client, auth, failing) == {"303": 1}


def test_a_second_unwrapping_line_item_is_not_tried_once_the_deadline_has_passed(
    client, app, auth, session, partner, monkeypatch
):
    """The first partner times out and uses up the deadline; the next draw, another unwrapping line item,
    is skipped without being charged a failure, and the third is the direct ad."""
    slow = unwrapping(partner, "/hop/3", duration=10.0)
    skipped = unwrapping(partner, "/inline", duration=20.0)
    creative = direct(30.0)
    draws = iter([0.0, 0.5])  # the 10 s line item, then the 20 s one (of weights 1:1:1), then the 30 s ad
    monkeypatch.setattr(random, "random", lambda: next(draws, 0.999999))
    refresh(app)
    response, elapsed = timed_get(client, "tmax=500")
    assert elapsed < 0.45 + MARGIN
    [ad] = etree.fromstring(response.data).findall("{*}Ad")
    assert ad.get("id") == str(creative.campaign_id) and "/inline" not in partner.calls
    flush(app)
    assert fills(session) == (1, 0)
    assert (errors_of(client, auth, slow), errors_of(client, auth, skipped)) == ({"301": 1}, {})


# -- 3. unwrapping inside a pod ----------------------------------------------------------------------------


@pytest.fixture
def parse():
    return node_parser(PROJECT_ROOT / "tests" / "api" / "parse_vast.js", ("@dailymotion/vast-client",))


@pytest.mark.parametrize("version", VERSIONS)
def test_a_pod_unwraps_its_line_items_and_drops_a_failed_one_keeping_the_sequence(
    client, app, auth, session, partner, parse, version
):
    good = unwrapping(partner, f"/inline?v={version}&name=good")
    failing = unwrapping(partner, "/empty")
    creatives = [direct(), direct()]
    refresh(app)
    response, _ = timed_get(client, f"pod_max_dur=120&pod_max_ads=4&vast_version={version}")
    validate(response.data, version)
    root = etree.fromstring(response.data)
    assert root.find(".//{*}Wrapper") is None
    ads = root.findall("{*}Ad")
    assert [ad.get("sequence") for ad in ads] == ["1", "2", "3"]
    ids = [ad.get("id") for ad in ads]
    assert sorted(ids) == sorted(["p-good", *(str(c.campaign_id) for c in creatives)])
    port = partner.server_port
    [view] = parse(response.data)
    assert [ad["sequence"] for ad in view["ads"]] == ["1", "2", "3"]
    partner_view = view["ads"][ids.index("p-good")]
    assert partner_view["mediaFiles"] == [f"http://127.0.0.1:{port}/good.mp4"]
    ours = [url for url in partner_view["impressions"] if url.startswith("http://localhost/t/impression")]
    assert len(ours) == 1 and f"http://127.0.0.1:{port}/pixel?imp=good" in partner_view["impressions"]
    signer = runtime(app).signer
    for number, ad_view in enumerate(view["ads"], 1):  # every beacon signed for the ad's new position
        [url] = [url for url in ad_view["impressions"] if url.startswith("http://localhost/t/impression")]
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["t"][0]
        assert signer.verify(token).pod_position == number
    flush(app)
    assert fills(session) == (1, 0)
    assert (served_of(session, good.id), served_of(session, failing.id)) == (1, 0)
    assert errors_of(client, auth, failing) == {"303": 1}
    last = client.get("/api/v1/dashboard", headers=auth).get_json()["last_24h"]
    assert last["ads_per_pod"] == 3


def test_a_partners_inline_that_does_not_hold_in_the_pods_version_is_dropped_as_102(
    client, app, auth, session, partner
):
    """A 4.2 InLine (AdServingId, UniversalAdId...) cannot stand in a 3.0 pod."""
    newer = unwrapping(partner, "/inline?v=4.2")
    creative = direct()
    refresh(app)
    response, _ = timed_get(client, "pod_max_dur=60&vast_version=3.0")
    validate(response.data, "3.0")
    [ad] = etree.fromstring(response.data).findall("Ad")
    assert (ad.get("id"), ad.get("sequence")) == (str(creative.campaign_id), "1")
    flush(app)
    assert errors_of(client, auth, newer) == {"102": 1}


def test_a_pod_whose_every_line_item_fails_is_a_no_fill(client, app, auth, session, partner):
    campaigns = [unwrapping(partner, "/empty"), unwrapping(partner, "/empty")]
    refresh(app)
    response, _ = timed_get(client, "pod_max_dur=120")
    assert etree.fromstring(response.data).find("{*}Ad") is None
    flush(app)
    assert fills(session) == (0, 1)
    assert [errors_of(client, auth, c) for c in campaigns] == [{"303": 1}, {"303": 1}]


def test_a_pods_line_items_share_the_requests_deadline(client, app, auth, partner):
    """Two trickling partners in one pod, tmax 500 ms: the first is cut off at the deadline, the second
    (one after the other, as the test server runs) has no time left and is not charged a failure."""
    campaigns = [unwrapping(partner, "/trickle"), unwrapping(partner, "/trickle")]
    direct()
    refresh(app)
    response, elapsed = timed_get(client, "pod_max_dur=120&tmax=500")
    print(f"pod of two trickling partners: answered in {elapsed * 1000:.0f} ms, deadline 450 ms")
    assert elapsed < 0.45 + MARGIN
    ads = etree.fromstring(response.data).findall("{*}Ad")
    assert [ad.get("sequence") for ad in ads] == ["1"]
    flush(app)
    assert sorted(str(errors_of(client, auth, c)) for c in campaigns) == sorted(["{'301': 1}", "{}"])


# -- 6. previews of a redirect line item -------------------------------------------------------------------


def preview_query(app, campaign) -> str:
    return f"preview={runtime(app).previews.sign(campaign.id)}"


def our_token(urls: list[str]) -> str:
    [url] = [url for url in urls if url.startswith("http://localhost/t/impression")]
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["t"][0]


def test_a_redirect_previews_as_its_wrapper_in_test_traffic(client, app, auth, session, partner):
    draft = redirect_campaign(tag="https://p.example/v?ss=[SERVERSIDE]&cb=[CACHEBUSTING]", status="draft")
    response, _ = timed_get(client, preview_query(app, draft))
    validate(response.data, "4.2")
    root = etree.fromstring(response.data)
    [ad] = root.findall("{*}Ad")
    assert ad.get("id") == str(draft.id)
    tag = ad.findtext("{*}Wrapper/{*}VASTAdTagURI").strip()
    assert tag.startswith("https://p.example/v?ss=0&cb=") and "[CACHEBUSTING]" not in tag
    claims = runtime(app).signer.verify(our_token([e.text.strip() for e in root.iter("{*}Impression")]))
    assert (claims.test, claims.campaign_id) == (True, draft.id)
    flush(app)
    assert fills(session) == (0, 0)  # the request is not counted


def test_an_unwrapping_redirect_previews_as_the_partners_inline(client, app, auth, session, partner, parse):
    paused = unwrapping(partner, "/inline?name=preview", status="paused")
    response, _ = timed_get(client, preview_query(app, paused))
    [view] = parse(response.data)
    [ad] = view["ads"]
    assert ad["mediaFiles"] == [f"http://127.0.0.1:{partner.server_port}/preview.mp4"]
    assert runtime(app).signer.verify(our_token(ad["impressions"])).test is True


def test_a_failing_partner_in_a_preview_is_named_and_not_recorded(client, app, auth, session, partner):
    draft = unwrapping(partner, "/empty", status="draft")
    response, _ = timed_get(client, preview_query(app, draft))
    assert etree.fromstring(response.data).find("{*}Ad") is None
    assert (
        response.headers["X-Ad-Request-Warnings"] == "preview: the partner's tag failed with VAST error 303"
    )
    flush(app)
    assert errors_of(client, auth, draft) == {} and fills(session) == (0, 0)
