"""Per-tag figures end to end: /vast through a tag, the beacons of its ads, the flusher, then
GET /api/v1/supply-tags/<id>/stats (PostgreSQL and SQLite, in-process and Redis event stores)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.tracking.models import EventCountHourly, ServingCountHourly
from tests.factories import CreativeFactory, SupplyTagFactory
from tests.serving_helpers import ad_urls, flush, get_vast, refresh

URL = "/api/v1/supply-tags"


@pytest.fixture
def settings(store_settings):
    return store_settings


def figures(client, auth, tag_id: int, **query) -> dict:
    response = client.get(f"{URL}/{tag_id}/stats", query_string=query, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_requests_fills_impressions_and_errors_are_counted_per_tag(client, app, auth, session):
    CreativeFactory(duration=15.0)
    tag, other = SupplyTagFactory(), SupplyTagFactory()
    refresh(app)
    served = [ad_urls(get_vast(client, f"tag={tag.id}&max_duration=30")) for _ in range(3)]
    get_vast(client, f"tag={tag.id}&min_duration=20")  # nothing that long: a no-fill of the tag
    get_vast(client, f"tag={tag.id}&pod_max_dur=30&pod_max_ads=2")  # an ad break of the tag
    untagged = ad_urls(get_vast(client, "max_duration=30"))
    ad_urls(get_vast(client, f"tag={other.id}"))
    for urls in served:
        assert client.get(urls["impression"]).headers["X-Beacon"] == "counted"
    assert client.get(served[0]["impression"]).headers["X-Beacon"] == "duplicate"  # exactly once
    client.get(served[0]["complete"])
    client.get(served[0]["error"])  # code=405
    client.get(served[1]["error"].replace("code=405", "code=402"))
    client.get(untagged["impression"])
    client.get(untagged["error"])
    flush(app)

    body = figures(client, auth, tag.id)
    assert (body["requests"], body["fills"], body["no_fills"]) == (5, 4, 1)
    assert body["fill_rate"] == pytest.approx(0.8)
    assert (body["impressions"], body["completes"], body["errors"]) == (3, 1, 2)
    assert body["errors_by_code"] == {"402": 1, "405": 1}
    assert body["spend"] == "0.03"  # three impressions at a 10.00 CPM
    other_body = figures(client, auth, other.id)
    assert (other_body["requests"], other_body["impressions"]) == (1, 0)

    # Untagged requests and events keep tag 0; the totals of an hour are the sum of its rows.
    session.expire_all()
    assert session.scalar(sa.select(sa.func.sum(ServingCountHourly.requests))) == 7
    assert (
        session.scalar(
            sa.select(sa.func.sum(EventCountHourly.count)).where(
                EventCountHourly.event == "impression", EventCountHourly.supply_tag_id == 0
            )
        )
        == 1
    )
    dashboard = client.get("/api/v1/dashboard", headers=auth).get_json()
    assert dashboard["last_24h"]["ad_requests"] == 7

    # The same figures in a report split by supply tag, requests included (they are counted per tag).
    day = datetime.now(UTC).date().isoformat()
    report = client.get(f"/api/v1/reports?start={day}&end={day}&group_by=supply_tag", headers=auth).get_json()
    assert report["requests_shown"] is True
    rows = {row["supply_tag_id"]: row for row in report["rows"]}
    mine = rows[tag.id]
    assert (mine["requests"], mine["filled_requests"], mine["fills"], mine["impressions"]) == (5, 4, 4, 3)
    assert (mine["supply_tag_name"], mine["errors_by_code"]) == (tag.name, {"402": 1, "405": 1})
    assert (rows[0]["requests"], rows[0]["fills"], rows[0]["impressions"]) == (1, 1, 1)
    assert rows[0]["supply_tag_name"] is None


def test_the_window_is_by_whole_hours_and_checked(client, app, auth, session):
    tag = SupplyTagFactory()
    refresh(app)
    get_vast(client, f"tag={tag.id}")
    flush(app)
    later = datetime.now(UTC) + timedelta(hours=2)
    assert figures(client, auth, tag.id)["requests"] == 1
    window = {"start": later.isoformat(), "end": (later + timedelta(hours=1)).isoformat()}
    assert figures(client, auth, tag.id, **window)["requests"] == 0
    later = later.isoformat()
    refused = client.get(f"{URL}/{tag.id}/stats", query_string={"start": later, "end": later}, headers=auth)
    assert refused.status_code == 400 and "start" in refused.get_json()["details"]
    assert client.get(f"{URL}/{tag.id + 100}/stats", headers=auth).status_code == 404
