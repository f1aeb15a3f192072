"""Beacons: each genuine one counted exactly once, forged ones refused, none lost; stats from the counts."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from lxml import etree

from app.db import utcnow
from app.tracking import flusher as flusher_module
from app.tracking.events import StoreUnavailable
from app.tracking.models import EventCountHourly, Impression, TrackingEvent
from tests.factories import CampaignFactory, CreativeFactory
from tests.serving_helpers import NS, ad_urls, ads_in, flush, get_vast, refresh, runtime
from vast.errors import meaning


@pytest.fixture
def settings(store_settings):
    return store_settings


@pytest.fixture
def live(session, app):
    campaign = CampaignFactory(status="active", cpm=Decimal("12.3456"), budget_total=Decimal("1000.00"))
    creative = CreativeFactory(campaign=campaign, click_through_url="https://brand.example.com/landing")
    refresh(app)
    return creative


def fire(client, url, **kwargs):
    return client.get(url, **kwargs)


def stats(client, auth, campaign_id, query=""):
    response = client.get(f"/api/v1/campaigns/{campaign_id}/stats?{query}", headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_players_beacons_are_counted_exactly_once(client, app, auth, live):
    urls = ad_urls(get_vast(client))
    for event in ("impression", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete", "click"):
        assert fire(client, urls[event]).status_code in (204, 302)
        assert fire(client, urls[event]).headers["X-Beacon"] == "duplicate"  # a retry
    flush(app)
    body = stats(client, auth, live.campaign_id)
    assert (body["impressions"], body["starts"], body["completes"], body["clicks"]) == (1, 1, 1, 1)
    assert (body["first_quartiles"], body["midpoints"], body["third_quartiles"]) == (1, 1, 1)
    assert body["completion_rate"] == 1.0 and body["ctr"] == 1.0
    assert body["spend"] == "0.0123456"  # cpm 12.3456 / 1000, exactly
    assert body["budget_remaining"] == "999.9876544"


def test_known_mix_of_genuine_duplicate_forged_and_other_campaign_beacons(client, app, auth, session, live):
    other = CreativeFactory()
    refresh(app)
    genuine = []
    while len(genuine) < 20:
        document_urls = ad_urls(get_vast(client))
        if document_urls["impression"]:
            genuine.append(document_urls)
    by_campaign = {}
    for urls in genuine:
        campaign = runtime(app).signer.verify(urls["impression"].split("t=")[1]).campaign_id
        by_campaign.setdefault(campaign, []).append(urls)
    ours = by_campaign.get(live.campaign_id, [])
    theirs = by_campaign.get(other.campaign_id, [])
    for urls in ours:
        fire(client, urls["impression"])
        fire(client, urls["impression"])  # duplicate
        fire(client, urls["complete"])
    for urls in theirs:
        fire(client, urls["impression"])
    forged = ours[0]["impression"][:-3] + "abc"
    assert fire(client, forged).status_code == 400
    assert fire(client, "/t/impression?t=").status_code == 400
    assert fire(client, "/t/impression").status_code == 400
    flush(app)
    assert stats(client, auth, live.campaign_id)["impressions"] == len(ours)
    assert stats(client, auth, live.campaign_id)["completes"] == len(ours)
    assert stats(client, auth, other.campaign_id)["impressions"] == len(theirs)
    assert session.scalar(sa.select(sa.func.count()).select_from(Impression)) == len(genuine)


def test_unknown_events_are_404_and_head_counts_nothing(client, app, auth, session, live):
    urls = ad_urls(get_vast(client))
    token = urls["impression"].split("?")[1]
    assert client.get(f"/t/teleport?{token}").status_code == 404
    for event in ("impression", "complete", "click"):
        response = client.head(urls[event])
        assert response.status_code == 204 and response.headers["X-Beacon"] == "not counted (HEAD)"
    assert client.head("/t/impression?t=forged").status_code == 400  # HEAD checks the token all the same
    assert runtime(app).store.pending() == 0
    assert client.get(urls["impression"]).headers["X-Beacon"] == "counted"
    flush(app)
    body = stats(client, auth, live.campaign_id)
    assert (body["impressions"], body["completes"], body["clicks"]) == (1, 0, 0)
    assert body["spend"] == "0.0123456"


def test_click_tracking_is_a_pixel_not_a_redirect(client, app, auth, live):
    urls = ad_urls(get_vast(client))
    response = client.get(urls["click"])
    assert response.status_code == 204 and "Location" not in response.headers
    assert "Content-Type" not in response.headers and response.data == b""  # no content, so no type
    image = client.get(urls["click"], headers={"Accept": "image/*"})
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/gif"
    flush(app)
    assert stats(client, auth, live.campaign_id)["clicks"] == 1


def test_error_beacons_keep_each_distinct_code_of_an_ad(client, app, auth, session, live):
    first, second, third = (ad_urls(get_vast(client)) for _ in range(3))
    assert fire(client, first["error"]).status_code == 204  # code=405
    assert fire(client, first["error"].replace("code=405", "code=402")).headers["X-Beacon"] == "counted"
    assert fire(client, first["error"]).headers["X-Beacon"] == "duplicate"  # the same code again
    fire(client, second["error"].replace("code=405", "code=[ERRORCODE]"))  # the player did not fill it
    fire(client, third["error"].replace("code=405", "code=402"))
    flush(app)
    body = stats(client, auth, live.campaign_id)
    assert body["errors"] == 4
    assert body["errors_by_code"] == {"402": 2, "405": 1, "unexpanded": 1}
    assert body["error_codes"] == [
        {"code": "402", "meaning": "Timeout of MediaFile URI.", "count": 2},
        {"code": "405", "meaning": meaning("405"), "count": 1},
        {"code": "unexpanded", "meaning": "The player did not replace the [ERRORCODE] macro.", "count": 1},
    ]
    rows = session.execute(
        sa.select(TrackingEvent.ad_serving_id, TrackingEvent.error_code).where(TrackingEvent.event == "error")
    ).all()
    assert sorted(code for (_, code) in rows) == ["402", "402", "405", "unexpanded"]
    served = {urls["impression"].partition("t=")[2]: urls for urls in (first, second, third)}
    ids = {runtime(app).signer.verify(token).ad_serving_id for token in served}
    assert {ad_serving_id for (ad_serving_id, _) in rows} == ids  # each recorded per ad serving id


def test_pixel_when_an_image_is_expected_and_cors_everywhere(client, live):
    urls = ad_urls(get_vast(client))
    response = client.get(
        urls["impression"], headers={"Accept": "image/webp,image/*", "Origin": "https://p.example"}
    )
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/gif"
    assert response.data.startswith(b"GIF89a")
    assert response.headers["Access-Control-Allow-Origin"] == "https://p.example"


def _vast_served_at(client, app, monkeypatch, offset_seconds: float) -> dict[str, str]:
    """The beacons of an ad served by a host whose clock is `offset_seconds` ahead of this one."""
    issued = int(time.time() + offset_seconds)
    with monkeypatch.context() as patch:
        patch.setattr(runtime(app).signer.signer, "get_timestamp", lambda: issued)
        return ad_urls(get_vast(client))


def test_expired_tokens_are_refused_within_the_clock_skew(client, app, monkeypatch, live):
    signer = runtime(app).signer
    assert signer.clock_skew_seconds == 30  # the default
    ahead = _vast_served_at(client, app, monkeypatch, 1)  # the serving host's clock is 1 s ahead
    assert client.get(ahead["impression"]).status_code == 204
    assert client.get(_vast_served_at(client, app, monkeypatch, 25)["impression"]).status_code == 204
    future = client.get(_vast_served_at(client, app, monkeypatch, 40)["impression"])
    assert future.status_code == 400 and "future" in future.get_json()["error"]
    late = _vast_served_at(client, app, monkeypatch, -(signer.max_age_seconds + 20))
    assert client.get(late["impression"]).status_code == 204  # old, but within the skew
    expired = client.get(_vast_served_at(client, app, monkeypatch, -(signer.max_age_seconds + 40))["start"])
    assert expired.status_code == 400
    assert "expired" in expired.get_json()["error"]


def test_beacons_run_no_sql(client, app, live):
    urls = ad_urls(get_vast(client))
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = app.extensions["database"].engine  # this app's: other apps of the process run their own loops
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        for event in ("impression", "start", "complete", "click", "error"):
            fire(client, urls[event])
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert statements == []


def test_when_the_store_is_down_beacons_go_to_the_database(client, app, auth, live, caplog):
    rt = runtime(app)
    urls = ad_urls(get_vast(client))

    def down(*_args):
        raise StoreUnavailable("connection refused")

    rt.store.record = down
    assert fire(client, urls["impression"]).status_code == 204
    assert fire(client, urls["impression"]).headers["X-Beacon"] == "duplicate"
    assert fire(client, urls["complete"]).headers["X-Beacon"] == "counted"
    assert rt.fallback_writes == 3
    assert "writing the impression beacon to the database" in caplog.text
    body = stats(client, auth, live.campaign_id)
    assert (body["impressions"], body["completes"]) == (1, 1)


def test_when_store_and_database_are_down_the_beacon_is_not_acknowledged(client, app, live):
    rt = runtime(app)
    urls = ad_urls(get_vast(client))

    def down(*_args, **_kwargs):
        raise StoreUnavailable("connection refused")

    rt.store.record = down
    rt.sessions = lambda: (_ for _ in ()).throw(sa.exc.OperationalError("x", {}, Exception("down")))
    response = fire(client, urls["impression"])
    assert response.status_code == 503
    assert "retry" in response.get_json()["error"]


def test_flushing_twice_counts_once(client, app, auth, session, live):
    rt = runtime(app)
    urls = ad_urls(get_vast(client))
    fire(client, urls["impression"])
    fire(client, urls["complete"])
    batch = rt.store.read_batch("test", 100, 0)
    from app.tracking.storing import store_events

    for _ in range(2):  # a flusher that stored the batch and died before acknowledging it
        store_events(session, [event for _, event in batch])
        session.commit()
    flush(app)
    body = stats(client, auth, live.campaign_id)
    assert (body["impressions"], body["completes"]) == (1, 1)
    assert session.scalar(sa.select(sa.func.count()).select_from(TrackingEvent)) == 1


def test_a_failed_flush_is_retried_without_loss(client, app, auth, live):
    rt = runtime(app)
    urls = ad_urls(get_vast(client))
    fire(client, urls["impression"])
    working = rt.flusher.sessions

    def database_down():
        raise sa.exc.OperationalError("INSERT", {}, Exception("database is down"))

    rt.flusher.sessions = database_down
    with pytest.raises(sa.exc.OperationalError):
        rt.flusher.flush_once()
    assert rt.store.pending() == 1
    rt.flusher.sessions = working
    assert rt.flusher.flush_once() == 1
    assert rt.store.pending() == 0
    assert stats(client, auth, live.campaign_id)["impressions"] == 1


def test_events_of_a_deleted_campaign_are_dropped_by_the_flusher(client, app, auth, live):
    urls = ad_urls(get_vast(client))
    fire(client, urls["impression"])
    assert client.delete(f"/api/v1/campaigns/{live.campaign_id}", headers=auth).status_code == 204
    assert flush(app) >= 1
    assert runtime(app).store.pending() == 0


def test_spending_the_budget_stops_serving_and_completes_the_campaign(client, app, auth, session):
    campaign = CampaignFactory(status="active", budget_total=Decimal("0.03"), cpm=Decimal("10.0000"))
    CreativeFactory(campaign=campaign)
    refresh(app)
    for _ in range(3):
        urls = ad_urls(get_vast(client))
        fire(client, urls["impression"])
    refresh(app)  # live spend 0.03 = budget
    assert len(ads_in(get_vast(client))) == 0
    flush(app)
    runtime(app).flusher.complete_finished_campaigns()
    assert client.get(f"/api/v1/campaigns/{campaign.id}", headers=auth).get_json()["status"] == "completed"
    body = stats(client, auth, campaign.id)
    assert (body["spend_to_date"], body["budget_remaining"]) == ("0.03", "0.00")


def test_between_full_checks_only_the_campaigns_with_stored_impressions_are_checked(
    client, app, auth, session
):
    flusher = runtime(app).flusher
    flusher.complete_finished_campaigns()  # the first check is a full one
    campaign = CampaignFactory(status="active", budget_total=Decimal("0.01"), cpm=Decimal("10.0000"))
    creative = CreativeFactory(campaign=campaign)
    session.add(  # spend stored by other means than this flusher's impressions (e.g. another flusher's)
        EventCountHourly(
            hour=utcnow().replace(minute=0, second=0, microsecond=0),
            campaign_id=campaign.id,
            creative_id=creative.id,
            event="impression",
            count=1,
            spend_units=100_000,
        )
    )
    session.commit()

    def status():
        return client.get(f"/api/v1/campaigns/{campaign.id}", headers=auth).get_json()["status"]

    flusher.complete_finished_campaigns()
    assert status() == "active"  # not among the campaigns of the impressions it stored: left for later
    flusher._last_full_housekeeping -= flusher_module.FULL_HOUSEKEEPING_SECONDS  # the full check is due
    flusher.complete_finished_campaigns()
    assert status() == "completed"


def test_a_worker_stops_offering_a_campaign_its_own_serves_would_exhaust(client, app, session):
    campaign = CampaignFactory(status="active", budget_total=Decimal("0.02"), cpm=Decimal("10.0000"))
    CreativeFactory(campaign=campaign)
    refresh(app)
    served = sum(len(ads_in(get_vast(client))) for _ in range(5))
    assert served == 2  # two ads of 0.01 before any impression came back


def test_campaigns_past_their_end_date_are_completed(client, app, auth, session):
    ended = CampaignFactory(
        status="paused", start_date=utcnow() - timedelta(days=3), end_date=utcnow() - timedelta(seconds=1)
    )
    running = CampaignFactory(status="active")
    runtime(app).flusher.complete_finished_campaigns()
    assert client.get(f"/api/v1/campaigns/{ended.id}", headers=auth).get_json()["status"] == "completed"
    assert client.get(f"/api/v1/campaigns/{running.id}", headers=auth).get_json()["status"] == "active"


def test_live_spend_is_seeded_from_the_database(client, app, auth, session, live):
    urls = ad_urls(get_vast(client))
    fire(client, urls["impression"])
    flush(app)
    rt = runtime(app)
    store_spend = rt.store.spend([live.campaign_id])
    assert store_spend == {live.campaign_id: 123_456}
    rt.store.seed_spend({live.campaign_id: 0})  # never lowers
    assert rt.store.spend([live.campaign_id]) == store_spend


def test_stats_ranges_granularity_and_validation(client, app, auth, session, live):
    urls = ad_urls(get_vast(client))
    fire(client, urls["impression"])
    fire(client, urls["start"])
    flush(app)
    hour = stats(client, auth, live.campaign_id)
    assert hour["from"] == live_campaign_start(session, live)
    assert sum(p["impressions"] for p in hour["series"]) == 1
    day = stats(client, auth, live.campaign_id, "granularity=day")
    assert day["granularity"] == "day" and sum(p["impressions"] for p in day["series"]) == 1
    assert all(p["period_start"].endswith("T00:00:00+00:00") for p in day["series"])
    tomorrow = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    future, later = tomorrow.isoformat(), (tomorrow + timedelta(days=1)).isoformat()
    empty = client.get(
        f"/api/v1/campaigns/{live.campaign_id}/stats",
        query_string={"from": future, "to": later},
        headers=auth,
    ).get_json()
    assert empty["impressions"] == 0 and len(empty["series"]) == 24
    assert hour["pacing"]["spend_share"] > 0 and 0 < hour["pacing"]["elapsed_share"] < 1
    assert hour["freshness"]["pending_events"] == 0
    bad = client.get(
        f"/api/v1/campaigns/{live.campaign_id}/stats",
        query_string={"from": later, "to": future},
        headers=auth,
    )
    assert bad.status_code == 400 and "to" in bad.get_json()["details"]
    too_long = client.get(
        f"/api/v1/campaigns/{live.campaign_id}/stats",
        query_string={"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        headers=auth,
    )
    assert too_long.status_code == 400
    assert (
        client.get(f"/api/v1/campaigns/{live.campaign_id}/stats?granularity=week", headers=auth).status_code
        == 400
    )
    assert (
        client.get("/api/v1/campaigns/0b8f3a2e-4c1d-4f5e-9a7b-123456789abc/stats", headers=auth).status_code
        == 404
    )
    assert client.get(f"/api/v1/campaigns/{live.campaign_id}/stats").status_code == 401


def live_campaign_start(session, creative) -> str:
    from app.campaigns.models import Campaign

    return session.get(Campaign, creative.campaign_id).start_date.isoformat()


def test_dashboard(client, app, auth, session, live):
    CampaignFactory(status="draft")
    for _ in range(3):
        urls = ad_urls(get_vast(client))
        fire(client, urls["impression"])
        fire(client, urls["complete"])
    assert len(ads_in(get_vast(client, "max_duration=5"))) == 0  # a no-fill
    flush(app)
    body = client.get("/api/v1/dashboard", headers=auth).get_json()
    assert body["totals"]["impressions"] == 3 and body["totals"]["completes"] == 3
    assert body["totals"]["completion_rate"] == 1.0
    assert body["campaigns_by_status"]["active"] == 1 and body["campaigns_by_status"]["draft"] == 1
    assert body["top_campaigns"][0]["id"] == str(live.campaign_id)
    last = body["last_24h"]
    assert (last["ad_requests"], last["fills"], last["no_fills"]) == (4, 3, 1)
    assert last["fill_rate"] == 0.75 and len(last["series"]) == 24
    assert sum(p["impressions"] for p in last["series"]) == 3
    assert client.get("/api/v1/dashboard").status_code == 401


def test_hourly_aggregates_are_exact_integers(client, app, session, live):
    for _ in range(3):
        fire(client, ad_urls(get_vast(client))["impression"])
    flush(app)
    row = session.scalars(sa.select(EventCountHourly).where(EventCountHourly.event == "impression")).one()
    assert (row.count, row.spend_units) == (3, 3 * 123_456)


def test_every_iab_tracking_event_is_counted_once(client, app, auth, session, live):
    document = get_vast(client)
    listed = {tracking.get("event") for tracking in document.iterfind(".//v:Tracking", namespaces=NS)}
    assert {"creativeView", "loaded", "start", "complete", "playerExpand", "rewind"} <= listed
    urls = ad_urls(document)
    token = urls["impression"].split("?")[1]
    for event in ("creativeView", "closeLinear", "notUsed", "fullscreen", "otherAdInteraction", "loaded"):
        assert client.get(f"/t/{event}?{token}").headers["X-Beacon"] == "counted", event
        assert client.get(f"/t/{event}?{token}").headers["X-Beacon"] == "duplicate", event
    for offset in ("00:00:05", "25%", "00:00:05"):
        client.get(f"/t/progress?{token}&offset={offset}")
    flush(app)
    rows = session.execute(sa.select(TrackingEvent.event, TrackingEvent.progress_offset)).all()
    assert sorted(rows) == sorted(
        [(e, "") for e in ("creativeView", "closeLinear", "notUsed", "fullscreen", "otherAdInteraction")]
        + [("loaded", ""), ("progress", "00:00:05"), ("progress", "25%")]
    )


@pytest.mark.parametrize("version", ["3.0", "4.0", "4.1", "4.2", "4.3"])
def test_each_version_lists_the_ctv_events_its_schema_knows(client, live, version):
    document = get_vast(client, f"vast_version={version}", version=version)
    events = {tracking.get("event") for tracking in document.iter("{*}Tracking")}
    assert {"creativeView", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete"} <= events
    assert ("loaded" in events) == (version >= "4.1")
    assert ("fullscreen" in events) == (version == "3.0") != ("playerExpand" in events)


def test_sdk_impressions_record_the_device_not_the_stitcher(client, app, session, live):
    answer = client.post("/api/v1/ad-request", json={"request_id": "sdk-device-1", "duration": 30})
    assert answer.status_code == 200
    response = client.post(
        "/api/v1/impression",
        json={"request_id": "sdk-device-1"},
        headers={"X-Forwarded-For": "198.51.100.20:7000, 10.0.0.1", "X-Device-User-Agent": "Tizen 7"},
    )
    assert response.status_code == 200
    flush(app)
    row = session.execute(sa.select(Impression.ip, Impression.user_agent)).one()
    assert (str(row.ip), row.user_agent) == ("198.51.100.20", "Tizen 7")


IFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
DEVICE = {"X-Device-IP": "203.0.113.77", "X-Device-User-Agent": "Roku/DVP-12.0 (12.0.0.4182-88)"}


@pytest.mark.parametrize(
    ("query", "stored"),
    [
        (f"ifa={IFA}", True),
        (f"ifa={IFA}&coppa=1", False),
        (f"ifa={IFA}&lmt=1", False),
        (f"ifa={IFA}&gpp=DBABLA~BVQVAAAAAgA.QA&gpp_sid=7", False),  # US National: opted out of sale
        (f"ifa={IFA}&gpp=DBABBg~BQUAAABA.QA&gpp_sid=8", False),  # California: opted out of sale, sharing
        (f"ifa={IFA}&gpp=DBABBg~BAoAAABA.QA&gpp_sid=8", True),  # California: did not opt out
    ],
)
def test_identifiers_reach_no_url_and_are_stored_only_when_allowed(client, app, session, live, query, stored):
    response = client.get(f"/vast?{query}", headers=DEVICE)
    document = response.get_data(as_text=True)
    for identifier in (IFA, IFA.lower(), "203.0.113.77", "Roku"):
        assert identifier not in document  # no tracking URL carries one, hashed or not, allowed or not
    urls = ad_urls(etree.fromstring(response.data))
    assert fire(client, urls["impression"], headers=DEVICE).status_code == 204
    assert fire(client, urls["start"], headers=DEVICE).status_code == 204
    flush(app)
    impression = session.scalars(sa.select(Impression)).one()
    start = session.scalars(sa.select(TrackingEvent).where(TrackingEvent.event == "start")).one()
    for row in (impression, start):
        expected = ("203.0.113.77", DEVICE["X-Device-User-Agent"]) if stored else (None, None)
        assert (row.ip, row.user_agent) == expected
