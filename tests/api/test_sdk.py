"""The JSON variant for SDKs: POST /api/v1/ad-request and POST /api/v1/impression."""

import pytest
import sqlalchemy as sa
from lxml import etree

from app.serving.models import AdRequest
from app.tracking.events import StoreUnavailable
from tests.factories import CreativeFactory
from tests.serving_helpers import NS, ads_in, flush, get_vast, refresh, runtime


@pytest.fixture
def settings(store_settings):
    return store_settings


@pytest.fixture
def live(session, app):
    creative = CreativeFactory(duration=30.0)
    refresh(app)
    return creative


def ask(client, request_id="req-1", duration=30, **kwargs):
    return client.post("/api/v1/ad-request", json={"request_id": request_id, "duration": duration}, **kwargs)


def test_fill_answer_and_idempotent_repeat(client, app, live):
    first = ask(client)
    assert first.status_code == 200
    body = first.get_json()
    assert body["campaign_id"] == str(live.campaign_id) and body["creative_id"] == str(live.id)
    assert body["video_url"] == f"http://localhost/media/{live.storage_key}"
    assert body["duration"] == 30.0 and (body["width"], body["height"]) == (1280, 720)
    assert set(body["tracking"]) >= {"impression", "start", "complete", "click", "error"}
    assert body["vast_url"] == "http://localhost/vast?request_id=req-1"
    assert ask(client).get_json() == body  # same request id, same answer


def test_no_fill_is_204_and_stays_so(client, live):
    assert ask(client, "short", duration=10).status_code == 204
    assert ask(client, "short", duration=60).status_code == 204  # the answer was given


def test_the_vast_url_is_the_same_ad(client, live):
    body = ask(client).get_json()
    document = get_vast(client, "request_id=req-1")
    assert document.findtext(".//v:AdServingId", namespaces=NS) == body["ad_serving_id"]
    unknown = client.get("/vast?request_id=unknown")
    assert unknown.status_code == 200 and not ads_in(etree.fromstring(unknown.data))  # a no-fill
    assert unknown.headers["X-Ad-Request-Warnings"] == "request_id: unknown or expired, no ad"
    assert client.get("/vast?request_id=unknown&strict=1").status_code == 404
    ask(client, "nofill", duration=5)
    assert len(ads_in(get_vast(client, "request_id=nofill"))) == 0


def test_requests_are_recorded_once_through_the_pipeline(client, app, session, live):
    ask(client, "a")
    ask(client, "a")
    ask(client, "b", duration=5)
    flush(app)
    rows = {r.request_id: r for r in session.scalars(sa.select(AdRequest))}
    assert set(rows) == {"a", "b"}
    assert rows["a"].campaign_id == live.campaign_id and rows["b"].campaign_id is None
    assert rows["b"].duration == 5


def test_impression_api_counts_once(client, app, auth, live):
    ask(client)
    first = client.post("/api/v1/impression", json={"request_id": "req-1"})
    assert first.get_json() == {"request_id": "req-1", "counted": True}
    assert client.post("/api/v1/impression", json={"request_id": "req-1"}).get_json()["counted"] is False
    body = ask(client).get_json()
    assert (
        client.get(body["tracking"]["impression"].removeprefix("http://localhost")).headers["X-Beacon"]
        == "duplicate"
    )
    flush(app)
    stats = client.get(f"/api/v1/campaigns/{live.campaign_id}/stats", headers=auth).get_json()
    assert stats["impressions"] == 1


def test_impression_api_errors(client, live):
    assert client.post("/api/v1/impression", json={"request_id": "never"}).status_code == 404
    ask(client, "none", duration=5)
    assert client.post("/api/v1/impression", json={"request_id": "none"}).status_code == 409
    assert client.post("/api/v1/impression", json={}).status_code == 400
    assert client.post("/api/v1/impression", data="x").status_code == 415


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"duration": 30}, "request_id"),
        ({"request_id": "x"}, "duration"),
        ({"request_id": "x", "duration": 0}, "duration"),
        ({"request_id": "x y", "duration": 30}, "request_id"),
        ({"request_id": "x", "duration": 30, "extra": 1}, "extra"),
    ],
)
def test_ad_request_validation(client, live, body, field):
    response = client.post("/api/v1/ad-request", json=body)
    assert response.status_code == 400
    assert field in response.get_json()["details"]


def test_store_down_is_a_503(client, app, live):
    def down(*_args, **_kwargs):
        raise StoreUnavailable("refused")

    runtime(app).store.answer = runtime(app).store.remember_answer = down
    assert ask(client).status_code == 503
    assert client.post("/api/v1/impression", json={"request_id": "req-1"}).status_code == 503
    assert client.get("/vast?request_id=req-1").status_code == 503


def test_sdk_routes_are_public_and_open_to_players(client, live):
    response = ask(client, headers={"Origin": "https://app.example.com"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
