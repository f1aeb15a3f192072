import json
import logging

import pytest
from flask import Blueprint

from app import create_app
from app.serving.catalog import make_catalog


def test_unknown_api_route_is_a_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.is_json and response.get_json()["error"]


def test_wrong_method_is_a_json_405_with_allow(client, auth):
    response = client.put("/api/v1/campaigns", json={}, headers=auth)
    assert response.status_code == 405
    assert response.get_json()["error"]
    assert "GET" in response.headers["Allow"] and "POST" in response.headers["Allow"]


def test_unexpected_error_is_a_json_500_and_is_logged(settings, caplog):
    app = create_app(settings)
    broken = Blueprint("broken", __name__)

    @broken.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internals")

    app.register_blueprint(broken)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    assert response.get_json() == {"error": "Internal server error"}
    assert "secret internals" not in response.get_data(as_text=True)
    assert any("unhandled error" in record.getMessage() for record in caplog.records)
    app.extensions["database"].dispose()


def test_every_response_carries_a_request_id(client):
    generated = client.get("/healthz").headers["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    # An id that is unsafe to log or echo (markup, overlong) is replaced.
    replaced = client.get("/healthz", headers={"X-Request-ID": "<script>" + "x" * 200}).headers[
        "X-Request-ID"
    ]
    assert len(replaced) == 32 and "<" not in replaced
    assert client.get("/api/v1/nothing", headers={"X-Request-ID": "r-404"}).headers["X-Request-ID"] == "r-404"


def test_log_lines_are_json_with_the_request_id(app, capsys):
    from app.logs import JsonFormatter

    formatter = JsonFormatter()
    with app.test_request_context("/healthz", headers={"X-Request-ID": "trace-1"}):
        app.preprocess_request()
        record = logging.LogRecord("adserver", logging.INFO, __file__, 1, "served %s", ("ad",), None)
        entry = json.loads(formatter.format(record))
    assert entry["message"] == "served ad"
    assert entry["request_id"] == "trace-1"
    assert entry["level"] == "INFO"


def test_healthz_and_readyz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": "ok"}


def test_readyz_reports_an_unreachable_database(make_settings, tmp_path):
    app = create_app(make_settings(database_url="postgresql://postgres@127.0.0.1:1/nothing"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"].startswith("error")


@pytest.mark.parametrize("redis_up", [True, False])
def test_readyz_checks_redis_when_configured(make_settings, database_url, redis_server, redis_up):
    redis_url = "redis://127.0.0.1:6379/0" if redis_up else "redis://127.0.0.1:1/0"
    app = create_app(make_settings(database_url=database_url, redis_url=redis_url))
    response = app.test_client().get("/readyz")
    assert response.get_json()["checks"]["redis"] == ("ok" if redis_up else "error: ConnectionError")
    assert response.status_code == (200 if redis_up else 503)


def test_openapi_document_describes_the_api(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/campaigns/{campaign_id}/status" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/auth/login"]["post"]["security"] == []
    error = spec["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"error", "details"}
    create = spec["components"]["schemas"]["CampaignInput"]
    assert set(create["required"]) == {"name", "budget_total", "start_date", "end_date"}


def test_serving_readiness_follows_the_catalog_not_the_database(make_settings, tmp_path):
    app = create_app(make_settings(database_url=f"sqlite:///{tmp_path / 'none' / 'missing.db'}"))
    client = app.test_client()
    response = client.get("/readyz/serving")
    assert response.status_code == 503  # never loaded: a new pod must not take traffic
    catalog = app.extensions["runtime"].catalog
    catalog.state = catalog.state.__class__(make_catalog(3, 1.0, {}), catalog.state.index)
    response = client.get("/readyz/serving")
    assert response.status_code == 200  # loaded once: ready, whatever the database does now
    assert response.get_json()["checks"]["catalog"] == "version 3, 0 campaigns"
    assert response.get_json()["checks"]["region_database"] == "ok"  # installed by `make assets`
    assert client.get("/readyz").status_code == 503  # the admin probe still reports the database
    app.extensions["database"].dispose()
