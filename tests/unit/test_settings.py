from decimal import Decimal

import pytest

from app.settings import Settings, SettingsError


def test_defaults_are_the_embedded_setup(monkeypatch):
    for name, _, _ in Settings.documented():
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.redis_url is None and settings.s3_bucket is None
    assert settings.default_cpm == Decimal("10.0000")
    assert (settings.account_time_zone, settings.account_currency) == ("UTC", "USD")


def test_values_are_read_and_typed_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/ads")
    monkeypatch.setenv("TOKEN_TTL_SECONDS", "60")
    monkeypatch.setenv("MAX_CREATIVE_SECONDS", "30.5")
    monkeypatch.setenv("DEFAULT_CPM", "2.5")
    monkeypatch.setenv("REDIS_URL", "")  # empty means unset
    monkeypatch.setenv("ACCOUNT_TIME_ZONE", "Asia/Kolkata")
    monkeypatch.setenv("ACCOUNT_CURRENCY", "INR")
    settings = Settings.from_env()
    assert settings.database_url == "postgresql+psycopg2://u@db/ads"
    assert settings.token_ttl_seconds == 60
    assert settings.max_creative_seconds == 30.5
    assert settings.default_cpm == Decimal("2.5")
    assert settings.redis_url is None
    assert settings.time_zone.key == "Asia/Kolkata" and settings.account_currency == "INR"


def test_postgres_scheme_alias_is_accepted():
    assert Settings(database_url="postgres://u@db/x").database_url == "postgresql+psycopg2://u@db/x"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TOKEN_TTL_SECONDS": "soon"}, "TOKEN_TTL_SECONDS must be a number"),
        ({"DEFAULT_CPM": "free"}, "DEFAULT_CPM must be a number"),
        ({"DEFAULT_CPM": "0"}, "DEFAULT_CPM must be greater than 0"),
        ({"EVENT_FLUSH_BATCH": "0"}, "EVENT_FLUSH_BATCH must be between 1 and 50000"),
        ({"RAW_EVENT_RETENTION_DAYS": "1"}, "RAW_EVENT_RETENTION_DAYS must cover BEACON_TTL_SECONDS"),
        (
            {"RAW_EVENT_RETENTION_DAYS": "3", "BEACON_TTL_SECONDS": str(3 * 86400)},
            "RAW_EVENT_RETENTION_DAYS must cover BEACON_TTL_SECONDS",
        ),
        ({"ACCOUNT_TIME_ZONE": "Mars/Olympus"}, "ACCOUNT_TIME_ZONE must be an IANA time zone"),
        ({"ACCOUNT_CURRENCY": "usd"}, "ACCOUNT_CURRENCY must be an ISO 4217 code"),
        ({"ACCOUNT_CURRENCY": "XYZ"}, "ACCOUNT_CURRENCY must be an ISO 4217 code"),
        ({"APP_ENV": "staging"}, "APP_ENV must be development or production"),
        ({"APP_ENV": "production", "DATABASE_URL": "postgresql://x/y"}, "SECRET_KEY must be set"),
        ({"APP_ENV": "production", "SECRET_KEY": "s" * 40}, "DATABASE_URL must point at PostgreSQL"),
        (
            {"APP_ENV": "production", "SECRET_KEY": "s" * 40, "DATABASE_URL": "postgresql://u@db/ads"},
            "PUBLIC_BASE_URL must be set in production",
        ),
    ],
)
def test_bad_or_missing_values_fail_fast_naming_the_variable(monkeypatch, env, message):
    for name, _, _ in Settings.documented():
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message):
        Settings.from_env()


def test_production_settings_with_secrets_are_accepted(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/ads")
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://ads.example.com")
    assert Settings.from_env().app_env == "production"


def test_every_setting_is_documented_in_the_readme():
    from app.settings import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text()
    for name, _, meaning in Settings.documented():
        assert f"`{name}`" in readme, name
        assert meaning


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"REDIS_URL": "redis://x"},
        {"WEB_CONCURRENCY": "5"},
        {"WEB_CONCURRENCY": "3", "REDIS_URL": "redis://x"},
    ],
)
def test_gunicorn_and_the_app_agree_on_the_number_of_workers(monkeypatch, tmp_path, env):
    import runpy

    from app.settings import PROJECT_ROOT

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))  # the config sets it otherwise, for good
    for name in ("WEB_CONCURRENCY", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = runpy.run_path(str(PROJECT_ROOT / "gunicorn.conf.py"))
    assert config["workers"] == Settings.from_env().workers
