"""One bad event never stops the pipeline: on real PostgreSQL and on SQLite, with each event store, an event
the database refuses is dead-lettered while every other one is stored, and an operator can replay it."""

from __future__ import annotations

import json
import time
import uuid

import hypothesis
import pytest
import sqlalchemy as sa
from hypothesis import strategies as st

from app.tracking import normalise
from app.tracking.events import AD_REQUEST, BEACON_EVENTS, Event
from app.tracking.models import DeadLetterEvent, EventCountHourly, Impression, TrackingEvent
from tests.factories import CreativeFactory
from tests.serving_helpers import ad_urls, flush, get_vast, refresh, runtime

POISON_UA = "poison"
_TRIGGERS = {
    "postgresql": [
        """CREATE FUNCTION refuse_poison() RETURNS trigger AS $$
        BEGIN
          IF NEW.user_agent = 'poison' THEN RAISE EXCEPTION 'poison event refused'; END IF;
          RETURN NEW;
        END $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER refuse_poison BEFORE INSERT ON impressions
        FOR EACH ROW EXECUTE FUNCTION refuse_poison()""",
    ],
    "sqlite": [
        """CREATE TRIGGER refuse_poison BEFORE INSERT ON impressions WHEN NEW.user_agent = 'poison'
        BEGIN SELECT RAISE(ABORT, 'poison event refused'); END"""
    ],
}
_DROP = {
    "postgresql": ["DROP TRIGGER refuse_poison ON impressions", "DROP FUNCTION refuse_poison()"],
    "sqlite": ["DROP TRIGGER refuse_poison"],
}


@pytest.fixture
def settings(store_settings):
    return store_settings


@pytest.fixture
def live(session, app):
    creative = CreativeFactory()
    refresh(app)
    return creative


def _ddl(session, backend: str, statements: dict[str, list[str]]) -> None:
    for statement in statements[backend]:
        session.execute(sa.text(statement))
    session.commit()


def _count(session, model, *where) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _impressions_counted(session) -> int:
    total = sa.func.coalesce(sa.func.sum(EventCountHourly.count), 0)
    return session.scalar(sa.select(total).where(EventCountHourly.event == "impression"))


def test_a_poison_event_is_dead_lettered_and_the_others_stored(client, app, auth, session, backend, live):
    _ddl(session, backend, _TRIGGERS)
    ads = [ad_urls(get_vast(client)) for _ in range(9)]
    for number, urls in enumerate(ads):
        agent = POISON_UA if number == 4 else f"Roku/{number}"
        assert client.get(urls["impression"], headers={"User-Agent": agent}).status_code == 204
        assert client.get(urls["start"], headers={"User-Agent": agent}).status_code == 204
    flush(app)
    assert runtime(app).store.pending() == 0
    assert _count(session, Impression) == 8 and _impressions_counted(session) == 8
    assert _count(session, TrackingEvent) == 9  # the poison ad's start is not refused
    [dead] = session.scalars(sa.select(DeadLetterEvent)).all()
    assert "poison event refused" in dead.error and dead.attempts == 1
    assert Event.decode(dead.raw).user_agent == POISON_UA and dead.entry_id

    later = ad_urls(get_vast(client))  # the pipeline still flows
    client.get(later["impression"])
    flush(app)
    assert _count(session, Impression) == 9

    listed = client.get("/api/v1/dead-letter-events", headers=auth).get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == dead.id
    refused = client.post(f"/api/v1/dead-letter-events/{dead.id}/replay", headers=auth)
    assert refused.status_code == 409 and "poison" in refused.get_json()["error"]
    session.expire_all()
    assert session.get(DeadLetterEvent, dead.id).attempts == 2

    _ddl(session, backend, _DROP)  # the operator fixed the cause
    replayed = client.post(f"/api/v1/dead-letter-events/{dead.id}/replay", headers=auth)
    assert replayed.status_code == 200 and replayed.get_json() == {"id": dead.id, "stored": True}
    assert _count(session, DeadLetterEvent) == 0
    assert _count(session, Impression) == 10 and _impressions_counted(session) == 10
    assert client.post(f"/api/v1/dead-letter-events/{dead.id}/replay", headers=auth).status_code == 404


