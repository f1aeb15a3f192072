"""The in-memory catalog that ad decisions run from: no request ever waits on the database.

Each worker holds an immutable snapshot of what may serve (active campaigns and their active creatives)
and, built from it, the index the decision draws from. A background loop refreshes both: it re-reads the
database when the catalog version changes (every admin write bumps it) or every `REBUILD_SECONDS` as a safety
net, and it re-ranks every `TICK_SECONDS` from live spend and the clock. When the database is unreachable the
last snapshot keeps serving.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.advertisers.models import Advertiser
from app.campaigns.caps import FrequencyCap, caps_of
from app.campaigns.categories import category_authority
from app.campaigns.models import Campaign
from app.campaigns.targeting import Targeting, targeting_of
from app.creatives.models import Creative, Rendition
from app.creatives.storage import Storage
from app.creatives.verifications import vast_verifications
from app.db import utcnow
from app.serving.caps import build_cap_rules
from app.serving.decision import EligibleIndex, build_index
from app.serving.money import currency_to_units
from app.serving.pacing import Delivered, Goals
from app.serving.request import POD_MAX_ADS_NAMES, POD_MAX_DURATION_NAMES
from app.serving.separation import SeparationKeys, separation_keys
from app.serving.targeting import RuleIndex, TargetedViews, build_rules, tick_views
from app.serving.traffic import TrafficForecast
from app.supply.defaults import SupplyTagEntry
from app.supply.models import SupplyTag
from vast.model import Verification

log = logging.getLogger(__name__)

try:  # glibc's: hands freed heap pages back to the system
    _malloc_trim = ctypes.CDLL(None).malloc_trim
except (OSError, AttributeError):  # another C library: the heap keeps them
    _malloc_trim = None

TICK_SECONDS = 0.5
REBUILD_SECONDS = 300.0  # a safety net only: every admin write bumps the version
# Re-ranking (live spend and delivery of every campaign, then build_index) costs time in proportion to the
# catalog, and blocks its worker while it runs: it waits between two runs as long as it takes to keep to this
# share of the worker's time, at most RANK_MAX_PAUSE_SECONDS (so 0.5 s ticks with a few hundred campaigns,
# a few seconds at 10,000). Between two readings, note_served keeps each campaign within its budget.
RANK_SHARE = 0.05
RANK_MAX_PAUSE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class MediaEntry:
    """A file of a creative as VAST lists it (a MediaFile, or the Mezzanine)."""

    url: str  # absolute, or a path ("/media/...") to put after the request's base URL
    width: int
    height: int
    bitrate: int  # bits per second
    file_size: int
    codec: str | None  # RFC 6381 (renditions); None for the original, whose profile is not re-read

    @property
    def bitrate_kbps(self) -> int:
        return max(1, round(self.bitrate / 1000))


@dataclass(frozen=True, slots=True)
class WrapperEntry:
    """What a VAST redirect line item serves: the partner's tag (VAST macros unexpanded) and whether the
    server follows it itself (app.serving.wrappers)."""

    vast_ad_tag_uri: str
    server_side_unwrap: bool = False


@dataclass(frozen=True, slots=True)
class CreativeEntry:
    id: uuid.UUID
    campaign_id: uuid.UUID
    duration: float
    width: int
    height: int
    bitrate: int
    file_size: int
    video_codec: str
    media_url: str  # the original (the mezzanine): absolute, or a path ("/media/...")
    click_through_url: str | None
    identity: str | None = None  # Creative@id (app.creatives.identity); the id when None
    ad_id: str | None = None  # the advertiser's Ad-ID
    renditions: tuple[MediaEntry, ...] = ()  # ready ones, largest first (app.creatives.transcode)
    verifications: tuple[Verification, ...] = ()  # third-party measurement (app.creatives.verifications)
    wrapper: WrapperEntry | None = None  # a VAST redirect line item's partner tag, standing for a creative

    @property
    def mezzanine(self) -> MediaEntry:
        return MediaEntry(self.media_url, self.width, self.height, self.bitrate, self.file_size, None)

    @property
    def media_files(self) -> tuple[MediaEntry, ...]:
        """What players choose from: the renditions, or the original until they are ready."""
        return self.renditions or (self.mezzanine,)


@dataclass(frozen=True, slots=True)
class CampaignEntry:
    id: uuid.UUID
    name: str
    cost_units: int  # spend of one impression (cpm / 1000), in money units
    budget_units: int
    start_ts: float
    end_ts: float
    creatives: tuple[CreativeEntry, ...]
    # Competitive separation (app.serving.separation): who advertises, and what (IAB category).
    advertiser_domain: str | None = None
    advertiser_name: str | None = None
    category: str | None = None
    category_exclusive: bool = False
    # Frequency caps (app.serving.caps): the campaign's rules, and its advertiser's over all its campaigns.
    frequency_caps: tuple[FrequencyCap, ...] = ()
    advertiser_id: uuid.UUID | None = None
    advertiser_frequency_caps: tuple[FrequencyCap, ...] = ()
    # Pacing (app.serving.pacing): even | asap | frontloaded, and the optional goals beside the budget.
    pacing: str = "even"
    impression_goal: int | None = None
    daily_budget_units: int | None = None
    daily_impression_cap: int | None = None
    targeting: Targeting | None = None  # app.campaigns.targeting; None: every request
    separation: SeparationKeys = field(init=False, repr=False, compare=False)
    goals: Goals = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        keys = separation_keys(self.id, self.advertiser_domain, self.category, self.category_exclusive)
        object.__setattr__(self, "separation", keys)  # once per load, not per request
        goals = Goals(
            self.cost_units,
            self.budget_units,
            self.impression_goal,
            self.daily_budget_units,
            self.daily_impression_cap,
        )
        object.__setattr__(self, "goals", goals)  # once per load, not per tick

    @property
    def category_authority(self) -> str | None:
        """The taxonomy of `category`, as VAST's Category@authority names it."""
        return category_authority(self.category) if self.category else None


