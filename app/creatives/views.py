import contextlib
import functools
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType

from app.auth.guard import require_admin
from app.creatives import services
from app.creatives.models import Creative
from app.creatives.schemas import (
    CreativeFileSchema,
    CreativeListQuerySchema,
    CreativeSchema,
    CreativeStatusSchema,
    CreativeUploadSchema,
    RenditionSchema,
)
from app.creatives.storage import Storage
from app.creatives.verifications import CreativeVerificationsSchema
from app.db import get_session
from app.errors import ErrorSchema
from app.runtime import runtime
from app.web import Blueprint, json_body

blp = Blueprint("creatives", __name__, url_prefix="/api/v1", description="Video creatives of a campaign")
blp.before_request(require_admin)

UPLOAD_CHUNK = 1024 * 1024
REFUSED_UPLOAD = (
    "An invalid form field, or a file CTV players cannot play: `details.code` says why (e.g. "
    "`dimensions_too_large`, `unsupported_profile`, `unsupported_level`, `unsupported_frame_rate`, "
    "`too_many_streams`, `too_many_samples`, `undecodable`), `details.file` repeats the message, and "
    '`details["file.<property>"]` names each property of the file at fault (`width`, `height`, `profile`, '
    "`level`, `frame_rate`, `video_streams`, `audio_streams`, `streams`, `samples`)"
)
MULTIPART_OVERHEAD = 64 * 1024  # form fields and boundaries around the file


def storage() -> Storage:
    return current_app.extensions["storage"]


COMPUTED = ("video_url", "poster_url", "renditions")


def present(creative: Creative) -> dict:
    """The API view of a creative: its columns plus the URLs of its file, poster and renditions."""
    store = storage()
    fields = {
        column: getattr(creative, column) for column in CreativeSchema().fields if column not in COMPUTED
    }
    return fields | {
        "video_url": store.url(creative.storage_key, request.host_url),
        "poster_url": store.url(creative.poster_key, request.host_url) if creative.poster_key else None,
        "renditions": [
            {column: getattr(rendition, column) for column in RenditionSchema().fields if column != "url"}
            | {"url": store.url(rendition.storage_key, request.host_url) if rendition.storage_key else None}
            for rendition in creative.renditions
        ],
    }


def upload_limits(view):
    """Set the body limit before anything reads the body: an oversized upload gets its 413 from the
    Content-Length alone, or as soon as a chunked stream passes the limit, never after being stored whole."""

    @functools.wraps(view)
    def limited(*args, **kwargs):
        if request.mimetype != "multipart/form-data":
            raise UnsupportedMediaType("Send the creative as multipart/form-data with a `file` field")
        limit = current_app.config["MAX_UPLOAD_BYTES"]
        request.max_content_length = limit + MULTIPART_OVERHEAD
        try:
            return view(*args, **kwargs)
        except RequestEntityTooLarge:
            raise services.too_large(request.content_length, limit, what="upload") from None

    return limited


@blp.post("/campaigns/<uuid:campaign_id>/creatives")
@upload_limits
@blp.arguments(CreativeUploadSchema, location="multipart")
@blp.response(201, CreativeSchema)
@blp.alt_response(400, schema=ErrorSchema, description=REFUSED_UPLOAD)
@blp.alt_response(404, schema=ErrorSchema, description="No such campaign")
@blp.alt_response(409, schema=ErrorSchema, description="The campaign is completed or archived")
@blp.alt_response(413, schema=ErrorSchema, description="The file is larger than MAX_UPLOAD_BYTES")
@blp.alt_response(415, schema=ErrorSchema, description="Not multipart, or the file is not an MP4")
def upload_creative(form, campaign_id: uuid.UUID):
    """Upload an MP4; duration, size, dimensions, bitrate and codec are read from the file itself. The file is
    kept as the mezzanine; its renditions are made in the background (`transcode_status`, `renditions`).
    `warnings` lists what the file misses of the mezzanine recommendation (it is accepted all the same)."""
    return present(store_upload(campaign_id, form))


