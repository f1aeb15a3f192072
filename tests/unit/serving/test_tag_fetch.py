"""app.serving.tag_fetch against loopback partners: the deadline bounds the whole fetch (connection, every
read, every redirect), in a plain process and under gevent's monkey-patching alike."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.serving.tag_fetch import fetch_tag
from app.settings import PROJECT_ROOT
from vast.unwrap import MAX_DOCUMENT_BYTES, FetchFailed, FetchTimeout

BODY = b'<VAST version="4.2" xmlns="http://www.iab.com/VAST"/>'
STEP = 0.3  # seconds between two bytes of a trickling partner
MARGIN = 0.15  # what the fetch may take past its deadline: the last read's wake-up, the machine's load


class Trickling(BaseHTTPRequestHandler):
    """/trickle: headers at once, then the body a byte every STEP; /trickle-head: the status line too;
    /hop/N: after STEP, a redirect to /hop/N-1, /hop/0 the document; /big: more than the limit."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the fetch hung up at its deadline
            self._answer()

    def _answer(self):
        if self.path == "/trickle-head":
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n<VAST/>":
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(STEP)
            return
        if self.path.startswith("/hop/"):
            left = int(self.path.rsplit("/", 1)[1])
            time.sleep(STEP)
            if left:
                self.send_response(302)
                self.send_header("Location", f"/hop/{left - 1}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        if self.path == "/error":
            self.send_error(500)
            return
        body = b"x" * (2 * MAX_DOCUMENT_BYTES) if self.path == "/big" else BODY
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/trickle":
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(STEP)
        else:
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def partner():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickling)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def timed(url: str, seconds: float):
    started = time.monotonic()
    try:
        outcome = fetch_tag(url, seconds, {})
    except (FetchTimeout, FetchFailed) as exc:
        outcome = type(exc)
    return outcome, time.monotonic() - started


@pytest.mark.parametrize(
    ("path", "seconds"),
    [
        ("/trickle", 0.5),  # a read every 0.3 s would each be within a per-read timeout of 0.5 s
        ("/trickle-head", 0.5),  # the status line and headers too
        ("/hop/3", 0.7),  # four answers of 0.3 s each, through redirects
    ],
)
def test_a_slow_partner_is_cut_off_at_the_deadline_for_the_whole_fetch(partner, path, seconds):
    outcome, elapsed = timed(partner + path, seconds)
    assert outcome is FetchTimeout
    assert seconds - 0.05 <= elapsed < seconds + MARGIN, elapsed


def test_redirects_are_followed_within_the_deadline(partner):
    outcome, elapsed = timed(partner + "/hop/2", 2.0)
    assert outcome == BODY and elapsed < 2.0


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/error", FetchFailed),
        ("ftp://127.0.0.1/tag", FetchFailed),
        ("http://127.0.0.1:9/refused", FetchFailed),  # discard port: nothing listens
    ],
)
def test_what_keeps_the_body_from_us_is_a_failed_fetch(partner, url, expected):
    assert timed(partner + url if url.startswith("/") else url, 1.0)[0] is expected


def test_a_body_is_read_to_one_byte_past_the_limit(partner):
    body, _ = timed(partner + "/big", 5.0)
    assert len(body) == MAX_DOCUMENT_BYTES + 1


def test_no_time_left_is_a_timeout_without_a_call(partner):
    assert timed(partner + "/trickle", 0)[0] is FetchTimeout


GEVENT_SCRIPT = """
from gevent import monkey
monkey.patch_all()
import json, sys, time
from types import SimpleNamespace
from app.serving.ads import ServedAd
from app.serving.request import parse_ad_request
from app.serving.tag_fetch import fetch_tag
from app.serving.wrappers import unwrap_ads
from vast.unwrap import FetchTimeout

base = sys.argv[1]
results = {}
started = time.monotonic()
try:
    fetch_tag(base + "/trickle", 0.5, {})
except FetchTimeout:
    results["trickle"] = time.monotonic() - started
creative = SimpleNamespace(wrapper=SimpleNamespace(vast_ad_tag_uri=base + "/hop/0"))
ads = [ServedAd(str(n), None, creative, "b/", "t") for n in range(3)]
started = time.monotonic()
outcomes = unwrap_ads(ads, parse_ad_request({}, {}, "127.0.0.1"), time.monotonic() + 0.5, "4.2")
results["pod"] = time.monotonic() - started
results["codes"] = [outcome.error_code for outcome in outcomes]
print(json.dumps(results))
"""


def test_under_gevent_the_deadline_holds_and_a_pods_partners_are_called_at_once(partner):
    """Three partners answering (no ad) after 0.3 s each, by a 0.5 s deadline: one after the other, the second
    would be cut off (301) and the third not called; at once, all three answer (303) in about 0.3 s."""
    run = subprocess.run(
        [sys.executable, "-c", GEVENT_SCRIPT, partner],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    results = json.loads(run.stdout.strip().splitlines()[-1])
    assert 0.45 <= results["trickle"] < 0.5 + MARGIN, results
    assert results["codes"] == ["303", "303", "303"]
    assert results["pod"] < 0.5, results
