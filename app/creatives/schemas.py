import marshmallow as ma
from flask_smorest.fields import Upload

from app.creatives.models import STATUSES
from app.web import UTCDateTime


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

    @ma.validates("name")
    def name_not_blank(self, value: str, **_) -> None:
        if not value.strip():
            raise ma.ValidationError("Must not be blank.")


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


class CreativeStatusSchema(ma.Schema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
