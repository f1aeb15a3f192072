from flask import current_app, g
from werkzeug.exceptions import Unauthorized

from app.auth import attempts, services
from app.auth.guard import admin_required
from app.auth.schemas import LoginSchema, ProfileSchema, TokenSchema
from app.db import get_session
from app.errors import ErrorSchema
from app.web import Blueprint, json_body

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Admin login and API tokens")


@blp.post("/login")
@json_body(blp, LoginSchema)
@blp.response(200, TokenSchema)
@blp.alt_response(401, schema=ErrorSchema, description="Wrong email or password")
@blp.alt_response(429, schema=ErrorSchema, description="Too many failed logins from this address")
@blp.doc(security=[])
def login(credentials):
    """Exchange the admin's email and password for a bearer token."""
    session = get_session()
    user = attempts.log_in(session, credentials["email"], credentials["password"], attempts.API)
    if user is None:
        raise Unauthorized("Wrong email or password")
    token, expires_at = services.issue_token(session, user, current_app.config["TOKEN_TTL_SECONDS"])
    return {"token": token, "expires_at": expires_at}


@blp.post("/logout")
@admin_required
@blp.response(204)
@blp.alt_response(401, schema=ErrorSchema, description="Missing, invalid, expired or revoked token")
def logout():
    """Revoke the token that authenticates this request."""
    services.revoke(get_session(), g.auth_token)


@blp.get("/profile")
@admin_required
@blp.response(200, ProfileSchema)
@blp.alt_response(401, schema=ErrorSchema, description="Missing, invalid, expired or revoked token")
def profile():
    """The admin this token belongs to."""
    admin = g.admin
    return {
        "id": admin.id,
        "email": admin.email,
        "created_at": admin.created_at,
        "token_expires_at": g.auth_token.expires_at,
    }
