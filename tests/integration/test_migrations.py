"""Migrations are the only way a schema is made: they must run both ways and match the models."""

import uuid

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from app import migrate as migrations
from app.db import make_engine
from app.models import Base


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _diff(url: str) -> list:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_on_an_empty_postgres_database(make_postgres_database):
    url = make_postgres_database("adserver_migrations")
    migrations.upgrade(url)
    assert _tables(url) == set(Base.metadata.tables)
    migrations.downgrade(url, "base")
    assert _tables(url) == set()
    migrations.upgrade(url)
    assert _tables(url) == set(Base.metadata.tables)


def test_models_and_migrations_agree_on_postgres(make_postgres_database):
    url = make_postgres_database("adserver_migrations")
    migrations.upgrade(url)
    assert _diff(url) == []
    command.check(migrations.alembic_config(url))  # raises on any pending autogenerate operation


def test_migrations_run_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'nested' / 'ads.db'}"
    migrations.upgrade(url)
    assert _tables(url) == set(Base.metadata.tables)
    migrations.downgrade(url, "base")
    assert _tables(url) == set()


def test_there_is_a_single_head(tmp_path):
    script = ScriptDirectory.from_config(migrations.alembic_config(f"sqlite:///{tmp_path / 'x.db'}"))
    assert len(script.get_heads()) == 1


def test_postgres_uses_inet_and_timezone_aware_timestamps(postgres_database):
    engine = sa.create_engine(postgres_database, poolclass=sa.pool.NullPool)
    columns = {c["name"]: c for c in sa.inspect(engine).get_columns("impressions")}
    engine.dispose()
    assert type(columns["ip"]["type"]).__name__ == "INET"
    assert columns["occurred_at"]["type"].timezone is True


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"budget_total": 0}, "ck_campaigns_budget_positive"),
        ({"cpm": 0}, "ck_campaigns_cpm_positive"),
        ({"status": "running"}, "ck_campaigns_status_valid"),
        ({"end_date": "2020-01-01T00:00:00Z"}, "ck_campaigns_end_after_start"),
    ],
)
def test_check_constraints_hold_in_postgres(postgres_database, overrides, constraint):
    row = {
        "id": str(uuid.uuid4()),
        "name": "x",
        "budget_total": 10,
        "cpm": 1,
        "status": "draft",
        "start_date": "2026-01-01T00:00:00Z",
        "end_date": "2026-02-01T00:00:00Z",
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    } | overrides
    engine = sa.create_engine(postgres_database, poolclass=sa.pool.NullPool)
    insert = sa.text(f"INSERT INTO campaigns ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})")
    with engine.connect() as connection, pytest.raises(sa.exc.IntegrityError, match=constraint):
        connection.execute(insert, row)
    engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def empty_database(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ads.db'}"
    return request.getfixturevalue("make_postgres_database")("adserver_migrations")


def _insert(connection, table: str, row: dict) -> None:
    names = ", ".join(row)
    connection.execute(
        sa.text(f"INSERT INTO {table} ({names}) VALUES ({', '.join(':' + k for k in row)})"), row
    )


def test_advertisers_migration_keeps_campaigns_and_restricts_deletion(empty_database):
    url = empty_database
    migrations.upgrade(url, "0005")
    at = "2026-01-01T00:00:00Z"
    campaign = {
        "id": uuid.uuid4().hex,
        "name": "Before advertisers",
        "budget_total": "10.00",
        "cpm": "1.0000",
        "status": "active",
        "start_date": at,
        "end_date": "2026-02-01T00:00:00Z",
        "created_at": at,
        "updated_at": at,
    }
    engine = make_engine(url)  # on SQLite with foreign keys enforced, as the app opens it
    with engine.begin() as connection:
        _insert(connection, "campaigns", campaign)
    migrations.upgrade(url)
    advertiser = {
        "id": uuid.uuid4().hex,
        "name": "Cola",
        "domain": "cola.example",
        "created_at": at,
        "updated_at": at,
    }
    with engine.begin() as connection:
        row = connection.execute(
            sa.text("SELECT advertiser_id, category, category_exclusive FROM campaigns")
        ).one()
        assert (row.advertiser_id, row.category, bool(row.category_exclusive)) == (None, None, False)
        _insert(connection, "advertisers", advertiser)
        connection.execute(sa.text("UPDATE campaigns SET advertiser_id = :id"), {"id": advertiser["id"]})
    with engine.connect() as connection, pytest.raises(sa.exc.IntegrityError):
        connection.execute(sa.text("DELETE FROM advertisers"))
    with engine.connect() as connection, pytest.raises(sa.exc.IntegrityError):
        _insert(connection, "advertisers", advertiser | {"id": uuid.uuid4().hex, "name": "Same domain"})
    engine.dispose()
    migrations.downgrade(url, "0005")
    assert "advertisers" not in _tables(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT name FROM campaigns")).scalar_one() == "Before advertisers"
    engine.dispose()
