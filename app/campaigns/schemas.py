"""Request and response shapes of the campaign API (also the source of its OpenAPI document).

Money travels as strings with fixed decimals ("1500.00"); numbers are accepted on input and read exactly.
"""

from decimal import Decimal
from urllib.parse import urlsplit

import marshmallow as ma

from app.campaigns.caps import FrequencyCapSchema, frequency_caps_field
from app.campaigns.categories import INVALID as INVALID_CATEGORY
from app.campaigns.categories import MAX_LENGTH as CATEGORY_LENGTH
from app.campaigns.categories import normalise_category
from app.campaigns.models import KINDS, PACINGS, STATUSES
from app.campaigns.targeting import TargetingSchema, TimeZone
from app.web import PageQuerySchema, UTCDateTime

MAX_BUDGET = Decimal("999999999999.99")  # NUMERIC(14, 2)
MAX_CPM = Decimal("99999999.9999")  # NUMERIC(12, 4)
MAX_IMPRESSIONS = 10**15  # BIGINT, with room for sums
MAX_TAG_LENGTH = 4096
MAX_AD_DURATION = 600.0  # seconds: a linear ad of a break, well below xs:time's 24 h


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


def check_tag_uri(value: str) -> None:
    """A partner's VAST tag: an absolute http(s) URL with a host, no spaces (its [MACROS] stay as they are,
    expanded per request by vast.macros)."""
    if len(value) > MAX_TAG_LENGTH:
        raise ma.ValidationError(f"Longer than {MAX_TAG_LENGTH} characters.")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ma.ValidationError("Not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ma.ValidationError("Must be an http:// or https:// URL with a host.")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise ma.ValidationError("Must not contain spaces or control characters.")


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

    # VAST redirect line items (README, Third-party demand).
    kind = ma.fields.String(
        validate=ma.validate.OneOf(KINDS),
        metadata={
            "description": "`direct` (default): plays its creatives. `vast_redirect`: a third party's VAST "
            "tag (`vast_ad_tag_uri`), served as a VAST <Wrapper> of `ad_duration` seconds."
        },
    )
    vast_ad_tag_uri = ma.fields.String(
        allow_none=True,
        validate=check_tag_uri,
        metadata={
            "description": "The partner's VAST tag (http or https). IAB VAST 4 macros such as "
            "[CACHEBUSTING], [IFA] or [GDPRCONSENT] are expanded per request; player macros are left to the "
            "player.",
            "example": "https://ads.example.com/vast?cb=[CACHEBUSTING]&ifa=[IFA]",
            "maxLength": MAX_TAG_LENGTH,
        },
    )
    ad_duration = ma.fields.Float(
        allow_none=True,
        allow_nan=False,
        validate=ma.validate.Range(min=0, max=MAX_AD_DURATION, min_inclusive=False),
        metadata={"description": "Seconds the partner's ad lasts: what the decision fits into a break"},
    )
    server_side_unwrap = ma.fields.Boolean(
        metadata={
            "description": "Follow the partner's tag on the server and answer with its InLine ad (for SSAI "
            "callers that cannot follow wrappers). Default false."
        }
    )

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

    @ma.validates_schema
    def redirect_complete(self, data, partial=False, **_) -> None:
        if not partial:  # an edit is checked with the stored values (app.campaigns.services)
            missing = redirect_errors(data.get("kind"), data.get("vast_ad_tag_uri"), data.get("ad_duration"))
            if missing:
                raise ma.ValidationError(missing)


def redirect_errors(kind: str | None, tag_uri: str | None, duration: float | None) -> dict[str, str]:
    """What a VAST redirect line item lacks, by field: its tag and its ad's duration ({} when complete or
    direct)."""
    if kind != "vast_redirect":
        return {}
    missing = {}
    if not tag_uri:
        missing["vast_ad_tag_uri"] = "Required for a VAST redirect line item."
    if not duration:
        missing["ad_duration"] = "Required for a VAST redirect line item."
    return missing


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
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    vast_ad_tag_uri = ma.fields.String(required=True, allow_none=True)
    ad_duration = ma.fields.Float(required=True, allow_none=True)
    server_side_unwrap = ma.fields.Boolean(required=True)
    created_at = UTCDateTime(required=True)
    updated_at = UTCDateTime(required=True)


class CampaignListQuerySchema(PageQuerySchema):
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))
    archived = ma.fields.Boolean(
        load_default=False, metadata={"description": "true: the archived campaigns only; default: the others"}
    )


class StatusChangeSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
