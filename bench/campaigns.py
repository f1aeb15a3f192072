"""Catalog sizes for the flat-decision check: thousands of active campaigns, inserted with SQL, each with one
creative that is a real stored MP4 (a hard link to the demo creative's file, under a key of its own). Their
durations cycle through 15, 30 and 60 s (`DURATIONS`), so that an ad break is filled from a mix."""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from app.cli import DEMO_CAMPAIGN
from app.creatives.storage import LocalStorage
from app.db import Database
from app.serving.catalog import load_catalog
from app.serving.decision import build_index
from app.serving.money import currency_to_units
from app.tracking.flusher import complete_finished_campaigns
from app.tracking.stored_delivery import stored_delivery

NAME_PREFIX = "bench "  # then the campaign's number, 00001 on
KEY_PREFIX = "creatives/bench-"  # then the number and .mp4: its creative's storage key
# Large enough that the beacons the bench fires never exhaust a campaign (an exhausted one stops serving).
BUDGET = 1_000_000_000
# Campaign n's creative lasts DURATIONS[n % 3] seconds, as recorded (the file is the demo's 15 s MP4: the
# decision and the document use the recorded duration only).
DURATIONS = (15, 30, 60)


@dataclass(frozen=True)
class DemoAd:
    campaign_id: str
    creative_id: str
    cost_units: int
    storage_key: str


def demo_ad(engine: sa.Engine) -> DemoAd:
    """The campaign `flask seed-demo` made, its budget raised out of the bench's reach."""
    with engine.begin() as connection:
        campaign_id, cpm = connection.execute(
            sa.text("UPDATE campaigns SET budget_total = :budget WHERE name = :name RETURNING id, cpm"),
            {"budget": BUDGET, "name": DEMO_CAMPAIGN},
        ).one()
        creative_id, storage_key = connection.execute(
            sa.text("SELECT id, storage_key FROM creatives WHERE campaign_id = :id"), {"id": campaign_id}
        ).one()
    return DemoAd(str(campaign_id), str(creative_id), currency_to_units(cpm / 1000), storage_key)


def insert_campaigns(engine: sa.Engine, storage_dir: Path, demo: DemoAd, count: int) -> None:
    """`count` draft campaigns like the demo one; `activate` decides how many serve."""
    source = storage_dir / demo.storage_key
    for number in range(1, count + 1):
        os.link(source, storage_dir / f"{KEY_PREFIX}{number:05d}.mp4")
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO campaigns (id, name, budget_total, cpm, start_date, end_date, status, pacing,"
                " created_at, updated_at)"
                " SELECT gen_random_uuid(), :prefix || lpad(n::text, 5, '0'), :budget, d.cpm, d.start_date,"
                " d.end_date, 'draft', d.pacing, now(), now()"
                " FROM generate_series(1, :count) AS n, campaigns AS d WHERE d.id = :demo"
            ),
            {"prefix": NAME_PREFIX, "budget": BUDGET, "count": count, "demo": demo.campaign_id},
        )
        connection.execute(
            sa.text(
                "INSERT INTO creatives (id, campaign_id, name, storage_key, duration, file_size, width,"
                " height, bitrate, mime_type, video_codec, click_through_url, status, created_at, identity,"
                " transcode_status, transcode_progress, warnings)"
                " SELECT gen_random_uuid(), c.id, d.name, :key_prefix || substr(c.name, :skip) || '.mp4',"
                " (:durations)[substr(c.name, :skip)::int % 3 + 1], d.file_size, d.width, d.height,"
                " d.bitrate, d.mime_type, d.video_codec, d.click_through_url, 'active', now(),"
                " replace(gen_random_uuid()::text, '-', ''), d.transcode_status, d.transcode_progress,"
                " d.warnings"
                " FROM campaigns AS c, creatives AS d WHERE c.name LIKE :pattern AND d.id = :demo"
            ),
            {
                "key_prefix": KEY_PREFIX,
                "skip": len(NAME_PREFIX) + 1,
                "durations": list(DURATIONS),
                "pattern": NAME_PREFIX + "%",
                "demo": demo.creative_id,
            },
        )


def activate(engine: sa.Engine, active: int) -> None:
    """`active` campaigns serve: the demo one and the first `active - 1` of the bench's. The others are
    drafts, which no background task reads (paused ones are read by the flusher's housekeeping)."""
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE campaigns SET status = CASE WHEN name <= :last THEN 'active' ELSE 'draft' END"
                " WHERE name LIKE :pattern"
            ),
            {"last": f"{NAME_PREFIX}{active - 1:05d}", "pattern": NAME_PREFIX + "%"},
        )


@dataclass(frozen=True)
class CatalogWork:
    """What a worker's background loops spend on the catalog, in ms (median of the repeats). Each blocks its
    worker while it runs: gevent does not preempt, and only the queries' I/O yields."""

    campaigns: int
    load_ms: float  # load_catalog, the query and the entries: on a version change, and every 60 s
    spend_ms: float  # the stored spend of every campaign, read with each rebuild
    index_ms: float  # build_index, the decision's sorted weighted index: every 0.5 s
    housekeeping_ms: float  # complete_finished_campaigns over every campaign: the flusher's check every 5 min


def time_catalog_work(database_url: sa.URL, storage_dir: Path, repeats: int = 3) -> CatalogWork:
    """A worker's catalog rebuild and housekeeping, timed in this process against the bench database."""
    database = Database(database_url.render_as_string(hide_password=False))
    storage = LocalStorage(storage_dir)
    timings: dict[str, list[float]] = {"load": [], "spend": [], "index": [], "housekeeping": []}

    def timed(name: str, work, *args):
        started = time.perf_counter()
        result = work(*args)
        timings[name].append((time.perf_counter() - started) * 1000)
        return result

    try:
        for _ in range(repeats):
            with database.sessions() as session:
                catalog = timed("load", load_catalog, session, storage, 0)
                stored = timed("spend", stored_delivery, session, list(catalog.campaigns), time.time())
                spend = {campaign_id: figures.spend_units for campaign_id, figures in stored.items()}
                timed("index", build_index, catalog, time.time(), spend, {}, stored)
                timed("housekeeping", complete_finished_campaigns, session)
                session.rollback()  # nothing has finished; keep it so regardless
    finally:
        database.dispose()
    medians = {f"{name}_ms": statistics.median(values) for name, values in timings.items()}
    return CatalogWork(campaigns=len(catalog.campaigns), **medians)
