"""`flask --app app <command>`: operations that run outside a request."""

import contextlib
import signal
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import with_appcontext

from app import migrate as migrations
from app.auth import services as auth_services
from app.campaigns import services as campaign_services
from app.campaigns.models import Campaign
from app.creatives import services as creative_services
from app.creatives.jobs import InProcessTranscoder
from app.creatives.samples import make_video
from app.creatives.worker import worker_command
from app.db import database, utcnow
from app.exceptions import Invalid
from app.runtime import runtime
from app.tracking import dead_letters, export
from app.tracking.flusher import Flusher
from app.tracking.models import DeadLetterEvent


def init_app(app: Flask) -> None:
    for command in (
        migrate_command,
        create_admin_command,
        ensure_admin_command,
        seed_demo_command,
        sample_video_command,
        flush_command,
        export_events_command,
        dead_letters_group,
        worker_command,
    ):
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


DEMO_CAMPAIGN = "Demo: CTV spot"


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Create an active demo campaign with a real 15 s H.264 creative, so an ad can be requested at once."""
    config = current_app.config
    with database().sessions() as session:
        existing = session.scalar(sa.select(Campaign).where(Campaign.name == DEMO_CAMPAIGN))
        if existing is not None:
            click.echo(f"the demo campaign exists already ({existing.id}, {existing.status})")
            return
        now = utcnow()
        campaign = campaign_services.create_campaign(
            session,
            {
                "name": DEMO_CAMPAIGN,
                "description": "Created by `flask seed-demo`",
                "budget_total": Decimal("100.00"),
                "cpm": Decimal("10.0000"),
                "start_date": now - timedelta(hours=1),
                "end_date": now + timedelta(days=30),
                # A demo answers every request it fits at once: even pacing would hold most of them back
                # to spread 100.00 over 30 days.
                "pacing": "asap",
            },
            config["DEFAULT_CPM"],
        )
        with tempfile.TemporaryDirectory() as directory:
            video = make_video(Path(directory) / "demo.mp4", seconds=15, width=640, height=360)
            creative = creative_services.create_creative(
                session,
                current_app.extensions["storage"],
                campaign.id,
                name="Demo spot 15 s",
                upload=video,
                click_through_url="https://example.com/",
                max_bytes=config["MAX_UPLOAD_BYTES"],
                max_seconds=config["MAX_CREATIVE_SECONDS"],
                submit=runtime().transcoder.submit,
            )
        campaign_services.change_status(session, campaign.id, "active")
    if isinstance(runtime().transcoder, InProcessTranscoder):
        runtime().transcoder.run_pending()  # no web process is running to do it
    click.echo(
        f"demo campaign {campaign.id} is active with creative {creative.id} ({creative.duration:.1f} s)"
    )


@click.command("sample-video")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--seconds", default=15.0, show_default=True, help="Duration of the video.")
def sample_video_command(path: str, seconds: float) -> None:
    """Write a real H.264 + AAC MP4 (640x360) to PATH, to upload as a creative (the README's curl tour)."""
    make_video(path, seconds=seconds, width=640, height=360)
    click.echo(path)


@click.command("flush-events")
@with_appcontext
def flush_command() -> None:
    """Drain counted events into the database until SIGTERM/SIGINT (the EVENT_FLUSHER=external worker)."""
    flusher = Flusher.from_settings(runtime().store, database().sessions, current_app.config["SETTINGS"])
    signal.signal(signal.SIGTERM, lambda *_: flusher.stop(timeout=0))
    click.echo(f"flushing events as {flusher.consumer}")
    with contextlib.suppress(KeyboardInterrupt):
        flusher.run()
    click.echo("flusher stopped")


@click.command("export-events")
@with_appcontext
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Write every closed hour from this UTC day on (default: the last 48 hours, as the flusher does).",
)
def export_events_command(since: datetime | None) -> None:
    """Write the closed hours of raw events as Parquet (app.tracking.export): those not yet written, or whose
    rows changed since."""
    settings = current_app.config["SETTINGS"]
    with database().sessions() as session:
        written = export.export_hours(
            session,
            export.make_target(settings),
            now=datetime.now(UTC),
            delay=timedelta(seconds=settings.event_export_delay_seconds),
            beacon_ttl=timedelta(seconds=settings.beacon_ttl_seconds),
            since=since.replace(tzinfo=UTC) if since else None,
        )
    for table, hour, rows in written:
        click.echo(f"{table}\t{hour.isoformat()}\t{rows} rows")
    click.echo(f"{len(written)} file(s) written")


@click.group("dead-letters")
def dead_letters_group() -> None:
    """Events the database refused: list them, replay them once their cause is fixed."""


@dead_letters_group.command("list")
@with_appcontext
@click.option("--limit", default=50, show_default=True, help="Show at most this many, oldest first.")
def list_dead_letters_command(limit: int) -> None:
    """One line per dead-lettered event: id, when, attempts, error; then the event itself."""
    with database().sessions() as session:
        total = session.scalar(sa.select(sa.func.count()).select_from(DeadLetterEvent))
        for row in session.scalars(sa.select(DeadLetterEvent).order_by(DeadLetterEvent.id).limit(limit)):
            click.echo(f"{row.id}\t{row.failed_at.isoformat()}\t{row.attempts}\t{row.error}\n\t{row.raw}")
    click.echo(f"{total} dead-lettered event(s)")


@dead_letters_group.command("replay")
@with_appcontext
@click.argument("ids", nargs=-1, type=int)
def replay_dead_letters_command(ids: tuple[int, ...]) -> None:
    """Store the given dead-lettered events again (all when no id is given); stored ones leave the table."""
    with database().sessions() as session:
        retention = current_app.config["SETTINGS"].raw_event_retention_days
        results = dead_letters.replay(session, retention, list(ids) or None)
    for dead_id, error in results.items():
        click.echo(f"{dead_id}\t{'stored' if error is None else 'refused again: ' + error}")
    refused = sum(error is not None for error in results.values())
    click.echo(f"{len(results) - refused} stored, {refused} refused again")
    if refused:
        raise SystemExit(1)
