"""Alembic environment: the URL comes from the application's settings, the metadata from app.models."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from app.db import Money, UTCDateTime
from app.models import Base
from app.settings import Settings

config = context.config
url = config.attributes.get("database_url") or Settings.from_env().database_url


def render_item(type_, obj, autogen_context):
    """Write our column types as plain SQLAlchemy types, so migrations never import application code."""
    if type_ == "type" and isinstance(obj, Money):
        return f"sa.Numeric({obj.impl.precision}, {obj.scale}).with_variant(sa.String(40), 'sqlite')"
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config({"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
            compare_type=True,
            render_item=render_item,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
