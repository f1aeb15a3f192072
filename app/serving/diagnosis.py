"""Why a campaign does or does not deliver to a request: every campaign of the serving catalog walked through
the decision's own rules, in the decision's order, with the first rule that excluded it.

The rules are the ones serving applies, called the same way on the same in-memory state (the catalog and
the index of the last tick), so the answer cannot disagree with what `/vast` would do:
1. `flight`, `budget`, `pacing`: app.serving.decision.held_back, as build_index applies it at each tick
   (`budget`: a goal or today's goal reached; `pacing`: ahead of its pacing line, app.serving.pacing);
   `targeting`: the request fails one of its rules, read from the tick's targeting index
   (app.serving.targeting.held_back_by_targeting);
2. `duration`: no creative lasts within the request's window (AdRequest.duration_window);
3. `blocked`: the request's own `badv` / `bcat` (app.serving.separation.blocked);
4. `cap`: the device reached the campaign's or its advertiser's frequency cap (app.serving.caps);
5. `separation`: its stream (`session_id`) showed the advertiser or exclusive category within the window.
Campaigns that remain compete with their pacing weight; `share` is the chance a single-ad request draws
each of them (weight over the total of those that compete).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from app.serving.catalog import CampaignEntry, ServingState
from app.serving.decision import held_back
from app.serving.request import AdRequest
from app.serving.separation import blocked
from app.serving.targeting import Profile, held_back_by_targeting, profile_of

COMPETES = "competes"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One campaign's fate for the request. `rule` is the first rule that excluded it, or `competes`."""

    campaign_id: uuid.UUID
    name: str
    rule: str
    detail: str
    weight: float = 0.0  # pacing weight of its creatives that fit (app.serving.decision)
    share: float = 0.0  # chance of being drawn for a single ad, 0..1


def diagnose(
    state: ServingState,
    ad_request: AdRequest,
    *,
    blocks: frozenset[str],
    shown: frozenset[str],
    tolerance: float = 0.0,
    capped: frozenset[str] = frozenset(),
    region: str | None = None,
) -> list[Verdict]:
    """Every campaign of `state`'s catalog, competing ones first (by share), then the others by name.

    `blocks`: the separation keys of the request's badv/bcat; `shown`: those its stream showed (both as
    app.serving.separation.excluded_keys writes them); `tolerance`: DURATION_TOLERANCE_SECONDS; `capped`:
    the keys of the campaigns and advertisers whose frequency cap the device reached
    (app.serving.caps.capped_keys); `region`: the device's (ISO 3166-2, app.serving.geo), None when
    unknown."""
    catalog, index = state.catalog, state.index
    weights = index.weights()
    low, high = ad_request.duration_window(tolerance)
    profile = profile_of(ad_request, region)
    verdicts: list[Verdict] = []
    for campaign in catalog.campaigns.values():
        reason = _excluded_by(state, campaign, profile, low, high, blocks, shown, capped)
        if reason is not None:
            verdicts.append(Verdict(campaign.id, campaign.name, *reason))
            continue
        weight = sum(weights.get(c.id, 0.0) for c in campaign.creatives if low <= c.duration <= high)
        verdicts.append(Verdict(campaign.id, campaign.name, COMPETES, "eligible", weight=weight))
    total = sum(verdict.weight for verdict in verdicts)
    verdicts = [
        Verdict(v.campaign_id, v.name, v.rule, v.detail, v.weight, v.weight / total if total else 0.0)
        for v in verdicts
    ]
    return sorted(verdicts, key=lambda v: (v.rule != COMPETES, -v.share, v.name))


def _excluded_by(
    state: ServingState,
    campaign: CampaignEntry,
    profile: Profile,
    low: float,
    high: float,
    blocks: frozenset[str],
    shown: frozenset[str],
    capped: frozenset[str],
) -> tuple[str, str] | None:
    index = state.index
    held = held_back(
        campaign, index.at, index.spend, index.pending, index.delivery, index.traffic, index.over_delivery
    )
    if held is not None:
        return held.rule, held.detail
    if (targeting := held_back_by_targeting(state, campaign, profile)) is not None:
        return "targeting", targeting
    durations = sorted({c.duration for c in campaign.creatives})
    if not any(low <= duration <= high for duration in durations):
        seconds = ", ".join(f"{d:g}" for d in durations)
        return "duration", f"no creative lasts {low:g}-{high:g} s (its creatives: {seconds} s)"
    if blocked(campaign, blocks):
        return "blocked", "the request's badv/bcat names its " + _named(campaign, blocks)
    if blocked(campaign, capped):
        return "cap", "the device reached the frequency cap of its " + _named(campaign, capped)
    if blocked(campaign, shown):
        return "separation", "the stream (session_id) recently showed its " + _named(campaign, shown)
    return None


def _named(campaign: CampaignEntry, keys: frozenset[str]) -> str:
    """Which of the campaign's separation keys `keys` names, in words."""
    category = (campaign.category or "").lower()
    names = []
    if campaign.advertiser_domain and f"adv:{campaign.advertiser_domain}" in keys:
        names.append(f"advertiser {campaign.advertiser_domain}")
    if f"campaign:{campaign.id}" in keys:
        names.append("campaign")
    if category and f"cat:{category}" in keys:
        names.append(f"category {campaign.category}")
    return " and ".join(names)
