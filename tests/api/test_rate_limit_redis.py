from app import create_app
from tests.conftest import ADMIN_EMAIL


def test_failed_logins_are_counted_in_redis_shared_by_all_workers(
    make_settings, database_url, redis_server, redis_prefix
):
    settings = make_settings(
        database_url=database_url,
        redis_url="redis://127.0.0.1:6379/0",
        redis_key_prefix=redis_prefix,
        login_rate_limit="2 per minute",
    )
    # Two apps stand for two gunicorn workers: the second sees the failures counted by the first.
    first, second = create_app(settings), create_app(settings)
    body = {"email": ADMIN_EMAIL, "password": "wrong"}
    assert first.test_client().post("/api/v1/auth/login", json=body).status_code == 401
    assert first.test_client().post("/api/v1/auth/login", json=body).status_code == 401
    assert second.test_client().post("/api/v1/auth/login", json=body).status_code == 429
    assert any(
        key.startswith(redis_prefix.encode()) for key in redis_server.scan_iter(match=f"{redis_prefix}*")
    )
    for app in (first, second):
        app.extensions["database"].dispose()
