"""Where a console page sends the browser next."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for


def local_page(target: str | None, default: str) -> str:
    """`target` when it is a console page of this site (never another host: no open redirect), else
    `default`."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(url_for("admin.dashboard")):
        return default
    return target
