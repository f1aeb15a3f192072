"""Frequency caps on the serving path: who the device is, what it has seen, which campaigns it may not get.

The rules are the campaign's and its advertiser's (app.campaigns.caps). Per request:
1. **The device key** (`DeviceKeys`): the IFA when it is usable (not all zeros), else the IP address and
   user agent together, which is how SSAI traffic tells a household; always as a keyed hash (HMAC-SHA256
   with a key derived from SECRET_KEY, 128 bits, base64url): an identifier is never stored in clear. None,
   and no capping, when the request's identifiers may not be used (COPPA, limited ad tracking, a US
   opt-out, GDPR without consent to store on the device, or a signal that cannot be read:
   app.serving.consent), or when it has neither.
2. **The read** (`FrequencyCaps.read`): the device's history (app.tracking.frequency) in the same Redis
   pipeline as the stream's separation keys (app.serving.streams), one round trip, and only while some
   campaign of the catalog is capped; from memory in the embedded default. When Redis does not answer,
   an ad beats a cap (as it beats separation).
3. **The decision**: a campaign or advertiser whose rule is reached becomes an excluded key of the request
   (`campaign:<id>`, `adv:<domain>`, app.serving.separation), so the draw goes to other campaigns or to no
   fill; a pod holds at most one ad per campaign and per advertiser, so it never passes a cap either.
4. **The count**: the device key travels in the ad's signed beacon token; the impression beacon adds the
   impression to the history in the call that deduplicates it (`cap_count`), so only a genuine impression
   counts, once however often its beacon is repeated.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import math
import re
import time
import uuid
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import redis

from app.campaigns.caps import FLIGHT, MAX_WINDOW_SECONDS, FrequencyCap
from app.tracking.events import EventStore, StoreUnavailable
from app.tracking.frequency import CapCount, History, MemoryHistories, decode_history
from app.tracking.shards import REDIS_ERRORS, Shards

if TYPE_CHECKING:  # the catalog builds its cap rules with build_cap_rules
    from app.serving.catalog import CampaignEntry, Catalog
    from app.serving.request import AdRequest
    from app.serving.streams import StreamMemory

log = logging.getLogger(__name__)

_ZEROS = re.compile(r"[0\-]+")  # an IFA a device sends when the user limited tracking


class DeviceKeys:
    """Device keys as keyed hashes: the same device gets the same key on every worker, nobody without
    SECRET_KEY can tell whose it is."""

    def __init__(self, secret_key: str):
        self._key = hmac.new(secret_key.encode(), b"frequency-cap-device-v1", hashlib.sha256).digest()

    def of(
        self,
        *,
        ifa: str | None,
        ip: str | None,
        user_agent: str | None,
        allowed: bool,
    ) -> str | None:
        """The key, or None when identifiers are not `allowed` (app.serving.consent) or there are none."""
        if not allowed:
            return None
        ifa = (ifa or "").strip().lower()
        if ifa and not _ZEROS.fullmatch(ifa):
            return self._hash("ifa\n" + ifa)
        if ip and user_agent:
            return self._hash(f"ipua\n{ip}\n{user_agent}")
        return None

    def _hash(self, text: str) -> str:
        digest = hmac.new(self._key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def is_capped(campaign: CampaignEntry) -> bool:
    return bool(campaign.frequency_caps or campaign.advertiser_frequency_caps)


@dataclass(frozen=True, slots=True)
class _Rules:
    rules: tuple[FrequencyCap, ...]
    flight_start: float
    excludes: str  # the separation key that keeps the campaign (or advertiser) out of the decision


def build_cap_rules(campaigns: Iterable[CampaignEntry]) -> dict[str, _Rules]:
    """History field (`c:<campaign id>`, `a:<advertiser id>`) -> its rules, for the capped campaigns and
    advertisers: built once per catalog load (app.serving.catalog.make_catalog)."""
    rules = {}
    for campaign in campaigns:
        if campaign.frequency_caps:
            rules[f"c:{campaign.id}"] = _Rules(
                campaign.frequency_caps, campaign.start_ts, f"campaign:{campaign.id}"
            )
        if campaign.advertiser_frequency_caps and campaign.advertiser_domain:
            rules[f"a:{campaign.advertiser_id}"] = _Rules(
                campaign.advertiser_frequency_caps, 0.0, f"adv:{campaign.advertiser_domain}"
            )
    return rules


def rules_by_field(catalog: Catalog) -> dict[str, _Rules]:
    return catalog.cap_rules


def capped_keys(catalog: Catalog, history: History, now: float) -> frozenset[str]:
    """The separation keys of every campaign and advertiser whose rule the device has reached at `now`."""
    if not history:
        return frozenset()
    by_field = rules_by_field(catalog)
    keys = set()
    for field, times in history.items():
        entry = by_field.get(field)
        if entry is not None and any(
            len(times) - bisect_left(times, rule.since(now, entry.flight_start)) >= rule.max_impressions
            for rule in entry.rules
        ):
            keys.add(entry.excludes)
    return frozenset(keys)


def cap_count(catalog: Catalog, campaign_id: uuid.UUID, device: str | None, now: float) -> CapCount | None:
    """What an impression of the campaign adds to the device's history; None when nothing caps it (or it
    no longer serves)."""
    campaign = catalog.campaigns.get(campaign_id)
    if device is None or campaign is None:
        return None
    fields, ttl = [], 0.0
    for name, rules in (
        (f"c:{campaign.id}", campaign.frequency_caps),
        (f"a:{campaign.advertiser_id}", campaign.advertiser_frequency_caps),
    ):
        if rules:
            oldest = min(rule.since(now, campaign.start_ts) for rule in rules)
            fields.append((name, oldest, max(rule.max_impressions for rule in rules)))
            ttl = max(ttl, *(_lifetime(rule, campaign, now) for rule in rules))
    if not fields:
        return None
    return CapCount(device=device, fields=tuple(fields), ttl_seconds=max(1, math.ceil(ttl)))


def _lifetime(rule: FrequencyCap, campaign: CampaignEntry, now: float) -> float:
    """How long an impression made now still counts for the rule."""
    if rule.unit == FLIGHT:
        return min(campaign.end_ts - now, MAX_WINDOW_SECONDS)
    return now - rule.since(now, campaign.start_ts)


class FrequencyCaps:
    """One per worker: device keys, and histories read from Redis (`client`, under the event store's key
    layout `shards`: app.tracking.shards) or from the in-process event store's (`local`)."""

    def __init__(
        self, secret_key: str, client: redis.Redis | None, shards: Shards, local: MemoryHistories | None
    ):
        self.keys = DeviceKeys(secret_key)
        self.client = client
        self.shards = shards
        self.local = local

    def device(self, catalog: Catalog, **identity) -> str | None:
        """The request's device key (DeviceKeys.of takes `identity`), or None while nothing is capped."""
        return self.keys.of(**identity) if rules_by_field(catalog) else None

    def device_of(self, catalog: Catalog, ad_request: AdRequest) -> str | None:
        return self.device(
            catalog,
            ifa=ad_request.ifa,
            ip=ad_request.ip,
            user_agent=ad_request.user_agent,
            allowed=ad_request.identifiers_allowed,
        )

    def read(
        self, streams: StreamMemory, session_id: str | None, device: str | None
    ) -> tuple[frozenset[str], History]:
        """(separation keys the stream showed, the device's history): one Redis round trip at most (on a
        cluster, one per node holding either key, sent together)."""
        if self.client is None or device is None:
            shown = streams.recent(session_id) if session_id else frozenset()
            return shown, self._local(device)
        pipe = self.client.pipeline(transaction=False)
        if session_id:
            pipe.hgetall(streams.key(session_id))
        pipe.hgetall(self.shards.history_key(device))
        try:
            replies = pipe.execute()
        except REDIS_ERRORS:
            log.warning("separation and frequency caps unavailable: Redis did not answer", exc_info=True)
            return frozenset(), {}
        shown = streams.shown_within(replies[0]) if session_id else frozenset()
        return shown, decode_history(replies[-1])

    def answer_and_history(
        self, store: EventStore, request_id: str, device: str | None
    ) -> tuple[str | None, History]:
        """An SDK request's stored answer (app.serving.views.ad_request) and the device's history: one
        round trip. Raises StoreUnavailable as the store's `answer` does."""
        if self.client is None or device is None:
            return store.answer(request_id), self._local(device)
        pipe = self.client.pipeline(transaction=False)
        pipe.get(store.answer_key(request_id))
        pipe.hgetall(self.shards.history_key(device))
        try:
            answer, raw = pipe.execute()
        except REDIS_ERRORS as exc:
            raise StoreUnavailable(str(exc)) from exc
        return (answer.decode() if answer is not None else None), decode_history(raw)

    def _local(self, device: str | None) -> History:
        if device is None or self.local is None:
            return {}
        return self.local.get(device, time.time())
