from app.audit import services
from app.audit.schemas import AuditEntrySchema, AuditQuerySchema
from app.auth.guard import require_admin
from app.db import get_session
from app.web import Blueprint, page_schema

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit-log", description="Audit log of admin changes")
blp.before_request(require_admin)


@blp.get("")
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, page_schema(AuditEntrySchema))
def list_entries(query):
    """Admin changes, newest first: who, when, which entity, the action and the changed fields before and
    after; optionally of one entity (`entity_type`, `entity_id`)."""
    return services.list_entries(get_session(), **query)
