"""Login, logout, the page session cookie, CSRF, and that a page session and an API token never mix."""

import json
import logging
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.advertisers.models import Advertiser
from app.auth import services as auth_services
from app.auth.models import AuthToken
from app.db import utcnow
from app.logs import JsonFormatter
from tests.admin.conftest import csrf_token, log_in
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.factories import AdvertiserFactory, CampaignFactory

OPEN_ENDPOINTS = {"admin.login", "admin.static"}
SAMPLE_ID = "0b8f3a2e-4c1d-4f5e-9a7b-123456789abc"


def test_pages_send_an_anonymous_visitor_to_the_login_page_and_back(client, session):
    response = client.get("/admin/campaigns?status=draft")
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/login?next=/admin/campaigns?status%3Ddraft"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<title>Log in · CTV ad server admin</title>" in page
    assert '<label for="email">Email' in page and '<label for="password">Password' in page
    logged_in = log_in(client, next_page="/admin/campaigns?status=draft")
    assert logged_in.status_code == 303
    assert logged_in.headers["Location"] == "/admin/campaigns?status=draft"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/admin/",
        "//evil.example/admin/",
        "//evil.example",
        "/api/v1/campaigns",
        "/admin/..//evil.example",
        "/admin/%2e%2e//evil.example",
        "/admin\\..\\evil.example",
        "/admin/..\\/evil.example",
        "/\\evil.example/admin/",
    ],
)
def test_login_never_redirects_off_the_console(client, session, target):
    assert log_in(client, next_page=target).headers["Location"] == "/admin/"


def test_a_logged_in_admin_visiting_the_login_page_goes_on(client, session):
    log_in(client)
    response = client.get("/admin/login?next=/admin/campaigns")
    assert (response.status_code, response.headers["Location"]) == (303, "/admin/campaigns")


def test_wrong_password_and_unknown_email_show_the_same_error(client, session):
    for email, password in ((ADMIN_EMAIL, "not the password"), ("nobody@example.com", ADMIN_PASSWORD)):
        response = log_in(client, email=email, password=password)
        assert response.status_code == 401
        page = response.get_data(as_text=True)
        assert '<p class="notice error" role="alert">Wrong email or password.</p>' in page
        assert f'value="{email}"' in page  # the email is kept, never the password
    assert client.get("/admin/").status_code == 303


def test_login_fields_are_validated_with_the_apis_messages(client, session):
    response = log_in(client, email="")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert '<p class="error" id="email-error">Required.</p>' in page
    assert 'aria-describedby="email-error"' in page and 'aria-invalid="true"' in page


