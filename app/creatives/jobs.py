"""The transcode job of a creative, and the two queues that run it.

A job makes every rendition of a creative's plan (app.creatives.transcode) that is not ready yet, and its
poster. It is idempotent: the keys of its files are fixed by the creative and its identity
(app.creatives.storage.rendition_key), each file is stored whole or not at all (Storage.put), and a row says
`ready` only once its file is stored, so a second run (a retry, or the same job enqueued twice) redoes only
what is missing. An attempt that fails removes the file it was writing; the last failed attempt removes
every file of the creative's renditions and says why in `transcode_error`.

Queues:
- InProcessTranscoder, the embedded default (no REDIS_URL): one background thread of the web process.
- RqTranscoder (REDIS_URL set): jobs on rq (Redis), run by `flask --app app worker`. A job that raises is
  retried; a job whose worker died (killed, evicted, out of memory) is found by rq's maintenance once its
  heartbeat expires and retried too; after RETRIES retries it is failed with the reason (`on_failure`).

Progress: the creative's `transcode_progress` (percent of all renditions) and each rendition's status,
written as the job goes, with plain UPDATEs that do not bump the catalog version; the last write (all ready,
or failed) goes through the ORM and bumps it, so serving workers pick the renditions up.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import gevent
import sqlalchemy as sa
from gevent import monkey
from rq import Callback, Queue, Retry
from sqlalchemy.orm import sessionmaker

from app.creatives import transcode
from app.creatives.models import Creative, Rendition
from app.creatives.storage import Storage, poster_key, remove_objects, rendition_key

log = logging.getLogger(__name__)

RETRIES = 2  # after the first attempt
JOB_TIMEOUT_SECONDS = 3600  # a 120 s creative at 1080p takes a few minutes (bench.transcode)
PROGRESS_SECONDS = 1.0  # at most one progress write a second
POSTER_SHARE = 5  # percent of the job the poster and loudness measurement stand for


class TranscodeFailed(RuntimeError):
    """The mezzanine cannot be transcoded (the message says why)."""


def run_transcode(sessions: sessionmaker, storage: Storage, creative_id: uuid.UUID) -> str:
    """Make what is missing of the creative's renditions and poster. Returns "ready", or "gone" when the
    creative was deleted meanwhile. Raises on failure, leaving no partial file behind."""
    with sessions() as session:
        creative = session.get(Creative, creative_id)
        if creative is None:
            return "gone"
        identity, mezzanine_key = creative.identity, creative.storage_key
        plan = {output.name: output for output in transcode.plan(creative.width, creative.height)}
        existing = {rendition.name: rendition for rendition in creative.renditions}
        for (
            output
        ) in plan.values():  # rows the upload did not create (e.g. a creative stored before renditions)
            if output.name not in existing:
                session.add(_rendition_row(creative_id, output))
        session.commit()
        ready = {name for name, rendition in existing.items() if rendition.status == "ready"}
        pending = [name for name in plan if name not in ready]  # largest first, as planned
        done = len(plan) - len(pending)
    _update(sessions, creative_id, transcode_status="running", transcode_error=None)
    progress = _Progress(sessions, creative_id, len(plan), done)
    with tempfile.TemporaryDirectory(prefix="transcode-") as directory:
        mezzanine = Path(directory) / "mezzanine.mp4"
        storage.fetch(mezzanine_key, mezzanine)
        loudness = transcode.measure_loudness(mezzanine)
        gain = loudness.gain_db() if loudness else 0.0
        poster = Path(directory) / "poster.jpg"
        transcode.make_poster(mezzanine, poster)
        storage.put(poster, poster_key(creative_id, identity))
        progress.poster_done()
        for name in pending:
            output = plan[name]
            _update_rendition(sessions, creative_id, identity, name, status="running")
            target = Path(directory) / f"{name}.mp4"
            key = rendition_key(creative_id, identity, name)
            try:
                encoded = transcode.encode(mezzanine, target, output, gain, progress.within)
                measured = transcode.measure_loudness(target)
                storage.put(target, key)
            except BaseException:
                with contextlib.suppress(Exception):
                    storage.delete(key)  # a store interrupted mid-way leaves nothing
                raise
            finally:
                target.unlink(missing_ok=True)
            _update_rendition(
                sessions,
                creative_id,
                identity,
                name,
                status="ready",
                storage_key=key,
                width=encoded.width,
                height=encoded.height,
                bitrate=encoded.bitrate,
                file_size=encoded.file_size,
                codec=encoded.codec,
                loudness=measured.integrated if measured else None,
            )
            progress.rendition_done()
    with sessions() as session:
        creative = session.get(Creative, creative_id)
        if creative is None or creative.identity != identity:  # deleted or replaced while we worked
            remove_objects(storage, _job_keys(creative_id, identity))
            return "gone"
        creative.transcode_status = "ready"
        creative.transcode_progress = 100
        creative.transcode_error = None
        creative.poster_key = poster_key(creative_id, identity)
        session.commit()  # bumps the catalog version: the renditions serve
    return "ready"


def give_up(sessions: sessionmaker, storage: Storage, creative_id: uuid.UUID, reason: str) -> None:
    """The last attempt failed: remove every file the job wrote and say why."""
    with sessions() as session:
        creative = session.get(Creative, creative_id)
        if creative is None:
            return
        keys = _job_keys(creative_id, creative.identity)
        for rendition in creative.renditions:
            rendition.status, rendition.storage_key = "failed", None
            rendition.bitrate = rendition.file_size = rendition.codec = rendition.loudness = None
        creative.transcode_status = "failed"
        creative.transcode_error = reason[:2000]
        creative.poster_key = None
        session.commit()
    remove_objects(storage, keys)


def note_retry(sessions: sessionmaker, creative_id: uuid.UUID, reason: str) -> None:
    _update(
        sessions,
        creative_id,
        transcode_status="queued",
        transcode_error=f"An attempt failed and is retried: {reason}"[:2000],
    )


def plan_rows(creative: Creative) -> list[Rendition]:
    """The queued renditions of a newly stored creative."""
    return [_rendition_row(creative.id, output) for output in transcode.plan(creative.width, creative.height)]


def _rendition_row(creative_id: uuid.UUID, output: transcode.Output) -> Rendition:
    return Rendition(
        creative_id=creative_id,
        name=output.name,
        width=output.width,
        height=output.height,
        target_bitrate=output.bitrate,
        status="queued",
    )


def stored_keys(creative: Creative) -> list[str]:
    """Every object of a creative: its mezzanine, and the poster and renditions of its jobs (those of a job
    still running included)."""
    return [creative.storage_key, *_job_keys(creative.id, creative.identity)]


def _job_keys(creative_id: uuid.UUID, identity: str) -> list[str]:
    """Every file a job may write for the creative: its poster and each rung's rendition."""
    return [
        poster_key(creative_id, identity),
        *(rendition_key(creative_id, identity, r.name) for r in transcode.LADDER),
    ]


