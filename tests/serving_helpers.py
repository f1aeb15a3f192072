"""Helpers for tests of the serving and tracking paths."""

from __future__ import annotations

import urllib.parse

from lxml import etree

from vast.macros import fill_macros
from vast.validate import validate

NS = {"v": "http://www.iab.com/VAST"}


def runtime(app):
    return app.extensions["runtime"]


def refresh(app) -> None:
    """What the catalog loop does every tick."""
    runtime(app).catalog.refresh()


def flush(app) -> int:
    """Run the in-process flusher (and the serving counts push) until nothing is left."""
    rt = runtime(app)
    rt.counter.push()
    total = 0
    while flushed := rt.flusher.flush_once():
        total += flushed
    return total


def get_vast(client, query: str = "", version: str = "4.2", **kwargs):
    response = client.get(f"/vast?{query}", **kwargs)
    assert response.status_code == 200, response.data
    validate(response.data, version)
    return etree.fromstring(response.data)


def ad_urls(document) -> dict[str, str]:
    """Every beacon URL of a 4.x document, by event, with the path and query only (for the test client)."""
    urls = {"impression": document.findtext(".//v:Impression", namespaces=NS).strip()}
    for tracking in document.iterfind(".//v:Tracking", namespaces=NS):
        urls[tracking.get("event")] = tracking.text.strip()
    urls["click"] = document.findtext(".//v:ClickTracking", namespaces=NS).strip()
    urls["error"] = fill_macros(document.findtext(".//v:Error", namespaces=NS).strip(), {"ERRORCODE": "405"})
    return {event: _local(url) for event, url in urls.items()}


def _local(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.path}?{parts.query}"
