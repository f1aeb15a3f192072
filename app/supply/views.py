from flask import request

from app.auth.guard import require_admin
from app.db import get_session
from app.errors import ErrorSchema
from app.runtime import runtime
from app.supply import services, stats
from app.supply.models import SupplyTag
from app.supply.presets import vast_url
from app.supply.schemas import (
    SupplyTagInputSchema,
    SupplyTagListQuerySchema,
    SupplyTagSchema,
    SupplyTagStatsQuerySchema,
    SupplyTagStatsSchema,
)
from app.web import Blueprint, json_body, page_schema

blp = Blueprint(
    "supply_tags",
    __name__,
    url_prefix="/api/v1/supply-tags",
    description="Supply tags: where ad requests come from, their defaults, VAST URL and figures",
)
blp.before_request(require_admin)


def tag_url(tag: SupplyTag) -> str:
    """The tag's ready-to-paste VAST URL, on PUBLIC_BASE_URL (else the address this request came to)."""
    base = runtime().public_base_url or request.host_url
    return vast_url(base, tag.id, tag.platform, tag.macros)


def shown(tag: SupplyTag) -> dict:
    return {name: getattr(tag, name) for name in SupplyTagSchema().fields if name != "vast_url"} | {
        "vast_url": tag_url(tag)
    }


@blp.post("")
@json_body(blp, SupplyTagInputSchema)
@blp.response(201, SupplyTagSchema)
def create_tag(data):
    """Create a supply tag; its `vast_url` is ready to paste into the platform."""
    return shown(services.create_tag(get_session(), data))


@blp.get("")
@blp.arguments(SupplyTagListQuerySchema, location="query")
@blp.response(200, page_schema(SupplyTagSchema))
def list_tags(query):
    """Supply tags by name."""
    page = services.list_tags(get_session(), **query)
    return page | {"items": [shown(tag) for tag in page["items"]]}


@blp.get("/<int:tag_id>")
@blp.response(200, SupplyTagSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such supply tag")
def get_tag(tag_id: int):
    return shown(services.get_tag(get_session(), tag_id))


@blp.patch("/<int:tag_id>")
@json_body(blp, SupplyTagInputSchema(partial=True))
@blp.response(200, SupplyTagSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such supply tag")
def update_tag(changes, tag_id: int):
    """Change a tag; requests carrying it serve with the new defaults within a second."""
    return shown(services.update_tag(get_session(), tag_id, changes))


@blp.delete("/<int:tag_id>")
@blp.response(204)
@blp.alt_response(404, schema=ErrorSchema, description="No such supply tag")
@blp.alt_response(409, schema=ErrorSchema, description="A campaign's targeting names this tag")
def delete_tag(tag_id: int):
    """Delete a tag no campaign's targeting names; its figures stay. Requests still carrying it serve as
    untagged ones (with a warning)."""
    services.delete_tag(get_session(), tag_id)


@blp.get("/<int:tag_id>/stats")
@blp.arguments(SupplyTagStatsQuerySchema, location="query")
@blp.response(200, SupplyTagStatsSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such supply tag")
def tag_stats(query, tag_id: int):
    """Requests, fills, fill rate, impressions, errors by code and spend of the tag over [start, end), by
    whole hours, from the database (the flusher fills it within seconds)."""
    return stats.tag_stats(get_session(), tag_id, query.get("start"), query.get("end"))
