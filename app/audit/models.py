import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """One admin change (app.audit.services): who, when, which entity, what was done, and the changed fields
    only, `{"field": {"before": ..., "after": ...}}` (JSON values: money and dates as strings). Written in
    the transaction of the change. History outlives the admin and the entity: no foreign keys."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_entity", "entity_type", "entity_id", "at"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(sa.Uuid)
    actor_email: Mapped[str | None] = mapped_column(sa.String(320))
    entity_type: Mapped[str] = mapped_column(sa.String(32))
    entity_id: Mapped[uuid.UUID] = mapped_column(sa.Uuid)
    action: Mapped[str] = mapped_column(sa.String(16))
    changes: Mapped[dict] = mapped_column(sa.JSON, default=dict)
