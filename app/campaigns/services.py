"""Campaign rules: creation defaults, the status machine, edits, deletion.

The status machine (README, "Campaign statuses"):

    draft ──activate──▶ active ◀──pause/activate──▶ paused
      │                   │                           │
      └──────────────── complete (final) ◀────────────┘

`completed` is final: the campaign stops serving for good and cannot be edited or re-activated. Beside the
status, a campaign that is not active may be archived (out of the default lists, figures kept in reporting)
and restored. A campaign that delivered is never deleted (its impressions would leave reporting): it is
archived; only one that never delivered may be deleted. An edit
never completes a campaign by the back door: a budget below the spend to date, an impression goal below
the impressions delivered, or an end date in the past is refused, naming the field (`check_edit`).
"""

from __future__ import annotations

import uuid
from decimal import ROUND_CEILING, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.advertisers.models import Advertiser
from app.archiving import set_archived
from app.campaigns.models import STATUSES, Campaign
from app.campaigns.pacing import check_goals
from app.campaigns.schemas import redirect_errors
from app.campaigns.targeting import DEFAULT_TIME_ZONE
from app.creatives.jobs import stored_keys
from app.creatives.models import Creative
from app.creatives.storage import Storage, remove_objects
from app.db import utcnow
from app.exceptions import Conflict, Invalid, NotFound
from app.serving.money import currency_to_units, units_to_currency
from app.supply.services import check_tags_exist
from app.tracking.stored_delivery import has_delivered, stored_delivery

# draft -> active <-> paused; draft|active|paused -> completed; completed is final.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"active", "completed"}),
    "active": frozenset({"paused", "completed"}),
    "paused": frozenset({"active", "completed"}),
    "completed": frozenset(),
}


def create_campaign(session: Session, data: dict, default_cpm: Decimal) -> Campaign:
    check_tags_exist(session, data.get("targeting"))
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


def list_campaigns(
    session: Session, *, page: int, per_page: int, status: str | None = None, archived: bool = False
):
    """A page of campaigns, newest first: the archived ones only when `archived`, else the others."""
    query = sa.select(Campaign).where(
        Campaign.archived_at.is_not(None) if archived else Campaign.archived_at.is_(None)
    )
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
    ensure_changeable(campaign)
    errors: dict[str, str] = {}
    for check in (_check_flight, check_edit, _check_goals, _check_redirect_edit):
        try:
            check(session, campaign, changes)
        except Invalid as exc:  # every field at fault at once, the first message of each
            errors = exc.details | errors
    if errors:
        raise Invalid("Invalid campaign", errors)
    if "targeting" in changes:
        check_tags_exist(session, changes["targeting"])
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


def _check_flight(_session: Session, campaign: Campaign, changes: dict) -> None:
    if changes.get("end_date", campaign.end_date) <= changes.get("start_date", campaign.start_date):
        raise Invalid("Invalid campaign", {"end_date": "Must be after start_date."})


def _check_goals(_session: Session, campaign: Campaign, changes: dict) -> None:
    check_goals(
        *(
            changes.get(name, getattr(campaign, name))
            for name in ("budget_total", "daily_budget", "impression_goal", "daily_impression_cap")
        )
    )


def _check_redirect_edit(_session: Session, campaign: Campaign, changes: dict) -> None:
    _check_redirect(
        *(changes.get(name, getattr(campaign, name)) for name in ("kind", "vast_ad_tag_uri", "ad_duration"))
    )


