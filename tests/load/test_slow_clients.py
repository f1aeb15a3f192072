"""Slow clients cannot starve the others: against the real server as `make run` starts it (gunicorn.conf.py,
one gevent worker, the embedded default), 2,000 connections that send one header line every few seconds,
and slow request bodies, while players keep asking for ads."""

from __future__ import annotations

import contextlib
import socket
import statistics
import threading
import time
import urllib.request

import pytest

SLOW_SOCKETS = 2_000
HEADER_TIMEOUT = 3  # seconds, set through GUNICORN_HEADER_TIMEOUT to keep the test short


@pytest.fixture
def server(embedded_server):
    return embedded_server(GUNICORN_HEADER_TIMEOUT=str(HEADER_TIMEOUT), GUNICORN_BODY_TIMEOUT="2")


def _ad_latencies(base_url: str, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        with urllib.request.urlopen(f"{base_url}/vast?max_duration=30", timeout=10) as response:
            assert response.status == 200 and b"<Ad " in response.read()
        latencies.append(time.perf_counter() - started)
    return latencies


@pytest.mark.slow
def test_two_thousand_slow_clients_do_not_stop_ads(server):
    port = int(server.base_url.rsplit(":", 1)[1])
    _ad_latencies(server.base_url, 20)  # warm up
    baseline = _ad_latencies(server.base_url, 50)
    sockets = []
    for _ in range(SLOW_SOCKETS):
        connection = socket.create_connection(("127.0.0.1", port), timeout=5)
        connection.sendall(b"GET /vast HTTP/1.1\r\nHost: x\r\n")
        sockets.append(connection)
    stop = threading.Event()

    def trickle():  # one more header line every second on every socket: never a whole request
        while not stop.wait(1):
            for connection in sockets:
                with contextlib.suppress(OSError):  # closed by the server: the point
                    connection.sendall(b"X-Slow: 1\r\n")

    trickler = threading.Thread(target=trickle, daemon=True)
    trickler.start()
    try:
        under_attack = _ad_latencies(server.base_url, 200)
        time.sleep(HEADER_TIMEOUT + 1)
        closed = sum(_closed_by_server(connection) for connection in sockets)
    finally:
        stop.set()
        trickler.join(5)
        for connection in sockets:
            connection.close()
    p99 = statistics.quantiles(under_attack, n=100)[98]
    print(
        f"\n{SLOW_SOCKETS} slow sockets: /vast p50 {statistics.median(under_attack) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms (alone: p99 {statistics.quantiles(baseline, n=100)[98] * 1000:.1f} ms); "
        f"{closed} closed by the server after the header deadline"
    )
    assert p99 < 0.1
    assert closed == SLOW_SOCKETS  # none holds a connection past the header deadline


def _closed_by_server(connection: socket.socket) -> bool:
    connection.settimeout(2)
    try:
        return connection.recv(1024) == b""  # the end of the stream: closed, nothing answered
    except TimeoutError:
        return False
    except OSError:
        return True


@pytest.mark.slow
@pytest.mark.parametrize(
    ("framing", "first", "more"),
    [
        (b"Content-Length: 100", b"{", b" "),
        (b"Transfer-Encoding: chunked", b"1\r\n{\r\n", b"1\r\n \r\n"),  # no length: the deadline alone
    ],
    ids=["length", "chunked"],
)
def test_a_slow_body_is_cut_at_its_deadline(server, framing, first, more):
    port = int(server.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(
            b"POST /api/v1/ad-request HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + framing
            + b"\r\n\r\n"
            + first
        )
        started = time.monotonic()
        answer = b""
        while time.monotonic() - started < 15:  # a byte a second: 100 s for the body (chunked, for ever)
            try:
                connection.sendall(more)
            except OSError:
                break
            connection.settimeout(1)
            try:
                chunk = connection.recv(4096)
            except TimeoutError:
                continue
            answer += chunk
            if not chunk or b"\r\n\r\n" in answer:
                break
        elapsed = time.monotonic() - started
        connection.settimeout(5)
        try:
            while chunk := connection.recv(4096):  # the rest of the answer, up to the server's close
                answer += chunk
        except ConnectionResetError:  # closed with our unread bytes in its buffer: a reset, not a FIN
            pass
    assert elapsed < 10, elapsed
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    # One answer, then the connection closed (where a next request would start is unknown): no 500 after it.
    assert answer.count(b"HTTP/1.1 ") == 1, answer
    assert _ad_latencies(server.base_url, 5)  # the worker goes on serving
