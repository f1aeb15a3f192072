"""Creative rules: validate the upload from its bytes, store it, and never leave an object without a row
(or a row without its object)."""

from __future__ import annotations

import uuid
from pathlib import Path

import sqlalchemy as sa
from gevent import monkey
from gevent.threadpool import ThreadPool
from sqlalchemy.orm import Session, selectinload

from app.archiving import set_archived
from app.campaigns.services import ensure_changeable, get_campaign
from app.creatives import jobs, quality, transcode
from app.creatives.media import MediaError, VideoInfo, probe
from app.creatives.models import Creative, new_identity
from app.creatives.storage import Storage, new_key, remove_objects
from app.exceptions import Conflict, Invalid, NotFound, TooLarge, UnsupportedMedia
from app.tracking.stored_delivery import has_delivered

# Probes a gevent worker runs at once (each holds at most one decoded 4K picture and its decoder).
MAX_CONCURRENT_PROBES = 1
_probe_threads: ThreadPool | None = None  # made in the worker, after the fork


def create_creative(
    session: Session,
    storage: Storage,
    campaign_id: uuid.UUID,
    *,
    name: str,
    upload: Path,
    click_through_url: str | None,
    max_bytes: int,
    max_seconds: float,
    submit: jobs.Submit,
    ad_id: str | None = None,
) -> Creative:
    """Validate and store the upload (the mezzanine), with its quality warnings and queued renditions, then
    submit its transcode job."""
    campaign = get_campaign(session, campaign_id)
    ensure_changeable(campaign)
    info, warnings = _validate(upload, max_bytes, max_seconds)
    key = new_key()
    storage.put(upload, key)
    try:
        creative = Creative(
            campaign_id=campaign.id,
            name=name,
            click_through_url=click_through_url,
            ad_id=ad_id,
            status="active",
        )
        _take_file(session, creative, key, upload.stat().st_size, info, warnings)
        session.commit()
    except BaseException:
        session.rollback()
        storage.delete(key)  # the row did not make it: neither may the object
        raise
    submit(creative.id)
    return creative


def replace_file(
    session: Session,
    storage: Storage,
    creative_id: uuid.UUID,
    *,
    upload: Path,
    max_bytes: int,
    max_seconds: float,
    submit: jobs.Submit,
    ad_id: str | None = None,
) -> Creative:
    """A new file for the creative: validated as an upload is, it becomes the mezzanine, with a new identity
    (Creative@id: stitchers must not serve their transcode of the old file under it), the Ad-ID given with
    it (an Ad-ID names one asset: without a new one, our own identity stands in UniversalAdId) and new
    renditions; the old file, renditions and poster are deleted once the row holds the new one. Raises
    Conflict when the campaign is completed or archived."""
    creative = _changeable(session, creative_id)
    old_keys = jobs.stored_keys(creative)
    info, warnings = _validate(upload, max_bytes, max_seconds)
    key = new_key()
    storage.put(upload, key)
    try:
        creative.renditions.clear()
        session.flush()
        creative.identity = new_identity()
        creative.ad_id = ad_id
        _take_file(session, creative, key, upload.stat().st_size, info, warnings)
        session.commit()
    except BaseException:
        session.rollback()
        storage.delete(key)
        raise
    remove_objects(storage, old_keys)
    submit(creative.id)
    return creative


def too_large(size: int | None, max_bytes: int, what: str = "file") -> TooLarge:
    """The refusal of a file (or of a request body: `what`, and `size` when known) over MAX_UPLOAD_BYTES."""
    sent = f"The {what} is {size} bytes" if size else f"The {what} is too large"
    return TooLarge(
        f"{sent}; the limit is {max_bytes} bytes (MAX_UPLOAD_BYTES)",
        {"file": f"Larger than {max_bytes} bytes.", "code": "too_large"},
    )


def _validate(upload: Path, max_bytes: int, max_seconds: float) -> tuple[VideoInfo, list[dict[str, str]]]:
    size = upload.stat().st_size
    if size > max_bytes:
        raise too_large(size, max_bytes)
    try:
        return off_the_event_loop(_inspect, upload, max_seconds)
    except MediaError as exc:
        error = UnsupportedMedia if exc.status == 415 else Invalid
        raise error(str(exc), refusal_details(exc)) from None


def _take_file(
    session: Session, creative: Creative, key: str, size: int, info: VideoInfo, warnings: list[dict[str, str]]
) -> None:
    """The creative's file, as read from it, with queued renditions and no poster yet."""
    creative.storage_key = key
    creative.file_size = size
    creative.duration, creative.width, creative.height = info.duration, info.width, info.height
    creative.bitrate, creative.mime_type, creative.video_codec = (
        info.bitrate,
        info.mime_type,
        info.video_codec,
    )
    creative.warnings = warnings
    creative.transcode_status, creative.transcode_progress = "queued", 0
    creative.transcode_error = creative.poster_key = None
    session.add(creative)
    session.flush()  # the id the renditions refer to
    creative.renditions.extend(jobs.plan_rows(creative))


