"""JSON log lines on stdout, each carrying the id of the request it belongs to.

No IP address is logged in clear: every address in a line (its message, its extras, its traceback) is
truncated to its network, IPv4 to /24 and IPv6 to /48 (`truncate_ip`), whatever wrote it. IFAs and user
agents are never passed to a log call (app.serving keeps them in requests and hashed device keys only).
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import logging
import os
import re
import sys
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_ENVIRON = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")  # its WSGI environ key (PEP 3333)
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# Ids of our own: a random prefix per process and a counter, unique without a random draw per request.
_ID_PREFIX = os.urandom(8).hex()
_ids = itertools.count(1)
# Candidates only: each is checked with ipaddress before it is truncated (a version number is no address).
_IPV4 = re.compile(r"(?<![\w.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![\w.])", re.ASCII)
_IPV6 = re.compile(
    r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:[0-9]{1,3}\.){3}[0-9]{1,3}|[0-9A-Fa-f]{1,4})?(?:%\w+)?(?![\w:]|\.\d)",
    re.ASCII,
)
IPV4_PREFIX = 24
IPV6_PREFIX = 48


def truncate_ip(address: str) -> str | None:
    """The network of an address, as `203.0.113.0/24` or `2001:db8:85a3::/48`; None if it is not one."""
    try:
        parsed = ipaddress.ip_address(address.partition("%")[0])
    except ValueError:
        return None
    prefix = IPV4_PREFIX if parsed.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))


def _truncated(match: re.Match) -> str:
    return truncate_ip(match.group()) or match.group()


def mask_ips(text: str) -> str:
    """`text` with every IP address in it truncated (`truncate_ip`)."""
    if ":" in text:  # first: an IPv6 address may end in an IPv4 one
        text = _IPV6.sub(_truncated, text)
    if "." in text:
        text = _IPV4.sub(_truncated, text)
    return text


def new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ids):016x}"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_ips(record.getMessage()),
        }
        if has_request_context():
            entry["request_id"] = g.get("request_id")
        for key in ("event", "count", "error_code", "channel", "client", "email_fingerprint", "admin_email"):
            if hasattr(record, key):
                value = getattr(record, key)
                entry[key] = mask_ips(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = mask_ips(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


def configure_logging(level: str) -> None:
    """Install one JSON handler on stdout; handlers installed by others (test capture) stay."""
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    root.setLevel(level.upper())


def init_app(app: Flask) -> None:
    app.before_request(_take_request_id)
    app.after_request(_echo_request_id)


def _take_request_id() -> None:
    # A caller's id is kept (it ties our logs to theirs) only when it is safe to log and echo.
    given = request.environ.get(_REQUEST_ID_ENVIRON)  # not request.headers: a few µs on every request
    g.request_id = given if given and _SAFE_REQUEST_ID.match(given) else new_request_id()


def _echo_request_id(response):
    # Appended, not set: no view sets it, so there is nothing to search for and replace.
    response.headers.add(REQUEST_ID_HEADER, g.get("request_id") or new_request_id())
    return response