def _update(sessions: sessionmaker, creative_id: uuid.UUID, **values) -> None:
    """A plain UPDATE of the creative: no ORM object is flushed, so the catalog version is not bumped for
    progress."""
    with sessions() as session:
        session.execute(sa.update(Creative).where(Creative.id == creative_id).values(**values))
        session.commit()


def _update_rendition(
    sessions: sessionmaker, creative_id: uuid.UUID, identity: str, name: str, **values
) -> None:
    """Only while the creative still has the file the job works on: a replaced one has new rows."""
    same_file = sa.select(Creative.id).where(Creative.id == creative_id, Creative.identity == identity)
    with sessions() as session:
        session.execute(
            sa.update(Rendition)
            .where(Rendition.creative_id.in_(same_file), Rendition.name == name)
            .values(**values)
        )
        session.commit()


class _Progress:
    """Percent of the job done: the poster, then each rendition an equal share."""

    def __init__(self, sessions: sessionmaker, creative_id: uuid.UUID, renditions: int, done: int):
        self.sessions, self.creative_id = sessions, creative_id
        self.share = (100 - POSTER_SHARE) / max(renditions, 1)
        self.base = POSTER_SHARE + done * self.share
        self.written_at = 0.0

    def poster_done(self) -> None:
        self._write(self.base)

    def within(self, fraction: float) -> None:
        if time.monotonic() - self.written_at >= PROGRESS_SECONDS:
            self._write(self.base + fraction * self.share)

    def rendition_done(self) -> None:
        self.base += self.share
        self._write(self.base)

    def _write(self, percent: float) -> None:
        self.written_at = time.monotonic()
        _update(self.sessions, self.creative_id, transcode_progress=min(99, int(percent)))


