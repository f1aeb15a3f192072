"""Serving counts into the database: the batches of one flush summed before they are added (each row upserted
once: several workers' batches name the same hour and ads), a batch seen twice added once, the ads of a
campaign deleted since dropped."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from app.serving.counts import COUNTED, SERVED, counts_key
from app.tracking.events import counts_event
from app.tracking.models import ServedAdHourly, ServingCountHourly
from app.tracking.storing import store_events
from tests.factories import CreativeFactory

HOUR = 1_767_225_600  # 2026-01-01T00:00Z


def batch(worker: str, sequence: int, served: dict, supply_tag: int = 0, hour: int = HOUR, requests: int = 1):
    totals = dict.fromkeys(COUNTED, 0) | {"requests": requests, "fills": requests, SERVED: served}
    return counts_event({counts_key(hour, supply_tag): totals}, worker, sequence)


def test_batches_of_one_flush_are_summed_and_each_added_once(session):
    first, second = CreativeFactory(), CreativeFactory()
    gone = uuid.uuid4()  # a campaign deleted since the ad was served
    one, two = f"{first.campaign_id}/{first.id}", f"{second.campaign_id}/{second.id}"
    events = [
        batch("a", 1, {one: 2, two: 1, f"{gone}/{uuid.uuid4()}": 4}),
        batch("b", 1, {one: 3}),
        batch("b", 2, {one: 1}, supply_tag=7, requests=5),
        batch("a", 2, {two: 1}, hour=HOUR + 3600),
    ]
    store_events(session, [*events, events[0]])  # a batch read twice in one flush
    session.commit()
    store_events(session, events[1:])  # and again in the next: added before
    session.commit()
    served = {
        (row.hour.timestamp(), str(row.campaign_id), row.supply_tag_id): row.ads
        for row in session.scalars(sa.select(ServedAdHourly))
    }
    assert served == {
        (HOUR, str(first.campaign_id), 0): 5,
        (HOUR, str(second.campaign_id), 0): 1,
        (HOUR, str(first.campaign_id), 7): 1,
        (HOUR + 3600, str(second.campaign_id), 0): 1,
    }
    hourly = {
        (row.hour.timestamp(), row.supply_tag_id): (row.requests, row.fills)
        for row in session.scalars(sa.select(ServingCountHourly))
    }
    assert hourly == {(HOUR, 0): (2, 2), (HOUR, 7): (5, 5), (HOUR + 3600, 0): (1, 1)}


def test_a_flush_whose_ads_all_belong_to_a_deleted_campaign_keeps_its_totals(session):
    store_events(session, [batch("a", 1, {f"{uuid.uuid4()}/{uuid.uuid4()}": 3}, requests=4)])
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(ServedAdHourly)) == 0
    assert session.scalar(sa.select(ServingCountHourly.requests)) == 4
