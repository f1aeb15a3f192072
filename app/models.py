"""Every model, imported in one place so that Alembic and tests see the whole schema."""

from app.advertisers.models import Advertiser
from app.audit.models import AuditEntry
from app.auth.models import AuthToken, User
from app.campaigns.models import Campaign
from app.creatives.models import Creative
from app.db import Base
from app.serving.models import AdRequest
from app.serving.version import CatalogState
from app.supply.models import SupplyTag
from app.tracking.models import (
    EventCountHourly,
    Impression,
    ProcessedBatch,
    ServedAdHourly,
    ServingCountHourly,
    TrackingEvent,
)

__all__ = [
    "AdRequest",
    "Advertiser",
    "AuditEntry",
    "AuthToken",
    "Base",
    "Campaign",
    "CatalogState",
    "Creative",
    "EventCountHourly",
    "Impression",
    "ProcessedBatch",
    "ServedAdHourly",
    "ServingCountHourly",
    "SupplyTag",
    "TrackingEvent",
    "User",
]
