"""GET a partner's VAST tag within a deadline for the whole fetch: connecting, sending, every read of the
status line, headers and body, and every HTTP redirect on the way.

A socket timeout alone bounds each read, not their sum: a partner that trickles a byte every 0.3 s would
hold the answer for as long as it likes. Here every read and send first sets the socket's timeout to what
is left of the deadline (and fails once nothing is), so the fetch ends by the deadline whoever is slow. That
holds under gunicorn's gevent workers too (a patched socket honours its timeout by waiting on the hub), where
a gevent.Timeout bounds what no socket timeout covers (the name lookup), so the fetch never outlives its
deadline there either.
"""

from __future__ import annotations

import functools
import http.client
import io
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Mapping

import gevent
from gevent import monkey

from vast.unwrap import MAX_DOCUMENT_BYTES, FetchFailed, FetchTimeout


def fetch_tag(url: str, seconds: float, headers: Mapping[str, str]) -> bytes:
    """GET a VAST tag (http or https) within `seconds` in all: its body, at most MAX_DOCUMENT_BYTES + 1
    bytes. Raises FetchTimeout past the deadline, or FetchFailed for anything else that keeps the body from
    us (not http(s), refused, an HTTP error status, a broken answer)."""
    if not url.startswith(("http://", "https://")):
        raise FetchFailed(f"not an http(s) URL: {url[:100]}")
    if seconds <= 0:
        raise FetchTimeout("no time left")
    end = time.monotonic() + seconds
    if monkey.is_module_patched("socket"):
        with gevent.Timeout(seconds, FetchTimeout(f"no answer within {seconds:.3f} s")):
            return _fetch(url, end, headers)
    return _fetch(url, end, headers)


def _fetch(url: str, end: float, headers: Mapping[str, str]) -> bytes:
    request = urllib.request.Request(url, headers=dict(headers))  # noqa: S310 (scheme checked by the caller)
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        _HTTPHandler(end),
        _HTTPSHandler(end),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPRedirectHandler(),  # http(s) targets only; each hop within the same deadline
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    try:
        with opener.open(request) as response:
            return response.read(MAX_DOCUMENT_BYTES + 1)
    except TimeoutError as exc:
        raise FetchTimeout(str(exc)) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise FetchTimeout(str(exc)) from None
        raise FetchFailed(str(exc)) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise FetchFailed(str(exc)) from None


def _left(end: float) -> float:
    """Seconds left before `end`; TimeoutError when none."""
    left = end - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline reached")
    return left


class _DeadlineSocket:
    """A connected socket (plain or TLS) whose sends and reads each wait at most until `end`."""

    def __init__(self, sock: socket.socket, end: float):
        self._sock = sock
        self._end = end

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(_left(self._end))
        self._sock.sendall(data)

    def makefile(self, mode: str = "rb", *args, **kwargs) -> io.BufferedReader:
        """http.client reads the whole answer (status line, headers, body) through this file; the socket's
        own file underneath keeps the socket open until the answer is read (socket.makefile)."""
        return io.BufferedReader(
            _DeadlineReader(self._sock, self._sock.makefile("rb", buffering=0), self._end)
        )

    def close(self) -> None:
        self._sock.close()

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


class _DeadlineReader(io.RawIOBase):
    def __init__(self, sock: socket.socket, raw: io.RawIOBase, end: float):
        self._sock = sock
        self._raw = raw
        self._end = end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int | None:
        self._sock.settimeout(_left(self._end))
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _deadline_connection(base: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
    class Connection(base):
        def __init__(self, *args, end: float, **kwargs):
            super().__init__(*args, **kwargs)
            self._end = end

        def connect(self) -> None:
            self.timeout = _left(self._end)  # the connection (and a TLS handshake) within what is left
            super().connect()
            self.sock = _DeadlineSocket(self.sock, self._end)

    return Connection


_HTTPConnection = _deadline_connection(http.client.HTTPConnection)
_HTTPSConnection = _deadline_connection(http.client.HTTPSConnection)


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, end: float):
        super().__init__()
        self._end = end

    def http_open(self, req):
        return self.do_open(functools.partial(_HTTPConnection, end=self._end), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, end: float):
        super().__init__()
        self._end = end

    def https_open(self, req):
        return self.do_open(functools.partial(_HTTPSConnection, end=self._end), req, context=self._context)
