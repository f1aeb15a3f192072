"""Competitive separation: which campaigns may not share a break, or a stream, or a request.

A campaign's separation keys are its advertiser (`adv:<domain>`, or the campaign itself, `campaign:<id>`,
when it has none) and, when its IAB category is exclusive, that category (`cat:<id>`). Two ads sharing a key
are never in one pod; a stream (`session_id`) does not show a key again within SEPARATION_WINDOW_SECONDS
(app.serving.streams). A request's own blocks (OpenRTB `badv` domains, `bcat` categories) exclude any
campaign of that advertiser or category, exclusive or not.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.serving.catalog import CampaignEntry


def pod_keys(campaign: CampaignEntry) -> tuple[frozenset[str], frozenset[str]]:
    """(keys it holds, keys it conflicts with) within one pod: an exclusive category conflicts with every
    campaign of that category, and a campaign of a category with the exclusive ones of it."""
    advertiser = next(key for key in keys_of(campaign) if not key.startswith("cat:"))
    if not campaign.category:
        return frozenset((advertiser,)), frozenset((advertiser,))
    category = campaign.category.lower()
    if campaign.category_exclusive:
        held = (advertiser, f"cat:{category}", f"anycat:{category}")
        return frozenset(held), frozenset((advertiser, f"anycat:{category}"))
    return frozenset((advertiser, f"anycat:{category}")), frozenset((advertiser, f"cat:{category}"))


def keys_of(campaign: CampaignEntry) -> frozenset[str]:
    domain = campaign.advertiser_domain
    advertiser = f"adv:{domain}" if domain else f"campaign:{campaign.id}"
    if campaign.category and campaign.category_exclusive:
        return frozenset((advertiser, f"cat:{campaign.category.lower()}"))
    return frozenset((advertiser,))


def blocked(campaign: CampaignEntry, excluded: frozenset[str]) -> bool:
    """True when `excluded` (keys, as keys_of writes them) names the campaign's advertiser or category."""
    if not excluded:
        return False
    if not keys_of(campaign).isdisjoint(excluded):
        return True
    return bool(campaign.category) and f"cat:{campaign.category.lower()}" in excluded


def excluded_keys(
    domains: Iterable[str] = (), categories: Iterable[str] = (), shown: Iterable[str] = ()
) -> frozenset[str]:
    """Keys a request excludes: its blocked domains and categories, and what its stream showed."""
    return frozenset((*(f"adv:{d}" for d in domains), *(f"cat:{c.lower()}" for c in categories), *shown))
