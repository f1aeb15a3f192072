"""factory_boy factories bound to the current test's session."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app.campaigns.models import Campaign
from app.db import utcnow


class _Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_persistence = "commit"


class CampaignFactory(_Base):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    description = None
    budget_total = Decimal("1000.00")
    cpm = Decimal("10.0000")
    start_date = factory.LazyFunction(lambda: utcnow() - timedelta(days=1))
    end_date = factory.LazyFunction(lambda: utcnow() + timedelta(days=30))
    status = "draft"


def bind(session) -> None:
    for factory_class in (CampaignFactory,):
        factory_class._meta.sqlalchemy_session = session
