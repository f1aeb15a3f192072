"""Headers every response carries; pages add their own Content-Security-Policy."""

from flask import Flask

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


def init_app(app: Flask) -> None:
    app.after_request(_secure)


def _secure(response):
    response.headers.extend(HEADERS)  # no view sets these: one append each, no search of the headers
    return response
