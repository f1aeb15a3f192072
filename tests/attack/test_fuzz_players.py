"""What players and SSAI servers really send, fuzzed end to end: arbitrary parameter and header values on
/vast and /t/*, then a flush. Every ad request gets a VAST, and every beacon answered as counted is in the
database: none lost, none dead-lettered, whatever the headers held. On PostgreSQL and SQLite, with each
event store."""

from __future__ import annotations

import urllib.parse

import hypothesis
import pytest
import sqlalchemy as sa
from hypothesis import strategies as st

from app.serving.request import QUERY_PARAMETERS
from app.tracking import normalise
from app.tracking.events import BEACON_EVENTS
from app.tracking.models import DeadLetterEvent, Impression, TrackingEvent
from tests.factories import CreativeFactory
from tests.serving_helpers import ad_urls, flush, refresh
from vast.validate import validate

EXAMPLES = 150
PARAMETERS = (*QUERY_PARAMETERS, "other")  # not strict=1: a 400 is its point
HEADERS = ("X-Device-IP", "X-Forwarded-For", "X-Device-User-Agent", "User-Agent", "Origin", "Accept")
# Header values as HTTP carries them (Latin-1, no line breaks); query values are any text.
header_text = st.text(
    st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\x7f"), max_size=120
)
any_text = st.text(max_size=120)
macro = st.sampled_from(["[IP]", "%%IP%%", "${IP}", "{ip}", "", " ", "[ERRORCODE]", "203.0.113.7:51234"])
value = st.one_of(any_text, macro, st.floats().map(str), st.integers().map(str))
headers = st.dictionaries(st.sampled_from(HEADERS), st.one_of(header_text, macro), max_size=4)


@pytest.fixture
def settings(store_settings):
    return store_settings


@st.composite
def player(draw):
    """One ad request and what the player then fires, each beacon with its own odd extras."""
    query = draw(st.lists(st.tuples(st.sampled_from(PARAMETERS), value), max_size=6))
    extras = st.dictionaries(st.sampled_from(["code", "offset", "cb"]), value, max_size=2)
    beacons = draw(st.lists(st.tuples(st.sampled_from(BEACON_EVENTS), extras, headers), max_size=6))
    return query, draw(headers), [("impression", draw(extras), draw(headers)), *beacons]


def test_every_acknowledged_beacon_is_stored_whatever_players_send(app, client, session):
    CreativeFactory(duration=10.0)
    refresh(app)
    acknowledged: set[tuple[str, str, str, str]] = set()
    impressions: set[str] = set()
    fuzzed = {"requests": 0, "beacons": 0}

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(player())
    def play(example):
        query, request_headers, beacons = example
        fuzzed["requests"] += 1
        response = client.get("/vast?" + urllib.parse.urlencode(query), headers=request_headers)
        assert response.status_code == 200, (query, request_headers, response.data[:300])
        version = response.data.split(b'version="', 1)[1].split(b'"', 1)[0].decode()
        validate(response.data, version)
        if b"<Ad " not in response.data or not version.startswith("4"):
            return
        from lxml import etree

        urls = ad_urls(etree.fromstring(response.data))
        token = urls["impression"].split("?t=", 1)[1]
        ad_serving_id = token.split("~", 1)[0]
        for event, extras, beacon_headers in beacons:
            fuzzed["beacons"] += 1
            path = f"/t/{event}?" + urllib.parse.urlencode({"t": token, **extras})
            answer = client.get(path, headers=beacon_headers)
            assert answer.status_code in (200, 204), (path, beacon_headers, answer.status_code)
            if answer.headers["X-Beacon"] != "counted":
                continue
            if event == "impression":
                impressions.add(ad_serving_id)
                continue
            code = normalise.error_code(extras.get("code")) if event == "error" else ""
            offset = normalise.offset(extras.get("offset")) if event == "progress" else ""
            acknowledged.add((ad_serving_id, event, code, offset))

    play()
    flush(app)
    session.expire_all()
    stored_impressions = set(session.scalars(sa.select(Impression.ad_serving_id)))
    stored_events = {
        tuple(row)
        for row in session.execute(
            sa.select(
                TrackingEvent.ad_serving_id,
                TrackingEvent.event,
                TrackingEvent.error_code,
                TrackingEvent.progress_offset,
            )
        )
    }
    assert stored_impressions == impressions
    assert stored_events == acknowledged
    assert session.scalar(sa.select(sa.func.count()).select_from(DeadLetterEvent)) == 0
    assert fuzzed["requests"] == EXAMPLES and acknowledged and impressions
    print(f"fuzzed {fuzzed}; stored {len(impressions)} impressions and {len(acknowledged)} other events")
