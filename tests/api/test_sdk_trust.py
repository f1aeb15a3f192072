"""The SDK routes honour privacy signals as /vast does, build URLs only from trusted configuration, and
decide once per request_id however many copies arrive together."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from app.serving.models import AdRequest
from app.tracking.models import Impression, ServingCountHourly, TrackingEvent
from tests.factories import CreativeFactory
from tests.serving_helpers import flush, refresh, runtime


@pytest.fixture
def settings(store_settings):
    return store_settings


@pytest.fixture
def live(session, app):
    creative = CreativeFactory(duration=30.0)
    refresh(app)
    return creative


DEVICE = {"X-Device-IP": "203.0.113.7", "X-Device-User-Agent": "Tizen 7"}


def _private_rows(session) -> list[tuple]:
    session.expire_all()
    return [
        *session.execute(sa.select(AdRequest.ip, AdRequest.user_agent)).all(),
        *session.execute(sa.select(Impression.ip, Impression.user_agent)).all(),
        *session.execute(sa.select(TrackingEvent.ip, TrackingEvent.user_agent)).all(),
    ]


@pytest.mark.parametrize(
    "signals",
    [
        {"us_privacy": "1YYN"},
        {"gdpr": 1},
        {"gdpr": "1", "gdpr_consent": ""},
        {"gdpr_consent": "[GDPR_CONSENT]"},  # sent but unreadable: an opt-out
        {"us_privacy": "garbage"},
    ],
)
def test_sdk_privacy_signals_keep_personal_data_out(client, app, session, live, signals):
    answer = client.post(
        "/api/v1/ad-request", json={"request_id": "p-1", "duration": 30, **signals}, headers=DEVICE
    )
    assert answer.status_code == 200
    start = answer.get_json()["tracking"]["start"].removeprefix("http://localhost")
    assert client.get(start, headers=DEVICE).status_code == 204
    impression = client.post("/api/v1/impression", json={"request_id": "p-1"}, headers=DEVICE)
    assert impression.get_json()["counted"] is True
    vast_start = client.get("/vast?request_id=p-1")
    assert vast_start.status_code == 200
    flush(app)
    rows = _private_rows(session)
    assert len(rows) == 3 and set(rows) == {(None, None)}


def test_without_an_opt_out_the_device_is_kept(client, app, session, live):
    body = {"request_id": "p-2", "duration": 30, "us_privacy": "1YNN", "gdpr": 0}
    assert client.post("/api/v1/ad-request", json=body, headers=DEVICE).status_code == 200
    client.post("/api/v1/impression", json={"request_id": "p-2"}, headers=DEVICE)
    flush(app)
    assert {(str(ip), agent) for ip, agent in _private_rows(session)} == {("203.0.113.7", "Tizen 7")}


def test_vast_replay_honours_its_own_signals(client, app, session, live):
    assert client.post("/api/v1/ad-request", json={"request_id": "p-3", "duration": 30}).status_code == 200
    document = client.get("/vast?request_id=p-3&us_privacy=1YYN").data.decode()
    start = document.split('event="start"><![CDATA[', 1)[1].split("]]>", 1)[0]
    assert client.get(start.removeprefix("http://localhost"), headers=DEVICE).status_code == 204
    flush(app)
    assert session.execute(sa.select(TrackingEvent.ip, TrackingEvent.user_agent)).one() == (None, None)


def test_answers_use_the_public_base_url_never_the_callers_host(client, app, live):
    runtime(app).public_base_url = "https://ads.example.com"  # PUBLIC_BASE_URL, required in production
    answer = client.post(
        "/api/v1/ad-request",
        json={"request_id": "h-1", "duration": 30},
        headers={"Host": "evil.example", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil.example"},
    )
    body = answer.get_json()
    urls = [body["vast_url"], body["video_url"], *body["tracking"].values()]
    assert all(url.startswith("https://ads.example.com/") for url in urls), urls


def test_concurrent_copies_of_one_request_are_decided_and_counted_once(app, session, live, monkeypatch):
    rt = runtime(app)
    reads = rt.store.answer

    def slow_answer(request_id):  # every copy reads "no answer yet" before the first one stores its own
        found = reads(request_id)
        time.sleep(0.05)
        return found

    monkeypatch.setattr(rt.store, "answer", slow_answer)

    def ask(_):
        response = app.test_client().post("/api/v1/ad-request", json={"request_id": "c-1", "duration": 30})
        return response.status_code, response.get_json()["ad_serving_id"]

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(ask, range(50)))
    assert {status for status, _ in answers} == {200}
    assert {answer for _, answer in answers} == {answers[0][1]}  # one answer for all
    assert rt.catalog._served_since_tick == {live.campaign_id: 1}  # paced as one ad served
    flush(app)
    session.expire_all()
    fills = session.scalar(sa.select(sa.func.sum(ServingCountHourly.fills)))
    requests = session.scalar(sa.select(sa.func.sum(ServingCountHourly.requests)))
    assert (fills, requests) == (1, 1)
    assert session.scalar(sa.select(sa.func.count()).select_from(AdRequest)) == 1


def test_sdk_routes_are_rate_limited_per_client(client, app, live):
    from app.serving.rate_limit import SdkRateLimit

    app.extensions["sdk_rate_limit"] = SdkRateLimit("5 per minute")
    answers = [
        client.post("/api/v1/ad-request", json={"request_id": f"l-{n}", "duration": 30}) for n in range(4)
    ]
    assert [a.status_code for a in answers] == [200] * 4
    assert client.post("/api/v1/impression", json={"request_id": "l-0"}).status_code == 200
    refused = client.post(
        "/api/v1/ad-request", json={"request_id": "l-9", "duration": 30}, headers={"Origin": "null"}
    )
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert refused.get_json()["error"].startswith("Too many requests")
    assert refused.headers["Access-Control-Allow-Origin"] == "null"
    other = client.post(
        "/api/v1/ad-request",
        json={"request_id": "l-10", "duration": 30},
        environ_overrides={"REMOTE_ADDR": "198.51.100.1"},
    )
    assert other.status_code == 200  # another client has its own window
    assert client.get("/vast").status_code == 200  # players' /vast is not limited
