"""The one rule for admin API access: a valid, unrevoked, unexpired bearer token."""

from __future__ import annotations

import functools

from flask import g, request
from werkzeug.exceptions import Unauthorized

from app.audit.services import act_as
from app.auth import services
from app.db import get_session

BEARER_SCHEME = {"type": "http", "scheme": "bearer", "description": "Token from POST /api/v1/auth/login"}


def require_admin() -> None:
    """Blueprint `before_request` hook; also used by `admin_required`."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("Missing bearer token")
    found = services.user_for_token(get_session(), token.strip())
    if found is None:
        raise _unauthorized("Invalid, expired or revoked token")
    g.admin, g.auth_token = found
    act_as(get_session(), g.admin)  # what this request changes is logged as this admin's


def admin_required(view):
    @functools.wraps(view)
    def guarded(*args, **kwargs):
        require_admin()
        return view(*args, **kwargs)

    return guarded


def _unauthorized(message: str) -> Unauthorized:
    error = Unauthorized(message)
    error.data = {"message": message, "headers": {"WWW-Authenticate": 'Bearer realm="admin"'}}
    return error
