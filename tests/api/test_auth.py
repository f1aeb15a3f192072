import json
import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.auth import services
from app.auth.attempts import email_fingerprint
from app.auth.models import AuthToken
from app.db import utcnow
from app.logs import JsonFormatter
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD


def login(client, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, **kwargs):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password}, **kwargs)


def test_login_returns_a_token_that_opens_the_profile(client):
    response = login(client)
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"token", "expires_at"}
    profile = client.get("/api/v1/auth/profile", headers={"Authorization": f"Bearer {body['token']}"})
    assert profile.status_code == 200
    assert profile.get_json()["email"] == ADMIN_EMAIL
    assert profile.get_json()["token_expires_at"] == body["expires_at"]


def test_login_email_is_case_insensitive(client):
    assert login(client, email=ADMIN_EMAIL.upper()).status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_401(client):
    wrong = login(client, password="not the password")
    unknown = login(client, email="nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json() == {"error": "Wrong email or password"}


def test_login_validates_its_body(client):
    response = client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL})
    assert response.status_code == 400
    assert response.get_json()["details"] == {"password": "Missing data for required field."}
    assert client.post("/api/v1/auth/login", data="email=x", content_type="text/plain").status_code == 415


def test_failed_logins_are_rate_limited_per_client_ip(client):
    other_ip = {"REMOTE_ADDR": "10.9.9.9"}
    for _ in range(5):
        assert login(client, password="wrong").status_code == 401
    limited = login(client, password="wrong")
    assert limited.status_code == 429
    assert "error" in limited.get_json()
    # Even the right password waits out the limit from this address; another address is unaffected.
    assert login(client).status_code == 429
    assert login(client, environ_base=other_ip).status_code == 200


def test_successful_logins_do_not_count_toward_the_limit(client):
    for _ in range(8):
        assert login(client).status_code == 200


def test_logout_revokes_the_token(client, auth):
    assert client.post("/api/v1/auth/logout", headers=auth).status_code == 204
    after = client.get("/api/v1/auth/profile", headers=auth)
    assert after.status_code == 401
    assert after.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post("/api/v1/auth/logout", headers=auth).status_code == 401


def test_expired_token_is_refused(client, session, admin_token, auth):
    session.execute(sa.update(AuthToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert client.get("/api/v1/auth/profile", headers=auth).status_code == 401


def test_missing_or_malformed_authorization_is_refused(client, admin_token):
    for header in (None, "Bearer", "Bearer ", f"Basic {admin_token}", "Bearer not-a-token", admin_token):
        headers = {"Authorization": header} if header is not None else {}
        response = client.get("/api/v1/auth/profile", headers=headers)
        assert response.status_code == 401, header
        assert response.get_json()["error"]


def test_tokens_are_stored_only_as_digests(client, session):
    token = login(client).get_json()["token"]
    stored = session.scalars(sa.select(AuthToken.token_hash)).all()
    assert token not in stored
    assert all(len(value) == 64 for value in stored)


def test_resetting_the_admin_password_revokes_its_tokens(client, session, auth):
    services.set_admin(session, ADMIN_EMAIL, "a brand new password")
    assert client.get("/api/v1/auth/profile", headers=auth).status_code == 401
    assert login(client).status_code == 401
    assert login(client, password="a brand new password").status_code == 200


SECRET_PASSWORD = "Tr0ub4dor&3-never-logged"


def _login_lines(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "app.auth.attempts"]


def test_failed_logins_and_the_lockout_are_logged_without_the_password(app, client, caplog):
    caplog.set_level(logging.INFO, logger="app.auth.attempts")
    address = {"REMOTE_ADDR": "203.0.113.7"}
    for _ in range(5):
        assert login(client, password=SECRET_PASSWORD, environ_base=address).status_code == 401
    assert (
        login(client, email="Someone@Example.org", password=SECRET_PASSWORD, environ_base=address).status_code
        == 429
    )
    records = _login_lines(caplog)
    assert [record.event for record in records] == ["login_failed"] * 5 + [
        "login_locked_out",
        "login_refused",
    ]
    assert [record.levelname for record in records] == ["WARNING"] * 6 + ["INFO"]
    with app.app_context():
        admin, other = email_fingerprint(ADMIN_EMAIL), email_fingerprint("someone@example.org")
    for record in records:
        assert (record.channel, record.client) == ("api", "203.0.113.7")
        line = JsonFormatter().format(record)
        assert json.loads(line)["event"] == record.event
        # The address is truncated in the log line (app.logs): its /24, never the address itself.
        assert "203.0.113.0/24" in line and "203.0.113.7" not in line and record.email_fingerprint in line
    assert [record.email_fingerprint for record in records] == [admin] * 6 + [other]
    assert [record.admin_email for record in records] == [True] * 6 + [False]
    everything = caplog.text + "".join(JsonFormatter().format(record) for record in caplog.records)
    everything += "".join(repr(vars(record)) for record in caplog.records)
    assert SECRET_PASSWORD not in everything
    assert ADMIN_EMAIL not in everything and "someone@example.org" not in everything.lower()


def test_a_password_typed_as_the_email_is_not_logged(client, caplog):
    caplog.set_level(logging.INFO, logger="app.auth.attempts")
    assert login(client, email=SECRET_PASSWORD, password="x").status_code == 401
    (record,) = _login_lines(caplog)
    assert record.event == "login_failed" and record.admin_email is False
    assert SECRET_PASSWORD not in caplog.text + JsonFormatter().format(record) + repr(vars(record))


def test_a_successful_login_logs_no_failure(client, caplog):
    caplog.set_level(logging.INFO, logger="app.auth.attempts")
    assert login(client).status_code == 200
    assert _login_lines(caplog) == []


@pytest.mark.parametrize("email", ["a\x00@example.com", "\uda4f\udec7@example.com", "tab\t@example.com"])
def test_an_unprintable_email_is_a_failed_login_not_an_error(client, email):
    response = client.post("/api/v1/auth/login", json={"email": email, "password": "whatever"})
    assert response.status_code == 401
