import marshmallow as ma
from flask_smorest.fields import Upload

from app.creatives.identity import AD_ID_PATTERN
from app.creatives.models import STATUSES, TRANSCODE_STATUSES
from app.creatives.verifications import VerificationSchema
from app.web import UTCDateTime

AD_ID_INVALID = "Must be an Ad-ID: 4 letters, 7 letters or digits, and H or D for HD or 3D."


class CreativeUploadSchema(ma.Schema):
    file = Upload(
        required=True, metadata={"description": "MP4 (H.264 or HEVC video), validated from its bytes"}
    )
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255))
    click_through_url = ma.fields.Url(
        schemes={"http", "https"},
        validate=ma.validate.Length(max=2048),
        metadata={"description": "Where a click on the ad leads (http or https)"},
    )
    ad_id = ma.fields.String(
        validate=ma.validate.Regexp(AD_ID_PATTERN, error=AD_ID_INVALID),
        metadata={
            "description": "The advertiser's Ad-ID (ad-id.org), e.g. ABCD1234000H: Creative@adId and "
            "UniversalAdId in VAST. Without it, our own identity is used."
        },
    )

    @ma.validates("name")
    def name_not_blank(self, value: str, **_) -> None:
        if not value.strip():
            raise ma.ValidationError("Must not be blank.")


class CreativeFileSchema(ma.Schema):
    file = Upload(
        required=True, metadata={"description": "MP4 (H.264 or HEVC video), validated from its bytes"}
    )
    ad_id = ma.fields.String(
        validate=ma.validate.Regexp(AD_ID_PATTERN, error=AD_ID_INVALID),
        metadata={
            "description": "The new file's Ad-ID (an Ad-ID names one asset, so the old one does not carry "
            "over): without it, our own identity is used."
        },
    )


class WarningSchema(ma.Schema):
    code = ma.fields.String(
        required=True,
        metadata={
            "description": "below_mezzanine_size, below_mezzanine_bitrate, below_mezzanine_audio, no_audio, "
            "variable_frame_rate, black_bars, silent_audio or loudness_off_target"
        },
    )
    message = ma.fields.String(required=True)


class RenditionSchema(ma.Schema):
    name = ma.fields.String(required=True, metadata={"description": "Ladder rung: 1080p, 720p, 480p, 360p"})
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(TRANSCODE_STATUSES))
    width = ma.fields.Integer(required=True)
    height = ma.fields.Integer(required=True)
    target_bitrate = ma.fields.Integer(required=True, metadata={"description": "Bits per second asked for"})
    url = ma.fields.String(allow_none=True, metadata={"description": "Absolute URL, once ready"})
    bitrate = ma.fields.Integer(allow_none=True, metadata={"description": "Bits per second, measured"})
    file_size = ma.fields.Integer(allow_none=True, metadata={"description": "Bytes"})
    codec = ma.fields.String(allow_none=True, metadata={"description": "RFC 6381, e.g. avc1.640028"})
    loudness = ma.fields.Float(allow_none=True, metadata={"description": "Integrated loudness, LUFS"})


class CreativeSchema(ma.Schema):
    id = ma.fields.UUID(required=True)
    campaign_id = ma.fields.UUID(required=True)
    name = ma.fields.String(required=True)
    video_url = ma.fields.String(required=True, metadata={"description": "Absolute URL players stream"})
    duration = ma.fields.Float(required=True, metadata={"description": "Seconds"})
    file_size = ma.fields.Integer(required=True, metadata={"description": "Bytes"})
    width = ma.fields.Integer(required=True)
    height = ma.fields.Integer(required=True)
    bitrate = ma.fields.Integer(required=True, metadata={"description": "Bits per second"})
    mime_type = ma.fields.String(required=True)
    video_codec = ma.fields.String(required=True)
    click_through_url = ma.fields.String(allow_none=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
    created_at = UTCDateTime(required=True)
    identity = ma.fields.String(
        required=True,
        metadata={"description": "Creative@id in VAST; a new one whenever the file is replaced"},
    )
    ad_id = ma.fields.String(allow_none=True, metadata={"description": "The advertiser's Ad-ID"})
    transcode_status = ma.fields.String(required=True, validate=ma.validate.OneOf(TRANSCODE_STATUSES))
    transcode_progress = ma.fields.Integer(required=True, metadata={"description": "Percent"})
    transcode_error = ma.fields.String(allow_none=True)
    poster_url = ma.fields.String(allow_none=True, metadata={"description": "JPEG, once transcoded"})
    renditions = ma.fields.List(ma.fields.Nested(RenditionSchema), required=True)
    warnings = ma.fields.List(
        ma.fields.Nested(WarningSchema), required=True, metadata={"description": "Quality warnings"}
    )
    verifications = ma.fields.List(
        ma.fields.Nested(VerificationSchema),
        required=True,
        metadata={"description": "Third-party verification vendors (VAST 4.1 AdVerifications)"},
    )
    archived_at = UTCDateTime(
        required=True, allow_none=True, metadata={"description": "When it was archived (never served); null"}
    )


class CreativeListQuerySchema(ma.Schema):
    archived = ma.fields.Boolean(
        load_default=False, metadata={"description": "true: the archived creatives only; default: the others"}
    )


class CreativeStatusSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
