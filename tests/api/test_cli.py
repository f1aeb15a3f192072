import sqlalchemy as sa

from app import create_app
from app.auth import services
from app.auth.models import User
from app.campaigns.models import Campaign
from app.creatives.models import Creative


def test_create_admin_creates_then_resets(app, session):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "--email", "Boss@Example.com", "--password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    assert "boss@example.com is ready" in result.output
    assert services.authenticate(session, "boss@example.com", "s3cret-pass") is not None
    assert session.scalar(sa.select(sa.func.count()).select_from(User)) == 1  # a single admin
    runner.invoke(args=["create-admin", "--email", "boss@example.com", "--password", "another-pass"])
    assert services.authenticate(session, "boss@example.com", "another-pass") is not None


def test_create_admin_refuses_a_short_password(app):
    result = app.test_cli_runner().invoke(args=["create-admin", "--email", "a@b.c", "--password", "short"])
    assert result.exit_code != 0
    assert "At least 8 characters" in result.output


def test_create_admin_prompts_when_nothing_is_given(app, session):
    result = app.test_cli_runner().invoke(
        args=["create-admin"], input="prompted@example.com\nlong-password\nlong-password\n"
    )
    assert result.exit_code == 0, result.output
    assert services.authenticate(session, "prompted@example.com", "long-password") is not None


def test_ensure_admin_uses_the_environment_settings(make_settings, database_url, backend):
    app = create_app(
        make_settings(database_url=database_url, admin_email="env@example.com", admin_password="from-the-env")
    )
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["ensure-admin"])
        assert result.exit_code == 0, result.output
        with app.extensions["database"].sessions() as session:
            assert services.authenticate(session, "env@example.com", "from-the-env") is not None
            services.set_admin(
                session, "admin@example.com", "correct horse battery"
            )  # leave the shared db as found
    app.extensions["database"].dispose()


def test_ensure_admin_without_settings_explains_how_to_log_in(app):
    result = app.test_cli_runner().invoke(args=["ensure-admin"])
    assert result.exit_code == 0
    assert "An admin exists" in result.output and "ADMIN_EMAIL" in result.output


def test_migrate_command_upgrades_a_new_sqlite_database(make_settings, tmp_path):
    app = create_app(make_settings(database_url=f"sqlite:///{tmp_path / 'fresh' / 'db.sqlite'}"))
    result = app.test_cli_runner().invoke(args=["migrate"])
    assert result.exit_code == 0, result.output
    engine = app.extensions["database"].engine
    assert "campaigns" in sa.inspect(engine).get_table_names()
    engine.dispose()


def test_seed_demo_creates_an_active_campaign_with_a_real_creative(app, session, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    campaign = session.scalar(sa.select(Campaign).where(Campaign.name == "Demo: CTV spot"))
    assert campaign.status == "active"
    (creative,) = session.scalars(sa.select(Creative).where(Creative.campaign_id == campaign.id)).all()
    assert abs(creative.duration - 15) < 0.1 and (creative.width, creative.height) == (640, 360)
    assert app.extensions["storage"].exists(creative.storage_key)
    again = runner.invoke(args=["seed-demo"])
    assert "exists already" in again.output
    assert session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 1
