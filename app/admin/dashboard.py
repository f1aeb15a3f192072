"""The dashboard: today's and all-time totals, campaigns by status, the last 24 hours, top campaigns."""

from __future__ import annotations

from flask import current_app, render_template

from app.admin import charts
from app.admin.blueprint import bp
from app.db import get_session, utcnow
from app.reporting import services as reporting


@bp.get("/")
def dashboard():
    db = get_session()
    now = utcnow()
    overview = reporting.dashboard(db, now=now)
    today = reporting.totals(db, since=now.replace(hour=0, minute=0, second=0, microsecond=0))
    return render_template(
        "admin/dashboard.html",
        overview=overview,
        today=today,
        hours_chart=charts.dashboard_hours(
            overview["last_24h"]["series"], current_app.config["SETTINGS"].time_zone, now
        ),
    )
