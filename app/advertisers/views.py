import uuid

from app.advertisers import services
from app.advertisers.schemas import AdvertiserInputSchema, AdvertiserListQuerySchema, AdvertiserSchema
from app.auth.guard import require_admin
from app.db import get_session
from app.errors import ErrorSchema
from app.web import Blueprint, json_body, page_schema

blp = Blueprint(
    "advertisers",
    __name__,
    url_prefix="/api/v1/advertisers",
    description="Advertisers: who a campaign advertises for, by name (VAST) and domain (OpenRTB adomain)",
)
blp.before_request(require_admin)

DOMAIN_TAKEN = "Another advertiser has this domain (`details.domain` says so)"


@blp.post("")
@json_body(blp, AdvertiserInputSchema)
@blp.response(201, AdvertiserSchema)
@blp.alt_response(409, schema=ErrorSchema, description=DOMAIN_TAKEN)
def create_advertiser(data):
    """Create an advertiser; its domain is normalised (lower case, no scheme, path or `www.`)."""
    return services.create_advertiser(get_session(), data)


@blp.get("")
@blp.arguments(AdvertiserListQuerySchema, location="query")
@blp.response(200, page_schema(AdvertiserSchema))
def list_advertisers(query):
    """Advertisers by name."""
    return services.list_advertisers(get_session(), **query)


@blp.get("/<uuid:advertiser_id>")
@blp.response(200, AdvertiserSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such advertiser")
def get_advertiser(advertiser_id: uuid.UUID):
    return services.get_advertiser(get_session(), advertiser_id)


@blp.patch("/<uuid:advertiser_id>")
@json_body(blp, AdvertiserInputSchema(partial=True))
@blp.response(200, AdvertiserSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such advertiser")
@blp.alt_response(409, schema=ErrorSchema, description=DOMAIN_TAKEN)
def update_advertiser(changes, advertiser_id: uuid.UUID):
    """Change the name or the domain; campaigns of the advertiser serve with the new ones."""
    return services.update_advertiser(get_session(), advertiser_id, changes)


@blp.delete("/<uuid:advertiser_id>")
@blp.response(204)
@blp.alt_response(404, schema=ErrorSchema, description="No such advertiser")
@blp.alt_response(409, schema=ErrorSchema, description="Campaigns name this advertiser")
def delete_advertiser(advertiser_id: uuid.UUID):
    """Delete an advertiser no campaign names."""
    services.delete_advertiser(get_session(), advertiser_id)
