"""The admin web console: server-rendered pages under /admin, on the same services as the JSON API.

A page session (a signed cookie) is not an API token, and a bearer token opens no page.
"""

from flask import Flask

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
from app.admin.blueprint import bp, csrf
from app.admin.session import PageSessionInterface


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.session_interface = PageSessionInterface()
    app.register_blueprint(bp)