def _inspect(upload: Path, max_seconds: float) -> tuple[VideoInfo, list[dict[str, str]]]:
    info = probe(upload, max_seconds)
    return info, quality.warnings(info, transcode.measure_loudness(upload) if info.has_audio else None)


def refusal_details(exc: MediaError) -> dict[str, str]:
    """The form field (`file`) with the message, the stable code, and each property of the file at fault
    as a nested field (`file.width`, `file.level`, `file.audio_streams`...)."""
    return {"file": str(exc), "code": exc.code} | {f"file.{field}": str(exc) for field in exc.fields}


def off_the_event_loop(function, *args):
    """Run CPU-bound work in a native thread when the worker is a gevent one, so that its other greenlets
    (ad requests, beacons) keep being served meanwhile: FFmpeg releases the GIL while it parses and decodes.
    One at a time per worker, as when it ran in the loop: concurrent uploads wait for their turn rather than
    each holding a decoder. Always in the same native thread: the C allocator keeps an arena per thread, and
    a decoded picture freed in one arena stays resident there (in the hub's shared pool a busy worker would
    start a second thread, and hold a second picture's worth). Elsewhere (tests, the CLI) it runs here."""
    global _probe_threads
    if not monkey.is_module_patched("threading"):
        return function(*args)
    if _probe_threads is None:
        _probe_threads = ThreadPool(MAX_CONCURRENT_PROBES)
    return _probe_threads.apply(function, args)


def list_creatives(session: Session, campaign_id: uuid.UUID, *, archived: bool = False) -> list[Creative]:
    """The campaign's creatives, oldest first: the archived ones only when `archived`, else the others."""
    get_campaign(session, campaign_id)
    return list(
        session.scalars(
            sa.select(Creative)
            .where(
                Creative.campaign_id == campaign_id,
                Creative.archived_at.is_not(None) if archived else Creative.archived_at.is_(None),
            )
            .options(selectinload(Creative.renditions))  # every card lists them: one query, not one each
            .order_by(Creative.created_at, Creative.id)
        )
    )


def get_creative(session: Session, creative_id: uuid.UUID, *, for_update: bool = False) -> Creative:
    creative = session.get(Creative, creative_id, with_for_update=True if for_update else None)
    if creative is None:
        raise NotFound("Creative not found")
    return creative


def _changeable(session: Session, creative_id: uuid.UUID) -> Creative:
    """The creative, locked, when its campaign accepts changes (app.campaigns.services.ensure_changeable)."""
    creative = get_creative(session, creative_id, for_update=True)
    ensure_changeable(get_campaign(session, creative.campaign_id))
    return creative


def change_status(session: Session, creative_id: uuid.UUID, status: str) -> Creative:
    creative = _changeable(session, creative_id)
    creative.status = status
    session.commit()
    return creative


def set_verifications(session: Session, creative_id: uuid.UUID, verifications: list[dict]) -> Creative:
    """Replace the creative's verification vendors (validated by CreativeVerificationsSchema); the catalog
    serves them within a second."""
    creative = _changeable(session, creative_id)
    creative.verifications = [dict(entry) for entry in verifications]
    session.commit()
    return creative


def archive_creative(session: Session, creative_id: uuid.UUID) -> Creative:
    """Archive a creative (idempotent): it is no longer served, and leaves the default lists."""
    return set_archived(session, get_creative(session, creative_id, for_update=True), True)


def restore_creative(session: Session, creative_id: uuid.UUID) -> Creative:
    """Bring an archived creative back (idempotent): it serves again if its status is active."""
    return set_archived(session, get_creative(session, creative_id, for_update=True), False)


DELIVERED_CREATIVE = (
    "This creative has delivered: deleting it would take its name and files from the campaign's history. "
    "Archive it instead."
)


def delete_creative(session: Session, storage: Storage, creative_id: uuid.UUID) -> None:
    """Delete a creative that never delivered, then its stored files. Raises Conflict (DELIVERED_CREATIVE)
    for one that delivered."""
    creative = get_creative(session, creative_id, for_update=True)
    if has_delivered(session, creative_id=creative_id):
        raise Conflict(DELIVERED_CREATIVE)
    keys = jobs.stored_keys(creative)
    session.delete(creative)
    session.commit()
    remove_objects(storage, keys)
