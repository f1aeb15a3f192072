"""CORS for the player-facing routes only (/vast, /t/*, the SDK API): HTML5 players call them from any
origin, with cookies when the page says so. Admin routes never get these headers."""

from flask import request


def allow_players(response):
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        response.vary.add("Origin")
    else:
        response.headers["Access-Control-Allow-Origin"] = "*"
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, POST, OPTIONS"
        requested = request.headers.get("Access-Control-Request-Headers")
        response.headers["Access-Control-Allow-Headers"] = requested or "Content-Type"
        response.headers["Access-Control-Max-Age"] = "86400"
    return response
