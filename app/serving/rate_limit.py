"""Requests per client on the public SDK routes, so that no client can grow the stored answers (and the
memory behind them) without bound.

Counted in each worker's memory (the `limits` library, fixed windows): no Redis round trip on the request.
The limit is per worker, so an instance takes up to `SDK_RATE_LIMIT` x workers from one client; the client
is the connection's address as seen through TRUSTED_PROXY_COUNT proxies (never a header it sets itself).
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app, request
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests


class SdkRateLimit:
    def __init__(self, limit: str):
        self.limit = parse(limit)
        self.limiter = FixedWindowRateLimiter(MemoryStorage())

    def check(self) -> None:
        """Count this request against its client; 429 with Retry-After once the window's share is used."""
        client = request.remote_addr or "unknown"
        if self.limiter.hit(self.limit, "sdk", client):
            return
        reset = self.limiter.get_window_stats(self.limit, "sdk", client).reset_time
        error = TooManyRequests("Too many requests from this address; retry later")
        error.data = {
            "message": error.description,
            "headers": {"Retry-After": str(max(1, math.ceil(reset - time.time())))},
        }
        raise error


def init_app(app: Flask, limit: str) -> None:
    app.extensions["sdk_rate_limit"] = SdkRateLimit(limit)


def limit_sdk_client() -> None:
    """before_request of the SDK blueprint."""
    current_app.extensions["sdk_rate_limit"].check()