def test_an_operator_fixes_the_event_before_replaying_it(client, app, auth, session, backend, live):
    _ddl(session, backend, _TRIGGERS)
    urls = ad_urls(get_vast(client))
    client.get(urls["impression"], headers={"User-Agent": POISON_UA})
    flush(app)
    dead = session.scalars(sa.select(DeadLetterEvent)).one()
    fixed = json.loads(dead.raw)
    fixed[8] = "fixed agent"  # user_agent
    bad = client.post(f"/api/v1/dead-letter-events/{dead.id}/replay", json={"raw": "[1, 2]"}, headers=auth)
    assert bad.status_code == 400 and "raw" in bad.get_json()["details"]
    response = client.post(
        f"/api/v1/dead-letter-events/{dead.id}/replay", json={"raw": json.dumps(fixed)}, headers=auth
    )
    assert response.status_code == 200
    assert session.scalar(sa.select(Impression.user_agent)) == "fixed agent"


def test_the_cli_lists_and_replays_dead_letters(client, app, session, backend, live):
    _ddl(session, backend, _TRIGGERS)
    for _ in range(2):
        client.get(ad_urls(get_vast(client))["impression"], headers={"User-Agent": POISON_UA})
    flush(app)
    listing = app.test_cli_runner().invoke(args=["dead-letters", "list"])
    assert listing.exit_code == 0 and "2 dead-lettered event(s)" in listing.output
    assert "poison event refused" in listing.output
    again = app.test_cli_runner().invoke(args=["dead-letters", "replay"])
    assert again.exit_code == 1 and "0 stored, 2 refused again" in again.output
    _ddl(session, backend, _DROP)
    first_id = session.scalar(sa.select(sa.func.min(DeadLetterEvent.id)))
    one = app.test_cli_runner().invoke(args=["dead-letters", "replay", str(first_id)])
    assert one.exit_code == 0 and "1 stored, 0 refused again" in one.output
    rest = app.test_cli_runner().invoke(args=["dead-letters", "replay"])
    assert rest.exit_code == 0 and "1 stored" in rest.output
    assert _count(session, Impression) == 2


@pytest.mark.parametrize(
    ("header", "value", "stored"),
    [
        ("X-Device-IP", "203.0.113.7:51234", "203.0.113.7"),
        ("X-Device-IP", "[2001:db8::1]:443", "2001:db8::1"),
        ("X-Device-IP", "203.0.113.7, 10.0.0.1", "203.0.113.7"),
        ("X-Forwarded-For", "unknown, 198.51.100.9, 10.0.0.1", "198.51.100.9"),
        ("X-Device-IP", "not an address", "127.0.0.1"),  # unusable: the connection's
    ],
)
def test_a_device_address_as_proxies_send_it_is_stored_canonical(
    client, app, session, live, header, value, stored
):
    urls = ad_urls(get_vast(client))
    assert client.get(urls["impression"], headers={header: value}).status_code == 204
    assert client.get(urls["start"], headers={header: value}).status_code == 204
    flush(app)
    assert str(session.scalar(sa.select(Impression.ip))) == stored
    assert str(session.scalar(sa.select(TrackingEvent.ip))) == stored
    assert _count(session, DeadLetterEvent) == 0


@pytest.mark.parametrize("store_settings", ["redis"], indirect=True)  # only Redis holds raw entries
def test_undecodable_stream_entries_are_dead_lettered(app, session, live):
    rt = runtime(app)
    good = Event(
        name="impression",
        ad_serving_id="a" * 22,
        campaign_id=live.campaign_id,
        creative_id=live.id,
        occurred_at=time.time(),
        cost_units=10,
    )
    rt.store.record(good)
    client = rt.store.client
    client.xadd(rt.store.stream, {"e": b"\xff not json"})
    client.xadd(rt.store.stream, {"e": json.dumps(["impression"])})
    client.xadd(rt.store.stream, {"other": "field"})
    flush(app)
    assert rt.store.pending() == 0
    assert _count(session, Impression) == 1
    dead = session.scalars(sa.select(DeadLetterEvent).order_by(DeadLetterEvent.id)).all()
    assert [row.raw for row in dead] == ["\\xff not json", '["impression"]', ""]
    assert all(row.error for row in dead)


_ANY_TEXT = st.text(max_size=80)  # every code point, NUL and lone surrogates included
_FIELD = st.one_of(st.none(), _ANY_TEXT, st.sampled_from(["203.0.113.7:51234", "[::1]:80", "0", " "]))


