"""Competitive separation: which campaigns may not share a break, or a stream, or a request.

A campaign's separation keys are its advertiser (`adv:<domain>`, or the campaign itself, `campaign:<id>`,
when it has none) and, when its IAB category is exclusive, that category (`cat:<id>`). Two ads sharing a key
are never in one pod; a stream (`session_id`) does not show a key again within SEPARATION_WINDOW_SECONDS
(app.serving.streams). A request's own blocks (OpenRTB `badv` domains, `bcat` categories) exclude any
campaign of that advertiser or category, exclusive or not.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.serving.catalog import CampaignEntry


@dataclass(frozen=True, slots=True)
class SeparationKeys:
    """A campaign's keys, worked out once when the catalog is loaded (app.serving.catalog.CampaignEntry)."""

    keys: frozenset[str]  # what a stream remembers and a request's blocks name
    held: frozenset[str]  # within one pod: the keys it holds...
    conflicts: frozenset[str]  # ...and those it conflicts with


def separation_keys(
    campaign_id: uuid.UUID, advertiser_domain: str | None, category: str | None, exclusive: bool
) -> SeparationKeys:
    """An exclusive category conflicts, within a pod, with every campaign of that category, and a campaign
    of a category with the exclusive ones of it."""
    advertiser = f"adv:{advertiser_domain}" if advertiser_domain else f"campaign:{campaign_id}"
    if not category:
        alone = frozenset((advertiser,))
        return SeparationKeys(alone, alone, alone)
    category = category.lower()
    if exclusive:
        return SeparationKeys(
            keys=frozenset((advertiser, f"cat:{category}")),
            held=frozenset((advertiser, f"cat:{category}", f"anycat:{category}")),
            conflicts=frozenset((advertiser, f"anycat:{category}")),
        )
    return SeparationKeys(
        keys=frozenset((advertiser,)),
        held=frozenset((advertiser, f"anycat:{category}")),
        conflicts=frozenset((advertiser, f"cat:{category}")),
    )


def pod_keys(campaign: CampaignEntry) -> tuple[frozenset[str], frozenset[str]]:
    """(keys it holds, keys it conflicts with) within one pod."""
    return campaign.separation.held, campaign.separation.conflicts


def keys_of(campaign: CampaignEntry) -> frozenset[str]:
    return campaign.separation.keys


def blocked(campaign: CampaignEntry, excluded: frozenset[str]) -> bool:
    """True when `excluded` (keys, as keys_of writes them) names the campaign's advertiser or category, or
    the campaign itself (`campaign:<id>`, e.g. its frequency cap is reached: app.serving.caps)."""
    if not excluded:
        return False
    if not campaign.separation.keys.isdisjoint(excluded) or f"campaign:{campaign.id}" in excluded:
        return True
    return bool(campaign.category) and f"cat:{campaign.category.lower()}" in excluded


def excluded_keys(
    domains: Iterable[str] = (), categories: Iterable[str] = (), shown: Iterable[str] = ()
) -> frozenset[str]:
    """Keys a request excludes: its blocked domains and categories, and what its stream showed."""
    return frozenset((*(f"adv:{d}" for d in domains), *(f"cat:{c.lower()}" for c in categories), *shown))
