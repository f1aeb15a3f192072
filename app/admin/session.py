"""The admin's page session: a signed cookie carrying a console session token, which is kept server-side
beside the API tokens (`auth_tokens`, kind `console`) and checked on every console request. Logging out
revokes every console session of the admin; resetting the password (create-admin) revokes them all, with
every API token. A cookie copied before either opens nothing afterwards."""

from __future__ import annotations

from flask import current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy.orm import Session

from app.auth import services
from app.auth.models import CONSOLE_KIND, User

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


def sign_in(db: Session, user: User) -> None:
    previous = _session_token()
    if previous is not None:  # the session this browser had before is over, whoever it belonged to
        found = services.user_for_token(db, previous, kind=CONSOLE_KIND)
        if found is not None:
            services.revoke(db, found[1])
    lifetime = int(current_app.permanent_session_lifetime.total_seconds())
    token, _ = services.issue_token(db, user, lifetime, kind=CONSOLE_KIND)
    session.clear()  # a fresh session (and CSRF token) at login: nothing carries over from before
    session.permanent = True  # the cookie expires with the server-side session
    session[SESSION_KEY] = {"token": token}


def sign_out(db: Session, user: User | None) -> None:
    """End every console session of `user`, this one and any other browser's, on the server."""
    if user is not None:
        services.revoke_all(db, user, kind=CONSOLE_KIND)
        db.commit()
    session.clear()


def signed_in_admin(db: Session) -> User | None:
    token = _session_token()
    if token is None:
        return None
    found = services.user_for_token(db, token, kind=CONSOLE_KIND)
    return found[0] if found else None


def _session_token() -> str | None:
    signed = session.get(SESSION_KEY)
    # A cookie signed before sessions were kept server-side (no token) is no session at all.
    token = signed.get("token") if isinstance(signed, dict) else None
    return token if isinstance(token, str) and token else None
