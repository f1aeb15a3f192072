"""Campaign rules: creation defaults, the status machine, edits, deletion."""

from __future__ import annotations

import uuid
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.advertisers.models import Advertiser
from app.campaigns.models import STATUSES, Campaign
from app.campaigns.pacing import check_goals
from app.campaigns.schemas import redirect_errors
from app.campaigns.targeting import DEFAULT_TIME_ZONE
from app.creatives.models import Creative
from app.creatives.storage import Storage, remove_objects, stored_keys
from app.db import utcnow
from app.exceptions import Conflict, Invalid, NotFound

# draft -> active <-> paused; draft|active|paused -> completed; completed is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"active", "completed"}),
    "active": frozenset({"paused", "completed"}),
    "paused": frozenset({"active", "completed"}),
    "completed": frozenset(),
}


def create_campaign(session: Session, data: dict, default_cpm: Decimal) -> Campaign:
    campaign = Campaign(
        name=data["name"].strip(),
        description=data.get("description"),
        budget_total=data["budget_total"],
        cpm=data.get("cpm") or default_cpm,
        start_date=data["start_date"],
        end_date=data["end_date"],
        status="draft",
        advertiser=_advertiser(session, data.get("advertiser_id")),
        category=data.get("category"),
        category_exclusive=data.get("category_exclusive", False),
        frequency_caps=data.get("frequency_caps", []),
        pacing=data.get("pacing", "even"),
        impression_goal=data.get("impression_goal"),
        daily_budget=data.get("daily_budget"),
        daily_impression_cap=data.get("daily_impression_cap"),
        targeting=data.get("targeting") or None,
        time_zone=data.get("time_zone", DEFAULT_TIME_ZONE),
        kind=data.get("kind", "direct"),
        vast_ad_tag_uri=data.get("vast_ad_tag_uri"),
        ad_duration=data.get("ad_duration"),
        server_side_unwrap=data.get("server_side_unwrap", False),
    )
    _check_redirect(campaign.kind, campaign.vast_ad_tag_uri, campaign.ad_duration)
    check_goals(
        campaign.budget_total, campaign.daily_budget, campaign.impression_goal, campaign.daily_impression_cap
    )
    session.add(campaign)
    session.commit()
    return campaign


def _check_redirect(kind: str, tag_uri: str | None, duration: float | None) -> None:
    missing = redirect_errors(kind, tag_uri, duration)
    if missing:
        raise Invalid("Invalid campaign", missing)


def _advertiser(session: Session, advertiser_id: uuid.UUID | None) -> Advertiser | None:
    """The advertiser a campaign is to name, kept until the commit (on PostgreSQL, FOR KEY SHARE: it cannot
    be deleted meanwhile); Invalid naming the field when there is none of this id."""
    if advertiser_id is None:
        return None
    advertiser = session.get(Advertiser, advertiser_id, with_for_update={"key_share": True})
    if advertiser is None:
        raise Invalid(
            "Invalid request: advertiser_id: No advertiser has this id.",
            {"advertiser_id": "No advertiser has this id."},
        )
    return advertiser


def list_campaigns(session: Session, *, page: int, per_page: int, status: str | None = None):
    query = sa.select(Campaign)
    if status:
        query = query.where(Campaign.status == status)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    items = session.scalars(
        query.order_by(Campaign.created_at.desc(), Campaign.id).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def get_campaign(session: Session, campaign_id: uuid.UUID, *, for_update: bool = False) -> Campaign:
    # Without FOR UPDATE, a campaign this session already holds comes from its identity map, no query.
    campaign = session.get(Campaign, campaign_id, with_for_update=True if for_update else None)
    if campaign is None:
        raise NotFound("Campaign not found")
    return campaign


def update_campaign(session: Session, campaign_id: uuid.UUID, changes: dict) -> Campaign:
    campaign = get_campaign(session, campaign_id, for_update=True)
    if not accepts_changes(campaign):
        raise Conflict("A completed campaign cannot be edited")
    start = changes.get("start_date", campaign.start_date)
    end = changes.get("end_date", campaign.end_date)
    if end <= start:
        raise Invalid("Invalid campaign", {"end_date": "Must be after start_date."})
    _check_redirect(
        *(changes.get(name, getattr(campaign, name)) for name in ("kind", "vast_ad_tag_uri", "ad_duration"))
    )
    check_goals(
        *(
            changes.get(name, getattr(campaign, name))
            for name in ("budget_total", "daily_budget", "impression_goal", "daily_impression_cap")
        )
    )
    for field, value in changes.items():
        if field == "name":
            value = value.strip()
        if field == "cpm" and value is None:
            continue
        if field == "targeting":
            value = value or None
        if field == "advertiser_id":
            campaign.advertiser = _advertiser(session, value)
            continue
        setattr(campaign, field, value)
    session.commit()
    return campaign


def change_status(session: Session, campaign_id: uuid.UUID, new_status: str) -> Campaign:
    campaign = get_campaign(session, campaign_id, for_update=True)
    current = campaign.status
    if new_status not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (completed is final)"
        raise Conflict(f"Cannot change status from {current} to {new_status}; allowed: {allowed}")
    if new_status == "active" and _flight_over(campaign):
        raise Conflict("Cannot activate a campaign whose end_date has passed")
    campaign.status = new_status
    session.commit()
    return campaign


def accepts_changes(campaign: Campaign) -> bool:
    """Completed is final: such a campaign can be neither edited nor moved to another status."""
    return campaign.status != "completed"


def allowed_transitions(campaign: Campaign) -> list[str]:
    """The statuses change_status accepts for this campaign now, in the order of the status machine."""
    return [
        status
        for status in STATUSES
        if status in TRANSITIONS[campaign.status] and not (status == "active" and _flight_over(campaign))
    ]


def _flight_over(campaign: Campaign) -> bool:
    return campaign.end_date <= utcnow()


def delete_campaign(session: Session, storage: Storage, campaign_id: uuid.UUID) -> None:
    """Delete the campaign, its creatives (ON DELETE CASCADE), then their stored files."""
    campaign = get_campaign(session, campaign_id, for_update=True)
    creatives = session.scalars(sa.select(Creative).where(Creative.campaign_id == campaign_id))
    keys = [key for creative in creatives for key in stored_keys(creative)]
    session.delete(campaign)
    session.commit()
    remove_objects(storage, keys)