@dataclass(frozen=True, slots=True)
class Catalog:
    version: int
    built_at: float
    campaigns: dict[uuid.UUID, CampaignEntry]
    creatives: dict[uuid.UUID, CreativeEntry]
    # Every creative sorted by duration (seconds, as measured), once per load: each tick only re-weighs.
    durations: tuple[float, ...]
    ordered: tuple[CreativeEntry, ...]
    # What pacing follows (app.serving.pacing): the learned traffic (None: none yet), the allowance.
    traffic: TrafficForecast | None = None
    over_delivery: float = 0.0
    targeting: RuleIndex | None = None  # app.serving.targeting; None: no campaign targets anything
    # Frequency caps (app.serving.caps): history field -> rules, for the capped campaigns and advertisers.
    cap_rules: dict = field(default_factory=dict)
    supply_tags: dict[int, SupplyTagEntry] = field(default_factory=dict)  # app.supply, by id
    # `campaign:<id>` of each VAST redirect line item: what callers that need a video file exclude (the SDK).
    redirect_keys: frozenset[str] = frozenset()


def make_catalog(
    version: int,
    built_at: float,
    campaigns: dict[uuid.UUID, CampaignEntry],
    supply_tags: dict[int, SupplyTagEntry] | None = None,
) -> Catalog:
    ordered = tuple(
        sorted(
            (creative for campaign in campaigns.values() for creative in campaign.creatives),
            key=lambda creative: (creative.duration, creative.id.bytes),
        )
    )
    catalog = Catalog(
        version=version,
        built_at=built_at,
        campaigns=campaigns,
        creatives={creative.id: creative for creative in ordered},
        durations=tuple(creative.duration for creative in ordered),
        ordered=ordered,
        supply_tags=supply_tags or {},
        redirect_keys=frozenset(
            f"campaign:{creative.campaign_id}" for creative in ordered if creative.wrapper is not None
        ),
    )
    return replace(catalog, targeting=build_rules(catalog), cap_rules=build_cap_rules(campaigns.values()))


EMPTY_CATALOG = make_catalog(version=-1, built_at=0.0, campaigns={})


