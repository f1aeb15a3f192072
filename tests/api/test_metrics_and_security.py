import re

import pytest

from app import create_app
from tests.factories import CreativeFactory
from tests.serving_helpers import ad_urls, get_vast, refresh

PUBLIC_API = {"/api/v1/auth/login", "/api/v1/openapi.json", "/api/v1/ad-request", "/api/v1/impression"}


def metric(text: str, name: str, **labels) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{name}\{{(.*)\}} (\S+)$", line)
        if match and all(part in match.group(1) for part in wanted.split(",")):
            total += float(match.group(2))
    return total


def test_metrics_count_requests_decisions_and_beacons(client, app, session):
    CreativeFactory()
    refresh(app)
    before = client.get("/metrics").get_data(as_text=True)
    urls = ad_urls(get_vast(client))
    client.get("/vast?max_duration=5")
    client.get(urls["impression"])
    client.get(urls["impression"])
    client.get(urls["impression"] + "x")
    after = client.get("/metrics")
    assert after.headers["Content-Type"].startswith("text/plain")
    text = after.get_data(as_text=True)

    def grew(name, **labels):
        return metric(text, name, **labels) - metric(before, name, **labels)

    assert grew("adserver_vast_decisions_total", result="fill") == 1
    assert grew("adserver_vast_decisions_total", result="no_fill") == 1
    assert grew("adserver_beacons_total", event="impression", result="counted") == 1
    assert grew("adserver_beacons_total", event="impression", result="duplicate") == 1
    assert grew("adserver_beacons_total", event="impression", result="refused") == 1
    assert grew("adserver_http_requests_total", route="/vast", method="GET", status="200") == 2
    assert grew("adserver_http_request_duration_seconds_count", route="/t/<event>") == 3


def test_a_made_up_method_is_counted_as_other(client):
    before = client.get("/metrics").get_data(as_text=True)
    for method in ("BREW", "WHEN", "BREW"):
        client.open("/healthz", method=method)
    text = client.get("/metrics").get_data(as_text=True)
    assert (
        metric(text, "adserver_http_requests_total", route="unmatched", method="other", status="405")
        - metric(before, "adserver_http_requests_total", route="unmatched", method="other", status="405")
        == 3
    )
    assert 'method="BREW"' not in text


def test_security_headers_on_every_kind_of_response(client, auth):
    for path, headers in (("/healthz", {}), ("/api/v1/campaigns", auth), ("/vast", {}), ("/nothing", {})):
        response = client.get(path, headers=headers)
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert "Server" not in response.headers or "/" not in response.headers["Server"]


def _needs_a_token(rule) -> bool:
    return rule.rule.startswith("/api/v1") and rule.rule not in PUBLIC_API


def test_every_admin_route_refuses_a_request_without_valid_auth(app, client, session):
    admin_rules = [rule for rule in app.url_map.iter_rules() if _needs_a_token(rule)]
    assert len(admin_rules) >= 12
    sample = {
        "campaign_id": "0b8f3a2e-4c1d-4f5e-9a7b-123456789abc",
        "creative_id": "0b8f3a2e-4c1d-4f5e-9a7b-123456789abc",
        "advertiser_id": "0b8f3a2e-4c1d-4f5e-9a7b-123456789abc",
        "dead_id": "1",
        "tag_id": "1",
    }
    checked = 0
    for rule in admin_rules:
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<uuid:{name}>", sample[name]).replace(f"<int:{name}>", sample[name])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            for headers in (
                {},
                {"Authorization": "Bearer forged-token"},
                {"Authorization": "Basic YWRtaW46YWRtaW4="},
            ):
                response = client.open(path, method=method, headers=headers, json={})
                assert response.status_code == 401, (method, path, headers)
                checked += 1
    assert checked >= 36


@pytest.mark.parametrize("path", ["/vast", "/t/impression", "/api/v1/ad-request"])
def test_cors_only_on_player_routes(client, auth, path):
    response = client.options(
        path, headers={"Origin": "https://p.example.com", "Access-Control-Request-Method": "GET"}
    )
    assert response.headers["Access-Control-Allow-Origin"] == "https://p.example.com"
    for admin in ("/api/v1/campaigns", "/api/v1/dashboard", "/api/v1/auth/login", "/metrics"):
        assert (
            "Access-Control-Allow-Origin"
            not in client.options(admin, headers={"Origin": "https://p.example.com"}).headers
        )


def test_hsts_on_https_responses_only(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://ads.example.com")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # A client claiming HTTPS is not believed without a trusted proxy (TRUSTED_PROXY_COUNT=0 here).
    claimed = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in claimed.headers


def test_hsts_behind_the_trusted_proxy_follows_the_scheme_it_reports(make_settings, tmp_path):
    """Behind the ALB (TRUSTED_PROXY_COUNT=1) the headers are added after ProxyFix has taken its scheme."""
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'proxied.db'}", trusted_proxy_count=1)
    app = create_app(settings)
    client = app.test_client()
    secure = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert secure.headers["X-Frame-Options"] == "DENY"
    plain = client.get("/healthz", headers={"X-Forwarded-Proto": "http"})
    assert "Strict-Transport-Security" not in plain.headers
    assert plain.headers.getlist("X-Content-Type-Options") == ["nosniff"]  # once, whatever the path took
    app.extensions["database"].dispose()
