"""Failed logins per client address, for the API and the console alike: a moving window (the `limits`
library) in Redis when configured, shared by every worker, else in process memory. Only failures count;
once the limit is reached even the right password waits for the window to move."""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app, request
from limits import parse
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from app.settings import Settings

log = logging.getLogger(__name__)


class LoginThrottle:
    def __init__(self, settings: Settings):
        self.limit = parse(settings.login_rate_limit)
        self.local = MovingWindowRateLimiter(MemoryStorage())
        self.shared = (
            MovingWindowRateLimiter(
                storage_from_string(_limits_url(settings), key_prefix=f"{settings.redis_key_prefix}limits")
            )
            if settings.redis_url
            else None
        )

    def _call(self, method: str, client: str):
        if self.shared is not None:
            try:
                return getattr(self.shared, method)(self.limit, "login", client)
            except Exception:  # Redis gone: limit per worker rather than not at all
                log.warning("login throttle storage unreachable; counting in this worker", exc_info=True)
        return getattr(self.local, method)(self.limit, "login", client)

    def locked(self, client: str) -> bool:
        """Whether this client has used up its failed logins."""
        return not self._call("test", client)

    def check(self, client: str) -> None:
        """Raise 429 (with Retry-After) when this client has used up its failed logins."""
        if self.locked(client):
            stats = self._call("get_window_stats", client)
            error = TooManyRequests("Too many failed logins from this address; try again later")
            retry_after = str(max(1, math.ceil(stats.reset_time - time.time())))
            error.data = {"message": error.description, "headers": {"Retry-After": retry_after}}
            raise error

    def failed(self, client: str) -> None:
        self._call("hit", client)


def init_app(app: Flask, settings: Settings) -> None:
    app.extensions["login_throttle"] = LoginThrottle(settings)


def client_address() -> str:
    # ProxyFix (TRUSTED_PROXY_COUNT) has already replaced remote_addr with the client's address.
    return request.remote_addr or "unknown"


def login_throttle() -> LoginThrottle:
    return current_app.extensions["login_throttle"]


def _limits_url(settings: Settings) -> str:
    """REDIS_URL as the limits library names a cluster (`redis+cluster://`) with REDIS_CLUSTER=1."""
    url = settings.redis_url or ""
    if settings.redis_cluster and url.startswith("redis://"):
        return "redis+cluster://" + url.removeprefix("redis://")
    return url
