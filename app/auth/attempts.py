"""A login attempt, the same on the API and the console: refused while the client's address is locked out,
checked against the admin's password, and a failure counted. Failures and lockouts are logged with the
client's address and a fingerprint of the email tried: never the password, nor the email itself (people
type their password into the email field)."""

from __future__ import annotations

import hashlib
import hmac
import logging

from flask import current_app
from sqlalchemy.orm import Session
from werkzeug.exceptions import TooManyRequests

from app.auth import services
from app.auth.models import User
from app.auth.throttle import client_address, login_throttle

log = logging.getLogger(__name__)

API = "api"
CONSOLE = "console"


def log_in(db: Session, email: str, password: str, channel: str) -> User | None:
    """The admin, or None for a wrong email or password; raises 429 while this address is locked out."""
    throttle = login_throttle()
    client = client_address()
    try:
        throttle.check(client)
    except TooManyRequests:
        _log(logging.INFO, "login_refused", _Attempt(db, email, channel, client))
        raise
    user = services.authenticate(db, email, password)
    if user is None:
        throttle.failed(client)
        tried = _Attempt(db, email, channel, client)
        _log(logging.WARNING, "login_failed", tried)
        if throttle.locked(client):
            _log(logging.WARNING, "login_locked_out", tried)
    return user


def email_fingerprint(email: str) -> str:
    """What the logs show of an email: HMAC-SHA256 of the normalised address under SECRET_KEY, 16 hex
    digits. Compare with `flask shell`: `from app.auth.attempts import email_fingerprint`."""
    normalised = services.normalize_email(email).encode("utf-8", "surrogatepass")
    return hmac.new(current_app.secret_key.encode(), normalised, hashlib.sha256).hexdigest()[:16]


class _Attempt:
    """What a log line may tell of an attempt: never the password, nor the email as typed."""

    def __init__(self, db: Session, email: str, channel: str, client: str):
        self.channel = channel
        self.client = client
        self.email_fingerprint = email_fingerprint(email)
        self.admin_email = services.is_admin_email(db, email)


_WHAT = {
    "login_failed": "login failed",
    "login_locked_out": "address locked out after too many failed logins",
    "login_refused": "login refused, address locked out",
}


def _log(level: int, event: str, tried: _Attempt) -> None:
    # The fields in the message too: the JSON lines carry `event` beside it, not (yet) the other extras.
    log.log(
        level,
        "%s: channel=%s client=%s email_fingerprint=%s admin_email=%s",
        _WHAT[event],
        tried.channel,
        tried.client,
        tried.email_fingerprint,
        "yes" if tried.admin_email else "no",
        extra={"event": event, **vars(tried)},
    )
