"""The audit log of admin changes: who, when, which entity, what was done, before and after.

One rule for every admin entity (campaigns, creatives, advertisers, admins): a session that acts for a
signed-in admin (`act_as`, done by the API's and the console's login guards) records, at each flush and in
the same transaction, one entry per entity it created, changed or deleted, with the changed columns only.
A change that fails to commit leaves no entry; an entry never exists without its change. Secrets
(password hashes, token hashes) are never written. Work done by the server itself (transcode jobs, the
flusher, the CLI) has no admin and is not logged.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.advertisers.models import Advertiser
from app.audit.models import AuditEntry
from app.auth.models import User
from app.campaigns.models import Campaign
from app.creatives.models import Creative
from app.db import utcnow

ENTITY_TYPES: dict[type, str] = {
    Campaign: "campaign",
    Creative: "creative",
    Advertiser: "advertiser",
    User: "admin",
}
# Kept by the database itself, or never to be written anywhere but their own column.
UNLOGGED = frozenset({"id", "created_at", "updated_at"})
SECRET_MARKS = ("password", "token", "secret")
ACTOR = "audit_actor"


def act_as(session: Session, user: User) -> None:
    """From now on, the session's changes are logged as `user`'s."""
    session.info[ACTOR] = (user.id, user.email)


def install() -> None:
    """Listen to every session's flushes (once per process)."""
    if not sa.event.contains(Session, "after_flush", _record):
        sa.event.listen(Session, "after_flush", _record)


def _record(session: Session, _context) -> None:
    actor = session.info.get(ACTOR)
    if actor is None:
        return
    rows = []
    for instances, kind in ((session.new, "create"), (session.dirty, "update"), (session.deleted, "delete")):
        for instance in instances:
            entity_type = ENTITY_TYPES.get(type(instance))
            if entity_type is None:
                continue
            changes = _changes(instance, kind)
            if not changes and kind == "update":
                continue
            rows.append(
                {
                    "at": utcnow(),
                    "actor_id": actor[0],
                    "actor_email": actor[1],
                    "entity_type": entity_type,
                    "entity_id": instance.id,
                    "action": _action(kind, changes),
                    "changes": changes,
                }
            )
    if rows:
        session.connection().execute(sa.insert(AuditEntry), rows)


def _changes(instance, kind: str) -> dict:
    """`{"column": {"before": ..., "after": ...}}`: every column with a value on create (before null) and
    delete (after null), the changed ones on update; never a secret."""
    state = sa.inspect(instance)
    changes = {}
    for column in state.mapper.column_attrs:
        name = column.key
        if name in UNLOGGED or any(mark in name for mark in SECRET_MARKS):
            continue
        history = state.attrs[name].history
        if kind == "update":
            if not history.has_changes():
                continue
            before = history.deleted[0] if history.deleted else None
            after = history.added[0] if history.added else None
            if before == after:
                continue
        else:
            value = state.dict.get(name)  # as stored: no attribute is loaded in the middle of a flush
            if value is None:
                continue  # nothing to say of an empty field
            before, after = (None, value) if kind == "create" else (value, None)
        changes[name] = {"before": _json(before), "after": _json(after)}
    return changes


def _action(kind: str, changes: dict) -> str:
    """create | update | delete, or what an update was: archive, restore, status."""
    if kind == "update" and set(changes) == {"archived_at"}:
        return "archive" if changes["archived_at"]["after"] else "restore"
    if kind == "update" and set(changes) == {"status"}:
        return "status"
    return kind


def _json(value):
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def list_entries(
    session: Session,
    *,
    page: int,
    per_page: int,
    entity_type: str | None = None,
    entity_id: uuid.UUID | None = None,
) -> dict:
    """A page of entries, newest first, optionally of one entity type and id."""
    query = sa.select(AuditEntry)
    if entity_type:
        query = query.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    items = session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return {"items": items, "total": total, "page": page, "per_page": per_page}


def campaign_entries(session: Session, campaign: Campaign, limit: int = 50) -> list[AuditEntry]:
    """The latest `limit` entries of a campaign and of its creatives, newest first (the campaign page)."""
    creative_ids = sa.select(Creative.id).where(Creative.campaign_id == campaign.id)
    return list(
        session.scalars(
            sa.select(AuditEntry)
            .where(
                sa.or_(
                    sa.and_(AuditEntry.entity_type == "campaign", AuditEntry.entity_id == campaign.id),
                    sa.and_(AuditEntry.entity_type == "creative", AuditEntry.entity_id.in_(creative_ids)),
                )
            )
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
    )
