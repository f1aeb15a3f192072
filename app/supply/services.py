"""Supply tag rules: their defaults and macros, the campaigns limited to them, deletion."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.campaigns.models import Campaign
from app.exceptions import Conflict, Invalid, NotFound
from app.supply.models import SupplyTag

FIELDS = (  # as given, or None
    "vast_version",
    "min_duration",
    "max_duration",
    "pod_max_duration",
    "pod_max_ads",
)


def create_tag(session: Session, data: dict) -> SupplyTag:
    tag = SupplyTag(
        **{name: data.get(name) for name in FIELDS},
        name=data["name"].strip(),
        platform=data.get("platform", "generic"),
        macros=data.get("macros", {}),
    )
    session.add(tag)
    session.commit()
    return tag


def list_tags(session: Session, *, page: int, per_page: int) -> dict:
    """Tags by name (then id), a page at a time."""
    total = session.scalar(sa.select(sa.func.count()).select_from(SupplyTag))
    items = session.scalars(
        _by_name(sa.select(SupplyTag)).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def all_tags(session: Session) -> list[SupplyTag]:
    """Every tag by name: the choices of the campaign form."""
    return list(session.scalars(_by_name(sa.select(SupplyTag))))


def _by_name(query: sa.Select) -> sa.Select:
    return query.order_by(sa.func.lower(SupplyTag.name), SupplyTag.id)


def get_tag(session: Session, tag_id: int, *, for_update: bool = False) -> SupplyTag:
    tag = session.get(SupplyTag, tag_id, with_for_update=True if for_update else None)
    if tag is None:
        raise NotFound("Supply tag not found")
    return tag


def update_tag(session: Session, tag_id: int, changes: dict) -> SupplyTag:
    tag = get_tag(session, tag_id, for_update=True)
    low = changes.get("min_duration", tag.min_duration)
    high = changes.get("max_duration", tag.max_duration)
    if low is not None and high is not None and low > high:
        raise Invalid("Invalid supply tag", {"min_duration": "Must not be above max_duration."})
    for field, value in changes.items():
        setattr(tag, field, value.strip() if field == "name" else value)
    session.commit()
    return tag


def limited_campaigns(session: Session, tag_id: int) -> list[str]:
    """The names of the campaigns whose targeting names the tag (app.campaigns.targeting `supply_tag`)."""
    rows = session.execute(sa.select(Campaign.name, Campaign.targeting))  # JSON: null is a value, not NULL
    return [
        name
        for name, targeting in rows
        if any(
            tag_id in ((targeting or {}).get("supply_tag") or {}).get(side, ())
            for side in ("include", "exclude")
        )
    ]


def check_tags_exist(session: Session, targeting: dict | None) -> None:
    """Invalid (naming targeting.supply_tag) when a campaign's targeting names a tag that does not exist."""
    rule = (targeting or {}).get("supply_tag") or {}
    named = set(rule.get("include", ())) | set(rule.get("exclude", ()))
    if not named:
        return
    found = set(session.scalars(sa.select(SupplyTag.id).where(SupplyTag.id.in_(named))))
    if missing := sorted(named - found):
        message = f"No supply tag has the id {', '.join(map(str, missing))}."
        raise Invalid(f"Invalid request: targeting.supply_tag: {message}", {"targeting.supply_tag": message})


def delete_tag(session: Session, tag_id: int) -> None:
    """Refused (409) while a campaign's targeting names the tag; its figures stay (counted by its id)."""
    tag = get_tag(session, tag_id, for_update=True)
    if campaigns := limited_campaigns(session, tag_id):
        names = ", ".join(f"“{name}”" for name in campaigns[:3])
        more = f" and {len(campaigns) - 3} more" if len(campaigns) > 3 else ""
        raise Conflict(f"The targeting of {names}{more} names this supply tag: change it first")
    session.delete(tag)
    session.commit()
