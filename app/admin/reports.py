"""The Reports page: the report of GET /api/v1/reports as a table, over a GET form (a report is a link one
can share), and the same rows as CSV."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import current_app, redirect, render_template, request, url_for

from app.admin.blueprint import bp
from app.exceptions import Invalid
from app.reporting.reports import DIMENSIONS, ReportQuery, check
from app.reporting.views import csv_response, run_report

DEFAULT_DAYS = 7  # the week to today, when the form gives no range


@bp.get("/reports")
def reports():
    values, errors, query = _read(request.args)
    result = run_report(query) if query is not None else None
    codes = {code for row in result["rows"] for code in row["errors_by_code"]} if result else set()
    return render_template(
        "admin/reports.html",
        values=values,
        errors=errors,
        result=result,
        dimensions=list(DIMENSIONS),
        csv_url=url_for("admin.reports_csv", **_link_args(values)) if result is not None else None,
        error_codes=sorted(codes),
    )


@bp.get("/reports.csv")
def reports_csv():
    values, _, query = _read(request.args)
    if query is None:  # a hand-made link: the page shows what is wrong with it
        return redirect(url_for("admin.reports", **_link_args(values)), 303)
    return csv_response(run_report(query))


def _today() -> date:
    return datetime.now(current_app.config["SETTINGS"].time_zone).date()


def _read(args) -> tuple[dict, dict[str, str], ReportQuery | None]:
    """The form's values (as typed, to show back), every error at once by field, and the query if none."""
    today = _today()
    values = {
        "start": args.get("start", (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()).strip(),
        "end": args.get("end", today.isoformat()).strip(),
        "granularity": args.get("granularity") or "day",
        "group_by": [name for name in args.getlist("group_by") if name],
    }
    errors = {}
    days = {}
    for name in ("start", "end"):
        try:
            days[name] = date.fromisoformat(values[name])
        except ValueError:
            errors[name] = "Not a date: use YYYY-MM-DD."
    query = ReportQuery(
        start=days.get("start", today),
        end=days.get("end", days.get("start", today)),
        granularity=values["granularity"],
        group_by=tuple(values["group_by"]),
    )
    try:
        check(query)
    except Invalid as error:
        errors = error.details | errors  # a date that could not be read is the first thing to fix
    return values, errors, None if errors else query


def _link_args(values: dict) -> dict:
    return {
        "start": values["start"],
        "end": values["end"],
        "granularity": values["granularity"],
        "group_by": values["group_by"],
    }