def check_edit(session: Session, campaign: Campaign, changes: dict) -> None:
    """Refuse, with every field at fault at once, an edit that would end the campaign's delivery: a
    `budget_total` below the spend to date, an `impression_goal` below the impressions delivered (both as
    stored by the flusher), an `end_date` moved into the past. Ending a campaign is `completed`'s job, asked
    for explicitly. Raises Invalid."""
    errors: dict[str, str] = {}
    end = changes.get("end_date")
    if end is not None and end != campaign.end_date and end <= utcnow():
        errors["end_date"] = "Must be in the future. To stop the campaign now, pause or complete it."
    budget = changes.get("budget_total")
    goal = changes.get("impression_goal")
    lowered_budget = budget is not None and budget < campaign.budget_total
    lowered_goal = goal is not None and (campaign.impression_goal is None or goal < campaign.impression_goal)
    if lowered_budget or lowered_goal:
        delivered = stored_delivery(session, [campaign.id], utcnow().timestamp()).get(campaign.id)
        if delivered is not None and lowered_budget and currency_to_units(budget) < delivered.spend_units:
            spent = units_to_currency(delivered.spend_units).quantize(Decimal("0.01"), ROUND_CEILING)
            errors["budget_total"] = (
                f"Must be at least the spend to date ({spent}). To stop the campaign, pause or complete it."
            )
        if delivered is not None and lowered_goal and goal < delivered.impressions:
            errors["impression_goal"] = (
                f"Must be at least the impressions delivered to date ({delivered.impressions})."
            )
    if errors:
        raise Invalid("Invalid campaign", errors)


def change_status(session: Session, campaign_id: uuid.UUID, new_status: str) -> Campaign:
    campaign = get_campaign(session, campaign_id, for_update=True)
    current = campaign.status
    if new_status not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (completed is final)"
        raise Conflict(f"Cannot change status from {current} to {new_status}; allowed: {allowed}")
    if new_status == "active" and campaign.archived_at is not None:
        raise Conflict("Cannot activate an archived campaign: restore it first")
    if new_status == "active" and _flight_over(campaign):
        raise Conflict("Cannot activate a campaign whose end_date has passed")
    campaign.status = new_status
    session.commit()
    return campaign


def accepts_changes(campaign: Campaign) -> bool:
    """Completed is final: such a campaign can be neither edited nor moved to another status. An archived
    one is edited once restored. The same holds for its creatives (files, status, verifications, new ones)."""
    return campaign.status != "completed" and campaign.archived_at is None


def ensure_changeable(campaign: Campaign) -> None:
    """Raises Conflict, saying why, when `campaign` (or its creatives) may not be changed: accepts_changes."""
    if campaign.archived_at is not None:
        raise Conflict("An archived campaign cannot be edited: restore it first")
    if not accepts_changes(campaign):
        raise Conflict("A completed campaign cannot be edited")


def allowed_transitions(campaign: Campaign) -> list[str]:
    """The statuses change_status accepts for this campaign now, in the order of the status machine."""
    return [
        status
        for status in STATUSES
        if status in TRANSITIONS[campaign.status]
        and not (status == "active" and (_flight_over(campaign) or campaign.archived_at is not None))
    ]


def _flight_over(campaign: Campaign) -> bool:
    return campaign.end_date <= utcnow()


def archive_campaign(session: Session, campaign_id: uuid.UUID) -> Campaign:
    """Archive a campaign that is not active (idempotent). Raises NotFound, or Conflict when it is active."""
    campaign = get_campaign(session, campaign_id, for_update=True)
    if campaign.status == "active":
        raise Conflict("An active campaign cannot be archived: pause or complete it first")
    return set_archived(session, campaign, True)


def restore_campaign(session: Session, campaign_id: uuid.UUID) -> Campaign:
    """Bring an archived campaign back to the lists, in the status it had (idempotent)."""
    return set_archived(session, get_campaign(session, campaign_id, for_update=True), False)


DELIVERED_CAMPAIGN = (
    "This campaign has delivered: deleting it would erase its impressions from reporting. Archive it instead."
)


def delete_campaign(session: Session, storage: Storage, campaign_id: uuid.UUID) -> None:
    """Delete a campaign that never delivered, its creatives (ON DELETE CASCADE), then their stored files.
    Raises Conflict (DELIVERED_CAMPAIGN) for one that delivered."""
    campaign = get_campaign(session, campaign_id, for_update=True)
    if has_delivered(session, campaign_id=campaign_id):
        raise Conflict(DELIVERED_CAMPAIGN)
    creatives = session.scalars(sa.select(Creative).where(Creative.campaign_id == campaign_id))
    keys = [key for creative in creatives for key in stored_keys(creative)]
    session.delete(campaign)
    session.commit()
    remove_objects(storage, keys)