class InProcessTranscoder:
    """The embedded default: jobs run one at a time in a background thread of the web process, each tried
    1 + RETRIES times. Under gevent the thread is a native one (monkey.get_original): encoding holds the
    CPU for seconds, and the event loop must keep serving ads meanwhile. Tests and the CLI call
    run_pending() instead of start()."""

    def __init__(self, sessions: sessionmaker, storage: Storage):
        self.sessions, self.storage = sessions, storage
        self._pending: queue.SimpleQueue[uuid.UUID] = _native_queue()
        self._thread = None
        self._stopped = False

    def submit(self, creative_id: uuid.UUID) -> None:
        self._pending.put(creative_id)

    def run_pending(self) -> int:
        """Run every submitted job now, in this thread; returns how many ran."""
        ran = 0
        while True:
            try:
                creative_id = self._pending.get_nowait()
            except queue.Empty:
                return ran
            self.run(creative_id)
            ran += 1

    def run(self, creative_id: uuid.UUID) -> None:
        for attempt in range(RETRIES + 1):
            try:
                run_transcode(self.sessions, self.storage, creative_id)
                return
            except Exception as exc:
                reason = _reason(exc)
                log.warning(
                    "transcode of creative %s failed (attempt %d): %s", creative_id, attempt + 1, reason
                )
                if attempt == RETRIES:
                    give_up(self.sessions, self.storage, creative_id, reason)
                else:
                    note_retry(self.sessions, creative_id, reason)

    def start(self) -> None:
        if self._thread is not None:
            return
        if monkey.is_module_patched("threading"):  # a native thread of gevent's pool
            self._thread = gevent.get_hub().threadpool.spawn(self._work)
        else:
            self._thread = threading.Thread(target=self._work, name="transcoder", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopped = True

    def _work(self) -> None:
        while not self._stopped:
            try:
                creative_id = self._pending.get(timeout=1.0)
            except queue.Empty:
                continue
            try:
                self.run(creative_id)
            except Exception:  # the thread must outlive any failure
                log.exception("transcode of creative %s failed", creative_id)


def _native_queue() -> queue.SimpleQueue:
    """A queue a native thread can block on: the unpatched one when gevent has patched the module."""
    if monkey.is_module_patched("queue"):
        return monkey.get_original("queue", "SimpleQueue")()
    return queue.SimpleQueue()


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class RqTranscoder:
    """Jobs on an rq queue in Redis (REDIS_URL), run by `flask --app app worker`."""

    def __init__(self, redis_client, queue_name: str):
        self.queue = Queue(queue_name, connection=redis_client)

    def submit(self, creative_id: uuid.UUID) -> None:
        """Enqueue the job, named after the creative (a job submitted twice runs twice: the second run finds
        the renditions ready and stores nothing)."""
        self.queue.enqueue(
            "app.creatives.worker.perform",
            str(creative_id),
            job_id=f"transcode-{creative_id.hex}",
            retry=Retry(max=RETRIES),
            job_timeout=JOB_TIMEOUT_SECONDS,
            result_ttl=3600,
            failure_ttl=7 * 86400,
            on_failure=Callback("app.creatives.worker.failed"),
        )

    def start(self) -> None:
        """Nothing to start here: `flask --app app worker` runs the jobs."""

    def stop(self) -> None:
        """Nothing runs here."""


def queue_name(redis_key_prefix: str) -> str:
    return f"{redis_key_prefix}transcode"


def make_transcoder(
    sessions: sessionmaker, storage: Storage, redis_client, redis_key_prefix: str
) -> InProcessTranscoder | RqTranscoder:
    """On rq with Redis, else in a thread of this process."""
    if redis_client is not None:
        return RqTranscoder(redis_client, queue_name(redis_key_prefix))
    return InProcessTranscoder(sessions, storage)


Submit = Callable[[uuid.UUID], None]
