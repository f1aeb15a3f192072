"""Creative uploads from the campaign page, and a creative's status and deletion."""

from __future__ import annotations

import uuid

from flask import current_app, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from app.admin.blueprint import bp, csrf
from app.admin.campaigns import campaign_page
from app.admin.confirmation import after_confirmation
from app.admin.forms import load_form, refusal
from app.creatives import services as creatives
from app.creatives.schemas import CreativeStatusSchema, CreativeUploadSchema
from app.creatives.verifications import MAX_VERIFICATIONS, CreativeVerificationsSchema
from app.creatives.views import storage, store_upload, upload_limits
from app.db import get_session
from app.exceptions import Conflict, Invalid, ServiceError, TooLarge


@bp.post("/campaigns/<uuid:campaign_id>/creatives")
@csrf.exempt  # checked below, once upload_limits has raised the body limit the token is read under
@upload_limits
def creative_upload(campaign_id: uuid.UUID):
    """A plain form post, or the page's script (the same post, with a progress bar): on success both land
    on the campaign page naming the new creative; a refusal shows the server's message by the field."""
    try:
        csrf.protect()
        form = load_form(
            CreativeUploadSchema(), CombinedMultiDict([request.form, request.files]), "Invalid creative"
        )
        creative = store_upload(campaign_id, form)
    except RequestEntityTooLarge:
        limit = current_app.config["MAX_UPLOAD_BYTES"]
        too_large = {"file": f"The file is larger than the limit of {limit} bytes."}
        return campaign_page(campaign_id, too_large, status=413)  # the body was not read: no values
    except ServiceError as exc:
        errors = {"_schema": exc.message} | exc.details
        if isinstance(exc, TooLarge):
            errors["file"] = exc.message
        return campaign_page(campaign_id, errors, request.form, exc.status)
    return redirect(_creatives_of(campaign_id, uploaded=creative.id), 303)


@bp.post("/creatives/<uuid:creative_id>/status")
def creative_status(creative_id: uuid.UUID):
    db = get_session()
    creative = creatives.get_creative(db, creative_id)
    try:
        wanted = load_form(CreativeStatusSchema(), request.form, "Invalid status")["status"]
    except Invalid as exc:
        flash(refusal(exc), "error")
    else:
        try:
            creatives.change_status(db, creative_id, wanted)
        except Conflict as exc:
            flash(exc.message, "error")
        else:
            flash(f"Creative “{creative.name}” is now {wanted}.", "success")
    return redirect(_creatives_of(creative.campaign_id), 303)


@bp.route("/creatives/<uuid:creative_id>/archive", methods=["GET", "POST"])
def creative_archive(creative_id: uuid.UUID):
    db = get_session()
    creative = creatives.get_creative(db, creative_id)
    return after_confirmation(
        title=f"Archive the creative “{creative.name}”?",
        consequence="It is no longer served and moves to the campaign's archived creatives. Its counted "
        "events stay in the campaign's stats. It can be restored.",
        button="Archive creative",
        cancel=_creatives_of(creative.campaign_id),
        act=lambda: creatives.archive_creative(db, creative_id),
        done=f"Creative “{creative.name}” archived.",
        then=_creatives_of(creative.campaign_id),
    )


@bp.post("/creatives/<uuid:creative_id>/restore")
def creative_restore(creative_id: uuid.UUID):
    creative = creatives.restore_creative(get_session(), creative_id)
    flash(f"Creative “{creative.name}” restored.", "success")
    return redirect(_creatives_of(creative.campaign_id), 303)


@bp.route("/creatives/<uuid:creative_id>/delete", methods=["GET", "POST"])
def creative_delete(creative_id: uuid.UUID):
    db = get_session()
    creative = creatives.get_creative(db, creative_id)
    return after_confirmation(
        title=f"Delete the creative “{creative.name}”?",
        consequence="Its video file is deleted and it is no longer served. It never delivered. This cannot "
        "be undone.",
        button="Delete creative",
        cancel=_creatives_of(creative.campaign_id),
        act=lambda: creatives.delete_creative(db, storage(), creative_id),
        done=f"Creative “{creative.name}” deleted.",
        then=_creatives_of(creative.campaign_id),
    )


VERIFICATION_FIELDS = ("vendor", "javascript_url", "parameters", "not_executed_url")


@bp.route("/creatives/<uuid:creative_id>/verifications", methods=["GET", "POST"])
def creative_verifications(creative_id: uuid.UUID):
    """The creative's verification vendors, one row each and a blank row to add one; a row left blank is
    none. Saved all at once through the API's schema: a refusal shows every message by its input."""
    db = get_session()
    creative = creatives.get_creative(db, creative_id)
    if request.method == "GET":
        rows = [
            {name: entry.get(name) or "" for name in VERIFICATION_FIELDS} for entry in creative.verifications
        ]
        return _verifications_page(creative, rows, {})
    rows = _verification_rows(request.form)
    try:
        body = load_form(
            CreativeVerificationsSchema(),
            {"verifications": [{name: value for name, value in row.items() if value} for row in rows]},
            "Invalid verification",
        )
    except Invalid as exc:
        return _verifications_page(creative, rows, exc.details, status=400)
    creatives.set_verifications(db, creative_id, body["verifications"])
    flash(f"Verification of “{creative.name}” saved: {len(rows)} vendor(s).", "success")
    return redirect(_creatives_of(creative.campaign_id), 303)


def _verification_rows(form) -> list[dict[str, str]]:
    """The form's rows that are not blank, in order, their values stripped."""
    rows = []
    for index in range(MAX_VERIFICATIONS + 1):
        row = {name: form.get(f"verifications.{index}.{name}", "").strip() for name in VERIFICATION_FIELDS}
        if any(row.values()):
            rows.append(row)
    return rows


def _verifications_page(creative, rows: list[dict], errors: dict, status: int = 200):
    blank = dict.fromkeys(VERIFICATION_FIELDS, "")
    shown = rows + [blank] * (len(rows) < MAX_VERIFICATIONS)
    page = render_template(
        "admin/creatives/verifications.html",
        creative=creative,
        rows=shown,
        errors=errors,
        back=_creatives_of(creative.campaign_id),
    )
    return page, status


def _creatives_of(campaign_id: uuid.UUID, **query) -> str:
    return url_for("admin.campaign_detail", campaign_id=campaign_id, _anchor="creatives", **query)