@st.composite
def _events(draw, campaign_id: str, creative_id: str):
    name = draw(st.sampled_from((*BEACON_EVENTS, AD_REQUEST)))
    duration = draw(st.floats(allow_nan=False, allow_infinity=False, width=32))
    return {
        "name": name,
        "ad_serving_id": draw(_ANY_TEXT),
        "campaign_id": draw(st.one_of(st.just(campaign_id), _FIELD)),
        "creative_id": draw(st.one_of(st.just(creative_id), _FIELD)),
        "occurred_at": time.time(),
        "cost_units": draw(st.integers(0, 2**62)),
        "error_code": draw(_FIELD),
        "ip": draw(_FIELD),
        "user_agent": draw(_FIELD),
        "request_id": draw(_FIELD),
        "payload": json.dumps({"duration": duration}) if name == AD_REQUEST else draw(_FIELD),
        "offset": draw(_FIELD),
    }


def test_the_flusher_always_drains_whatever_the_fields_hold(app, session, live):
    """Any string in every field: the recorder normalises or refuses it, and what it took is stored or
    dead-lettered, never left in the store."""
    rt = runtime(app)
    campaign_id, creative_id = str(live.campaign_id), str(live.id)
    totals = {"recorded": 0, "refused": 0}

    @hypothesis.settings(
        max_examples=60, deadline=None, database=None, suppress_health_check=list(hypothesis.HealthCheck)
    )
    @hypothesis.given(st.lists(_events(campaign_id, creative_id), min_size=1, max_size=8))
    def check(batch):
        kept = 0
        for fields in batch:
            try:
                event = Event(**fields)
            except ValueError:  # only for an ad serving id with nothing storable in it
                assert normalise.text(fields["ad_serving_id"], 1024) is None
                totals["refused"] += 1
                continue
            assert json.loads(event.encode())  # what the store keeps is plain ASCII JSON
            if rt.store.record(event) and event.campaign_id == campaign_id and event.name != AD_REQUEST:
                kept += 1
            totals["recorded"] += 1
        before = _stored(session)
        flush(app)
        assert rt.store.pending() == 0
        assert _stored(session) - before == kept

    check()
    assert totals["recorded"] > 0


def _stored(session) -> int:
    """Beacons stored or dead-lettered (dead-lettered ad requests left out)."""
    session.expire_all()
    dead = _count(session, DeadLetterEvent, ~DeadLetterEvent.raw.startswith(f'["{AD_REQUEST}"'))
    return _count(session, Impression) + _count(session, TrackingEvent) + dead


def test_event_fields_are_normalised_when_recorded():
    event = Event(
        name="error",
        ad_serving_id="x\x00" * 40 + "y" * 30,  # 70 characters once NUL is dropped
        campaign_id=uuid.UUID(int=1),
        creative_id="not a uuid",
        occurred_at=1.0,
        cost_units=99,
        error_code="[ERRORCODE]",
        ip=" 2001:db8::1%eth0 ",
        user_agent="Tizen\ud800 " + "a" * 600,
        offset="00:00:05",
    )
    assert event.ad_serving_id.startswith("h-") and len(event.ad_serving_id) == 62
    assert event.campaign_id == "00000000-0000-0000-0000-000000000001" and event.creative_id is None
    assert (event.cost_units, event.error_code, event.offset) == (0, "unexpanded", None)
    assert event.ip == "2001:db8::1" and len(event.user_agent) == 512 and "\ud800" not in event.user_agent
    assert event.key == "error:unexpanded"
    progress = Event(name="progress", ad_serving_id="a", offset="25%", occurred_at=1.0)
    assert progress.key == "progress:25%" and progress.error_code is None
    assert Event(name="progress", ad_serving_id="a", offset="soon", occurred_at=1.0).offset == "unknown"
    for bad in (
        {"name": "teleport"},
        {"occurred_at": float("nan")},
        {"cost_units": -1},
        {"ad_serving_id": ""},
    ):
        with pytest.raises(ValueError):
            Event(**({"name": "impression", "ad_serving_id": "a", "occurred_at": 1.0} | bad))
    assert Event.decode(Event(name="start", ad_serving_id="b", occurred_at=2.0).encode()).name == "start"
