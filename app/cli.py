"""`flask --app app <command>`: operations that run outside a request."""

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from app import migrate as migrations
from app.auth import services as auth_services
from app.db import database
from app.exceptions import Invalid


def init_app(app: Flask) -> None:
    for command in (migrate_command, create_admin_command, ensure_admin_command):
        app.cli.add_command(command)


@click.command("migrate")
@with_appcontext
def migrate_command() -> None:
    """Upgrade the database schema to the latest migration."""
    migrations.upgrade(database().url)
    click.echo("database schema is up to date")


@click.command("create-admin")
@with_appcontext
@click.option("--email", help="Defaults to $ADMIN_EMAIL; prompted when absent.")
@click.option("--password", help="Defaults to $ADMIN_PASSWORD; prompted when absent.")
def create_admin_command(email: str | None, password: str | None) -> None:
    """Create the admin, or reset its password (revoking its tokens)."""
    settings = current_app.config["SETTINGS"]
    email = email or settings.admin_email or click.prompt("Admin email")
    password = (
        password
        or settings.admin_password
        or click.prompt("Password", hide_input=True, confirmation_prompt=True)
    )
    _set_admin(email, password)


@click.command("ensure-admin")
@with_appcontext
def ensure_admin_command() -> None:
    """Create or reset the admin from ADMIN_EMAIL/ADMIN_PASSWORD when both are set; otherwise say how to."""
    settings = current_app.config["SETTINGS"]
    if settings.admin_email and settings.admin_password:
        _set_admin(settings.admin_email, settings.admin_password)
        return
    with database().sessions() as session:
        exists = auth_services.admin_exists(session)
    click.echo(
        ("An admin exists. " if exists else "No admin yet. ")
        + "Set ADMIN_EMAIL and ADMIN_PASSWORD before `make run`, or run: "
        + ".venv/bin/flask --app app create-admin --email you@example.com"
    )


def _set_admin(email: str, password: str) -> None:
    with database().sessions() as session:
        try:
            user = auth_services.set_admin(session, email, password)
        except Invalid as exc:
            raise click.ClickException("; ".join(f"{k}: {v}" for k, v in exc.details.items())) from None
    click.echo(f"admin {user.email} is ready: POST /api/v1/auth/login with its email and password")
