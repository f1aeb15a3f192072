"""Transcode jobs on the real queue: rq on Redis, run by `flask --app app worker` processes. A job done by
a worker, a worker killed mid-job and its job completed by another, a job that keeps failing reported failed
with its reason and nothing left in storage."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest
from rq import Queue
from rq.registry import StartedJobRegistry

from app import create_app
from app.creatives import jobs, services, transcode
from app.creatives.models import Creative
from app.db import get_session
from tests import factories, media_files
from tests.conftest import REDIS_URL
from tests.serving_helpers import runtime

pytestmark = pytest.mark.slow


@pytest.fixture
def setup(make_settings, sqlite_template, redis_prefix, tmp_path):
    database = tmp_path / "db.sqlite"
    shutil.copy(sqlite_template, database)
    env = {
        "DATABASE_URL": f"sqlite:///{database}",
        "REDIS_URL": REDIS_URL,
        "REDIS_KEY_PREFIX": redis_prefix,
        "STORAGE_DIR": str(tmp_path / "creatives"),
        "SECRET_KEY": "worker-test-secret-" + "x" * 32,
        "LOG_LEVEL": "WARNING",
    }
    app = create_app(
        make_settings(database_url=env["DATABASE_URL"], redis_url=REDIS_URL, redis_key_prefix=redis_prefix)
    )
    workers: list[subprocess.Popen] = []

    def start_worker(*arguments: str) -> subprocess.Popen:
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "flask"), "--app", "app", "worker", *arguments],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its work horses too, so that killpg gets them all
        )
        workers.append(worker)
        return worker

    yield app, start_worker
    for worker in workers:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)
    keys = list(app.extensions["redis"].scan_iter(match=f"rq:*{redis_prefix}*", count=1000))
    if keys:
        app.extensions["redis"].delete(*keys)
    app.extensions["database"].dispose()


def store_creative(app, source: Path) -> Creative:
    with app.app_context():
        session = get_session()
        factories.bind(session)
        campaign = factories.CampaignFactory(status="active")
        return services.create_creative(
            session,
            app.extensions["storage"],
            campaign.id,
            name="Spot",
            upload=source,
            click_through_url=None,
            max_bytes=10**9,
            max_seconds=120,
            submit=runtime(app).transcoder.submit,
        )


def state(app, creative_id):
    with app.extensions["database"].sessions() as session:
        creative = session.get(Creative, creative_id)
        return (
            creative.transcode_status,
            creative.transcode_progress,
            creative.transcode_error,
            [(rendition.name, rendition.status, rendition.storage_key) for rendition in creative.renditions],
        )


def wait_for(check, seconds: float):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise TimeoutError("not in time")


def files(app) -> set[str]:
    root = Path(app.extensions["storage"].directory)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def test_a_worker_transcodes_what_the_web_process_enqueues(setup, tmp_path):
    app, start_worker = setup
    creative = store_creative(app, media_files.make_tone_mp4(tmp_path / "spot.mp4", seconds=2.0))
    assert isinstance(runtime(app).transcoder, jobs.RqTranscoder)
    assert state(app, creative.id)[0] == "queued"
    assert start_worker("--burst").wait(120) == 0
    status, progress, error, renditions = state(app, creative.id)
    assert (status, progress, error) == ("ready", 100, None)
    assert [(name, status) for name, status, _ in renditions] == [
        ("720p", "ready"),
        ("480p", "ready"),
        ("360p", "ready"),
    ]
    root = Path(app.extensions["storage"].directory)
    for (name, _, key), output in zip(renditions, transcode.plan(1280, 720), strict=True):
        with av.open(str(root / key)) as container:
            assert container.streams.video[0].codec_context.height == output.height, name
        boxes = media_files.top_level_boxes(root / key)
        assert boxes.index("moov") < boxes.index("mdat")
        assert abs(transcode.measure_loudness(root / key).integrated - transcode.LOUDNESS_TARGET_LUFS) <= 1.0
    assert len(files(app)) == 5


def test_a_job_whose_worker_is_killed_is_completed_by_another(setup, tmp_path):
    app, start_worker = setup
    creative = store_creative(app, media_files.make_tone_mp4(tmp_path / "long.mp4", seconds=12.0))
    first = start_worker()
    wait_for(lambda: state(app, creative.id)[:2] >= ("running", 10), 60)  # mid-job, past the poster
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its work horse, as the OOM killer would
    first.wait(10)
    assert state(app, creative.id)[0] == "running"
    # rq finds a dead worker's job once its heartbeat has expired (a minute or so): expire it now.
    queue = Queue(
        jobs.queue_name(app.config["SETTINGS"].redis_key_prefix), connection=app.extensions["redis"]
    )
    registry = StartedJobRegistry(queue=queue)
    started = app.extensions["redis"].zrange(registry.key, 0, -1)
    assert len(started) == 1
    app.extensions["redis"].zadd(registry.key, dict.fromkeys(started, 1))
    assert start_worker("--burst").wait(180) == 0
    status, progress, error, renditions = state(app, creative.id)
    assert (status, progress, error) == ("ready", 100, None)
    assert {status for _, status, _ in renditions} == {"ready"}
    assert not any(name.endswith(".part") for name in files(app))
    assert len(files(app)) == 5


def test_a_job_that_keeps_failing_is_reported_with_its_reason_and_leaves_nothing(setup, tmp_path):
    app, start_worker = setup
    creative = store_creative(app, media_files.make_tone_mp4(tmp_path / "spot.mp4", seconds=1.0))
    mezzanine = Path(app.extensions["storage"].directory) / creative.storage_key
    mezzanine.write_bytes(mezzanine.read_bytes()[:2000])  # the stored original is damaged
    assert start_worker("--burst").wait(120) == 0
    status, _, error, renditions = state(app, creative.id)
    assert status == "failed" and error
    assert {status for _, status, _ in renditions} == {"failed"}
    assert files(app) == {creative.storage_key}
    job = Queue(
        jobs.queue_name(app.config["SETTINGS"].redis_key_prefix), connection=app.extensions["redis"]
    ).fetch_job(f"transcode-{creative.id.hex}")
    assert job.is_failed and job.retries_left == 0


def test_the_worker_needs_redis(make_settings, sqlite_template, tmp_path):
    database = tmp_path / "db.sqlite"
    shutil.copy(sqlite_template, database)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "app", "worker", "--burst"],
        env={**os.environ, "DATABASE_URL": f"sqlite:///{database}", "REDIS_URL": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "nor REDIS_URL is set" in result.stderr


def test_the_embedded_server_transcodes_in_its_own_process(embedded_server, tmp_path):
    """`make run` (gunicorn, one gevent worker, SQLite, no Redis): the upload is transcoded by the web process
    on a native thread, while the event loop keeps answering."""
    import json
    import urllib.request
    import uuid as uuid_module

    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    server = embedded_server()

    def call(method, path, body=None, headers=None):
        request = urllib.request.Request(
            f"{server.base_url}{path}", data=body, method=method, headers=headers or {}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    login = json.dumps({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).encode()
    token = call("POST", "/api/v1/auth/login", login, {"Content-Type": "application/json"})["token"]
    auth = {"Authorization": f"Bearer {token}"}
    campaign = call("GET", "/api/v1/campaigns", headers=auth)["items"][0]
    source = media_files.make_tone_mp4(tmp_path / "spot.mp4", seconds=4.0)
    boundary = uuid_module.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nSpot\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="spot.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + source.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    created = call(
        "POST",
        f"/api/v1/campaigns/{campaign['id']}/creatives",
        body,
        {**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    slowest = 0.0
    deadline = time.monotonic() + 120
    while (creative := call("GET", f"/api/v1/creatives/{created['id']}", headers=auth))[
        "transcode_status"
    ] != "ready":
        assert creative["transcode_status"] in ("queued", "running") and time.monotonic() < deadline
        started = time.monotonic()
        call("GET", "/healthz")
        slowest = max(slowest, time.monotonic() - started)
        time.sleep(0.1)
    assert [rendition["status"] for rendition in creative["renditions"]] == ["ready"] * 3
    assert slowest < 0.5  # encoding never held the event loop


def test_the_job_and_its_failure_callback_as_rq_calls_them(setup, tmp_path, monkeypatch):
    """In this process, for what the worker processes do: a failed attempt with retries left is noted, the
    last one (here a dead worker's) fails the transcode with the reason; the job itself completes it."""
    from rq.exceptions import AbandonedJobError

    from app.creatives import worker

    app, _ = setup
    monkeypatch.setattr(worker, "_app", app)
    creative = store_creative(app, media_files.make_tone_mp4(tmp_path / "spot.mp4", seconds=1.0))
    queue = Queue(
        jobs.queue_name(app.config["SETTINGS"].redis_key_prefix), connection=app.extensions["redis"]
    )
    job = queue.fetch_job(f"transcode-{creative.id.hex}")
    assert job.retries_left == jobs.RETRIES
    worker.failed(job, None, OSError, OSError("disk full"), None)
    assert state(app, creative.id)[:3] == (
        "queued",
        0,
        "An attempt failed and is retried: OSError: disk full",
    )
    job.retries_left = 0
    worker.failed(job, None, AbandonedJobError, AbandonedJobError(), None)
    status, _, error, renditions = state(app, creative.id)
    assert status == "failed" and error.startswith("the worker running the job stopped")
    assert {status for _, status, _ in renditions} == {"failed"}
    assert worker.perform(str(creative.id)) == "ready"  # a later run (e.g. re-enqueued) completes it
    assert state(app, creative.id)[:3] == ("ready", 100, None)
