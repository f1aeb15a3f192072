"""Admin accounts, API tokens and console sessions. Both are tokens: random, opaque, stored only as SHA-256,
expiring and revocable, each of its own kind (a console session opens no API route, and an API token no
page)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from app.auth.models import API_KIND, AuthToken, User
from app.db import utcnow
from app.exceptions import Invalid

_hasher = PasswordHasher()
# Verifying against this when the email is unknown keeps the response time the same as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_LENGTH = 8


def normalize_email(email: str) -> str:
    return email.strip().lower()


def set_admin(session: Session, email: str, password: str) -> User:
    """Create the admin, or reset its password; there is a single admin, so another email replaces it."""
    email = normalize_email(email)
    if "@" not in email:
        raise Invalid("Invalid admin", {"email": "Not a valid email address."})
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Invalid("Invalid admin", {"password": f"At least {MIN_PASSWORD_LENGTH} characters."})
    user = session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        session.execute(sa.delete(User))
        user = User(email=email, password_hash=_hasher.hash(password))
        session.add(user)
    else:
        user.password_hash = _hasher.hash(password)
        revoke_all(session, user)
    session.commit()
    return user


def admin_exists(session: Session) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(User)) > 0


def _user_by_email(session: Session, email: str) -> User | None:
    # No address holds a control character or an unpaired surrogate, and PostgreSQL refuses NUL in a query.
    if not email.isprintable():
        return None
    return session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def is_admin_email(session: Session, email: str) -> bool:
    return _user_by_email(session, email) is not None


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = _user_by_email(session, email)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    return user


def issue_token(session: Session, user: User, ttl_seconds: int, kind: str = API_KIND) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(seconds=ttl_seconds)
    session.add(AuthToken(user_id=user.id, token_hash=_digest(token), expires_at=expires_at, kind=kind))
    session.commit()
    return token, expires_at


def user_for_token(session: Session, token: str, kind: str = API_KIND) -> tuple[User, AuthToken] | None:
    row = session.execute(
        sa.select(User, AuthToken)
        .join(AuthToken, AuthToken.user_id == User.id)
        .where(
            AuthToken.token_hash == _digest(token),
            AuthToken.kind == kind,
            AuthToken.revoked_at.is_(None),
            AuthToken.expires_at > utcnow(),
        )
    ).first()
    return (row[0], row[1]) if row else None


def revoke(session: Session, token: AuthToken) -> None:
    token.revoked_at = utcnow()
    session.commit()


def revoke_all(session: Session, user: User, kind: str | None = None) -> None:
    """Revoke every live token of `user` (of one kind when given); the caller commits."""
    live = sa.update(AuthToken).where(AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None))
    if kind is not None:
        live = live.where(AuthToken.kind == kind)
    session.execute(live.values(revoked_at=utcnow()))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
