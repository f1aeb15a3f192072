"""factory_boy factories bound to the current test's session."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app.advertisers.models import Advertiser
from app.campaigns.models import Campaign
from app.creatives.models import Creative
from app.db import utcnow
from app.supply.models import SupplyTag


class _Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_persistence = "commit"


class AdvertiserFactory(_Base):
    class Meta:
        model = Advertiser

    name = factory.Sequence(lambda n: f"Advertiser {n}")
    domain = factory.Sequence(lambda n: f"brand{n}.example.com")


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


class CreativeFactory(_Base):
    """A creative row; its file is not stored (use the upload API where the file matters)."""

    class Meta:
        model = Creative

    campaign = factory.SubFactory(CampaignFactory, status="active")
    campaign_id = factory.SelfAttribute("campaign.id")
    name = factory.Sequence(lambda n: f"Creative {n}")
    storage_key = factory.Sequence(lambda n: f"creatives/factory-{n}.mp4")
    duration = 15.0
    file_size = 1_000_000
    width = 1280
    height = 720
    bitrate = 2_000_000
    mime_type = "video/mp4"
    video_codec = "h264"
    click_through_url = "https://advertiser.example.com/landing"
    status = "active"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        kwargs.pop("campaign", None)
        return super()._create(model_class, *args, **kwargs)


def bind(session) -> None:
    for factory_class in (AdvertiserFactory, CampaignFactory, CreativeFactory, SupplyTagFactory):
        factory_class._meta.sqlalchemy_session = session


def admin_token(session) -> str:
    """A bearer token for the admin the test databases are made with."""
    from app.auth import services
    from app.auth.models import User

    user = session.query(User).one()
    return services.issue_token(session, user, 3600)[0]


class SupplyTagFactory(_Base):
    class Meta:
        model = SupplyTag

    name = factory.Sequence(lambda n: f"Supply tag {n}")
    platform = "generic"
    macros = factory.LazyFunction(dict)
