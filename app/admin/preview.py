"""The preview: the page plays a campaign's ad (any status), or one creative's, as a player would, through
/vast with a signed preview parameter (app.serving.preview): one request, real beacons marked as test
traffic, counted apart and never billed."""

from __future__ import annotations

import math
import uuid

from flask import abort, jsonify, render_template, request, url_for

from app.admin.blueprint import bp
from app.campaigns import services as campaigns
from app.creatives import services as creatives
from app.db import get_session
from app.runtime import runtime
from app.serving.preview import PREVIEW_SECONDS

# The page's counters (the campaign page's names) and the beacon events they count.
TEST_COUNTS = {
    "impressions": "impression",
    "starts": "start",
    "first_quartiles": "firstQuartile",
    "midpoints": "midpoint",
    "third_quartiles": "thirdQuartile",
    "completes": "complete",
    "clicks": "click",
}


@bp.get("/campaigns/<uuid:campaign_id>/preview")
def campaign_preview(campaign_id: uuid.UUID):
    """`?creative=<id>`: that creative (whatever its status); else the campaign's first active one, or a VAST
    redirect line item's one ad (its Wrapper, or the partner's InLine when it unwraps on the server)."""
    db = get_session()
    campaign = campaigns.get_campaign(db, campaign_id)
    listed = creatives.list_creatives(db, campaign_id)
    chosen = None
    if request.args.get("creative"):
        chosen = next((item for item in listed if str(item.id) == request.args["creative"]), None)
        if chosen is None:
            abort(404, description="This campaign has no such creative.")
    playable = [chosen] if chosen else [item for item in listed if item.status == "active"]
    durations = [creative.duration for creative in playable]
    if campaign.kind == "vast_redirect" and chosen is None:  # the partner's ad, of its declared duration
        durations = [campaign.ad_duration]
    max_duration = max((math.ceil(duration) for duration in durations), default=30)
    token = runtime().previews.sign(campaign.id, chosen.id if chosen else None)
    return render_template(
        "admin/campaigns/preview.html",
        campaign=campaign,
        creative=chosen,
        playable=bool(durations),
        vast_url=url_for("serving.vast", max_duration=max_duration, preview=token),
        counts_url=url_for("admin.campaign_test_counts", campaign_id=campaign_id),
        valid_minutes=PREVIEW_SECONDS // 60,
    )


@bp.get("/campaigns/<uuid:campaign_id>/test-counts")
def campaign_test_counts(campaign_id: uuid.UUID):
    """The campaign's test beacons (its previews), as JSON for the preview page."""
    campaigns.get_campaign(get_session(), campaign_id)
    counted = runtime().test_counts.counts(campaign_id)
    return jsonify({name: counted.get(event, 0) for name, event in TEST_COUNTS.items()})
