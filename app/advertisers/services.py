"""Advertiser rules: one per domain, and none deleted while a campaign names it."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.advertisers.models import Advertiser
from app.campaigns.models import Campaign
from app.exceptions import Conflict, NotFound


def create_advertiser(session: Session, data: dict) -> Advertiser:
    _domain_free(session, data["domain"])
    advertiser = Advertiser(
        name=data["name"].strip(), domain=data["domain"], frequency_caps=data.get("frequency_caps", [])
    )
    session.add(advertiser)
    _commit(session, data["domain"])
    return advertiser


def list_advertisers(session: Session, *, page: int, per_page: int) -> dict:
    """Advertisers by name (then domain), a page at a time."""
    total = session.scalar(sa.select(sa.func.count()).select_from(Advertiser))
    items = session.scalars(
        _by_name(sa.select(Advertiser)).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def all_advertisers(session: Session) -> list[Advertiser]:
    """Every advertiser by name: the choices of the campaign form."""
    return list(session.scalars(_by_name(sa.select(Advertiser))))


def _by_name(query: sa.Select) -> sa.Select:
    return query.order_by(sa.func.lower(Advertiser.name), Advertiser.domain)


def campaign_counts(session: Session, advertiser_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """How many campaigns name each of these advertisers (0 for none)."""
    counts = dict.fromkeys(advertiser_ids, 0)
    if advertiser_ids:
        rows = session.execute(
            sa.select(Campaign.advertiser_id, sa.func.count())
            .where(Campaign.advertiser_id.in_(advertiser_ids))
            .group_by(Campaign.advertiser_id)
        )
        counts.update({advertiser_id: number for advertiser_id, number in rows})
    return counts


def get_advertiser(session: Session, advertiser_id: uuid.UUID, *, for_update: bool = False) -> Advertiser:
    advertiser = session.get(Advertiser, advertiser_id, with_for_update=True if for_update else None)
    if advertiser is None:
        raise NotFound("Advertiser not found")
    return advertiser


def update_advertiser(session: Session, advertiser_id: uuid.UUID, changes: dict) -> Advertiser:
    advertiser = get_advertiser(session, advertiser_id, for_update=True)
    domain = changes.get("domain", advertiser.domain)
    if domain != advertiser.domain:
        _domain_free(session, domain)
    for field, value in changes.items():
        setattr(advertiser, field, value.strip() if field == "name" else value)
    _commit(session, domain)
    return advertiser


def delete_advertiser(session: Session, advertiser_id: uuid.UUID) -> None:
    """Refused (409) while a campaign names the advertiser: move or delete its campaigns first."""
    advertiser = get_advertiser(session, advertiser_id, for_update=True)
    campaigns = campaign_counts(session, [advertiser_id])[advertiser_id]
    if campaigns:
        raise _in_use(advertiser, campaigns)
    session.delete(advertiser)
    try:
        session.commit()
    except sa.exc.IntegrityError:  # a campaign named it meanwhile (the foreign key is ON DELETE RESTRICT)
        session.rollback()
        raise _in_use(advertiser, None) from None


def _in_use(advertiser: Advertiser, campaigns: int | None) -> Conflict:
    count = "campaigns" if campaigns is None else f"{campaigns} campaign{'s' if campaigns != 1 else ''}"
    return Conflict(
        f"“{advertiser.name}” is the advertiser of {count}: give them another advertiser or delete them first"
    )


def _domain_free(session: Session, domain: str) -> None:
    holder = session.scalar(sa.select(Advertiser).where(Advertiser.domain == domain))
    if holder is not None:
        raise _taken(domain, holder.name)


def _taken(domain: str, holder: str | None) -> Conflict:
    by = f" (“{holder}”)" if holder else ""
    return Conflict(
        f"Another advertiser{by} already has the domain {domain}",
        {"domain": f"Another advertiser{by} already has this domain."},
    )


def _commit(session: Session, domain: str) -> None:
    try:
        session.commit()
    except sa.exc.IntegrityError:  # the only unique column: another write took the domain meanwhile
        session.rollback()
        raise _taken(domain, None) from None
