"""Headers every response carries (pages add their own Content-Security-Policy), and the longest query
string the app reads."""

from flask import Flask, request
from werkzeug.exceptions import RequestURITooLarge

# Query strings up to 8,000 bytes are served (a TCF consent string with publisher restrictions alone runs to
# 4 KB). gunicorn takes request lines up to 8,190 bytes (its maximum, gunicorn.conf.py), so a longer query
# still reaches the app and gets its JSON 414, with CORS on the player paths; a request line over 8,190 bytes
# gets gunicorn's own bare 414.
MAX_QUERY_BYTES = 8000

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


def init_app(app: Flask) -> None:
    app.before_request(_limit_query)
    app.after_request(_secure)


def _limit_query() -> None:
    if len(request.query_string) > MAX_QUERY_BYTES:
        raise RequestURITooLarge(f"The query string is longer than {MAX_QUERY_BYTES} bytes")


# HTTPS only (RFC 6797 §7.2: never over plain HTTP); a year, the HSTS preload list's minimum.
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def _secure(response):
    response.headers.extend(HEADERS)  # no view sets these: one append each, no search of the headers
    if request.is_secure:  # the scheme as the trusted proxies (TRUSTED_PROXY_COUNT) report it
        response.headers.add(*HSTS)
    return response
