"""gunicorn settings for production and `make run`; every knob can be set from the environment."""

import os
import re
import shutil
import tempfile
import time
from pathlib import Path

import gevent
from gunicorn.workers.ggevent import GeventWorker

# All interfaces inside a container; `make run` passes HOST=127.0.0.1.
bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104

# What belongs to one instance is named after its address, so that two on one host (`make run` beside a
# test server, two checkouts) never share it: Prometheus counters of all its workers, added up from files in
# PROMETHEUS_MULTIPROC_DIR (set before any worker imports the client), and gunicorn's control socket.
INSTANCE = "adserver-" + re.sub(r"[^0-9A-Za-z]+", "_", bind).strip("_")
INSTANCE_METRICS_DIR = str(Path(tempfile.gettempdir()) / f"{INSTANCE}-prometheus")
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", INSTANCE_METRICS_DIR)
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or str(
    Path(tempfile.gettempdir()) / f"{INSTANCE}.ctl"
)


class DeadlineGeventWorker(GeventWorker):
    """gunicorn's gevent worker with read deadlines, so that slow clients cannot hold its connections:
    a new connection's request headers must arrive within `header_timeout` (later requests on a kept-alive
    connection may first wait `keepalive` idle), and a request body within `body_timeout` plus one second
    per `body_min_rate` bytes (as Apache's mod_reqtimeout does). A body too slow is a 400."""

    header_timeout = float(os.environ.get("GUNICORN_HEADER_TIMEOUT", "10"))
    body_timeout = float(os.environ.get("GUNICORN_BODY_TIMEOUT", "20"))
    body_min_rate = int(os.environ.get("GUNICORN_BODY_MIN_RATE", str(16 * 1024)))

    def timeout_ctx(self):
        connection = gevent.getcurrent()  # one greenlet per connection
        first = not getattr(connection, "served_a_request", False)
        connection.served_a_request = True
        return gevent.Timeout(self.header_timeout if first else self.cfg.keepalive, False)

    def handle_request(self, listener_name, req, sock, addr):
        length, chunked = 0, False
        for name, value in req.headers:  # as gunicorn read them to frame the body (it refused any other)
            if name == "CONTENT-LENGTH":
                length = int(value)
            elif name == "TRANSFER-ENCODING":
                chunked = True
        if length or chunked:  # most requests (every GET) have no body: nothing to wait for, no timer
            req.body = _BodyDeadline(req.body, self.body_timeout + length / self.body_min_rate)
        return super().handle_request(listener_name, req, sock, addr)


class _BodyDeadline:
    """A request body (wsgi.input) that must be read before a deadline. Once cut, it is `failed` as gunicorn's
    own body is after a read error: the rest is unread, so gunicorn closes the connection after the answer
    instead of draining it (which would fail again, and answer a second time with a 500)."""

    def __init__(self, body, seconds: float):
        self.body = body
        self.deadline = time.monotonic() + seconds
        self.cut = False

    @property
    def failed(self) -> bool:
        return self.cut or self.body.failed

    def _within(self, method, *args):
        from werkzeug.exceptions import ClientDisconnected  # imported in the worker, after gevent patching

        remaining = self.deadline - time.monotonic()
        too_slow = ClientDisconnected("The request body did not arrive in time")
        try:
            if remaining <= 0:
                raise too_slow
            with gevent.Timeout(remaining, too_slow):
                return method(*args)
        except ClientDisconnected:
            self.cut = True
            raise

    def read(self, size=None):
        return self._within(self.body.read, size)

    def readline(self, size=None):
        return self._within(self.body.readline, size)

    def readlines(self, size=None):
        return self._within(self.body.readlines, size)

    def __iter__(self):
        return self

    def __next__(self):
        line = self.readline()
        if not line:
            raise StopIteration
        return line


worker_class = DeadlineGeventWorker
# The same rule as app.settings.Settings.workers (a test checks they agree); the master does not import the
# application, so that nothing is imported before the workers' gevent patching.
workers = int(
    os.environ.get("WEB_CONCURRENCY") or ((os.cpu_count() or 1) if os.environ.get("REDIS_URL") else 1)
)
# Connections are greenlets (a few KB each): enough that thousands of slow or idle clients leave room for
# players (the process's open-file limit must allow as many: `ulimit -n`).
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "10000"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "20"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))  # outlive the ALB's 60 s idle timeout
# GUNICORN_ACCESS_LOG: a file path, or "-" (standard output); off by default, the app logs its own JSON lines.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
# When an access log is asked for: no client address and no query string (ad tags carry the IFA and the
# device's IP), the path alone.
access_log_format = '%(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%({x-request-id}i)s"'
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Ad tags carry long query strings (a TCF consent string alone runs to 4 KB): the longest request line
# gunicorn takes while still bounding it (8,190 bytes; 0 would lift the bound). The app refuses a query over
# 8,000 bytes itself, as JSON with CORS on the player paths (app.security.MAX_QUERY_BYTES).
limit_request_line = 8190
# gunicorn trusts X-Forwarded-Proto and the like from these addresses only (its default, loopback); the
# app's ProxyFix takes them from the TRUSTED_PROXY_COUNT proxies in front of it (the ALB), never from anyone.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = "adserver"


def on_starting(server):
    """A restarted server starts its counters from zero (the directory may survive a container restart)."""
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)


def on_exit(server):
    """The counters' files go with the instance (its next start would wipe them anyway); a directory given
    in the environment is left to whoever gave it."""
    if os.environ["PROMETHEUS_MULTIPROC_DIR"] == INSTANCE_METRICS_DIR:
        shutil.rmtree(INSTANCE_METRICS_DIR, ignore_errors=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """Load the catalog and start the background loops before the worker takes its first request."""
    worker.wsgi.extensions["runtime"].start()


def worker_exit(server, worker):
    """Hand over the last serving counts and stop the flusher cleanly (its batch stays pending otherwise)."""
    runtime = getattr(worker, "wsgi", None) and worker.wsgi.extensions.get("runtime")
    if runtime is not None:
        runtime.stop()