def load_catalog(
    session: Session, storage: Storage, version: int, hold_untranscoded: bool = False
) -> Catalog:
    """Active campaigns whose flight has not ended, with their active unarchived creatives and their
    advertiser, then the VAST redirect line items (each stands for one ad: `redirect_creative`), and the
    supply tags. `hold_untranscoded`: a creative whose renditions are not all made yet is left out (else its
    original serves alone meanwhile)."""
    serving = (_servable(), Creative.status == "active", Creative.archived_at.is_(None))
    campaigns = load_entries(session, storage, serving, hold_untranscoded)
    campaigns.update(load_redirects(session, (_servable(),)))
    return make_catalog(version, time.time(), campaigns, load_supply_tags(session))


def load_redirects(session: Session, where: tuple) -> dict[uuid.UUID, CampaignEntry]:
    """The VAST redirect line items `where` selects (conditions on Campaign), each standing for one ad
    (`redirect_creative`): one query."""
    rows = session.execute(
        sa.select(
            *_CAMPAIGN_COLUMNS, Campaign.vast_ad_tag_uri, Campaign.ad_duration, Campaign.server_side_unwrap
        )
        .outerjoin(Advertiser, Advertiser.id == Campaign.advertiser_id)
        .where(Campaign.kind == "vast_redirect", *where)
        .order_by(Campaign.id)
    ).all()
    return {row.id: _campaign_entry(row, (redirect_creative(row),)) for row in rows}


def load_entries(
    session: Session, storage: Storage, where: tuple, hold_untranscoded: bool = False
) -> dict[uuid.UUID, CampaignEntry]:
    """The direct campaigns and creatives `where` selects (conditions on Campaign and Creative), as the
    catalog holds them: one query, plain rows (no ORM objects: at 10,000 campaigns that is several times
    faster, and the worker waits for it); then the ready renditions of those creatives, a second one."""
    rows = session.execute(
        sa.select(
            *_CAMPAIGN_COLUMNS,
            Creative.id.label("creative_id"),
            Creative.duration,
            Creative.width,
            Creative.height,
            Creative.bitrate,
            Creative.file_size,
            Creative.video_codec,
            Creative.storage_key,
            Creative.click_through_url,
            Creative.identity,
            Creative.ad_id,
            Creative.transcode_status,
            Creative.verifications,
        )
        .join(Creative, Creative.campaign_id == Campaign.id)
        .outerjoin(Advertiser, Advertiser.id == Campaign.advertiser_id)
        .where(Campaign.kind == "direct", *where)
        .order_by(Campaign.id, Creative.id)
    ).all()
    if hold_untranscoded:
        rows = [row for row in rows if row.transcode_status == "ready"]
    renditions = _ready_renditions(session, storage, where)
    creatives_of: dict[uuid.UUID, list[CreativeEntry]] = {}
    campaign_rows = {}
    for row in rows:
        campaign_rows[row.id] = row
        creatives_of.setdefault(row.id, []).append(
            CreativeEntry(
                id=row.creative_id,
                campaign_id=row.id,
                duration=row.duration,
                width=row.width,
                height=row.height,
                bitrate=row.bitrate,
                file_size=row.file_size,
                video_codec=row.video_codec,
                media_url=storage.url(row.storage_key, ""),
                click_through_url=row.click_through_url,
                identity=row.identity,
                ad_id=row.ad_id,
                renditions=renditions.get(row.creative_id, ()),
                verifications=vast_verifications(row.verifications),
            )
        )
    return {row.id: _campaign_entry(row, tuple(creatives_of[row.id])) for row in campaign_rows.values()}


_CAMPAIGN_COLUMNS = (
    Campaign.id,
    Campaign.name,
    Campaign.cpm,
    Campaign.budget_total,
    Campaign.start_date,
    Campaign.end_date,
    Campaign.category,
    Campaign.category_exclusive,
    Campaign.frequency_caps,
    Advertiser.id.label("advertiser_id"),
    Advertiser.frequency_caps.label("advertiser_frequency_caps"),
    Campaign.pacing,
    Campaign.impression_goal,
    Campaign.daily_budget,
    Campaign.daily_impression_cap,
    Campaign.targeting,
    Campaign.time_zone,
    Advertiser.name.label("advertiser_name"),
    Advertiser.domain.label("advertiser_domain"),
)


def _servable() -> sa.ColumnElement[bool]:
    return sa.and_(Campaign.status == "active", Campaign.end_date > utcnow(), Campaign.archived_at.is_(None))


