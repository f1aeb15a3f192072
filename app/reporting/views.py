import uuid

from flask import Response, current_app

from app.auth.guard import require_admin
from app.db import get_session
from app.errors import ErrorSchema
from app.reporting import services
from app.reporting.money import money_text
from app.reporting.reports import FILTERS, ReportQuery, csv_lines, report
from app.reporting.schemas import (
    CampaignStatsSchema,
    DashboardSchema,
    PacingLineSchema,
    ReportQuerySchema,
    ReportSchema,
    StatsQuerySchema,
)
from app.runtime import runtime
from app.web import Blueprint

blp = Blueprint("reporting", __name__, url_prefix="/api/v1", description="Campaign stats and the dashboard")
blp.before_request(require_admin)


def _currency() -> dict:
    return {"currency": current_app.config["SETTINGS"].account_currency}


def _freshness(campaign_ids: list[uuid.UUID] | None = None) -> dict:
    rt = runtime()
    try:
        pending = rt.store.pending()
        live = sum(rt.store.spend(campaign_ids).values()) if campaign_ids is not None else None
    except Exception:  # the event store being down must not hide the stored figures
        pending, live = -1, None
    return {"pending_events": pending, "live_spend": money_text(live) if live is not None else None}


@blp.get("/campaigns/<uuid:campaign_id>/stats")
@blp.arguments(StatsQuerySchema, location="query")
@blp.response(200, CampaignStatsSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such campaign")
def campaign_stats(query, campaign_id: uuid.UUID):
    """Counts, rates, spend, pacing and the time series of a campaign. Figures come from the database,
    which the flusher fills within seconds; `freshness` says what is still on its way."""
    stats = services.campaign_stats(
        get_session(),
        campaign_id,
        start=query.get("from_"),
        end=query.get("to"),
        granularity=query["granularity"],
    )
    return stats | _currency() | {"freshness": _freshness([campaign_id])}


@blp.get("/campaigns/<uuid:campaign_id>/pacing")
@blp.response(200, PacingLineSchema)
@blp.alt_response(404, schema=ErrorSchema, description="No such campaign")
def campaign_pacing(campaign_id: uuid.UUID):
    """Delivered vs expected to date along the pacing line (impressions and money), and the projected end."""
    return services.pacing(get_session(), campaign_id) | _currency()


@blp.get("/dashboard")
@blp.response(200, DashboardSchema)
def dashboard():
    """Totals, campaigns by status, top campaigns, and the last 24 hours with requests and fill rate."""
    return services.dashboard(get_session()) | _currency() | {"freshness": _freshness()}


def run_report(query: ReportQuery) -> dict:
    """The report in the account's time zone and currency (app.reporting.reports)."""
    settings = current_app.config["SETTINGS"]
    return report(get_session(), query, settings.time_zone, settings.account_currency)


def csv_response(result: dict) -> Response:
    """The report's rows as CSV, written row by row as the client reads them."""
    name = f"report-{result['start']}-{result['end']}-{result['granularity']}.csv"
    return Response(
        csv_lines(result),  # from rows already read: the database is not held while the client reads
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


def _query(args: dict) -> ReportQuery:
    return ReportQuery(
        start=args["start"],
        end=args["end"],
        granularity=args["granularity"],
        group_by=tuple(args["group_by"]),
        filters=tuple((name, args[name]) for name in FILTERS if args.get(name) is not None),
    )


@blp.get("/reports")
@blp.arguments(ReportQuerySchema, location="query")
@blp.response(200, ReportSchema)
@blp.alt_response(400, schema=ErrorSchema, description="A field is invalid; `details` names it")
def reports(args):
    """Counts, rates, spend and errors by IAB code over local days `start`..`end` (ACCOUNT_TIME_ZONE), by
    hour or day and by any of campaign, creative, advertiser. `format=csv` gives the very rows as CSV
    (as does /reports.csv). README "Reports" says how UTC hours map to local ones."""
    result = run_report(_query(args))
    return csv_response(result) if args["format"] == "csv" else result


@blp.get("/reports.csv")
@blp.arguments(ReportQuerySchema, location="query")
@blp.response(200, description="text/csv: the rows of GET /reports, one column per error code")
@blp.alt_response(400, schema=ErrorSchema, description="A field is invalid; `details` names it")
def reports_csv(args):
    """The rows of GET /reports as CSV."""
    return csv_response(run_report(_query(args)))
