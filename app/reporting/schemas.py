import marshmallow as ma
from webargs.fields import DelimitedList

from app.reporting.reports import DIMENSIONS
from app.web import UTCDateTime

Money = ma.fields.String  # exact decimal as text, e.g. "12.50" or "0.0123456", in `currency`


def currency_field():
    return ma.fields.String(
        required=True, metadata={"description": "ISO 4217 code of every amount (ACCOUNT_CURRENCY)"}
    )


class StatsQuerySchema(ma.Schema):
    from_ = UTCDateTime(data_key="from", metadata={"description": "Default: the flight's start"})
    to = UTCDateTime(
        metadata={
            "description": "Default: now or the flight's end, whichever is first; at least an hour after from"
        }
    )
    granularity = ma.fields.String(load_default="hour", validate=ma.validate.OneOf(("hour", "day")))


class ErrorCodeSchema(ma.Schema):
    code = ma.fields.String(
        required=True,
        metadata={"description": "The player's [ERRORCODE]; `unexpanded` (macro not replaced) or `unknown`"},
    )
    meaning = ma.fields.String(required=True)
    count = ma.fields.Integer(required=True)


class SummaryFields(ma.Schema):
    impressions = ma.fields.Integer(required=True)
    starts = ma.fields.Integer(required=True)
    first_quartiles = ma.fields.Integer(required=True)
    midpoints = ma.fields.Integer(required=True)
    third_quartiles = ma.fields.Integer(required=True)
    completes = ma.fields.Integer(required=True)
    completion_rate = ma.fields.Float(required=True, metadata={"description": "completes / impressions"})
    clicks = ma.fields.Integer(required=True)
    ctr = ma.fields.Float(required=True, metadata={"description": "clicks / impressions"})
    skips = ma.fields.Integer(required=True)
    errors = ma.fields.Integer(required=True)
    errors_by_code = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)
    error_codes = ma.fields.List(
        ma.fields.Nested(ErrorCodeSchema),
        required=True,
        metadata={"description": "Errors by VAST error code, with each code's meaning (VAST 4.2 §2.3.6.3)"},
    )
    spend = Money(required=True)


class PacingSchema(ma.Schema):
    spend_share = ma.fields.Float(required=True, metadata={"description": "Spend to date / budget"})
    elapsed_share = ma.fields.Float(required=True, metadata={"description": "Flight elapsed / flight length"})
    index = ma.fields.Float(
        required=True, metadata={"description": "spend_share / elapsed_share; 1 is on pace"}
    )


class StatsPointSchema(ma.Schema):
    period_start = UTCDateTime(required=True)
    impressions = ma.fields.Integer(required=True)
    starts = ma.fields.Integer(required=True)
    completes = ma.fields.Integer(required=True)
    clicks = ma.fields.Integer(required=True)
    errors = ma.fields.Integer(required=True)
    spend = Money(required=True)


class FreshnessSchema(ma.Schema):
    pending_events = ma.fields.Integer(
        required=True,
        metadata={"description": "Counted beacons not yet in these figures (flushed within seconds)"},
    )
    live_spend = Money(allow_none=True, metadata={"description": "Spend including events not yet flushed"})


class PodPositionSchema(ma.Schema):
    position = ma.fields.Integer(
        required=True, metadata={"description": "The ad's sequence in its pod (1..k); 0 for single ads"}
    )
    impressions = ma.fields.Integer(required=True)
    completes = ma.fields.Integer(required=True)
    clicks = ma.fields.Integer(required=True)
    errors = ma.fields.Integer(required=True)
    spend = Money(required=True)


class PartnerSchema(ma.Schema):
    no_ads = ma.fields.Integer(required=True, metadata={"description": "Errors 303: the partner had no ad"})
    timeouts = ma.fields.Integer(required=True, metadata={"description": "Errors 301: its tag timed out"})
    failures = ma.fields.Integer(
        required=True, metadata={"description": "Every wrapper error (100-102, 300-303) players reported"}
    )
    fill_rate = ma.fields.Float(
        required=True, metadata={"description": "impressions / (impressions + failures)"}
    )


