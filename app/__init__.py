"""The ad server's application factory. It only wires: no connection, migration or env read at import.

Two roles (APP_ROLE): `serving` registers what players and the platform call (/vast, /vmap, /t/*, the SDK
routes, /media, /metrics and the probes) and imports nothing else; `all` (the default, `make run`) adds the
admin side (app.admin_side: JSON API, console, CLI, transcoder), whose libraries serving never loads.
"""

from __future__ import annotations

from inspect import CO_NESTED, iscoroutinefunction
from types import FunctionType

from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from flask.sessions import SessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from app import errors, logs, metrics, security
from app.creatives.local_media import MEDIA_RULE, serve_local_media
from app.creatives.storage import make_storage
from app.db import Database
from app.db import init_app as init_database
from app.errors import Api
from app.health import bp as health_bp
from app.runtime import Runtime
from app.runtime import init_app as init_runtime
from app.runtime import redis_client as redis_client_of
from app.serving import cors, rate_limit
from app.serving.views import bp as serving_bp
from app.serving.views import sdk as sdk_blp
from app.serving.vmap_views import bp as vmap_bp
from app.settings import PROJECT_ROOT, Settings
from app.tracking.views import bp as tracking_bp
from app.web import schema_name

JSON_BODY_LIMIT = 1024 * 1024  # uploads raise their own limit (MAX_UPLOAD_BYTES)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    logs.configure_logging(settings.log_level)

    app = AdServer(__name__, template_folder=str(PROJECT_ROOT / "templates"), static_folder=None)
    app.config.update(_flask_config(settings))
    app.session_interface = NoSessions()  # the admin side puts the console's in its place

    database = Database(settings.database_url)
    init_database(app, database)
    storage = app.extensions["storage"] = make_storage(settings)
    redis_client = redis_client_of(settings)
    if redis_client is not None:
        app.extensions["redis"] = redis_client
    init_runtime(app, Runtime(settings, database, storage, redis_client))

    logs.init_app(app)
    metrics.init_app(app)
    security.init_app(app)
    cors.init_app(app)
    errors.init_app(app)
    rate_limit.init_app(app, settings.sdk_rate_limit)
    if settings.trusted_proxy_count:  # outermost: every other part sees the client as the proxies report it
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_count, x_proto=1, x_host=1)

    app.register_blueprint(health_bp)
    app.register_blueprint(serving_bp)
    app.register_blueprint(vmap_bp)
    app.register_blueprint(tracking_bp)
    app.add_url_rule(MEDIA_RULE, "media", serve_local_media)
    api = app.extensions["api"] = Api(
        app,
        spec_kwargs={
            "security": [{"bearerAuth": []}],
            "marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name),
        },
    )
    if settings.app_role == "all":
        # Imported here only: the admin side brings PyAV, NumPy, boto3, rq, argon2 and Alembic.
        from app import admin_side

        admin_side.init_app(app, api)
    api.register_blueprint(sdk_blp)
    return app


class AdServer(Flask):
    """Flask, checking each hook and view for `async def` once instead of on every request (Flask.ensure_sync
    runs `inspect.iscoroutinefunction` for each of them, ten a request on the player paths). Only functions
    defined at the top of a module or class are remembered: a nested one may be made per request
    (`after_this_request`), and the set would only grow."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._synchronous: set[FunctionType] = set()

    def ensure_sync(self, func):
        if func in self._synchronous:
            return func
        # Never a bound method either: class-based views make one per request.
        if (
            type(func) is FunctionType
            and not func.__code__.co_flags & CO_NESTED
            and not iscoroutinefunction(func)
        ):
            self._synchronous.add(func)
            return func
        return super().ensure_sync(func)


class NoSessions(SessionInterface):
    """No page session: players, SDKs and the API never have one, and a request spends nothing on cookies
    or their signing key (Flask's default session would, on every beacon). The console's page session is
    app.admin.session's."""

    def open_session(self, app, request):
        return self.null_session_class()

    def save_session(self, app, session, response) -> None:
        """A null session is never saved."""


def _flask_config(settings: Settings) -> dict:
    return {
        "SETTINGS": settings,
        "SECRET_KEY": settings.secret_key,
        "MAX_CONTENT_LENGTH": JSON_BODY_LIMIT,
        "MAX_UPLOAD_BYTES": settings.max_upload_bytes,
        "MAX_CREATIVE_SECONDS": settings.max_creative_seconds,
        "TOKEN_TTL_SECONDS": settings.token_ttl_seconds,
        "DEFAULT_CPM": settings.default_cpm,
        # The admin console's page session: only under /admin, never readable by scripts, and marked
        # Secure per request when served over HTTPS (app.admin.session).
        "SESSION_COOKIE_NAME": "admin_session",
        "SESSION_COOKIE_PATH": "/admin",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "PERMANENT_SESSION_LIFETIME": settings.token_ttl_seconds,
        "WTF_CSRF_CHECK_DEFAULT": False,  # the console checks its own forms; the API takes bearer tokens
        "WTF_CSRF_TIME_LIMIT": None,  # a form's token lasts as long as the page session
        "API_TITLE": "CTV ad server",
        "API_VERSION": "1.0",
        "OPENAPI_VERSION": "3.0.3",
        # The API's document is the admin side's (/api/v1/openapi.json), with the SDK routes in it.
        "OPENAPI_URL_PREFIX": "/api/v1" if settings.app_role == "all" else None,
        "OPENAPI_JSON_PATH": "openapi.json",
        "JSON_SORT_KEYS": False,
    }
