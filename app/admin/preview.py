"""The preview: the page plays the campaign's ad as a player would, from /vast, with real beacons."""

from __future__ import annotations

import math
import uuid

from flask import render_template, url_for

from app.admin.blueprint import bp
from app.campaigns import services as campaigns
from app.creatives import services as creatives
from app.db import get_session

ATTEMPTS = 10  # /vast requests before the page gives up waiting for this campaign's ad


@bp.get("/campaigns/<uuid:campaign_id>/preview")
def campaign_preview(campaign_id: uuid.UUID):
    db = get_session()
    campaign = campaigns.get_campaign(db, campaign_id)
    active = [item for item in creatives.list_creatives(db, campaign_id) if item.status == "active"]
    # Long enough for every active creative of this campaign, as a player's ad break would be.
    max_duration = max((math.ceil(creative.duration) for creative in active), default=30)
    return render_template(
        "admin/campaigns/preview.html",
        campaign=campaign,
        active_creatives=active,
        vast_url=url_for("serving.vast", max_duration=max_duration),
        counts_url=url_for("admin.campaign_counts", campaign_id=campaign_id),
        attempts=ATTEMPTS,
    )