def test_failed_logins_are_rate_limited_per_address(client, session):
    for _ in range(5):
        assert log_in(client, password="wrong password").status_code == 401
    limited = log_in(client)
    assert limited.status_code == 429
    assert "Too many failed logins" in limited.get_data(as_text=True)
    assert log_in(client, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 303


def test_failed_console_logins_and_the_lockout_are_logged_without_the_password(client, session, caplog):
    caplog.set_level(logging.INFO, logger="app.auth.attempts")
    secret = "Tr0ub4dor&3-never-logged"
    address = {"REMOTE_ADDR": "198.51.100.4"}
    for _ in range(5):
        assert log_in(client, password=secret, environ_base=address).status_code == 401
    assert log_in(client, password=secret, environ_base=address).status_code == 429
    records = [record for record in caplog.records if record.name == "app.auth.attempts"]
    assert [record.event for record in records] == ["login_failed"] * 5 + [
        "login_locked_out",
        "login_refused",
    ]
    for record in records:
        assert (record.channel, record.client, record.admin_email) == ("console", "198.51.100.4", True)
        line = JsonFormatter().format(record)
        fields = f"client=198.51.100.0/24 email_fingerprint={record.email_fingerprint} admin_email=yes"
        assert json.loads(line)["message"].endswith(f"channel=console {fields}")
        assert "198.51.100.4" not in line  # truncated in the log line (app.logs)
    logged = caplog.text + "".join(JsonFormatter().format(r) + repr(vars(r)) for r in caplog.records)
    assert secret not in logged and ADMIN_EMAIL not in logged


def test_the_session_cookie_is_httponly_lax_and_only_for_the_console(client, session):
    cookie = log_in(client).headers["Set-Cookie"]
    assert cookie.startswith("admin_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/admin" in cookie
    assert "Secure" not in cookie


def test_the_session_cookie_is_secure_over_https(client, session):
    token = csrf_token(client, "https://localhost/admin/login")
    response = client.post(
        "https://localhost/admin/login",
        data={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token},
        headers={"Referer": "https://localhost/admin/login"},  # CSRF over HTTPS also checks the referrer
    )
    assert response.status_code == 303
    assert "; Secure" in response.headers["Set-Cookie"]


def test_logout_ends_the_session(console):
    response = console.post("/admin/logout")
    assert (response.status_code, response.headers["Location"]) == (303, "/admin/login")
    assert "You are logged out." in console.get("/admin/login").get_data(as_text=True)
    assert console.get("/admin/").status_code == 303


COOKIE = "admin_session"


def _session_cookie(client) -> str:
    return client.get_cookie(COOKIE, path="/admin").value


def _replay(app, cookie: str):
    """A fresh browser presenting a copied cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, cookie, path="/admin")
    return other.get("/admin/")


def _forged(app, value) -> str:
    """A cookie signed with the app's own key (as if SECRET_KEY had leaked) holding `value`."""
    return app.session_interface.get_signing_serializer(app).dumps(value)


def test_a_cookie_copied_before_logout_opens_nothing_after(app, console):
    copied = _session_cookie(console.client)
    assert _replay(app, copied).status_code == 200
    console.post("/admin/logout")
    replayed = _replay(app, copied)
    assert (replayed.status_code, replayed.headers["Location"]) == (303, "/admin/login?next=/admin/")
    console.client.set_cookie(COOKIE, copied, path="/admin")  # the same browser, the cookie put back
    assert console.get("/admin/").status_code == 303
    assert console.get("/admin/login").status_code == 200  # the login page, not a redirect onwards


def test_logout_ends_the_admins_sessions_in_every_browser(app, console):
    other = app.test_client()
    assert log_in(other).status_code == 303
    assert other.get("/admin/").status_code == 200
    console.post("/admin/logout")
    assert other.get("/admin/").status_code == 303
    assert log_in(other).status_code == 303  # a new login after the logout works
    assert other.get("/admin/").status_code == 200


def test_logging_in_again_ends_the_browsers_previous_session(app, client, session):
    log_in(client)
    first = _session_cookie(client)
    again = {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": csrf_token(client, "/admin/")}
    assert client.post("/admin/login", data=again).status_code == 303
    assert _session_cookie(client) != first
    assert _replay(app, first).status_code == 303
    assert client.get("/admin/").status_code == 200


def test_a_console_logout_leaves_api_tokens_alone(console, auth):
    console.post("/admin/logout")
    assert console.client.get("/api/v1/auth/profile", headers=auth).status_code == 200


def test_a_password_reset_ends_every_page_session(app, console, session):
    assert console.get("/admin/").status_code == 200
    copied = _session_cookie(console.client)
    auth_services.set_admin(session, ADMIN_EMAIL, "a brand new password")
    assert console.get("/admin/").status_code == 303
    assert _replay(app, copied).status_code == 303


def test_an_expired_page_session_opens_nothing(console, session):
    session.execute(sa.update(AuthToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert console.get("/admin/").status_code == 303


def test_a_session_token_is_not_a_bearer_token_nor_an_api_token_a_session(app, console, admin_token):
    cookie = _session_cookie(console.client)
    page_token = app.session_interface.get_signing_serializer(app).loads(cookie)["admin"]["token"]
    bearer = {"Authorization": f"Bearer {page_token}"}
    assert console.get("/api/v1/auth/profile", headers=bearer).status_code == 401
    assert _replay(app, _forged(app, {"admin": {"token": admin_token}})).status_code == 303


@pytest.mark.parametrize(
    "value",
    [
        {"admin": {"id": "0b8f3a2e-4c1d-4f5e-9a7b-123456789abc", "key": "0" * 64}},  # the former format
        {"admin": {"token": "not-a-session"}},
        {"admin": {"token": ["a", "list"]}},
        {"admin": "a string"},
    ],
)
def test_a_signed_cookie_without_a_live_session_opens_nothing(app, session, value):
    assert _replay(app, _forged(app, value)).status_code == 303


def test_a_page_session_is_not_an_api_token_and_a_token_opens_no_page(console, client, admin_token):
    assert console.get("/api/v1/campaigns").status_code == 401
    console.post("/admin/logout")
    response = client.get("/admin/", headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code == 303


def test_a_post_without_the_csrf_token_is_refused(console, session):
    campaign = CampaignFactory(status="draft")
    advertiser = AdvertiserFactory(name="Kept")
    for path, data in (
        ("/admin/campaigns/new", {"name": "No token"}),
        ("/admin/advertisers/new", {"name": "No token", "domain": "no-token.example"}),
        (f"/admin/advertisers/{advertiser.id}/edit", {"name": "Changed", "domain": "changed.example"}),
        (f"/admin/advertisers/{advertiser.id}/delete", {}),
        (f"/admin/campaigns/{campaign.id}/status", {"status": "active"}),
        (f"/admin/campaigns/{campaign.id}/delete", {}),
        ("/admin/logout", {}),
    ):
        response = console.client.post(path, data=data)
        assert response.status_code == 400, path
        assert "The CSRF token is missing." in response.get_data(as_text=True)
        forged = console.client.post(path, data={**data, "csrf_token": "forged"})
        assert forged.status_code == 400, path
    session.refresh(campaign)
    assert campaign.status == "draft"
    session.refresh(advertiser)
    assert (advertiser.name, session.scalar(sa.select(sa.func.count()).select_from(Advertiser))) == (
        "Kept",
        1,
    )


def _admin_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")]


def test_every_console_page_needs_the_login(app, client, session):
    guarded = [rule for rule in _admin_rules(app) if rule.endpoint not in OPEN_ENDPOINTS]
    assert len(guarded) >= 13
    for rule in guarded:
        path = rule.rule
        for name in ("campaign_id", "creative_id", "advertiser_id"):
            path = path.replace(f"<uuid:{name}>", SAMPLE_ID)
        path = path.replace("<int:tag_id>", "1")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(path, method=method)
            assert response.status_code == 303, (method, path)
            assert response.headers["Location"].startswith("/admin/login"), (method, path)


def test_pages_carry_a_restrictive_content_security_policy(console):
    response = console.get("/admin/")
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src" not in policy  # scripts: 'self' only, no inline
    assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["Cache-Control"] == "no-store"
    with console.get("/admin/static/admin.css") as stylesheet:
        assert stylesheet.headers.get("Cache-Control") != "no-store"


def test_unknown_records_and_server_errors_get_an_error_page(console, app, monkeypatch):
    missing = console.get(f"/admin/campaigns/{SAMPLE_ID}")
    assert missing.status_code == 404
    assert "Campaign not found" in missing.get_data(as_text=True)
    assert console.get("/admin/campaigns/not-a-uuid").status_code == 404

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("app.reporting.services.dashboard", broken)
    failed = console.get("/admin/")
    assert failed.status_code == 500
    page = failed.get_data(as_text=True)
    assert "Something went wrong on the server" in page and "boom" not in page
