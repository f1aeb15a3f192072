"""The admin web console: server-rendered pages under /admin, on the same services as the JSON API.

A page session (a signed cookie) is not an API token, and a bearer token opens no page.
"""

from flask import Flask, redirect, url_for

from app.admin import (  # noqa: F401 (their routes join bp)
    advertisers,
    auth,
    campaigns,
    creatives,
    dashboard,
    delivery,
    preview,
    reports,
    supply_tags,
)
from app.admin.blueprint import bp, csrf, not_found_anywhere
from app.admin.session import PageSessionInterface


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.session_interface = PageSessionInterface()
    app.register_blueprint(bp)
    app.register_error_handler(404, not_found_anywhere)
    app.add_url_rule("/", "home", lambda: redirect(url_for("admin.dashboard")))  # the console is the home
