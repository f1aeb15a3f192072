"""Request and response shapes of the campaign API (also the source of its OpenAPI document).

Money travels as strings with fixed decimals ("1500.00"); numbers are accepted on input and read exactly.
"""

from decimal import Decimal

import marshmallow as ma

from app.campaigns.caps import FrequencyCapSchema, frequency_caps_field
from app.campaigns.categories import INVALID as INVALID_CATEGORY
from app.campaigns.categories import MAX_LENGTH as CATEGORY_LENGTH
from app.campaigns.categories import normalise_category
from app.campaigns.models import PACINGS, STATUSES
from app.campaigns.targeting import TargetingSchema, TimeZone
from app.web import PageQuerySchema, UTCDateTime

MAX_BUDGET = Decimal("999999999999.99")  # NUMERIC(14, 2)
MAX_CPM = Decimal("99999999.9999")  # NUMERIC(12, 4)
MAX_IMPRESSIONS = 10**15  # BIGINT, with room for sums


def _money(places: int, maximum: Decimal, **kwargs) -> ma.fields.Decimal:
    def in_range(value: Decimal) -> None:
        if not 0 < value <= maximum:
            raise ma.ValidationError(f"Must be greater than 0 and at most {maximum}.")
        if value.as_tuple().exponent < -places:
            raise ma.ValidationError(f"At most {places} decimal places.")

    integer_digits = len(str(int(maximum)))
    return ma.fields.Decimal(
        as_string=True,
        validate=in_range,
        # Documented as the exact decimal string; JSON numbers are accepted too and read exactly.
        metadata={
            "type": "string",
            "pattern": rf"^[0-9]{{1,{integer_digits}}}(\.[0-9]{{1,{places}}})?$",
            "example": f"{Decimal(1500):.{places}f}",
            **kwargs.pop("metadata", {}),
        },
        **kwargs,
    )


class Category(ma.fields.String):
    """An IAB category id, in its canonical spelling (see app.campaigns.categories)."""

    def __init__(self, **kwargs):
        metadata = {
            "description": "What is advertised: an IAB Ad Product Taxonomy 2.0 id (digits) or an IAB Content "
            "Taxonomy 1.0 id (`IAB22`, `IAB22-1`; stored in upper case). Sent in VAST 4.x <Category>.",
            "example": "1534",
            "maxLength": CATEGORY_LENGTH,
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > CATEGORY_LENGTH:
            raise ma.ValidationError(f"Longer than {CATEGORY_LENGTH} characters. {INVALID_CATEGORY}")
        try:
            return normalise_category(text)
        except ValueError as exc:
            raise ma.ValidationError(str(exc)) from None


class Impressions(ma.fields.Integer):
    """Impressions, 1 to MAX_IMPRESSIONS: a JSON integer or a string of digits, never 1.5 cut to 1."""

    def __init__(self, **kwargs):
        super().__init__(validate=ma.validate.Range(min=1, max=MAX_IMPRESSIONS), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        if isinstance(value, float) and not value.is_integer():
            raise ma.ValidationError("Must be a whole number.")
        return super()._deserialize(value, attr, data, **kwargs)


class CampaignInputSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255))
    description = ma.fields.String(allow_none=True, validate=ma.validate.Length(max=10_000))
    budget_total = _money(2, MAX_BUDGET, required=True)
    cpm = _money(4, MAX_CPM, allow_none=True, metadata={"description": "Price per thousand impressions"})
    start_date = UTCDateTime(required=True)
    end_date = UTCDateTime(required=True)
    advertiser_id = ma.fields.UUID(
        allow_none=True, metadata={"description": "An advertiser of /api/v1/advertisers; null for none"}
    )
    category = Category(allow_none=True)
    category_exclusive = ma.fields.Boolean(
        metadata={
            "description": "Two ads of an exclusive category are never in one ad break (no effect without a "
            "category). Default false."
        }
    )
    frequency_caps = frequency_caps_field(FrequencyCapSchema, "campaign")
    targeting = ma.fields.Nested(
        TargetingSchema,
        allow_none=True,
        metadata={"description": "Which requests it may serve (README, Targeting); null or {} for all."},
    )
    time_zone = TimeZone()

    # Pacing (app.serving.pacing), documented in the README's "Pacing".
    pacing = ma.fields.String(
        validate=ma.validate.OneOf(PACINGS),
        metadata={
            "description": "How the goal is spread over the flight, along the traffic the server forecasts: "
            "`even` (default), `frontloaded` (150 % of even at the start, 50 % at the end) or `asap`."
        },
    )
    impression_goal = Impressions(
        allow_none=True,
        metadata={
            "description": "Impressions to deliver over the flight (besides the budget); null for none"
        },
    )
    daily_budget = _money(
        2,
        MAX_BUDGET,
        allow_none=True,
        metadata={"description": "Most spent per UTC day; null for no daily limit", "example": "250.00"},
    )
    daily_impression_cap = Impressions(
        allow_none=True,
        metadata={"description": "Most impressions per UTC day; null for no daily limit"},
    )

    @ma.validates("name")
    def name_not_blank(self, value: str, **_) -> None:
        if not value.strip():
            raise ma.ValidationError("Must not be blank.")

    @ma.validates_schema(skip_on_field_errors=False)  # said with the other fields' errors, all at once
    def end_after_start(self, data, **_) -> None:
        if "start_date" in data and "end_date" in data and data["end_date"] <= data["start_date"]:
            raise ma.ValidationError("Must be after start_date.", "end_date")


class CampaignSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    description = ma.fields.String(allow_none=True)
    budget_total = ma.fields.Decimal(places=2, as_string=True, required=True)
    cpm = ma.fields.Decimal(places=4, as_string=True, required=True)
    start_date = UTCDateTime(required=True)
    end_date = UTCDateTime(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
    advertiser_id = ma.fields.UUID(required=True, allow_none=True)
    advertiser_name = ma.fields.String(required=True, allow_none=True)
    advertiser_domain = ma.fields.String(required=True, allow_none=True)
    category = ma.fields.String(required=True, allow_none=True)
    category_exclusive = ma.fields.Boolean(required=True)
    frequency_caps = frequency_caps_field(FrequencyCapSchema, "campaign", required=True)
    pacing = ma.fields.String(required=True, validate=ma.validate.OneOf(PACINGS))
    impression_goal = ma.fields.Integer(required=True, allow_none=True)
    daily_budget = ma.fields.Decimal(places=2, as_string=True, required=True, allow_none=True)
    daily_impression_cap = ma.fields.Integer(required=True, allow_none=True)
    targeting = ma.fields.Nested(TargetingSchema, required=True, allow_none=True)
    time_zone = ma.fields.String(required=True)
    archived_at = UTCDateTime(
        required=True, allow_none=True, metadata={"description": "When it was archived; null when it is not"}
    )
    created_at = UTCDateTime(required=True)
    updated_at = UTCDateTime(required=True)


class CampaignListQuerySchema(PageQuerySchema):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    archived = ma.fields.Boolean(
        load_default=False, metadata={"description": "true: the archived campaigns only; default: the others"}
    )


class StatusChangeSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
