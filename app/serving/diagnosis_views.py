"""POST /api/v1/delivery/diagnosis: "why isn't my campaign delivering?" for a sample ad request, answered by
the serving code itself (app.serving.diagnosis) on this worker's catalog."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

import marshmallow as ma
import sqlalchemy as sa
from werkzeug.datastructures import Headers, MultiDict

from app.auth.guard import require_admin
from app.campaigns.models import Campaign
from app.creatives.models import Creative
from app.db import get_session, utcnow
from app.runtime import runtime
from app.serving.caps import capped_keys
from app.serving.diagnosis import Verdict, diagnose
from app.serving.geo import country
from app.serving.request import AdRequest, parse_ad_request
from app.serving.separation import excluded_keys
from app.web import Blueprint, json_body

blp = Blueprint(
    "delivery",
    __name__,
    url_prefix="/api/v1/delivery",
    description="Why a campaign is or is not delivering, for a sample ad request",
)
blp.before_request(require_admin)

MAX_URL_LENGTH = 8000  # as /vast takes (app.security.MAX_QUERY_BYTES)


class DiagnosisInputSchema(ma.Schema):
    url = ma.fields.String(
        load_default="",
        validate=ma.validate.Length(max=MAX_URL_LENGTH),
        metadata={
            "description": "The ad request as a player or SSAI service sends it: a /vast URL, or its query.",
            "example": "https://ads.example.com/vast?pod_max_dur=120&session_id=s-1&badv=rival.example",
        },
    )
    parameters = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        load_default=dict,
        metadata={"description": "More query parameters; they override the URL's."},
    )
    headers = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        load_default=dict,
        metadata={
            "description": "Request headers as the player sends them (User-Agent, X-Device-IP, ...).",
            "example": {"User-Agent": "Roku/DVP-12.0", "X-Device-IP": "203.0.113.7"},
        },
    )


class CampaignVerdictSchema(ma.Schema):
    campaign_id = ma.fields.UUID()
    name = ma.fields.String()
    rule = ma.fields.String(
        metadata={
            "description": "The first rule that excluded the campaign, in the decision's order: `status`, "
            "`creatives`, `catalog`, `flight`, `budget`, `targeting`, `duration`, `blocked`, `cap`, "
            "`separation`; or `competes`."
        }
    )
    detail = ma.fields.String(metadata={"description": "What the rule found, in words."})
    weight = ma.fields.Float(metadata={"description": "Pacing weight of its creatives that fit."})
    share = ma.fields.Float(metadata={"description": "Chance (0-1) a single-ad request draws it."})


class SampleRequestSchema(ma.Schema):
    kind = ma.fields.String(metadata={"description": "`pod` (an ad break) or `single`."})
    min_duration = ma.fields.Float()
    max_duration = ma.fields.Float(metadata={"description": "Longest an ad may last, seconds."})
    session_id = ma.fields.String(allow_none=True)
    country = ma.fields.String(
        allow_none=True, metadata={"description": "ISO 3166-1 alpha-2 code of the device IP's country."}
    )
    region = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "ISO 3166-2 code of the device IP's region (DB-IP); null when unknown: a private "
            "address, a region without an ISO code, or no region database on this server."
        },
    )
    warnings = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "What /vast would ignore, and why (its X-Ad-Request-Warnings)."},
    )


class DiagnosisSchema(ma.Schema):
    request = ma.fields.Nested(SampleRequestSchema)
    by_rule = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    campaigns = ma.fields.List(ma.fields.Nested(CampaignVerdictSchema))


@blp.post("/diagnosis")
@json_body(blp, DiagnosisInputSchema)
@blp.response(200, DiagnosisSchema)
def diagnosis(body):
    """Walk every campaign through the decision for a sample request: the first rule that excluded each,
    and the weights of those that compete. Nothing is counted or remembered."""
    return sample_request(body["url"], body["parameters"], body["headers"])


def sample_request(url: str, parameters: Mapping[str, str], headers: Mapping[str, str]) -> dict:
    """The diagnosis of a request given as a /vast URL (or its query), more parameters, and headers."""
    split = urlsplit(url)
    query = split.query if (split.query or split.path.endswith("/vast")) else url.lstrip("?")
    args = MultiDict(parse_qsl(query, keep_blank_values=True))
    for name, value in parameters.items():
        args.setlist(name, [value])
    supply_tags = runtime().catalog.current().catalog.supply_tags
    return explain(parse_ad_request(args.to_dict(), Headers(list(headers.items())), None, supply_tags))


def explain(ad_request: AdRequest, campaign_id: uuid.UUID | None = None) -> dict:
    """The diagnosis of `ad_request` against this worker's catalog, campaigns outside it added from the
    database with the reason they are not in it (only `campaign_id` of those, when given)."""
    rt = runtime()
    state = rt.catalog.current()
    device = rt.caps.device_of(state.catalog, ad_request)
    shown, history = rt.caps.read(rt.streams, ad_request.session_id, device)
    region = rt.regions.region(ad_request.ip)
    verdicts = diagnose(
        state,
        ad_request,
        blocks=excluded_keys(ad_request.blocked_domains, ad_request.blocked_categories),
        shown=excluded_keys(shown=shown),
        tolerance=rt.duration_tolerance_seconds,
        capped=capped_keys(state.catalog, history, time.time()),
        region=region,
    )
    verdicts += _outside_the_catalog(set(state.catalog.campaigns), campaign_id)
    low, high = ad_request.duration_window(rt.duration_tolerance_seconds)
    return {
        "request": {
            "kind": "pod" if ad_request.pod is not None else "single",
            "min_duration": low,
            "max_duration": high,
            "session_id": ad_request.session_id,
            "country": country(ad_request.ip),
            "region": region,
            "warnings": dict(ad_request.warnings),
        },
        "by_rule": dict(Counter(verdict.rule for verdict in verdicts)),
        "campaigns": verdicts,
    }


def campaign_delivery(campaign_id: uuid.UUID) -> Verdict | None:
    """The campaign's verdict for a request of any length (no parameters, no headers)."""
    verdicts = explain(parse_ad_request({}, Headers(), None), campaign_id)["campaigns"]
    return next((verdict for verdict in verdicts if verdict.campaign_id == campaign_id), None)


def _outside_the_catalog(loaded: set, only: uuid.UUID | None = None) -> list[Verdict]:
    """Campaigns the serving catalog does not hold, and why: not active, no active creative (a direct one),
    ended, or changed less than a catalog refresh ago."""
    active_creatives = (
        sa.select(sa.func.count())
        .where(
            Creative.campaign_id == Campaign.id, Creative.status == "active", Creative.archived_at.is_(None)
        )
        .scalar_subquery()
    )
    query = sa.select(
        Campaign.id, Campaign.name, Campaign.status, Campaign.end_date, Campaign.kind, active_creatives
    )
    if only is not None:
        query = query.where(Campaign.id == only)
    rows = get_session().execute(query.order_by(Campaign.name))
    now = utcnow()
    verdicts = []
    for campaign_id, name, status, end_date, kind, creatives in rows:
        if campaign_id in loaded:
            continue
        if status != "active":
            rule, detail = "status", f"the campaign is {status}"
        elif not creatives and kind == "direct":  # a VAST redirect line item serves its partner's tag
            rule, detail = "creatives", "no active creative"
        elif end_date <= now:
            rule, detail = "flight", "its flight has ended"
        else:
            rule, detail = "catalog", "changed moments ago: serving picks it up within a second"
        verdicts.append(Verdict(campaign_id, name, rule, detail))
    return verdicts
