"""CORS for the player-facing paths only (/vast, /t/*, the SDK routes): HTML5 players call them from any
origin, with cookies when the page says so. Admin routes never get these headers.

The hook is app-wide and chooses by path, so that whatever the server itself refuses on a player path (an
unknown /t/<event>, a POST /vast, a body or query too large, a request werkzeug rejects before any view)
still carries the headers, and a browser player can read the status.
"""

from flask import Flask, request

PLAYER_PATHS = frozenset({"/vast", "/vmap", "/api/v1/ad-request", "/api/v1/impression"})
PLAYER_PREFIXES = ("/t/", "/vast/", "/vmap/", "/api/v1/ad-request/", "/api/v1/impression/")
# What a browser player's script may read of an answer besides the basic headers.
EXPOSED_HEADERS = "X-Ad-Request-Warnings, X-Beacon, X-Request-ID"


def init_app(app: Flask) -> None:
    app.after_request(_players_only)


def is_player_path(path: str) -> bool:
    return path in PLAYER_PATHS or path.startswith(PLAYER_PREFIXES)


def _players_only(response):
    current = request._get_current_object()  # one context lookup, not one per attribute: a hot path
    if not is_player_path(current.path):
        return response
    headers = response.headers  # no view sets these: appended, without a search of the headers
    origin = current.environ.get("HTTP_ORIGIN")  # not current.headers: a few µs on every player request
    if origin:
        # `null` is what packaged TV apps (Tizen, webOS: pages loaded from file://) send; a credentialed
        # request from them needs `null` itself echoed, as `*` is refused with credentials.
        headers.add("Access-Control-Allow-Origin", origin)
        headers.add("Access-Control-Allow-Credentials", "true")
        if "Vary" in headers:  # the view's own (e.g. Accept-Encoding): merged into one header
            response.vary.add("Origin")
        else:  # the common case, appended: no parse and rewrite of the header (10 µs a beacon)
            headers.add("Vary", "Origin")
    else:
        headers.add("Access-Control-Allow-Origin", "*")
    headers.add("Access-Control-Expose-Headers", EXPOSED_HEADERS)
    if current.method == "OPTIONS":
        headers.add("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS")
        headers.add(
            "Access-Control-Allow-Headers",
            current.headers.get("Access-Control-Request-Headers") or "Content-Type",
        )
        headers.add("Access-Control-Max-Age", "86400")
    return response
