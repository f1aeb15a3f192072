"""Campaign pages: the list, create and edit forms, status buttons, deletion, and the campaign page."""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import current_app, flash, jsonify, redirect, render_template, request, url_for

from app.admin import charts, targeting_form
from app.admin.blueprint import bp
from app.admin.confirmation import delete_after_confirmation
from app.admin.formatting import form_datetime
from app.admin.forms import load_campaign_form, load_form, refusal
from app.admin.navigation import local_page
from app.advertisers import services as advertisers
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

# The campaign page's counters, also polled by the preview while the ad plays.
COUNTS = ("impressions", "starts", "first_quartiles", "midpoints", "third_quartiles", "completes", "clicks")


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
        statuses=STATUSES,
        transitions=campaigns.allowed_transitions,
    )


@bp.route("/campaigns/new", methods=["GET", "POST"])
def campaign_new():
    if request.method == "GET":
        return _form(None, {}, {})
    try:
        data = load_campaign_form(request.form)
        campaign = campaigns.create_campaign(get_session(), data, current_app.config["DEFAULT_CPM"])
    except Invalid as exc:
        return _form_page(None, exc.details, 400)
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
        return _form_page(campaign, exc.details, 400)
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
    """The campaign form; its advertiser is chosen among every advertiser, by name."""
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
    )


def _form_page(campaign, errors: dict, status: int):
    return _form(campaign, request.form, errors), status


@bp.post("/campaigns/<uuid:campaign_id>/status")
def campaign_status(campaign_id: uuid.UUID):
    try:
        wanted = load_form(StatusChangeSchema(), request.form, "Invalid status")["status"]
        campaign = campaigns.change_status(get_session(), campaign_id, wanted)
    except (Invalid, Conflict) as exc:
        flash(refusal(exc), "error")
    else:
        flash(f"“{campaign.name}” is now {campaign.status}.", "success")
    default = url_for("admin.campaign_detail", campaign_id=campaign_id)
    return redirect(local_page(request.form.get("next"), default), 303)


@bp.route("/campaigns/<uuid:campaign_id>/delete", methods=["GET", "POST"])
def campaign_delete(campaign_id: uuid.UUID):
    db = get_session()
    campaign = campaigns.get_campaign(db, campaign_id)
    return delete_after_confirmation(
        title=f"Delete “{campaign.name}”?",
        consequence="The campaign, its creatives and their video files are deleted. Its counted impressions "
        "and events go too. This cannot be undone.",
        button="Delete campaign",
        cancel=url_for("admin.campaign_detail", campaign_id=campaign_id),
        delete=lambda: campaigns.delete_campaign(db, storage(), campaign_id),
        deleted=f"Campaign “{campaign.name}” deleted.",
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
    flight = reporting.campaign_stats(db, campaign_id, start=None, end=None, granularity="day", now=now)
    last_day = reporting.campaign_stats(
        db, campaign_id, start=now - timedelta(hours=23), end=now, granularity="hour", now=now
    )
    listed = [present(creative) for creative in creatives.list_creatives(db, campaign_id)]
    page = render_template(
        "admin/campaigns/detail.html",
        campaign=campaign,
        transitions=campaigns.allowed_transitions(campaign),
        targeting=targeting_form.describe(campaign.targeting, campaign.time_zone),
        accepts_changes=campaigns.accepts_changes(campaign),
        stats=flight,
        pacing=reporting.pacing(db, campaign_id, now=now),
        charts={
            "hours": charts.campaign_hours(last_day["series"]),
            "funnel": charts.quartile_funnel(flight),
            "spend": charts.spend_against_budget(
                reporting.spend_curve(db, campaign_id, now=now), campaign.budget_total
            ),
        },
        creatives=listed,
        delivery=campaign_delivery(campaign.id),
        uploaded=request.args.get("uploaded"),
        upload_errors=upload_errors or {},
        upload_values=upload_values or {},
        vast_base=f"{base_url(runtime())}/vast",
    )
    return page, status


@bp.get("/campaigns/<uuid:campaign_id>/counts")
def campaign_counts(campaign_id: uuid.UUID):
    """The campaign's counters as JSON, for pages that watch them change."""
    stats = reporting.campaign_stats(get_session(), campaign_id, start=None, end=None, granularity="day")
    return jsonify({name: stats[name] for name in COUNTS} | {"spend": stats["spend_to_date"]})