class CampaignStatsSchema(SummaryFields):
    currency = currency_field()
    campaign_id = ma.fields.UUID(required=True)
    from_ = UTCDateTime(required=True, data_key="from", attribute="from")
    to = UTCDateTime(required=True)
    granularity = ma.fields.String(required=True)
    budget_total = Money(required=True)
    spend_to_date = Money(required=True)
    budget_remaining = Money(required=True)
    pacing = ma.fields.Nested(PacingSchema, required=True)
    series = ma.fields.List(ma.fields.Nested(StatsPointSchema), required=True)
    pod_positions = ma.fields.List(
        ma.fields.Nested(PodPositionSchema),
        required=True,
        metadata={"description": "The same figures split by the ads' position in their pods"},
    )
    freshness = ma.fields.Nested(FreshnessSchema, required=True)
    partner = ma.fields.Nested(
        PartnerSchema,
        required=True,
        allow_none=True,
        metadata={"description": "A VAST redirect line item's partner (null for a direct campaign)"},
    )


class TotalsSchema(ma.Schema):
    impressions = ma.fields.Integer(required=True)
    completes = ma.fields.Integer(required=True)
    completion_rate = ma.fields.Float(required=True)
    clicks = ma.fields.Integer(required=True)
    ctr = ma.fields.Float(required=True)
    spend = Money(required=True)


class TopCampaignSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    impressions = ma.fields.Integer(required=True)
    spend = Money(required=True)


class HourSchema(ma.Schema):
    hour = UTCDateTime(required=True)
    impressions = ma.fields.Integer(required=True)
    completes = ma.fields.Integer(required=True)
    clicks = ma.fields.Integer(required=True)
    spend = Money(required=True)
    requests = ma.fields.Integer(required=True)
    fills = ma.fields.Integer(required=True)
    no_fills = ma.fields.Integer(required=True)


class Last24hSchema(ma.Schema):
    ad_requests = ma.fields.Integer(required=True)
    fills = ma.fields.Integer(required=True)
    no_fills = ma.fields.Integer(required=True)
    fill_rate = ma.fields.Float(required=True)
    pod_requests = ma.fields.Integer(required=True, metadata={"description": "Ad breaks requested as pods"})
    ads_per_pod = ma.fields.Float(required=True, metadata={"description": "Ads in a pod, on average"})
    break_fill_rate = ma.fields.Float(
        required=True, metadata={"description": "Share of the requested break seconds filled with ads"}
    )
    series = ma.fields.List(ma.fields.Nested(HourSchema), required=True)


class DashboardSchema(ma.Schema):
    currency = currency_field()
    totals = ma.fields.Nested(TotalsSchema, required=True)
    campaigns_by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer(), required=True)
    top_campaigns = ma.fields.List(ma.fields.Nested(TopCampaignSchema), required=True)
    last_24h = ma.fields.Nested(Last24hSchema, required=True)
    freshness = ma.fields.Nested(FreshnessSchema, required=True)


class PacingLineSchema(ma.Schema):
    """A campaign against its pacing line (README "Pacing"): delivered, and what the line expects by now."""

    campaign_id = ma.fields.UUID(required=True)
    currency = currency_field()
    pacing = ma.fields.String(required=True, metadata={"description": "even, asap or frontloaded"})
    goal_impressions = ma.fields.Integer(
        required=True, metadata={"description": "The budget at the CPM, or the impression goal if smaller"}
    )
    delivered_impressions = ma.fields.Integer(required=True)
    expected_impressions = ma.fields.Integer(
        required=True, metadata={"description": "The pacing line now: the goal along the forecast traffic"}
    )
    delivered_spend = Money(required=True)
    expected_spend = Money(required=True)
    index = ma.fields.Float(
        required=True, allow_none=True, metadata={"description": "Delivered / expected; 1 is on the line"}
    )
    delivery = ma.fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "under, on_pace or over: the index outside 1 ± 10 % (null before anything is "
            "expected)"
        },
    )
    projected_end = UTCDateTime(
        required=True,
        allow_none=True,
        metadata={
            "description": "When the goal will be reached at the rate of the last 24 hours (null: none "
            "delivered in them, the goal already reached, or more than a year away)"
        },
    )


