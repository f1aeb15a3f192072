"""Admin API of the dead-letter table: see the events the database refused, fix and replay them."""

from __future__ import annotations

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app
from werkzeug.exceptions import Conflict, NotFound

from app.auth.guard import require_admin
from app.db import get_session
from app.errors import ErrorSchema
from app.tracking import dead_letters
from app.tracking.events import Event
from app.tracking.models import DeadLetterEvent
from app.web import Blueprint, PageQuerySchema, UTCDateTime, page_schema

blp = Blueprint(
    "dead_letters",
    __name__,
    url_prefix="/api/v1/dead-letter-events",
    description="Events the database refused, kept for an operator to fix and replay",
)
blp.before_request(require_admin)


class DeadLetterSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    entry_id = ma.fields.String(allow_none=True, metadata={"description": "Its event-store entry"})
    raw = ma.fields.String(
        required=True, metadata={"description": "The event as stored in the event store (a JSON list)"}
    )
    error = ma.fields.String(required=True, metadata={"description": "Why the database refused it"})
    failed_at = UTCDateTime(required=True)
    attempts = ma.fields.Integer(required=True)


def _event_text(value: str) -> None:
    try:
        Event.decode(value)
    except Exception as exc:
        raise ma.ValidationError(f"Not an event: {type(exc).__name__}: {exc}") from None


class ReplayBodySchema(ma.Schema):
    raw = ma.fields.String(
        validate=[ma.validate.Length(max=100_000), _event_text],
        metadata={"description": "The fixed event, replacing the stored text (optional)"},
    )


class ReplayResultSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    stored = ma.fields.Boolean(required=True)


class ReplayAllResultSchema(ma.Schema):
    stored = ma.fields.Integer(required=True, metadata={"description": "Events stored and removed"})
    refused = ma.fields.Integer(required=True, metadata={"description": "Events refused again (kept)"})


@blp.get("")
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, page_schema(DeadLetterSchema))
def list_dead_letters(query):
    """Dead-lettered events, oldest first."""
    session = get_session()
    page, per_page = query["page"], query["per_page"]
    total = session.scalar(sa.select(sa.func.count()).select_from(DeadLetterEvent))
    items = session.scalars(
        sa.select(DeadLetterEvent).order_by(DeadLetterEvent.id).offset((page - 1) * per_page).limit(per_page)
    ).all()
    return {"items": items, "total": total, "page": page, "per_page": per_page}


@blp.post("/<int:dead_id>/replay")
@blp.arguments(ReplayBodySchema, location="json", required=False)  # no body: replay as it is
@blp.response(200, ReplayResultSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such dead-lettered event")
@blp.alt_response(409, schema=ErrorSchema, description="Refused again: kept, with the new error")
def replay(body, dead_id: int):
    """Store one dead-lettered event again, optionally with a fixed `raw`; stored, it leaves the table."""
    raw = body.get("raw")
    try:
        error = dead_letters.replay_one(
            get_session(),
            dead_id,
            Event.decode(raw).encode() if raw is not None else None,
            retention_days=_retention_days(),
        )
    except dead_letters.NotDeadLettered:
        raise NotFound(f"No dead-lettered event {dead_id}") from None
    if error is not None:
        raise Conflict(f"Refused again: {error}")
    return {"id": dead_id, "stored": True}


@blp.post("/replay")
@blp.response(200, ReplayAllResultSchema)
def replay_all():
    """Store every dead-lettered event again (after fixing their cause, e.g. a schema or a setting)."""
    results = dead_letters.replay(get_session(), _retention_days())
    refused = sum(error is not None for error in results.values())
    return {"stored": len(results) - refused, "refused": refused}


def _retention_days() -> int:
    return current_app.config["SETTINGS"].raw_event_retention_days
