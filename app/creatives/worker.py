"""`flask --app app worker`: runs the transcode jobs of the rq queue (REDIS_URL), and the functions rq calls.

rq forks a work horse per job: the horse inherits the application from the worker process (`serve`), and
drops the database connections it inherited before opening its own.
"""

from __future__ import annotations

import uuid

import click
import redis
from flask import Flask, current_app
from flask.cli import with_appcontext
from rq import Queue, Worker

from app.creatives import jobs
from app.db import database

MAINTENANCE_SECONDS = 60  # how often a worker looks for the jobs of dead workers (rq's default is 600)

_app: Flask | None = None


def perform(creative_id: str) -> str:
    """The job rq runs (in the horse)."""
    with _app.app_context():
        database().engine.dispose(close=False)  # the parent's pooled connections are not ours to use
        return jobs.run_transcode(
            database().sessions, current_app.extensions["storage"], uuid.UUID(creative_id)
        )


def failed(job, connection, exc_type, exc_value, traceback) -> None:
    """rq's failure callback: after an exception (in the horse) or when a dead worker's job is found (in the
    maintenance of another worker). Retries left: noted; none: the transcode fails and its files go."""
    creative_id = uuid.UUID(job.args[0])
    reason = f"{exc_type.__name__}: {exc_value}" if str(exc_value) else exc_type.__name__
    if exc_type.__name__ == "AbandonedJobError":
        reason = "the worker running the job stopped (killed, evicted or out of memory)"
    with _app.app_context():
        if job.retries_left:
            jobs.note_retry(database().sessions, creative_id, reason)
        else:
            jobs.give_up(database().sessions, current_app.extensions["storage"], creative_id, reason)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty (tests, one-off backfills).")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run transcode jobs from the queue in Redis (JOBS_REDIS_URL, else REDIS_URL) until SIGTERM."""
    global _app
    _app = current_app._get_current_object()
    settings = current_app.config["SETTINGS"]
    if not settings.jobs_redis:
        raise click.ClickException(
            "neither JOBS_REDIS_URL nor REDIS_URL is set: without them the web process transcodes uploads "
            "itself"
        )
    # A connection of its own, without the web client's socket timeout: the worker blocks on the queue.
    connection = redis.Redis.from_url(settings.jobs_redis)
    queue = Queue(jobs.queue_name(settings.redis_key_prefix), connection=connection)
    worker = Worker([queue], connection=connection, maintenance_interval=MAINTENANCE_SECONDS)
    click.echo(f"transcode worker {worker.name} on queue {queue.name}")
    worker.work(burst=burst, logging_level=settings.log_level)