def _campaign_entry(row, creatives: tuple[CreativeEntry, ...]) -> CampaignEntry:
    return CampaignEntry(
        id=row.id,
        name=row.name,
        cost_units=currency_to_units(row.cpm / Decimal(1000)),
        budget_units=currency_to_units(row.budget_total),
        start_ts=row.start_date.timestamp(),
        end_ts=row.end_date.timestamp(),
        creatives=creatives,
        advertiser_domain=row.advertiser_domain,
        advertiser_name=row.advertiser_name,
        category=row.category,
        category_exclusive=row.category_exclusive,
        frequency_caps=caps_of(row.frequency_caps),
        advertiser_id=row.advertiser_id,
        advertiser_frequency_caps=caps_of(row.advertiser_frequency_caps),
        pacing=row.pacing,
        impression_goal=row.impression_goal,
        daily_budget_units=currency_to_units(row.daily_budget) if row.daily_budget else None,
        daily_impression_cap=row.daily_impression_cap,
        targeting=targeting_of(row.targeting, row.time_zone),
    )


def redirect_creative(row) -> CreativeEntry:
    """What a VAST redirect line item stands for in the decision: one ad of its declared duration, whose id is
    the campaign's (its beacons and hourly counts are the line item's). No file: the partner's tag instead."""
    return CreativeEntry(
        id=row.id,
        campaign_id=row.id,
        duration=row.ad_duration,
        width=0,
        height=0,
        bitrate=0,
        file_size=0,
        video_codec="",
        media_url="",
        click_through_url=None,
        wrapper=WrapperEntry(row.vast_ad_tag_uri, row.server_side_unwrap),
    )


def load_supply_tags(session: Session) -> dict[int, SupplyTagEntry]:
    """Every supply tag, with its defaults in the form a request's parsed values take."""
    rows = session.execute(
        sa.select(
            SupplyTag.id,
            SupplyTag.vast_version,
            SupplyTag.min_duration,
            SupplyTag.max_duration,
            SupplyTag.pod_max_duration,
            SupplyTag.pod_max_ads,
        )
    ).all()
    return {row.id: supply_tag_entry(row) for row in rows}


def supply_tag_entry(row) -> SupplyTagEntry:
    """A tag's defaults under the names a request may give them by (app.serving.request)."""
    defaults = (
        (("vast_version",), row.vast_version),
        (("min_duration",), row.min_duration),
        (("max_duration", "dur"), row.max_duration),
        (POD_MAX_DURATION_NAMES, row.pod_max_duration),
        (POD_MAX_ADS_NAMES, row.pod_max_ads),
    )
    return SupplyTagEntry(row.id, tuple((names, value) for names, value in defaults if value is not None))


def _ready_renditions(
    session: Session, storage: Storage, where: tuple
) -> dict[uuid.UUID, tuple[MediaEntry, ...]]:
    """The ready renditions of the creatives `where` selects, largest first."""
    rows = session.execute(
        sa.select(
            Rendition.creative_id,
            Rendition.storage_key,
            Rendition.width,
            Rendition.height,
            Rendition.bitrate,
            Rendition.file_size,
            Rendition.codec,
        )
        .join(Creative, Creative.id == Rendition.creative_id)
        .join(Campaign, Campaign.id == Creative.campaign_id)
        .where(Rendition.status == "ready", Creative.transcode_status == "ready", *where)
        .order_by(Rendition.creative_id, Rendition.height.desc(), Rendition.bitrate.desc())
    ).all()
    renditions: dict[uuid.UUID, list[MediaEntry]] = {}
    for row in rows:
        renditions.setdefault(row.creative_id, []).append(
            MediaEntry(
                storage.url(row.storage_key, ""), row.width, row.height, row.bitrate, row.file_size, row.codec
            )
        )
    return {creative_id: tuple(entries) for creative_id, entries in renditions.items()}


@dataclass(frozen=True, slots=True)
class ServingState:
    catalog: Catalog
    index: EligibleIndex
    targeting: TargetedViews | None = None  # this tick's (app.serving.targeting)


