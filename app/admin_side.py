"""The admin side of the app (APP_ROLE=all): the JSON API, the console, the CLI, the audit log, the login
throttle and the transcoder. Serving workers (APP_ROLE=serving) never import this module, nor the media
(PyAV, NumPy), S3 (boto3), job queue (rq), password (argon2) and migration (Alembic) libraries it brings.
"""

from __future__ import annotations

import redis
from flask import Flask

from app import admin, cli
from app.advertisers.views import blp as advertisers_blp
from app.audit import services as audit
from app.audit.views import blp as audit_blp
from app.auth import throttle
from app.auth.guard import BEARER_SCHEME
from app.auth.views import blp as auth_blp
from app.campaigns.views import blp as campaigns_blp
from app.creatives.jobs import make_transcoder
from app.creatives.views import blp as creatives_blp
from app.errors import Api
from app.reporting.views import blp as reporting_blp
from app.runtime import REDIS_OPTIONS
from app.serving.diagnosis_views import blp as delivery_blp
from app.supply.views import blp as supply_tags_blp
from app.tracking.dead_letter_views import blp as dead_letters_blp

API_BLUEPRINTS = (
    auth_blp,
    advertisers_blp,
    campaigns_blp,
    creatives_blp,
    supply_tags_blp,
    reporting_blp,
    delivery_blp,
    dead_letters_blp,
    audit_blp,
)


def init_app(app: Flask, api: Api) -> None:
    settings = app.config["SETTINGS"]
    runtime = app.extensions["runtime"]
    jobs_redis = app.extensions.get("redis")
    if settings.jobs_redis_url:  # rq needs a Redis without cluster mode (REDIS_CLUSTER=1)
        jobs_redis = redis.Redis.from_url(settings.jobs_redis_url, **REDIS_OPTIONS)
    runtime.transcoder = make_transcoder(
        runtime.sessions, runtime.storage, jobs_redis, settings.redis_key_prefix
    )
    audit.install()
    throttle.init_app(app, settings)
    cli.init_app(app)
    admin.init_app(app)
    api.spec.components.security_scheme("bearerAuth", BEARER_SCHEME)
    for blueprint in API_BLUEPRINTS:
        api.register_blueprint(blueprint)
