import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, UUIDPrimaryKey, utcnow


class User(UUIDPrimaryKey, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


API_KIND = "api"
CONSOLE_KIND = "console"
KINDS = (API_KIND, CONSOLE_KIND)


class AuthToken(UUIDPrimaryKey, Base):
    """An API bearer token, or the server side of a console page session (`kind`): each opens only its own
    door. Only its SHA-256 is stored: a leaked table grants nothing."""

    __tablename__ = "auth_tokens"
    __table_args__ = (sa.CheckConstraint(f"kind IN {KINDS!r}", name="kind_valid"),)

    user_id: Mapped[uuid.UUID] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16), default=API_KIND, server_default=API_KIND)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