@contextlib.contextmanager
def saved_upload(form: dict) -> Iterator[Path]:
    """The uploaded file (form["file"]) in a temporary file, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="upload-") as directory:
        upload = Path(directory) / "upload.mp4"  # the client's filename is never used
        form["file"].save(upload, buffer_size=UPLOAD_CHUNK)
        yield upload


def store_upload(campaign_id: uuid.UUID, form: dict) -> Creative:
    """The uploaded file (form["file"]) and its fields, through the creative rules (API and console)."""
    with saved_upload(form) as upload:
        return services.create_creative(
            get_session(),
            storage(),
            campaign_id,
            name=form["name"].strip(),
            upload=upload,
            click_through_url=form.get("click_through_url"),
            ad_id=form.get("ad_id"),
            **_upload_rules(),
        )


def _upload_rules() -> dict:
    """What every stored upload is held to, and where its renditions are made."""
    config = current_app.config
    return {
        "max_bytes": config["MAX_UPLOAD_BYTES"],
        "max_seconds": config["MAX_CREATIVE_SECONDS"],
        "submit": runtime().transcoder.submit,
    }


@blp.put("/creatives/<uuid:creative_id>/file")
@upload_limits
@blp.arguments(CreativeFileSchema, location="multipart")
@blp.response(200, CreativeSchema)
@blp.alt_response(400, schema=ErrorSchema, description=REFUSED_UPLOAD)
@blp.alt_response(404, schema=ErrorSchema, description="No such creative")
@blp.alt_response(409, schema=ErrorSchema, description="The campaign is completed or archived")
@blp.alt_response(413, schema=ErrorSchema, description="The file is larger than MAX_UPLOAD_BYTES")
@blp.alt_response(415, schema=ErrorSchema, description="Not multipart, or the file is not an MP4")
def replace_file(form, creative_id: uuid.UUID):
    """Replace the creative's file: validated as an upload is, it gets a new `identity` (VAST Creative@id:
    stitchers key their transcodes by it), the `ad_id` sent with it (none: our own identity) and new
    renditions; the old file, renditions and poster go. 409 when the campaign is completed or archived."""
    with saved_upload(form) as upload:
        return present(
            services.replace_file(
                get_session(),
                storage(),
                creative_id,
                upload=upload,
                ad_id=form.get("ad_id"),
                **_upload_rules(),
            )
        )


@blp.get("/campaigns/<uuid:campaign_id>/creatives")
@blp.arguments(CreativeListQuerySchema, location="query")
@blp.response(200, CreativeSchema(many=True))
@blp.alt_response(404, schema=ErrorSchema, description="No such campaign")
def list_creatives(query, campaign_id: uuid.UUID):
    """The campaign's creatives, oldest first; archived ones only with `archived=true`."""
    creatives = services.list_creatives(get_session(), campaign_id, archived=query["archived"])
    return [present(creative) for creative in creatives]


@blp.get("/creatives/<uuid:creative_id>")
@blp.response(200, CreativeSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such creative")
def get_creative(creative_id: uuid.UUID):
    return present(services.get_creative(get_session(), creative_id))


@blp.put("/creatives/<uuid:creative_id>/status")
@json_body(blp, CreativeStatusSchema)
@blp.response(200, CreativeSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such creative")
@blp.alt_response(409, schema=ErrorSchema, description="The campaign is completed or archived")
def change_status(body, creative_id: uuid.UUID):
    """Activate or deactivate a creative (an inactive one is never served)."""
    return present(services.change_status(get_session(), creative_id, body["status"]))


@blp.put("/creatives/<uuid:creative_id>/verifications")
@json_body(blp, CreativeVerificationsSchema)
@blp.response(200, CreativeSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such creative")
@blp.alt_response(409, schema=ErrorSchema, description="The campaign is completed or archived")
def set_verifications(body, creative_id: uuid.UUID):
    """Set the creative's third-party verification vendors (Open Measurement scripts): emitted as
    <AdVerifications> in VAST 4.1+ and as an Extension of type AdVerifications in 3.0 and 4.0."""
    return present(services.set_verifications(get_session(), creative_id, body["verifications"]))


@blp.post("/creatives/<uuid:creative_id>/archive")
@blp.response(200, CreativeSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such creative")
def archive_creative(creative_id: uuid.UUID):
    """Archive a creative: it is no longer served and leaves the default list; its figures stay."""
    return present(services.archive_creative(get_session(), creative_id))


@blp.post("/creatives/<uuid:creative_id>/restore")
@blp.response(200, CreativeSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such creative")
def restore_creative(creative_id: uuid.UUID):
    """Bring an archived creative back: it serves again if its status is active."""
    return present(services.restore_creative(get_session(), creative_id))


@blp.delete("/creatives/<uuid:creative_id>")
@blp.response(204)
@blp.alt_response(404, schema=ErrorSchema, description="No such creative")
@blp.alt_response(409, schema=ErrorSchema, description="The creative delivered: archive it instead")
def delete_creative(creative_id: uuid.UUID):
    """Delete a creative that never delivered, and its stored file."""
    services.delete_creative(get_session(), storage(), creative_id)