class CatalogService:
    """One per worker. `state` is swapped whole, so a request always sees a consistent catalog and index."""

    def __init__(
        self,
        load: Callable[[int], Catalog],
        read_version: Callable[[], int],
        read_spend: Callable[[list[uuid.UUID]], dict[uuid.UUID, int]],
        *,
        read_delivery: Callable[[list[uuid.UUID], float], dict[uuid.UUID, Delivered]] | None = None,
        workers: int = 1,
        tick_seconds: float = TICK_SECONDS,
        rebuild_seconds: float = REBUILD_SECONDS,
        clock: Callable[[], float] = time.time,
    ):
        self._load = load
        self._read_version = read_version
        self._read_spend = read_spend
        self._read_delivery = read_delivery
        self.workers = workers
        self.tick_seconds = tick_seconds
        self.rebuild_seconds = rebuild_seconds
        self._clock = clock
        self.state = ServingState(EMPTY_CATALOG, build_index(EMPTY_CATALOG, 0.0, {}))
        self.rank_due = 0.0  # by the service's clock: when the next tick re-ranks
        self._served_since_tick: dict[uuid.UUID, int] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def current(self) -> ServingState:
        return self.state

    def note_served(self, campaign_id: uuid.UUID) -> None:
        """An ad of this campaign went out: count it against the budget until live spend catches up."""
        self._served_since_tick[campaign_id] = self._served_since_tick.get(campaign_id, 0) + 1
        state = self.state
        campaign = state.catalog.campaigns.get(campaign_id)
        if campaign is not None and state.index.would_exhaust(campaign, self._pending_units(campaign)):
            self._rank(state.catalog)  # stop offering it now rather than at the next tick

    def _pending_units(self, campaign: CampaignEntry) -> int:
        """What the ads served since the last spend reading will cost, assuming every worker serves as many:
        between two readings the workers together serve at most the remaining budget, so spend can pass the
        budget only by the ads still in flight when it runs out."""
        return self._served_since_tick.get(campaign.id, 0) * campaign.cost_units * self.workers

    def refresh(self) -> None:
        """Re-read the catalog if it changed (or is old), then re-rank from live spend and the clock: at
        once after a rebuild, else when due (RANK_SHARE)."""
        with self._lock:
            catalog = self.state.catalog
            try:
                version = self._read_version()
            except Exception:
                log.warning("catalog version unreadable; serving the last catalog", exc_info=True)
                version = catalog.version
            stale = self._clock() - catalog.built_at >= self.rebuild_seconds
            replaced = version != catalog.version or stale
            if replaced:
                try:
                    catalog = self._load(version)
                except Exception:
                    log.warning("catalog rebuild failed; serving the last catalog", exc_info=True)
            if replaced or self._clock() >= self.rank_due:
                self._served_since_tick = {}
                self._rank(catalog)
        if replaced and _malloc_trim is not None:
            # The replaced catalog and the rows it was read from are freed now; glibc would keep their
            # pages, and a worker would stay at its high-water mark (some 30 MB more at 10,000 campaigns).
            _malloc_trim(0)

    def _rank(self, catalog: Catalog) -> None:
        started = time.perf_counter()
        try:
            spend = self._read_spend(list(catalog.campaigns))
        except Exception:
            log.warning("live spend unreadable; ranking with the last known spend", exc_info=True)
            spend = self.state.index.spend
        delivery = self.state.index.delivery
        if self._read_delivery is not None:
            try:
                delivery = self._read_delivery(list(catalog.campaigns), self._clock())
            except Exception:
                log.warning("live delivery unreadable; pacing with the last known delivery", exc_info=True)
        pending = {
            campaign_id: self._pending_units(catalog.campaigns[campaign_id])
            for campaign_id in self._served_since_tick
            if campaign_id in catalog.campaigns
        }
        now = self._clock()
        index = build_index(catalog, now, spend, pending, delivery)
        self.state = ServingState(catalog, index, tick_views(catalog, index, now))
        pause = min((time.perf_counter() - started) * (1 / RANK_SHARE - 1), RANK_MAX_PAUSE_SECONDS)
        self.rank_due = now + pause if pause > self.tick_seconds else now  # else: every tick

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="catalog-refresh", daemon=True)
        self.refresh()  # the first request of a worker waits for its catalog once; later ones never do
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            try:
                self.refresh()
            except Exception:  # the loop must outlive any failure
                log.exception("catalog refresh failed")
