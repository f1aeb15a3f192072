"""Supply tag pages: the list with each tag's figures, create and edit forms, the tag's page (its
ready-to-paste VAST URL and figures), and deletion (refused while a campaign's targeting names the tag)."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from app.admin.blueprint import bp
from app.admin.confirmation import after_confirmation
from app.admin.forms import load_form
from app.db import get_session, utcnow
from app.exceptions import Conflict, Invalid
from app.supply import services as supply_tags
from app.supply.presets import PARAMETERS, PRESETS, url_parameters
from app.supply.schemas import SupplyTagInputSchema, SupplyTagListQuerySchema
from app.supply.stats import tag_stats
from app.supply.views import tag_url
from vast.render import SUPPORTED_VERSIONS

NUMBERS = ("min_duration", "max_duration", "pod_max_duration", "pod_max_ads")


@bp.get("/supply-tags")
def supply_tag_list():
    try:
        query = load_form(SupplyTagListQuerySchema(), request.args, "Invalid page")
    except Invalid as exc:
        raise Invalid("; ".join(f"{name}: {message}" for name, message in exc.details.items())) from None
    db = get_session()
    page = supply_tags.list_tags(db, **query)
    figures = {tag.id: tag_stats(db, tag.id) for tag in page["items"]}  # the last 24 hours
    return render_template("admin/supply_tags/list.html", page=page, figures=figures, presets=PRESETS)


@bp.get("/supply-tags/<int:tag_id>")
def supply_tag_detail(tag_id: int):
    db = get_session()
    tag = supply_tags.get_tag(db, tag_id)
    now = utcnow()
    return render_template(
        "admin/supply_tags/detail.html",
        tag=tag,
        preset=PRESETS[tag.platform],
        url=tag_url(tag),
        parameters=url_parameters(tag.platform, tag.macros),
        last_day=tag_stats(db, tag_id, now - timedelta(hours=24), now),
        last_week=tag_stats(db, tag_id, now - timedelta(days=7), now),
        campaigns=supply_tags.limited_campaigns(db, tag_id),
    )


@bp.route("/supply-tags/new", methods=["GET", "POST"])
def supply_tag_new():
    if request.method == "GET":
        return _form(None, {"platform": "generic"}, {})
    try:
        tag = supply_tags.create_tag(get_session(), _load(request.form))
    except Invalid as exc:
        return _form(None, request.form, exc.details or {"_schema": exc.message}), 400
    flash(f"Supply tag “{tag.name}” created: paste its VAST URL into the platform.", "success")
    return redirect(url_for("admin.supply_tag_detail", tag_id=tag.id), 303)


@bp.route("/supply-tags/<int:tag_id>/edit", methods=["GET", "POST"])
def supply_tag_edit(tag_id: int):
    db = get_session()
    tag = supply_tags.get_tag(db, tag_id)
    if request.method == "GET":
        values = {name: "" if getattr(tag, name) is None else f"{getattr(tag, name):g}" for name in NUMBERS}
        values |= {"name": tag.name, "platform": tag.platform, "vast_version": tag.vast_version or ""}
        values["macros"] = "\n".join(f"{name}={macro}" for name, macro in tag.macros.items())
        return _form(tag, values, {})
    try:
        supply_tags.update_tag(db, tag_id, _load(request.form))
    except Invalid as exc:
        return _form(tag, request.form, exc.details or {"_schema": exc.message}), 400
    flash("Changes saved.", "success")
    return redirect(url_for("admin.supply_tag_detail", tag_id=tag_id), 303)


def _load(form: MultiDict) -> dict:
    """The form through the API's schema. Empty number inputs mean "none"; the macros are lines
    `parameter=macro` (`parameter=` leaves it out of the URL), every other line refused by its number."""
    values = MultiDict(form)
    macros, wrong = {}, []
    for number, line in enumerate(values.get("macros", "").splitlines(), 1):
        if line.strip():
            name, equals, macro = line.strip().partition("=")
            if not equals:
                wrong.append(f"Line {number}: write parameter=macro.")
            macros[name.strip()] = macro.strip()
    if wrong:
        raise Invalid("Invalid supply tag", {"macros": " ".join(wrong)})
    values["macros"] = macros
    values["vast_version"] = values.get("vast_version") or ""
    if values.get("pod_max_ads", "").strip().isdigit():  # a whole number: the schema takes no text for it
        values["pod_max_ads"] = int(values["pod_max_ads"])
    try:
        return load_form(SupplyTagInputSchema(), values, "Invalid supply tag")
    except Invalid as exc:  # a macro's message by the textarea
        details: dict[str, str] = {}
        for name, text in exc.details.items():
            if name.startswith("macros."):
                parameter = name.split(".")[1]
                text, name = f"{parameter}: {text}", "macros"
            details[name] = f"{details[name]} {text}" if name in details else text
        raise Invalid(exc.message, details) from None


def _form(tag, values, errors: dict) -> str:
    return render_template(
        "admin/supply_tags/form.html",
        tag=tag,
        values=values,
        errors=errors,
        platform_choices=[(key, preset.name) for key, preset in PRESETS.items()],
        version_choices=[(version, f"VAST {version}") for version in SUPPORTED_VERSIONS],
        parameters=PARAMETERS,
    )


@bp.route("/supply-tags/<int:tag_id>/delete", methods=["GET", "POST"])
def supply_tag_delete(tag_id: int):
    db = get_session()
    name = supply_tags.get_tag(db, tag_id).name
    try:
        return after_confirmation(
            title=f"Delete “{name}”?",
            consequence="The tag is deleted; its figures stay in the reports. Requests still carrying it are "
            "served as untagged ones. A tag that a campaign's targeting names cannot be deleted: change the "
            "campaign first.",
            button="Delete supply tag",
            cancel=url_for("admin.supply_tag_detail", tag_id=tag_id),
            act=lambda: supply_tags.delete_tag(db, tag_id),
            done=f"Supply tag “{name}” deleted.",
            then=url_for("admin.supply_tag_list"),
        )
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for("admin.supply_tag_detail", tag_id=tag_id), 303)
