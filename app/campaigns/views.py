import uuid

import marshmallow as ma
from flask import current_app

from app.auth.guard import require_admin
from app.campaigns import services
from app.campaigns.schemas import (
    CampaignInputSchema,
    CampaignListQuerySchema,
    CampaignSchema,
    StatusChangeSchema,
)
from app.creatives.views import storage
from app.db import get_session
from app.errors import ErrorSchema
from app.runtime import runtime
from app.web import Blueprint, json_body, page_schema

blp = Blueprint("campaigns", __name__, url_prefix="/api/v1/campaigns", description="Campaigns")
blp.before_request(require_admin)


@blp.post("")
@json_body(blp, CampaignInputSchema)
@blp.response(201, CampaignSchema)
def create_campaign(data):
    """Create a campaign; it starts as `draft`."""
    return services.create_campaign(get_session(), data, current_app.config["DEFAULT_CPM"])


@blp.get("")
@blp.arguments(CampaignListQuerySchema, location="query")
@blp.response(200, page_schema(CampaignSchema))
def list_campaigns(query):
    """Campaigns, newest first, optionally filtered by status; archived ones only with `archived=true`."""
    return services.list_campaigns(get_session(), **query)


@blp.get("/<uuid:campaign_id>")
@blp.response(200, CampaignSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such campaign")
def get_campaign(campaign_id: uuid.UUID):
    return services.get_campaign(get_session(), campaign_id)


@blp.patch("/<uuid:campaign_id>")
@json_body(blp, CampaignInputSchema(partial=True))
@blp.response(200, CampaignSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such campaign")
@blp.alt_response(409, schema=ErrorSchema, description="The campaign is completed")
def update_campaign(changes, campaign_id: uuid.UUID):
    """Change some fields of a campaign that is not completed."""
    return services.update_campaign(get_session(), campaign_id, changes)


@blp.put("/<uuid:campaign_id>/status")
@json_body(blp, StatusChangeSchema)
@blp.response(200, CampaignSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such campaign")
@blp.alt_response(409, schema=ErrorSchema, description="Transition not allowed; the message says why")
def change_status(body, campaign_id: uuid.UUID):
    """draft→active, active⇄paused, draft|active|paused→completed."""
    return services.change_status(get_session(), campaign_id, body["status"])


@blp.post("/<uuid:campaign_id>/archive")
@blp.response(200, CampaignSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such campaign")
@blp.alt_response(409, schema=ErrorSchema, description="The campaign is active: pause or complete it first")
def archive_campaign(campaign_id: uuid.UUID):
    """Archive a campaign that is not active: it leaves the default lists, its figures stay in reporting."""
    return services.archive_campaign(get_session(), campaign_id)


@blp.post("/<uuid:campaign_id>/restore")
@blp.response(200, CampaignSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such campaign")
def restore_campaign(campaign_id: uuid.UUID):
    """Bring an archived campaign back, in the status it had."""
    return services.restore_campaign(get_session(), campaign_id)


@blp.delete("/<uuid:campaign_id>")
@blp.response(204)
@blp.alt_response(404, schema=ErrorSchema, description="No such campaign")
@blp.alt_response(409, schema=ErrorSchema, description="The campaign delivered: archive it instead")
def delete_campaign(campaign_id: uuid.UUID):
    """Delete a campaign that never delivered, and its creatives."""
    services.delete_campaign(get_session(), storage(), campaign_id)


TestEventsSchema = ma.Schema.from_dict(
    {"counts": ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)},
    name="TestEvents",
)


@blp.get("/<uuid:campaign_id>/test-events")
@blp.response(200, TestEventsSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such campaign")
def test_events(campaign_id: uuid.UUID):
    """Beacons of the campaign's previews (test traffic), by event: counted apart, never billed nor in its
    stats; kept 7 days after the last one."""
    services.get_campaign(get_session(), campaign_id)
    return {"counts": runtime().test_counts.counts(campaign_id)}
