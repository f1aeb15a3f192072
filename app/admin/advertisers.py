"""Advertiser pages: the list, create and edit forms, and deletion (refused while campaigns name one)."""

from __future__ import annotations

import uuid

from flask import flash, redirect, render_template, request, url_for

from app.admin.blueprint import bp
from app.admin.confirmation import after_confirmation
from app.admin.forms import load_form, load_with_caps
from app.advertisers import services as advertisers
from app.advertisers.schemas import AdvertiserInputSchema, AdvertiserListQuerySchema
from app.campaigns.caps import form_lines
from app.db import get_session
from app.exceptions import Conflict, Invalid


@bp.get("/advertisers")
def advertiser_list():
    try:
        query = load_form(AdvertiserListQuerySchema(), request.args, "Invalid page")
    except Invalid as exc:
        raise Invalid("; ".join(f"{name}: {message}" for name, message in exc.details.items())) from None
    db = get_session()
    page = advertisers.list_advertisers(db, **query)
    counts = advertisers.campaign_counts(db, [advertiser.id for advertiser in page["items"]])
    return render_template("admin/advertisers/list.html", page=page, campaign_counts=counts)


@bp.route("/advertisers/new", methods=["GET", "POST"])
def advertiser_new():
    if request.method == "GET":
        return render_template("admin/advertisers/form.html", advertiser=None, values={}, errors={})
    try:
        data = load_with_caps(AdvertiserInputSchema(), request.form, "Invalid advertiser")
        advertiser = advertisers.create_advertiser(get_session(), data)
    except (Invalid, Conflict) as exc:
        return _form_page(None, exc)
    flash(f"Advertiser “{advertiser.name}” ({advertiser.domain}) created.", "success")
    return redirect(url_for("admin.advertiser_list"), 303)


@bp.route("/advertisers/<uuid:advertiser_id>/edit", methods=["GET", "POST"])
def advertiser_edit(advertiser_id: uuid.UUID):
    db = get_session()
    advertiser = advertisers.get_advertiser(db, advertiser_id)
    if request.method == "GET":
        values = {
            "name": advertiser.name,
            "domain": advertiser.domain,
            "frequency_caps": form_lines(advertiser.frequency_caps),
        }
        return render_template("admin/advertisers/form.html", advertiser=advertiser, values=values, errors={})
    try:
        data = load_with_caps(AdvertiserInputSchema(), request.form, "Invalid advertiser")
        advertisers.update_advertiser(db, advertiser_id, data)
    except (Invalid, Conflict) as exc:
        return _form_page(advertiser, exc)
    flash("Changes saved.", "success")
    return redirect(url_for("admin.advertiser_list"), 303)


def _form_page(advertiser, error: Invalid | Conflict):
    errors = error.details or {"_schema": error.message}
    page = render_template(
        "admin/advertisers/form.html", advertiser=advertiser, values=request.form, errors=errors
    )
    return page, error.status


@bp.route("/advertisers/<uuid:advertiser_id>/delete", methods=["GET", "POST"])
def advertiser_delete(advertiser_id: uuid.UUID):
    db = get_session()
    advertiser = advertisers.get_advertiser(db, advertiser_id)
    name = advertiser.name
    try:
        return after_confirmation(
            title=f"Delete “{name}”?",
            consequence="The advertiser is deleted. An advertiser that campaigns name cannot be: give them "
            "another advertiser, or delete them, first.",
            button="Delete advertiser",
            cancel=url_for("admin.advertiser_list"),
            act=lambda: advertisers.delete_advertiser(db, advertiser_id),
            done=f"Advertiser “{name}” deleted.",
            then=url_for("admin.advertiser_list"),
        )
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.advertiser_list"), 303)
