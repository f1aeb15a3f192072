"""Campaign pages: the list, create and edit forms, status buttons, deletion, and the campaign page."""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, url_for

from app.admin import charts, targeting_form
from app.admin.blueprint import bp
from app.admin.confirmation import after_confirmation
from app.admin.formatting import form_datetime
from app.admin.forms import flight_defaults, load_campaign_form, load_form, plain_words, refusal
from app.admin.navigation import local_page
from app.advertisers import services as advertisers
from app.audit import services as audit
from app.campaigns import services as campaigns
from app.campaigns.caps import form_lines
from app.campaigns.models import STATUSES
from app.campaigns.schemas import CampaignListQuerySchema, StatusChangeSchema
from app.creatives import services as creatives
from app.creatives.views import present, storage
from app.db import get_session, utcnow
from app.exceptions import Conflict, Invalid
from app.reporting import services as reporting
from app.runtime import runtime
from app.serving.diagnosis_views import campaign_delivery
from app.serving.views import base_url
from app.supply import services as supply_tags
from app.tracking.stored_delivery import delivered_creatives, has_delivered


@bp.get("/campaigns")
def campaign_list():
    try:
        query = load_form(CampaignListQuerySchema(), request.args, "Invalid filter")
    except Invalid as exc:
        raise Invalid("; ".join(f"{name}: {message}" for name, message in exc.details.items())) from None
    db = get_session()
    page = campaigns.list_campaigns(db, **query)
    return render_template(
        "admin/campaigns/list.html",
        page=page,
        figures=reporting.campaign_figures(db, page["items"]),
        status_filter=query.get("status"),
        archived=query["archived"],
        statuses=STATUSES,
        transitions=campaigns.allowed_transitions,
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
def campaign_new():
    if request.method == "GET":
        return _form(None, flight_defaults(utcnow()), {})
    try:
        data = load_campaign_form(request.form)
        campaign = campaigns.create_campaign(get_session(), data, current_app.config["DEFAULT_CPM"])
    except Invalid as exc:
        return _form_page(None, targeting_form.form_errors(exc.details), 400)
    flash(f"Campaign “{campaign.name}” created as a draft.", "success")
    return redirect(url_for("admin.campaign_detail", campaign_id=campaign.id), 303)


@bp.route("/campaigns/<uuid:campaign_id>/edit", methods=["GET", "POST"])
def campaign_edit(campaign_id: uuid.UUID):
    db = get_session()
    campaign = campaigns.get_campaign(db, campaign_id)
    if request.method == "GET":
        return _form(campaign, _form_values(campaign), {})
    try:
        campaigns.update_campaign(db, campaign_id, load_campaign_form(request.form))
    except Invalid as exc:
        return _form_page(campaign, targeting_form.form_errors(exc.details), 400)
    except Conflict as exc:
        return _form_page(campaign, {"_schema": exc.message}, 409)
    flash("Changes saved.", "success")
    return redirect(url_for("admin.campaign_detail", campaign_id=campaign_id), 303)


def _form_values(campaign) -> dict:
    return {
        "name": campaign.name,
        "description": campaign.description or "",
        "budget_total": f"{campaign.budget_total}",
        "cpm": f"{campaign.cpm}",
        "start_date": form_datetime(campaign.start_date),
        "end_date": form_datetime(campaign.end_date),
        "advertiser_id": str(campaign.advertiser_id or ""),
        "category": campaign.category or "",
        "category_exclusive": "true" if campaign.category_exclusive else "",
        "frequency_caps": form_lines(campaign.frequency_caps),
        "pacing": "" if campaign.pacing == "even" else campaign.pacing,
        "impression_goal": str(campaign.impression_goal or ""),
        "daily_budget": f"{campaign.daily_budget}" if campaign.daily_budget else "",
        "daily_impression_cap": str(campaign.daily_impression_cap or ""),
        "time_zone": campaign.time_zone,
        "kind": "" if campaign.kind == "direct" else campaign.kind,
        "vast_ad_tag_uri": campaign.vast_ad_tag_uri or "",
        "ad_duration": f"{campaign.ad_duration:g}" if campaign.ad_duration else "",
        "server_side_unwrap": "true" if campaign.server_side_unwrap else "",
        **targeting_form.form_values(campaign.targeting),
    }


def _form(campaign, values, errors: dict) -> str:
    """The campaign form; its advertiser is chosen among every advertiser, its supply tags among every tag,
    by name."""
    return render_template(
        "admin/campaigns/form.html",
        campaign=campaign,
        values=values,
        errors=errors,
        livestream_choices=targeting_form.LIVESTREAM_CHOICES,
        advertiser_choices=[
            (str(advertiser.id), f"{advertiser.name} ({advertiser.domain})")
            for advertiser in advertisers.all_advertisers(get_session())
        ],
        supply_tag_choices=[(str(tag.id), tag.name) for tag in supply_tags.all_tags(get_session())],
    )


def _form_page(campaign, errors: dict, status: int):
    """The submitted form again, with every refusal (the schema's or the service's) in plain words."""
    return _form(campaign, request.form, plain_words(errors)), status


@bp.post("/campaigns/<uuid:campaign_id>/status")
def campaign_status(campaign_id: uuid.UUID):
    default = url_for("admin.campaign_detail", campaign_id=campaign_id)
    try:
        wanted = load_form(StatusChangeSchema(), request.form, "Invalid status")["status"]
        if wanted == "completed":  # final: never in one click, always through the question
            return redirect(url_for("admin.campaign_complete", campaign_id=campaign_id), 303)
        campaign = campaigns.change_status(get_session(), campaign_id, wanted)
    except (Invalid, Conflict) as exc:
        flash(refusal(exc), "error")
    else:
        flash(f"“{campaign.name}” is now {campaign.status}.", "success")
    return redirect(local_page(request.form.get("next"), default), 303)


@bp.route("/campaigns/<uuid:campaign_id>/complete", methods=["GET", "POST"])
def campaign_complete(campaign_id: uuid.UUID):
    """Completing is final (app.campaigns.services): a page asks first."""
    db = get_session()
    campaign = campaigns.get_campaign(db, campaign_id)
    back = local_page(request.args.get("next"), url_for("admin.campaign_detail", campaign_id=campaign_id))
    return after_confirmation(
        title=f"Complete “{campaign.name}”?",
        consequence="The campaign stops serving for good: a completed campaign can be neither edited nor "
        "activated again. Its figures stay in reporting. To stop it for a while, pause it instead.",
        button="Complete campaign",
        cancel=back,
        act=lambda: campaigns.change_status(db, campaign_id, "completed"),
        done=f"“{campaign.name}” is now completed.",
        then=back,
    )


@bp.route("/campaigns/<uuid:campaign_id>/archive", methods=["GET", "POST"])
def campaign_archive(campaign_id: uuid.UUID):
    db = get_session()
    campaign = campaigns.get_campaign(db, campaign_id)
    return after_confirmation(
        title=f"Archive “{campaign.name}”?",
        consequence="It leaves the campaign list (the Archived filter shows it) and cannot be activated or "
        "edited until restored. Its impressions, spend and events stay in reporting.",
        button="Archive campaign",
        cancel=url_for("admin.campaign_detail", campaign_id=campaign_id),
        act=lambda: campaigns.archive_campaign(db, campaign_id),
        done=f"Campaign “{campaign.name}” archived.",
        then=url_for("admin.campaign_detail", campaign_id=campaign_id),
    )


@bp.post("/campaigns/<uuid:campaign_id>/restore")
def campaign_restore(campaign_id: uuid.UUID):
    campaign = campaigns.restore_campaign(get_session(), campaign_id)
    flash(f"Campaign “{campaign.name}” restored.", "success")
    return redirect(url_for("admin.campaign_detail", campaign_id=campaign_id), 303)


@bp.route("/campaigns/<uuid:campaign_id>/delete", methods=["GET", "POST"])
def campaign_delete(campaign_id: uuid.UUID):
    db = get_session()
    campaign = campaigns.get_campaign(db, campaign_id)
    return after_confirmation(
        title=f"Delete “{campaign.name}”?",
        consequence="The campaign, its creatives and their video files are deleted. It never delivered, so "
        "reporting loses nothing. This cannot be undone.",
        button="Delete campaign",
        cancel=url_for("admin.campaign_detail", campaign_id=campaign_id),
        act=lambda: campaigns.delete_campaign(db, storage(), campaign_id),
        done=f"Campaign “{campaign.name}” deleted.",
        then=url_for("admin.campaign_list"),
    )


@bp.get("/campaigns/<uuid:campaign_id>")
def campaign_detail(campaign_id: uuid.UUID):
    return campaign_page(campaign_id)


def campaign_page(
    campaign_id: uuid.UUID, upload_errors: dict | None = None, upload_values=None, status: int = 200
):
    """The campaign page; an upload the server refused shows again with its messages by the fields."""
    db = get_session()
    campaign = campaigns.get_campaign(db, campaign_id)
    now = utcnow()
    zone = current_app.config["SETTINGS"].time_zone
    flight = reporting.campaign_stats(db, campaign_id, start=None, end=None, granularity="day", now=now)
    last_day = reporting.campaign_stats(
        db, campaign_id, start=now - timedelta(hours=23), end=now, granularity="hour", now=now
    )
    delivered = delivered_creatives(db, campaign_id)
    listed, archived = (
        [
            present(creative) | {"delivered": creative.id in delivered}
            for creative in creatives.list_creatives(db, campaign_id, archived=archived)
        ]
        for archived in (False, True)
    )
    page = render_template(
        "admin/campaigns/detail.html",
        campaign=campaign,
        transitions=campaigns.allowed_transitions(campaign),
        targeting=targeting_form.describe(
            campaign.targeting, campaign.time_zone, {tag.id: tag.name for tag in supply_tags.all_tags(db)}
        ),
        accepts_changes=campaigns.accepts_changes(campaign),
        stats=flight,
        pacing=reporting.pacing(db, campaign_id, now=now),
        charts={
            "hours": charts.campaign_hours(last_day["series"], zone, now),
            "funnel": charts.quartile_funnel(flight),
            "spend": charts.spend_to_date(reporting.spend_curve(db, campaign_id, now=now)),
        },
        creatives=listed,
        archived_creatives=archived,
        delivered=bool(delivered) or has_delivered(db, campaign_id=campaign_id),
        audit=audit.campaign_entries(db, campaign),
        creative_names={creative["id"]: creative["name"] for creative in listed + archived},
        delivery=campaign_delivery(campaign.id),
        uploaded=request.args.get("uploaded"),
        upload_errors=upload_errors or {},
        upload_values=upload_values or {},
        vast_base=f"{base_url(runtime())}/vast",
    )
    return page, status
