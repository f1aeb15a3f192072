"""The catalog version: bumped by every admin write that can change what serves, read by each worker's
catalog loop. In Redis when configured (after the commit), else in the database (inside the transaction)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from app.advertisers.models import Advertiser
from app.campaigns.models import Campaign
from app.creatives.models import Creative
from app.db import Base
from app.supply.models import SupplyTag

_CHANGED = "catalog_changed"
_SERVED = (Advertiser, Campaign, Creative, SupplyTag)  # what the catalog is made of


class CatalogState(Base):
    __tablename__ = "catalog_state"
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    version: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class DatabaseVersion:
    def __init__(self, sessions: sessionmaker):
        self.sessions = sessions

    def read(self) -> int:
        with self.sessions() as session:
            return session.scalar(sa.select(CatalogState.version).where(CatalogState.id == 1)) or 0

    def bump_in(self, session: Session) -> None:
        session.execute(
            sa.update(CatalogState).where(CatalogState.id == 1).values(version=CatalogState.version + 1)
        )

    def bump_after_commit(self) -> None:
        pass


class RedisVersion:
    def __init__(self, client, prefix: str):
        self.client = client
        self.key = f"{prefix}catalog:version"

    def read(self) -> int:
        return int(self.client.get(self.key) or 0)

    def bump_in(self, session: Session) -> None:
        pass

    def bump_after_commit(self) -> None:
        self.client.incr(self.key)


def track_catalog_changes(sessions: sessionmaker, version: DatabaseVersion | RedisVersion) -> None:
    """Bump the version whenever a transaction that wrote an advertiser, a campaign, a creative or a supply
    tag commits."""

    @sa.event.listens_for(sessions, "before_flush")
    def note_change(session, _context, _instances):
        touched = (*session.new, *session.dirty, *session.deleted)
        if any(isinstance(obj, _SERVED) for obj in touched) and not session.info.get(_CHANGED):
            session.info[_CHANGED] = True
            version.bump_in(session)

    @sa.event.listens_for(sessions, "after_commit")
    def publish(session):
        if session.info.pop(_CHANGED, False):
            version.bump_after_commit()

    @sa.event.listens_for(sessions, "after_rollback")
    def forget(session):
        session.info.pop(_CHANGED, None)