class ReportQuerySchema(ma.Schema):
    start = ma.fields.Date(required=True, metadata={"description": "First local day (YYYY-MM-DD), included"})
    end = ma.fields.Date(required=True, metadata={"description": "Last local day (YYYY-MM-DD), included"})
    granularity = ma.fields.String(load_default="day", metadata={"description": "hour or day"})
    group_by = DelimitedList(
        ma.fields.String(),
        load_default=(),
        metadata={"description": f"Comma-separated, in order: any of {', '.join(DIMENSIONS)}"},
    )
    campaign_id = ma.fields.UUID(metadata={"description": "Only this campaign"})
    advertiser_id = ma.fields.UUID(metadata={"description": "Only this advertiser's campaigns"})
    format = ma.fields.String(
        load_default="json",
        validate=ma.validate.OneOf(("json", "csv")),
        metadata={"description": "json or csv"},
    )


_RATE = "a share, 0..1 (0 when the divisor is 0)"
_FIGURES = {
    "requests": ma.fields.Integer(
        allow_none=True,
        metadata={"description": "Ad requests: supply-side, null in rows a dimension or filter splits"},
    ),
    "filled_requests": ma.fields.Integer(
        allow_none=True, metadata={"description": "Ad requests answered with an ad (null like requests)"}
    ),
    "fill_rate": ma.fields.Float(
        allow_none=True, metadata={"description": f"filled_requests / requests, {_RATE}"}
    ),
    "fills": ma.fields.Integer(metadata={"description": "Ads served (each ad of a pod counts)"}),
    "impressions": ma.fields.Integer(),
    "render_rate": ma.fields.Float(metadata={"description": f"impressions / fills, {_RATE}"}),
    "starts": ma.fields.Integer(),
    "first_quartiles": ma.fields.Integer(),
    "midpoints": ma.fields.Integer(),
    "third_quartiles": ma.fields.Integer(),
    "completes": ma.fields.Integer(),
    "completion_rate": ma.fields.Float(metadata={"description": f"completes / impressions, {_RATE}"}),
    "clicks": ma.fields.Integer(),
    "ctr": ma.fields.Float(metadata={"description": f"clicks / impressions, {_RATE}"}),
    "skips": ma.fields.Integer(),
    "spend": Money(),
    "spend_display": ma.fields.String(metadata={"description": 'In the currency, e.g. "$12.50"'}),
    "ecpm": Money(
        allow_none=True, metadata={"description": "spend / impressions x 1000, 4 decimals (null: none)"}
    ),
    "ecpm_display": ma.fields.String(),
    "errors": ma.fields.Integer(),
    "errors_by_code": ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={"description": "IAB VAST error code"},
    ),
}
ReportFiguresSchema = ma.Schema.from_dict(_FIGURES, name="ReportFigures")
ReportRowSchema = ma.Schema.from_dict(
    {
        "period_start": ma.fields.String(
            metadata={"description": "The local hour with its offset, or the local day (ISO 8601)"}
        ),
        **{
            name: field
            for dimension in DIMENSIONS.values()
            for name, field in (
                (
                    dimension.key,
                    ma.fields.Integer()
                    if dimension.name == "supply_tag"
                    else ma.fields.UUID(allow_none=True),
                ),
                (dimension.label, ma.fields.String(allow_none=True)),
            )
        },
        **_FIGURES,
    },
    name="ReportRow",
)


class ReportSchema(ma.Schema):
    start = ma.fields.Date(required=True)
    end = ma.fields.Date(required=True)
    granularity = ma.fields.String(required=True)
    group_by = ma.fields.List(ma.fields.String(), required=True)
    time_zone = ma.fields.String(required=True, metadata={"description": "ACCOUNT_TIME_ZONE (IANA)"})
    currency = currency_field()
    requests_shown = ma.fields.Boolean(
        required=True,
        metadata={"description": "Whether rows carry requests (not filtered, split by supply_tag at most)"},
    )
    rows = ma.fields.List(ma.fields.Nested(ReportRowSchema), required=True)
    totals = ma.fields.Nested(ReportFiguresSchema, required=True)
