"""Shapes of the audit log API."""

import marshmallow as ma

from app.audit.services import ENTITY_TYPES
from app.web import PageQuerySchema, UTCDateTime


class AuditQuerySchema(PageQuerySchema):
    entity_type = ma.fields.String(validate=ma.validate.OneOf(sorted(ENTITY_TYPES.values())))
    entity_id = ma.fields.UUID()


class AuditEntrySchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    at = UTCDateTime(required=True)
    actor_id = ma.fields.UUID(required=True, allow_none=True, metadata={"description": "The admin's id"})
    actor_email = ma.fields.String(required=True, allow_none=True)
    entity_type = ma.fields.String(required=True, validate=ma.validate.OneOf(sorted(ENTITY_TYPES.values())))
    entity_id = ma.fields.UUID(required=True)
    action = ma.fields.String(
        required=True,
        metadata={"description": "create, update, delete, status, archive or restore"},
    )
    changes = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Dict(),
        required=True,
        metadata={
            "description": 'The changed fields only: {"field": {"before": ..., "after": ...}} (money and '
            "dates as strings; null before a create and after a delete). Secrets are never logged."
        },
    )
