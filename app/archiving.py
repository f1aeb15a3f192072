"""Archiving, one rule for campaigns and creatives: an archived thing leaves the default lists and keeps its
history (what delivered is archived, never deleted)."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from app.db import utcnow

T = TypeVar("T")


def set_archived(session: Session, thing: T, archived: bool) -> T:
    """Archive `thing` (a model with `archived_at`) now, or restore it; idempotent: commits only a change."""
    if (thing.archived_at is not None) != archived:
        thing.archived_at = utcnow() if archived else None
        session.commit()
    return thing
