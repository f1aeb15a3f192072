"""The admin's page session: a signed cookie naming the admin, valid while the password is unchanged."""

from __future__ import annotations

import hashlib
import hmac
import uuid

from flask import current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy.orm import Session

from app.auth.models import User

SESSION_KEY = "admin"


class PageSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure whenever the page was served over HTTPS (directly or,
    with TRUSTED_PROXY_COUNT, behind a TLS-terminating proxy)."""

    def get_cookie_secure(self, app) -> bool:
        return request.is_secure or super().get_cookie_secure(app)

    def open_session(self, app, request):
        # Only the console has page sessions: ads, beacons and the API skip the cookie work entirely.
        if not request.path.startswith(app.config["SESSION_COOKIE_PATH"]):
            return self.null_session_class()
        return super().open_session(app, request)


def sign_in(user: User) -> None:
    session.clear()  # a fresh session (and CSRF token) at login: nothing carries over from before
    session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME
    session[SESSION_KEY] = {"id": str(user.id), "key": _password_key(user)}


def sign_out() -> None:
    session.clear()


def signed_in_admin(db: Session) -> User | None:
    signed = session.get(SESSION_KEY)
    if not signed:
        return None
    user = db.get(User, uuid.UUID(signed["id"]))
    if user is None or not hmac.compare_digest(signed["key"], _password_key(user)):
        return None
    return user


def _password_key(user: User) -> str:
    """Changes with the password: resetting it (create-admin) ends every page session, as it revokes every
    API token."""
    secret = current_app.secret_key.encode()
    return hmac.new(secret, user.password_hash.encode(), hashlib.sha256).hexdigest()
