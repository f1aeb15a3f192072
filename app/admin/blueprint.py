"""The console's blueprint and what every page shares: the login guard, CSRF, headers and error pages."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, g, make_response, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from app.admin import formatting
from app.admin.session import signed_in_admin
from app.audit.services import act_as
from app.creatives.views import storage
from app.db import get_session
from app.errors import error_response
from app.exceptions import ServiceError
from app.runtime import runtime
from app.serving.views import base_url
from app.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    static_folder=str(PROJECT_ROOT / "app" / "static"),
    static_url_path="/static",
)
# Checks only where the console asks (WTF_CSRF_CHECK_DEFAULT is off): the API and the player routes
# authenticate by bearer token or signed beacon, never by cookie.
csrf = CSRFProtect()
formatting.register(bp)

OPEN_ENDPOINTS = frozenset({"admin.login", "admin.static"})


@bp.before_request
def _require_admin_and_csrf():
    if request.endpoint not in OPEN_ENDPOINTS:
        g.admin = signed_in_admin(get_session())
        if g.admin is None:
            wanted = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("admin.login", next=wanted), 303)
        act_as(get_session(), g.admin)  # what this page changes is logged as this admin's
    csrf.protect(apply_exemptions=True)
    return None


@bp.after_request
def _page_headers(response):
    response.headers["Content-Security-Policy"] = content_security_policy()
    if request.endpoint != "admin.static":
        response.headers["Cache-Control"] = "no-store"  # the back button after logout shows nothing
    return response


def content_security_policy() -> str:
    """Scripts, styles and fonts from the app only (no inline script); videos from where creatives are
    stored (local /media or the CDN), and posters from there too; /vast and beacons from the address the VAST
    documents name."""
    own = _origin(request.host_url)
    stored = _origin(storage().url("", request.host_url))
    served = _origin(base_url(runtime()))
    media = _sources(own, stored)
    beacons = _sources(own, served)
    images = _sources(own, stored, served)
    return "; ".join(
        (
            "default-src 'self'",
            f"media-src {media}",
            f"img-src {images} data:",
            f"connect-src {beacons}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _sources(own: str, *others: str) -> str:
    """'self' and every other origin, once each."""
    return " ".join(["'self'", *sorted({other for other in others if other != own})])


@bp.errorhandler(429)
def _too_many_logins(_error):
    message = "Too many failed logins from this address. Wait a minute, then try again."
    return render_template("admin/login.html", error=message, email=""), 429


@bp.errorhandler(Exception)
def _error_page(error: Exception):
    if isinstance(error, ServiceError):
        status, message = error.status, error.message
    elif isinstance(error, CSRFError):
        status, message = 400, f"{error.description} Reload the form, then send it again."
    elif isinstance(error, HTTPException):
        status, message = error.code or 500, error.description
    else:
        log.exception("unhandled error on %s %s", request.method, request.path)
        status, message = 500, "Something went wrong on the server. The error has been logged."
    return render_template("admin/error.html", status=status, message=message), status


NOT_FOUND = "No console page has this address. Check it, or go back to the dashboard."


def not_found_anywhere(error: HTTPException):
    """An address no route has (app-wide): the console's page under /admin (with its menu for a signed-in
    admin), the API's JSON everywhere else."""
    if request.path != bp.url_prefix and not request.path.startswith(f"{bp.url_prefix}/"):
        return error_response(error)
    g.admin = signed_in_admin(get_session())
    response = make_response(render_template("admin/error.html", status=404, message=NOT_FOUND), 404)
    return _page_headers(response)
